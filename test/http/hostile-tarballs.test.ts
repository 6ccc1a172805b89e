// Issue 15, items 1, 2 and 6, against a real listening server: a publish whose tarball hides what npm would install
// (a zero block before the files, a second package.json) is refused naming the entry; hostile tarballs and documents
// (decompression bombs, deep nesting) are refused soon after their upload (on a quiet machine within a second), never
// tie up the event loop that answers /-/ping, and leave no blob behind.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { scanTarball } from '../../src/safety/scan/scanner.ts';
import { loadSignatures } from '../../src/safety/scan/signatures.ts';
import { body, publishDoc, type Manifest } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { tarEntry, tarHeader, tarStream, tgz } from '../helpers/tar.ts';

const SAMPLE = path.resolve(import.meta.dirname, '../fixtures/malware/samples/tuning/reverse-shell/package');
const sampleManifest = JSON.parse(readFileSync(path.join(SAMPLE, 'package.json'), 'utf8')) as Manifest;
const sampleFiles = [
  { path: 'package/package.json', data: JSON.stringify(sampleManifest) },
  { path: 'package/index.js', data: readFileSync(path.join(SAMPLE, 'index.js')) },
];

const manifest = (name: string): Manifest => ({ name, version: '1.0.0' });
const files = (m: Manifest) => [
  { path: 'package/package.json', data: JSON.stringify(m) },
  { path: 'package/index.js', data: 'module.exports = 1;\n' },
];
/** Many gzip members of zeros: gunzip reads them as one stream. `count` × 16 MiB of zeros from count × 16 KB. */
const zeroMembers = (count: number) => {
  const member = gzipSync(Buffer.alloc(16 * 1024 * 1024), { level: 9 });
  return Buffer.concat(Array.from({ length: count }, () => member));
};

