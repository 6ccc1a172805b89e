// The tarball reader against hand-built archives: everything `npm pack` makes reads clean; everything ambiguous or
// never packed is named as a problem; and in every case the files reported are the files npm would install, checked
// by extracting the same bytes with node-tar as pacote configures it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { describeProblem, readTarball, type TarContents } from '../../src/tarball/read.ts';
import {
  END_OF_ARCHIVE,
  npmInstalls,
  paxBody,
  tarEntry,
  tarHeader,
  tarStream,
  tgz,
  type TarEntry,
} from '../helpers/tar.ts';

const manifest = JSON.stringify({ name: 'demo', version: '1.0.0' });
const ok: TarEntry[] = [
  { path: 'package/package.json', data: manifest },
  { path: 'package/index.js', data: 'module.exports = 1;\n' },
];

/** A file entry whose size is written in GNU base-256, which pnpm reads as no size at all. */
function baseSize(): Buffer {
  const entry = tarEntry({ path: 'package/b.js', data: 'module.exports = 2;\n' });
  entry.fill(0, 124, 136);
  entry[124] = 0x80;
  entry[135] = 20;
  entry.write('        ', 148);
  let sum = 0;
  for (const b of entry.subarray(0, 512)) sum += b;
  entry.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return entry;
}

const view = (c: TarContents) => new Map(c.files.map((f) => [f.path, f.data?.toString('latin1') ?? '']));

/** Reads the bytes and checks the files reported are the files npm installs. */
function read(bytes: Buffer): TarContents {
  const contents = readTarball(bytes);
  if (!contents.problems.some((p) => p.entry === null && /gzip|unpacks|ratio|truncated|no end/.test(p.reason))) {
    assert.deepEqual(view(contents), npmInstalls(bytes), 'the reader sees what npm installs');
  }
  return contents;
}

const reasons = (c: TarContents) => c.problems.map(describeProblem).join('\n');

