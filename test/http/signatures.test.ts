// Registry signatures over HTTP: the signing key made at first start and sealed, /-/npm/v1/keys, dist.signatures made
// once at publish, the backfill of versions stored before the key, rotation, and `bulwark keys`.
import assert from 'node:assert/strict';
import { describe, it, before, after } from 'node:test';
import { open } from '../../src/crypto/secret-key.ts';
import { keyId, publicKeyFromBase64, verifyVersion } from '../../src/trust/registry-signatures.ts';
import {
  BACKFILL_CURSOR,
  RegistrySigner,
  backfillSignatures,
  ensureSigningKey,
  rotateSigningKey,
  type SigningTables,
} from '../../src/trust/signing-keys.ts';
import { bulwark } from '../helpers/bulwark-process.ts';
import { DB_KINDS, testDatabase } from '../helpers/db.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { TEST_SECRET_KEY, startRegistry, type TestRegistry } from '../helpers/registry.ts';

type Keys = { keys: Array<{ expires: string | null; keyid: string; keytype: string; scheme: string; key: string }> };
type Dist = { integrity: string; signatures?: Array<{ keyid: string; sig: string }> };

for (const kind of DB_KINDS) {
  describe(`registry signatures (${kind})`, () => {
    let r: TestRegistry;
    let alice: { id: number; token: string };
    let skew = 0;
    before(async () => {
      r = await startRegistry(kind, {}, { clock: () => Date.now() + skew });
      alice = await r.user('alice');
    });
    after(() => r.stop());

    const keysTable = () => r.store.db.withTables<SigningTables>();
    async function publish(name: string, version: string) {
      const res = await r.request('PUT', `/${name.replace('/', '%2f')}`, {
        token: alice.token,
        body: body(publishDoc({ name, version }, { access: 'public' })),
      });
      assert.equal(res.status, 201, res.text);
    }
    async function keys(): Promise<Keys> {
      const res = await r.request('GET', '/-/npm/v1/keys');
      assert.equal(res.status, 200);
      return res.json() as Keys;
    }
    async function dist(name: string, version: string, accept?: string): Promise<Dist> {
      const res = await r.request('GET', `/${name.replace('/', '%2f')}`, accept ? { headers: { accept } } : {});
      assert.equal(res.status, 200);
      return (res.json() as { versions: Record<string, { dist: Dist }> }).versions[version]!.dist;
    }
    function verifies(doc: Keys, name: string, version: string, d: Dist): boolean {
      return (
        (d.signatures ?? []).length > 0 &&
        d.signatures!.every((s) => {
          const k = doc.keys.find((x) => x.keyid === s.keyid);
          return !!k && verifyVersion(publicKeyFromBase64(k.key), s.sig, name, version, d.integrity);
        })
      );
    }

    it('makes one P-256 key at first start, sealed with the instance key, and serves it as npm expects', async () => {
      const doc = await keys();
      assert.equal(doc.keys.length, 1);
      const [k] = doc.keys;
      assert.deepEqual(Object.keys(k!), ['expires', 'keyid', 'keytype', 'scheme', 'key']);
      assert.equal(k!.expires, null);
      assert.equal(k!.keytype, 'ecdsa-sha2-nistp256');
      assert.equal(k!.scheme, 'ecdsa-sha2-nistp256');
      const pub = publicKeyFromBase64(k!.key);
      assert.equal(pub.asymmetricKeyDetails?.namedCurve, 'prime256v1');
      assert.equal(k!.keyid, keyId(pub));
      const row = await keysTable().selectFrom('signing_keys').selectAll().executeTakeFirstOrThrow();
      assert.ok(!row.sealed_private_key.includes('PRIVATE'), 'the private key is not stored in the clear');
      assert.throws(
        () => open(Buffer.alloc(32, 1), 'registry-signing-key', row.sealed_private_key),
        'another instance key cannot open it',
      );
      assert.equal(keyId(publicKeyFromBase64(k!.key)), row.keyid);
    });

    it('answers a revalidation with 304 and refuses strangers on a registry where reading needs a token', async () => {
      const first = await r.request('GET', '/-/npm/v1/keys');
      assert.match(first.headers.get('cache-control') ?? '', /no-cache/);
      const again = await r.request('GET', '/-/npm/v1/keys', {
        headers: { 'if-none-match': first.headers.get('etag')! },
      });
      assert.equal(again.status, 304);
      const closed = await startRegistry(kind, { 'read-access': 'authenticated' });
      try {
        assert.equal((await closed.request('GET', '/-/npm/v1/keys')).status, 401);
        assert.equal((await closed.request('GET', '/-/npm/v1/keys', { token: closed.adminToken })).status, 200);
      } finally {
        await closed.stop();
      }
    });

    it('signs each version once, at publish: the stored signature is served in both packuments', async () => {
      await publish('sig-a', '1.0.0');
      await publish('@sigs/b', '2.0.0');
      const doc = await keys();
      for (const [name, version] of [
        ['sig-a', '1.0.0'],
        ['@sigs/b', '2.0.0'],
      ] as const) {
        const full = await dist(name, version);
        const corgi = await dist(name, version, 'application/vnd.npm.install-v1+json');
        assert.ok(verifies(doc, name, version, full), `${name}@${version} verifies`);
        assert.deepEqual(corgi.signatures, full.signatures);
        // ECDSA signatures are randomized: one made per request would differ after the cache is rebuilt.
        r.app.packages.invalidate(name);
        assert.deepEqual((await dist(name, version)).signatures, full.signatures);
        assert.ok(
          !verifies(doc, name, version === '1.0.0' ? '1.0.1' : '2.0.1', full),
          'the signature is bound to its version',
        );
      }
    });

    it('signs versions stored before the key existed, once, and leaves signed ones alone', async () => {
      await publish('sig-c', '1.0.0');
      const signedBefore = (await dist('sig-a', '1.0.0')).signatures;
      // A database from before signing: no keys, no backfill position, and sig-c stored without a signature.
      const row = await r.store.db
        .selectFrom('versions')
        .innerJoin('packages', 'packages.id', 'versions.package_id')
        .select(['versions.id', 'versions.manifest'])
        .where('packages.name', '=', 'sig-c')
        .executeTakeFirstOrThrow();
      const manifest = JSON.parse(row.manifest) as { dist: Dist };
      delete manifest.dist.signatures;
      await r.store.db
        .updateTable('versions')
        .set({ manifest: JSON.stringify(manifest) })
        .where('id', '=', row.id)
        .execute();
      await r.store.db.deleteFrom('consumer_cursors').where('name', '=', BACKFILL_CURSOR).execute();
      await keysTable().deleteFrom('signing_keys').execute();
      r.app.packages.invalidate('sig-c');
      assert.equal((await dist('sig-c', '1.0.0')).signatures, undefined);

      // What a start does.
      assert.equal(await ensureSigningKey(r.store.db, TEST_SECRET_KEY, Date.now()), true);
      assert.equal(
        await ensureSigningKey(r.store.db, TEST_SECRET_KEY, Date.now()),
        false,
        'a second start makes no second key',
      );
      const signer = new RegistrySigner(r.store.db, TEST_SECRET_KEY);
      assert.equal(await backfillSignatures(r.store.db, signer, Date.now(), 2), 1);
      assert.equal(await backfillSignatures(r.store.db, signer, Date.now()), 0, 'idempotent');
      const events = await r.store.db
        .selectFrom('events')
        .select(['kind', 'subject', 'data'])
        .where('kind', '=', 'package.versions-signed')
        .execute();
      assert.deepEqual(
        events.map((e) => [e.subject, JSON.parse(e.data).versions]),
        [['sig-c', ['1.0.0']]],
      );
      // The event drops every node's cached packument; this node's watcher polls, so don't wait for it.
      r.app.packages.invalidate('sig-c');
      const doc = await keys();
      assert.equal(doc.keys.length, 1);
      assert.ok(verifies(doc, 'sig-c', '1.0.0', await dist('sig-c', '1.0.0')));
      assert.deepEqual(
        (await dist('sig-a', '1.0.0')).signatures,
        signedBefore,
        'already signed versions are not re-signed',
      );
    });

    it('rotates: new publishes use the new key, the old one stays published with its expiry', async () => {
      const before = (await keys()).keys;
      const now = Date.now() + skew;
      const { created, expired } = await rotateSigningKey(r.store.db, TEST_SECRET_KEY, 0, now);
      assert.deepEqual(expired, [{ keyid: before[0]!.keyid, expiresAt: now }]);
      skew += 5;
      await publish('sig-d', '1.0.0');
      const doc = await keys();
      assert.deepEqual(
        doc.keys.map((k) => [k.keyid, k.expires]),
        [
          [before[0]!.keyid, new Date(now).toISOString()],
          [created, null],
        ],
      );
      const d = await dist('sig-d', '1.0.0');
      assert.equal(d.signatures![0]!.keyid, created);
      assert.ok(verifies(doc, 'sig-d', '1.0.0', d));
      assert.ok(verifies(doc, 'sig-c', '1.0.0', await dist('sig-c', '1.0.0')), 'older signatures still verify');
      await assert.rejects(
        rotateSigningKey(r.store.db, Buffer.alloc(32, 9), 0, now),
        /cannot open the current signing key/,
      );
      await assert.rejects(
        new RegistrySigner(r.store.db, Buffer.alloc(32, 9)).signaturesFor('sig-d', '1.0.1', 'sha512-x'),
        /the instance key cannot open the registry signing key SHA256:/,
      );
      assert.equal((await keys()).keys.length, 2, 'a refused rotation changes nothing');
    });
  });

  describe(`bulwark keys (${kind})`, () => {
    it('rotates and lists keys in the registry database', async () => {
      const t = await testDatabase(kind);
      const storage = t.database ? ['--database', t.database] : ['--data-dir', t.dataDir];
      const env = { BULWARK_SECRET_KEY: 'k'.repeat(40) };
      try {
        const empty = await bulwark(['keys', 'list', ...storage], { env });
        assert.equal(empty.code, 0, empty.stderr);
        assert.match(empty.stdout, /no signing key yet/);
        const first = await bulwark(['keys', 'rotate', ...storage], { env });
        assert.equal(first.code, 0, first.stderr);
        const firstId = /new signing key (SHA256:\S+)/.exec(first.stdout)![1]!;
        const second = await bulwark(['keys', 'rotate', '--grace-seconds', '3600', ...storage], { env });
        assert.equal(second.code, 0, second.stderr);
        const secondId = /new signing key (SHA256:\S+)/.exec(second.stdout)![1]!;
        const expiry = new RegExp(`${firstId.replace(/[+/]/g, '\\$&')} expires (\\S+)`).exec(second.stdout)![1]!;
        assert.ok(Math.abs(Date.parse(expiry) - (Date.now() + 3600_000)) < 60_000, expiry);
        const list = await bulwark(['keys', 'list', ...storage], { env });
        const lines = list.stdout.trim().split('\n');
        assert.equal(lines.length, 2);
        assert.match(lines[0]!, new RegExp(`^${firstId.replace(/[+/]/g, '\\$&')}\\tcreated \\S+\\texpires ${expiry}$`));
        assert.match(lines[1]!, new RegExp(`^${secondId.replace(/[+/]/g, '\\$&')}\\tcreated \\S+\\tsigning$`));
        const wrongKey = await bulwark(['keys', 'rotate', ...storage], { env: { BULWARK_SECRET_KEY: 'x'.repeat(40) } });
        assert.equal(wrongKey.code, 1);
        assert.match(wrongKey.stderr, /cannot open the current signing key/);
        // The instance key was lost: a new one may replace the signing key without opening it.
        const replaced = await bulwark(['keys', 'rotate', '--replace-unreadable', '--grace-seconds', '0', ...storage], {
          env: { BULWARK_SECRET_KEY: 'x'.repeat(40) },
        });
        assert.equal(replaced.code, 0, replaced.stderr);
        assert.equal((await bulwark(['keys', 'list', ...storage], { env })).stdout.trim().split('\n').length, 3);
        const badGrace = await bulwark(['keys', 'rotate', '--grace-seconds', '-5', ...storage], { env });
        assert.equal(badGrace.code, 2);
      } finally {
        await t.cleanup();
      }
    });
  });
}