describe('hostile tarballs at publish (sqlite, real server)', () => {
  let r: TestRegistry;
  let alice: { id: number; token: string };
  before(async () => {
    r = await startRegistry('sqlite');
    alice = await r.user('alice');
  });
  after(() => r.stop());

  const blobCount = () => {
    try {
      return readdirSync(path.join(r.dataDir, 'blobs'), { recursive: true }).length;
    } catch {
      return 0; // made with the first blob
    }
  };
  const publish = (m: Manifest, tarball: Buffer) =>
    r.request('PUT', `/${m.name}`, { token: alice.token, body: body(publishDoc(m, { tarball })) });

  /** Publishes while pinging; the answer's time and the slowest ping. */
  async function timedPublish(m: Manifest, tarball: Buffer) {
    const raw = JSON.stringify(body(publishDoc(m, { tarball })));
    let done = false;
    const pings: number[] = [];
    const pinger = (async () => {
      while (!done) {
        const started = performance.now();
        assert.equal((await r.request('GET', '/-/ping')).status, 200);
        pings.push(performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const started = performance.now();
    const res = await r.request('PUT', `/${m.name}`, {
      token: alice.token,
      raw,
      headers: { 'content-type': 'application/json' },
    });
    const ms = performance.now() - started;
    done = true;
    await pinger;
    const sorted = [...pings].sort((a, b) => a - b);
    return {
      res,
      ms,
      typicalPing: sorted[Math.floor(sorted.length * 0.9)] ?? Infinity,
      slowestPing: sorted.at(-1) ?? Infinity,
      pings: pings.length,
    };
  }

  it('refuses the known-malicious sample hidden behind a zero block, which the scanner now sees', async () => {
    const hidden = tgz([], Buffer.concat([Buffer.alloc(512), tarStream(sampleFiles)]));
    const verdict = scanTarball(hidden, { signatures: loadSignatures() });
    assert.equal(verdict.verdict, 'malicious', 'the scanner reads the files npm installs after the zero block');
    const before = blobCount();
    const res = await publish(sampleManifest, hidden);
    assert.equal(res.status, 400, res.text);
    assert.match(res.json().error, /the tarball is refused: a zero block inside the archive at byte 0/);
    assert.equal(blobCount(), before, 'nothing stored');
  });

  it('refuses a second package/package.json that adds a dependency and an install script, naming it', async () => {
    const m = manifest('two-manifests');
    const evil = { ...m, dependencies: { 'left-pad': '1.0.0' }, scripts: { postinstall: 'node index.js' } };
    const res = await publish(m, tgz([...files(m), { path: 'package/package.json', data: JSON.stringify(evil) }]));
    assert.equal(res.status, 400, res.text);
    assert.match(
      res.json().error,
      /"package\/package\.json": the same path as the earlier entry "package\/package\.json"/,
    );
    assert.equal((await r.request('GET', '/two-manifests')).status, 404);
  });

  it('refuses each shape npm pack never writes, naming the entry', async () => {
    const m = manifest('odd-shapes');
    const cases: Array<[Buffer, RegExp]> = [
      [
        tgz([...files(m), { path: 'package/link', type: '2', linkpath: '/etc/passwd' }]),
        /"package\/link": symbolic link/,
      ],
      [tgz([...files(m), { path: 'package/../x.js', data: 'x' }]), /"package\/\.\.\/x\.js": '\.\.' in path/],
      [tgz([...files(m), { path: 'package/su', data: 'x', mode: 0o4755 }]), /"package\/su": setuid/],
      [
        tgz([{ path: 'package.json', data: JSON.stringify(m) }, ...files(m)]),
        /"package\.json": outside the package\/ folder/,
      ],
      [
        tgz(files(m), Buffer.concat([Buffer.alloc(1024), tarEntry({ path: 'package/x.js', data: 'x' })])),
        /data after the end-of-archive marker/,
      ],
      [
        tgz(files(m).map((f) => ({ ...f, path: f.path.replace('package/', 'other/') }))),
        /everything is under "other\/"/,
      ],
    ];
    for (const [tarball, expected] of cases) {
      const res = await publish(m, tarball);
      assert.equal(res.status, 400, res.text);
      assert.match(res.json().error, expected);
    }
  });

  it('answers a trailing-zeros bomb and an 8 GiB entry at once, and keeps answering /-/ping meanwhile', async () => {
    const before = blobCount();
    const m = manifest('zero-bomb');
    // About 1 MB upload: the tar, then 1 GiB of zeros after its end.
    const trailing = Buffer.concat([gzipSync(tarStream(files(m))), zeroMembers(64)]);
    // An entry declaring 8 GiB, with its first 128 MiB of zeros.
    const b = manifest('entry-bomb');
    const entry = Buffer.concat([
      gzipSync(tarStream(files(b), tarHeader({ path: 'package/big.bin', size: 8 * 1024 ** 3 - 1 }))),
      zeroMembers(8),
    ]);
    for (const [pkg, tarball] of [
      [m, trailing],
      [b, entry],
    ] as const) {
      const { res, ms, typicalPing, slowestPing, pings } = await timedPublish(pkg, tarball);
      assert.equal(res.status, 400, res.text);
      assert.match(res.json().error, /compression ratio over 200:1/);
      // Before the fix the answer took the 60 s request timeout and pings stalled for seconds while the main thread
      // inflated. The bounds here are what no busy machine misses unless the work is back on the main thread; on a
      // quiet one the answer takes well under a second and nine pings in ten under 50 ms (docs/protocol.md).
      assert.ok(ms < 10_000, `answered in ${ms.toFixed(0)} ms`);
      assert.ok(pings >= 2, `the server answered ${pings} pings meanwhile`);
      assert.ok(
        slowestPing < 5_000,
        `slowest of ${pings} pings: ${slowestPing.toFixed(1)} ms (90th percentile ${typicalPing.toFixed(1)} ms)`,
      );
    }
    assert.equal(blobCount(), before, 'nothing stored');
  });

  it('answers 400 for a version document nested 100,000 deep, and stores no blob', async () => {
    const m = manifest('deep-doc');
    const doc = body(publishDoc(m, { tarball: tgz(files(m)) })) as {
      versions: Record<string, Record<string, unknown>>;
    };
    const raw = JSON.stringify(doc).replace(
      '"_id":"deep-doc@1.0.0"',
      `"deep":${'['.repeat(100_000)}${']'.repeat(100_000)},"_id":"deep-doc@1.0.0"`,
    );
    const before = blobCount();
    const res = await r.request('PUT', '/deep-doc', {
      token: alice.token,
      raw,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 400, res.text);
    assert.match(res.json().error, /nests deeper than 64 levels/);
    assert.equal(blobCount(), before, 'no orphan blob');
    const ok = await r.request('PUT', '/deep-doc', { token: alice.token, body: doc });
    assert.equal(ok.status, 201, 'the same document without the nesting publishes');
  });

  it('refuses a package.json inside the tarball nested 100,000 deep', async () => {
    const m = manifest('deep-inner');
    const inner = JSON.stringify(m).replace('{', `{"deep":${'['.repeat(100_000)}${']'.repeat(100_000)},`);
    const res = await publish(m, tgz([{ path: 'package/package.json', data: inner }]));
    assert.equal(res.status, 400, res.text);
    assert.match(res.json().error, /"package\/package\.json": nests deeper than 64 levels/);
  });
});
