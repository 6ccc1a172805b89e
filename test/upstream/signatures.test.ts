// The upstream's registry signatures (docs/upstream.md, "Trust"): a proxied version is offered only when its
// signature verifies with the upstream's /-/npm/v1/keys exactly as `npm audit signatures` checks it, an upstream
// without keys is refused unless the operator allows it by name, and every version served from an upstream is logged
// in the transparency log once, naming where it came from.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { logDb } from '../../src/trust/tlog/store.ts';
import { decodeLeaf, encodeRecord } from '../../src/trust/tlog/leaf.ts';
import { hashLeaf, verifyInclusion } from '../../src/trust/tlog/merkle.ts';
import { openCheckpoint, parseVerifierKey } from '../../src/trust/tlog/note.ts';
import {
  generateSigningKey,
  keyId,
  keysDocument,
  publicKeyBase64,
  signVersion,
} from '../../src/trust/registry-signatures.ts';
import { parseKeysDocument, signatureProblem } from '../../src/upstream/signatures.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { packTarball } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { RETIRED_KEY_EXPIRES, integrityOf, startFakeUpstream, type FakeUpstream } from '../helpers/upstream.ts';

const DAY = 86_400_000;
const plain = (name: string, version: string) => packTarball({ name, version, description: `${name} here` });

describe("npm's registry-signature rule, as the proxy applies it", () => {
  const current = generateSigningKey();
  const retired = generateSigningKey();
  const expires = '2025-01-01T00:00:00.000Z';
  const keys = parseKeysDocument(
    JSON.stringify(
      keysDocument([
        { keyid: keyId(current.publicKey), publicKey: publicKeyBase64(current.publicKey), expiresAt: null },
        {
          keyid: keyId(retired.publicKey),
          publicKey: publicKeyBase64(retired.publicKey),
          expiresAt: Date.parse(expires),
        },
      ]),
    ),
  );
  const integrity = integrityOf(Buffer.from('the bytes'));
  const sig = (pair = current, version = '1.0.0', over = integrity) => [
    signVersion(pair.privateKey, keyId(pair.publicKey), 'p', version, over),
  ];

  it('accepts a signature by a published key over name@version:integrity', () => {
    assert.equal(signatureProblem(keys, 'p', '1.0.0', { integrity, signatures: sig() }, '2026-01-01T00:00:00Z'), null);
  });

  it('refuses a version without signatures, with an unknown key, or whose signature covers other bytes', () => {
    assert.match(signatureProblem(keys, 'p', '1.0.0', { integrity }, undefined)!, /has no registry signature/);
    const stranger = generateSigningKey();
    assert.match(
      signatureProblem(keys, 'p', '1.0.0', { integrity, signatures: sig(stranger) }, undefined)!,
      /lists no such key/,
    );
    const other = integrityOf(Buffer.from('other bytes'));
    assert.match(
      signatureProblem(keys, 'p', '1.0.0', { integrity, signatures: sig(current, '1.0.0', other) }, undefined)!,
      /invalid registry signature/,
    );
    assert.match(
      signatureProblem(keys, 'p', '1.0.1', { integrity, signatures: sig(current, '1.0.0') }, undefined)!,
      /invalid registry signature/,
      'a signature for another version',
    );
    // npm checks every signature a version carries: one good one does not excuse a bad one.
    const both = [...sig(), ...sig(current, '1.0.0', other)];
    assert.match(signatureProblem(keys, 'p', '1.0.0', { integrity, signatures: both }, undefined)!, /invalid/);
  });

  it('judges an expired key by when the version was published, as pacote does', () => {
    const dist = { integrity, signatures: sig(retired) };
    assert.equal(signatureProblem(keys, 'p', '1.0.0', dist, '2024-12-31T23:59:59.999Z'), null);
    assert.match(signatureProblem(keys, 'p', '1.0.0', dist, expires)!, /expired 2025-01-01T00:00:00\.000Z/);
    assert.match(signatureProblem(keys, 'p', '1.0.0', dist, '2025-06-01T00:00:00Z')!, /expired/);
    // No publication time: pacote takes 2015-01-01, before this key expired.
    assert.equal(signatureProblem(keys, 'p', '1.0.0', dist, undefined), null);
  });
});