describe('tarballs npm pack makes', () => {
  it('read clean, with their files, sizes and counts', () => {
    const c = read(tgz(ok));
    assert.deepEqual(c.problems, []);
    assert.deepEqual(
      c.files.map((f) => f.path),
      ['package.json', 'index.js'],
    );
    assert.equal(c.fileCount, 2);
    assert.equal(c.unpackedSize, manifest.length + 20);
  });

  it('accept directory entries, long paths in pax headers, executable modes and tar padding', () => {
    const long = `package/${'deep/'.repeat(30)}file.js`;
    const c = read(
      tgz(
        [
          { path: 'package/', type: '5', mode: 0o755 },
          ...ok,
          { path: 'package/bin/cli.js', data: '#!/usr/bin/env node\n', mode: 0o755 },
          { path: 'package/short-name', pax: { path: long }, data: 'a' },
        ],
        Buffer.alloc(10240 - 512),
      ),
    );
    assert.equal(reasons(c), '');
    assert.ok(c.files.some((f) => f.path === long.slice('package/'.length)));
  });

  it('name one other top folder throughout as unusual, not ambiguous (old tarballs on the public registry)', () => {
    const c = read(tgz(ok.map((e) => ({ ...e, path: e.path.replace(/^package\//, 'mscdex-ssh2-5c506eb/') }))));
    assert.deepEqual(c.problems, [
      {
        entry: null,
        reason: 'everything is under "mscdex-ssh2-5c506eb/", not the package/ folder npm pack writes',
        unusual: true,
      },
    ]);
    assert.deepEqual(
      c.files.map((f) => f.path),
      ['package.json', 'index.js'],
    );
  });

  it('keeps only the bytes asked for, and still counts every file', () => {
    const c = readTarball(tgz(ok), { keep: (p) => p === 'package.json' });
    assert.equal(c.files.find((f) => f.path === 'package.json')?.data?.toString(), manifest);
    assert.equal(c.files.find((f) => f.path === 'index.js')?.data, null);
    assert.equal(c.fileCount, 2);
  });
});

describe('tarballs that hide something from one reader (issue 15)', () => {
  const cases: Array<[string, Buffer, RegExp]> = [
    [
      'a zero block before the files (GNU tar stops there, npm reads on)',
      tgz([], Buffer.concat([Buffer.alloc(512), tarStream(ok)])),
      /zero block inside the archive/,
    ],
    [
      'a second package/package.json that adds a dependency and a script',
      tgz([
        ...ok,
        {
          path: 'package/package.json',
          data: JSON.stringify({
            name: 'demo',
            version: '1.0.0',
            dependencies: { evil: '1' },
            scripts: { postinstall: 'node x' },
          }),
        },
      ]),
      /package\/package\.json.*same path as the earlier entry/,
    ],
    [
      'a package.json at the archive root',
      tgz([{ path: 'package.json', data: manifest }, ...ok]),
      /^"package\.json": outside the package\/ folder/m,
    ],
    [
      'a second top folder (npm strips any first segment)',
      tgz([...ok, { path: 'other/package.json', data: manifest }]),
      /"other\/package\.json": the same path as the earlier entry(.|\n)*"other\/package\.json": outside the package\/ folder/,
    ],
    ['an absolute path', tgz([...ok, { path: '/package/evil.js', data: 'x' }]), /"\/package\/evil\.js": absolute path/],
    ['a .. segment', tgz([...ok, { path: 'package/../../evil.js', data: 'x' }]), /'\.\.' in path/],
    ['a . segment', tgz([...ok, { path: 'package/./index.js', data: 'x' }]), /empty or "\." path segment/],
    ['a backslash', tgz([...ok, { path: 'package/lib\\..\\evil.js', data: 'x' }]), /backslash/],
    ['a symbolic link', tgz([...ok, { path: 'package/link', type: '2', linkpath: '/etc/passwd' }]), /symbolic link/],
    ['a hard link', tgz([...ok, { path: 'package/hard', type: '1', linkpath: 'package/index.js' }]), /hard link/],
    ['a character device', tgz([...ok, { path: 'package/tty', type: '3' }]), /CharacterDevice entry/],
    ['a FIFO', tgz([...ok, { path: 'package/fifo', type: '6' }]), /FIFO entry/],
    [
      'a contiguous file (npm installs it, npm pack never writes it)',
      tgz([...ok, { path: 'package/c.js', type: '7', data: 'x' }]),
      /ContiguousFile entry/,
    ],
    [
      'an unsupported entry type',
      tgz([...ok, { path: 'package/sparse', type: 'S', data: 'x' }]),
      /unsupported entry type/,
    ],
    [
      'a setuid file',
      tgz([...ok, { path: 'package/su', data: 'x', mode: 0o4755 }]),
      /setuid, setgid or sticky bit in mode 4755/,
    ],
    [
      'a setgid folder',
      tgz([{ path: 'package/lib/', type: '5', mode: 0o2755 }, ...ok]),
      /setuid, setgid or sticky bit/,
    ],
    [
      'paths equal but for case',
      tgz([...ok, { path: 'package/README.md', data: 'a' }, { path: 'package/readme.md', data: 'b' }]),
      /"package\/readme\.md": the same path as the earlier entry "package\/README\.md"/,
    ],
    [
      'paths equal but for Unicode normalisation',
      tgz([...ok, { path: 'package/caf\u00e9.js', data: 'a' }, { path: 'package/cafe\u0301.js', data: 'b' }]),
      /same path as the earlier entry/,
    ],
    [
      'a file and a folder at one path',
      tgz([...ok, { path: 'package/lib', data: 'a' }, { path: 'package/lib/x.js', data: 'b' }]),
      /a folder at the path of the file entry "package\/lib"/,
    ],
    [
      'data after the end-of-archive marker',
      tgz(ok, Buffer.concat([END_OF_ARCHIVE, tarEntry({ path: 'package/hidden.js', data: 'x' })])),
      /data after the end-of-archive marker/,
    ],
    [
      'a pax header that renames an entry out of the package',
      tgz([...ok, { path: 'package/fine.js', pax: { path: 'escape/x.js' }, data: 'x' }]),
      /"escape\/x\.js": outside the package\/ folder/,
    ],
    [
      'a pax header that renames an entry onto package.json',
      tgz([...ok, { path: 'package/fine.js', pax: { path: 'package/package.json' }, data: '{}' }]),
      /same path as the earlier entry/,
    ],
    [
      'a GNU long name outside the package',
      tgz([...ok, { path: '././@LongLink', type: 'L', data: '../../x.js\0' }, { path: 'package/ok.js', data: 'x' }]),
      /'\.\.' in path/,
    ],
    [
      'a GNU long name (npm pack writes pax)',
      tgz([
        ...ok,
        { path: '././@LongLink', type: 'L', data: `package/${'gnu/'.repeat(40)}x.js\0` },
        { path: 'package/x', data: 'b' },
      ]),
      /a GNU NextFileHasLongPath header/,
    ],
    // Found by an adversarial review: each was accepted, and npm, pnpm, yarn or bun installed other files than the
    // registry read.
    [
      'a drive letter inside the path (node-tar strips "C:" and installs over package.json)',
      tgz([
        ...ok,
        { path: 'package/C:package.json', data: '{"name":"demo","version":"1.0.0","scripts":{"postinstall":"x"}}' },
      ]),
      /"package\/C:package\.json": colon in path(.|\n)*same path as the earlier entry/,
    ],
    [
      'a pax size node-tar ignores and pnpm, yarn and bun read as 0',
      tgz([
        ...ok,
        {
          path: 'package/CHANGELOG.md',
          pax: { size: '0abc' },
          data: tarEntry({ path: 'package/index.js', data: 'evil()' }),
        },
      ]),
      /a pax size that is not a plain decimal number \("0abc"\)/,
    ],
    [
      'a negative pax size',
      tgz([...ok, { path: 'package/a.js', pax: { size: '-1' }, data: 'x' }]),
      /a pax size that is not a plain decimal number/,
    ],
    ['a base-256 size field', tgz([...ok, baseSize()]), /the size field is not plain octal/],
    [
      'a pax header followed by another pax header',
      tgz([
        ...ok,
        tarEntry({ path: 'P', type: 'x', data: paxBody({ size: '0' }) }),
        { path: 'package/b.js', pax: { path: 'package/c.js' }, data: 'x' },
      ]),
      /a pax header followed by another extended header/,
    ],
    [
      'a pax record whose length is wrong',
      tgz([
        ...ok,
        tarEntry({ path: 'P', type: 'x', data: '99 path=package/x.js\n' }),
        { path: 'package/y.js', data: 'x' },
      ]),
      /a pax record whose length does not end at its newline/,
    ],
    [
      'a pax record with a key npm pack never writes',
      tgz([...ok, { path: 'package/a.js', pax: { 'GNU.sparse.size': '9' }, data: 'x' }]),
      /a pax record with the key "GNU\.sparse\.size"/,
    ],
    [
      'an empty name completed by a pax path',
      tgz([...ok, { path: '', pax: { path: 'package/z.js' }, data: 'x' }]),
      /a header whose name field is empty/,
    ],
    [
      'a folder with a body',
      tgz([...ok, { path: 'package/lib/', type: '5', size: 512, data: Buffer.alloc(0) }]),
      /a folder entry with a body|damaged/,
    ],
    [
      'a global pax header that sets a path',
      tgz([{ path: 'pax_global_header', type: 'g', data: paxBody({ path: 'package/evil' }) }, ...ok]),
      /global pax header sets "path"/,
    ],
    [
      'a pax size that disagrees with the header',
      tgz([
        ...ok,
        { path: 'package/a.js', pax: { size: '0' }, data: tarEntry({ path: 'package/index.js', data: 'evil()' }) },
      ]),
      /pax header gives size 0 but the tar header says/,
    ],
    [
      'a pax path together with a ustar prefix',
      tgz([...ok, { path: 'x.js', prefix: 'elsewhere', pax: { path: 'package/y.js' }, data: 'x' }]),
      /long path .* ustar prefix/,
    ],
  ];
  for (const [name, bytes, expected] of cases) {
    it(`names ${name}`, () => {
      const c = read(bytes);
      assert.match(reasons(c), expected);
    });
  }

  it('sees the hidden second package.json as npm installs it (last one wins)', () => {
    const evil = JSON.stringify({ name: 'demo', version: '1.0.0', scripts: { postinstall: 'node x' } });
    const c = read(tgz([...ok, { path: 'package/package.json', data: evil }]));
    assert.equal(c.files.find((f) => f.path === 'package.json')?.data?.toString(), evil);
  });

  it('scans the files after a lone zero block, as npm installs them', () => {
    const c = read(tgz([], Buffer.concat([Buffer.alloc(512), tarStream(ok)])));
    assert.deepEqual(
      c.files.map((f) => f.path),
      ['package.json', 'index.js'],
    );
  });
});

describe('tarballs that cost more to read than they are worth', () => {
  const timed = (bytes: Buffer) => {
    const started = performance.now();
    const c = readTarball(bytes);
    return { c, ms: performance.now() - started };
  };

  it('stops a trailing run of zeros at the ratio limit', () => {
    const { c, ms } = timed(gzipSync(Buffer.concat([tarStream(ok), Buffer.alloc(64 * 1024 * 1024)]), { level: 9 }));
    assert.match(reasons(c), /compression ratio over 200:1/);
    assert.ok(ms < 10_000, `${ms} ms`);
  });

  it('stops an entry declaring 8 GiB long before inflating it', () => {
    // Many gzip members of zeros: gunzip reads them as one stream, 8 GiB in all, from a few megabytes.
    const zeros = gzipSync(Buffer.alloc(16 * 1024 * 1024), { level: 9 });
    const head = tarStream(
      [{ path: 'package/package.json', data: manifest }],
      tarHeader({ path: 'package/big.bin', size: 8 * 1024 ** 3 - 1 }),
    );
    const bomb = Buffer.concat([gzipSync(head), ...Array.from({ length: 512 }, () => zeros)]);
    const { c, ms } = timed(bomb);
    assert.match(reasons(c), /compression ratio over/);
    assert.ok(ms < 10_000, `${ms} ms`);
  });

  it('refuses more than the unpacked-size cap and more than the entry cap', () => {
    const big = read(tgz([...ok, { path: 'package/a.bin', data: Buffer.alloc(3 * 1024 * 1024, 1) }]));
    assert.equal(big.problems.length, 0);
    assert.match(
      reasons(
        readTarball(tgz([...ok, { path: 'package/a.bin', data: Buffer.alloc(3 * 1024 * 1024, 1) }]), {
          limits: { maxUnpacked: 2 * 1024 * 1024 },
        }),
      ),
      /unpacks to more than 2 MiB/,
    );
    const many = Array.from({ length: 30 }, (_, i) => ({ path: `package/f${i}.js`, data: 'x' }));
    assert.match(reasons(readTarball(tgz([...ok, ...many]), { limits: { maxEntries: 20 } })), /more than 20 entries/);
  });

  it('refuses what is not a gzipped tar, or ends early', () => {
    assert.match(reasons(readTarball(tarStream(ok))), /not a gzip stream/);
    assert.match(reasons(readTarball(Buffer.from('not a tarball at all'))), /not a gzip stream/);
    assert.match(reasons(readTarball(tgz(ok).subarray(0, 40))), /not a valid gzip stream|no end-of-archive|truncated/);
    assert.match(reasons(readTarball(tgz(ok, Buffer.alloc(0)))), /no end-of-archive marker/);
    assert.match(reasons(readTarball(gzipSync(tarStream(ok).subarray(0, 700)))), /truncated/);
    assert.match(
      reasons(readTarball(tgz(ok, Buffer.alloc(1024 + 128 * 1024)))),
      /padding after the end-of-archive marker/,
    );
  });

  it('reports a header node-tar cannot decode (base-256 noise in a numeric field) instead of throwing', () => {
    const odd = tarEntry({ path: 'package/x.js', data: 'x' });
    odd[108] = 0x81;
    let c: TarContents | undefined;
    assert.doesNotThrow(() => (c = readTarball(tgz([...ok, odd]))));
    assert.match(reasons(c!), /a header no tar reader decodes alike|not plain octal|damaged/);
  });

  it('refuses a path 80,000 folders deep quickly (the cost per entry is bounded)', () => {
    const started = performance.now();
    const c = readTarball(
      tgz([...ok, { path: 'package/x', pax: { path: `package/${'a/'.repeat(80_000)}f` }, data: 'x' }]),
    );
    assert.match(reasons(c), /path (deeper than 256 folders|longer than 4096 characters)/);
    assert.ok(performance.now() - started < 2000, `${performance.now() - started} ms`);
  });

  it('reports a damaged header and reads on, as npm does', () => {
    const damaged = tarEntry({ path: 'package/x.js', data: '' });
    damaged[0] = 0x41; // the checksum no longer matches
    const c = read(tgz([...ok.slice(0, 1), damaged, ...ok.slice(1)]));
    assert.match(reasons(c), /damaged tar header at byte 1024/);
    assert.deepEqual(
      c.files.map((f) => f.path),
      ['package.json', 'index.js'],
    );
  });
});