for (const kind of DB_KINDS) {
  describe(`proxied versions and their upstream's signatures (${kind})`, () => {
    let up: FakeUpstream;
    let keyless: FakeUpstream;
    let optedIn: FakeUpstream;
    let r: TestRegistry;
    const now = Date.now();
    const retiredAt = now - RETIRED_KEY_EXPIRES;
    before(async () => {
      up = await startFakeUpstream([
        {
          name: 'sig-cases',
          versions: [
            {
              version: '0.9.0',
              tarball: plain('sig-cases', '0.9.0'),
              publishedAt: retiredAt - 50 * DAY,
              signedBy: 'retired',
            },
            { version: '1.0.0', tarball: plain('sig-cases', '1.0.0'), publishedAt: now - 60 * DAY },
            { version: '1.1.0', tarball: plain('sig-cases', '1.1.0'), publishedAt: now - 50 * DAY, signedBy: 'bad' },
            {
              version: '1.2.0',
              tarball: plain('sig-cases', '1.2.0'),
              publishedAt: now - 40 * DAY,
              signedBy: 'unknown',
            },
            {
              version: '1.3.0',
              tarball: plain('sig-cases', '1.3.0'),
              publishedAt: retiredAt + DAY,
              signedBy: 'retired',
            },
            { version: '1.4.0', tarball: plain('sig-cases', '1.4.0'), publishedAt: now - 20 * DAY, signedBy: 'none' },
          ],
        },
        {
          name: 'logged-pkg',
          versions: [{ version: '2.0.0', tarball: plain('logged-pkg', '2.0.0'), publishedAt: now - 9 * DAY }],
        },
      ]);
      keyless = await startFakeUpstream([
        {
          name: 'keyless-pkg',
          versions: [{ version: '1.0.0', tarball: plain('keyless-pkg', '1.0.0'), publishedAt: now - 9 * DAY }],
        },
      ]);
      keyless.behaviour.keys = false;
      optedIn = await startFakeUpstream([
        {
          name: 'optin-pkg',
          versions: [
            { version: '1.0.0', tarball: plain('optin-pkg', '1.0.0'), publishedAt: now - 9 * DAY, signedBy: 'none' },
          ],
        },
      ]);
      optedIn.behaviour.keys = false;
      r = await startRegistry(kind, {
        upstream: `keyless-*=${keyless.url},optin-*=${optedIn.url},${up.url}`,
        'upstream-unsigned-allowed': `${optedIn.url}/`,
        'upstream-max-age': '2s',
        'upstream-timeout': '2s',
      });
    });
    after(async () => {
      await r.stop();
      await up.stop();
      await keyless.stop();
      await optedIn.stop();
    });

    it('offers only versions whose upstream signature verifies, and latest falls back past the others', async () => {
      const res = await r.request('GET', '/sig-cases');
      assert.equal(res.status, 200, res.text);
      const doc = res.json();
      assert.deepEqual(
        Object.keys(doc.versions).sort(),
        ['0.9.0', '1.0.0'],
        'a key that expired after the publish still vouches',
      );
      assert.equal(doc['dist-tags'].latest, '1.0.0');
      for (const v of ['1.1.0', '1.2.0', '1.3.0', '1.4.0']) assert.equal(doc.time[v], undefined, v);
      assert.equal(up.requestsFor('/-/npm/v1/keys').length, 1);
      const ok = await r.request('GET', '/sig-cases/-/sig-cases-0.9.0.tgz');
      assert.equal(ok.status, 200, ok.text);
    });

    for (const [version, reason] of [
      ['1.1.0', /sig-cases@1\.1\.0 has an invalid registry signature with keyid SHA256:/],
      [
        '1.2.0',
        /sig-cases@1\.2\.0 has a registry signature with keyid SHA256:\S+, but its upstream's \/-\/npm\/v1\/keys lists no such key/,
      ],
      [
        '1.3.0',
        /sig-cases@1\.3\.0 has a registry signature with keyid SHA256:\S+, but that key expired \S+, before the version was published/,
      ],
      ['1.4.0', /sig-cases@1\.4\.0 has no registry signature, but its upstream publishes signing keys/],
    ] as const)
      it(`refuses the tarball of ${version} with the reason, never fetching it`, async () => {
        const res = await r.request('GET', `/sig-cases/-/sig-cases-${version}.tgz`);
        assert.equal(res.status, 403, res.text);
        assert.equal(res.json().code, 'E_UPSTREAM_SIGNATURE');
        assert.match(res.json().error, reason);
        assert.equal(up.requestsFor(`/sig-cases/-/sig-cases-${version}.tgz`).length, 0);
      });

    it('refuses an upstream that publishes no keys, by default, with what the operator can do', async () => {
      for (const path of ['/keyless-pkg', '/keyless-pkg/-/keyless-pkg-1.0.0.tgz']) {
        const res = await r.request('GET', path);
        assert.equal(res.status, 403, `${path}: ${res.text}`);
        assert.equal(res.json().code, 'E_UPSTREAM_UNSIGNED');
        assert.match(
          res.json().error,
          /publishes no registry signing keys .*--upstream-unsigned-allowed http:\/\/127\.0\.0\.1:\d+/,
        );
      }
      assert.equal(keyless.requestsFor('/keyless-pkg/-/keyless-pkg-1.0.0.tgz').length, 0);
    });

    it('serves an upstream without keys that the operator allowed, signed by this registry', async () => {
      const doc = (await r.request('GET', '/optin-pkg')).json();
      assert.deepEqual(Object.keys(doc.versions), ['1.0.0']);
      const res = await r.request('GET', '/optin-pkg/-/optin-pkg-1.0.0.tgz');
      assert.equal(res.status, 200, res.text);
      await new Promise((resolve) => setTimeout(resolve, 2100));
      const again = (await r.request('GET', '/optin-pkg')).json();
      assert.equal(again.versions['1.0.0'].dist.signatures.length, 1);
      assert.notEqual(again.versions['1.0.0'].dist.signatures[0].keyid, up.keyids.current);
    });

    it('logs each version it serves from an upstream once, in the clear, naming the upstream', async () => {
      const file = '/logged-pkg/-/logged-pkg-2.0.0.tgz';
      const answers = await Promise.all([1, 2, 3].map(() => r.request('GET', file)));
      for (const a of answers) assert.equal(a.status, 200, a.text);
      assert.equal((await r.request('GET', file)).status, 200);
      const vkey = parseVerifierKey((await r.request('GET', '/-/log/key')).text.trim());
      const started = Date.now();
      let proof;
      for (;;) {
        const res = await r.request('GET', '/-/log/proof/inclusion?name=logged-pkg&version=2.0.0');
        if (res.status === 200) {
          proof = res.json();
          break;
        }
        if (Date.now() - started > 5000) assert.fail(`logged-pkg@2.0.0 not in the log after 5 s (${res.status})`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(proof.opening, undefined, 'a proxied version is logged in the clear');
      const leaf = decodeLeaf(Buffer.from(proof.entry, 'utf8'));
      assert.ok(!leaf.sealed);
      const { time, ...record } = leaf.record as Record<string, string>;
      assert.deepEqual(record, {
        type: 'version-proxied',
        name: 'logged-pkg',
        version: '2.0.0',
        integrity: integrityOf(plain('logged-pkg', '2.0.0')),
        upstream: up.url,
      });
      assert.ok(Date.parse(time!) >= now);
      const cp = openCheckpoint(proof.checkpoint, new URL(r.url).host, vkey);
      verifyInclusion(
        proof.index,
        proof.tree_size,
        hashLeaf(encodeRecord(leaf.record)),
        proof.proof.map((h: string) => Buffer.from(h, 'base64')),
        cp.root,
      );
      const rows = await logDb(r.store.db)
        .selectFrom('log_leaves')
        .select(['package', 'version', 'type'])
        .where('type', '=', 'version-proxied')
        .execute();
      assert.deepEqual(
        rows.filter((x) => x.package === 'logged-pkg').map((x) => x.version),
        ['2.0.0'],
        'four requests, one entry',
      );
      assert.equal(
        rows.filter((x) => x.package === 'sig-cases' && x.version !== '0.9.0').length,
        0,
        'refused versions are not logged',
      );
    });
  });
}
