// Registry signatures checked by npm's own code: a tree is installed from Bulwark by the real npm 11, then audited by
// npm's `audit signatures` logic (verify-signatures.js → pacote verifySignatures, keys from /-/npm/v1/keys). Tampering
// with a signature, swapping a tarball behind the registry's back, corrupting a blob and signing with an expired key
// must each be caught, by the signature check or by npm's integrity check on install.
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { open } from '../../src/crypto/secret-key.ts';
import { FsBlobStore } from '../../src/store/blobs.ts';
import { privateKeyFromDer, signVersion } from '../../src/trust/registry-signatures.ts';
import { rotateSigningKey, type SigningTables } from '../../src/trust/signing-keys.ts';
import { ok, run, sandbox, type Sandbox } from '../helpers/clients.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { auditSignatures } from '../helpers/npm-signatures.ts';
import { body, packTarball, publishDoc, type Manifest } from '../helpers/packages.ts';
import { TEST_SECRET_KEY, startRegistry, type TestRegistry } from '../helpers/registry.ts';

type Dist = { integrity: string; shasum: string; signatures?: Array<{ keyid: string; sig: string }> };

for (const kind of DB_KINDS) {
  describe(`npm verifies Bulwark's registry signatures (${kind})`, () => {
    let r: TestRegistry;
    let sb: Sandbox;
    let skew = 0;
    const project = () => path.join(sb.dir, 'app');

    before(async () => {
      r = await startRegistry(kind, {}, { clock: () => Date.now() + skew });
      sb = await sandbox(r.url, r.adminToken);
      await publish(
        { name: 'sig-leaf', version: '1.0.0', main: 'index.js' },
        { 'package/index.js': "module.exports = 'leaf';\n" },
      );
      await publish({ name: 'sig-mid', version: '1.0.0', dependencies: { 'sig-leaf': '^1.0.0' } });
      await publish({ name: 'sig-solo', version: '1.0.0' });
      // The top of the tree goes through the real `npm publish`.
      const top = path.join(sb.dir, 'top');
      await mkdir(top, { recursive: true });
      await writeFile(
        path.join(top, 'package.json'),
        JSON.stringify({
          name: '@admin/sig-top',
          version: '1.0.0',
          license: 'MIT',
          dependencies: { 'sig-mid': '^1.0.0' },
        }),
      );
      await ok('npm11', ['publish', '--access', 'public'], { cwd: top, env: sb.env });
      await mkdir(project(), { recursive: true });
      await writeFile(
        path.join(project(), 'package.json'),
        JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: { '@admin/sig-top': '1.0.0' } }),
      );
      await ok('npm11', ['install', '--no-audit', '--no-fund'], { cwd: project(), env: sb.env });
    });
    after(async () => {
      await r.stop();
      await rm(sb.dir, { recursive: true, force: true });
    });

    async function publish(manifest: Manifest, files: Record<string, string> = {}) {
      const doc = publishDoc(manifest, { tarball: packTarball(manifest, files) });
      const res = await r.request('PUT', `/${manifest.name}`, { token: r.adminToken, body: body(doc) });
      assert.equal(res.status, 201, res.text);
    }
    async function versionRow(name: string, version: string) {
      return r.store.db
        .selectFrom('versions')
        .innerJoin('packages', 'packages.id', 'versions.package_id')
        .select(['versions.id', 'versions.manifest'])
        .where('packages.name', '=', name)
        .where('versions.version', '=', version)
        .executeTakeFirstOrThrow();
    }
    /** Edits a stored version's manifest in the database, as an attacker with database access would. */
    async function editDist(
      name: string,
      version: string,
      edit: (dist: Dist) => void,
      extra: Record<string, unknown> = {},
    ): Promise<() => Promise<void>> {
      const row = await versionRow(name, version);
      const manifest = JSON.parse(row.manifest) as { dist: Dist };
      edit(manifest.dist);
      await r.store.db
        .updateTable('versions')
        .set({ manifest: JSON.stringify(manifest), ...extra })
        .where('id', '=', row.id)
        .execute();
      r.app.packages.invalidate(name);
      return async () => {
        await r.store.db.updateTable('versions').set({ manifest: row.manifest }).where('id', '=', row.id).execute();
        r.app.packages.invalidate(name);
      };
    }
    const clean = (a: Awaited<ReturnType<typeof auditSignatures>>) => ({
      invalid: a.invalid.map((i) => `${i.name}@${i.version} ${i.code}`),
      missing: a.missing.map((m) => `${m.name}@${m.version}`),
    });

    it('verifies every installed package, and the lockfile pins the signed integrity', async () => {
      const audit = await auditSignatures(project(), r.url);
      assert.deepEqual(clean(audit), { invalid: [], missing: [] });
      assert.equal(audit.auditedWithKeysCount, 3);
      assert.equal(audit.verifiedSignatureCount, 3);
      const lock = JSON.parse(await readFile(path.join(project(), 'package-lock.json'), 'utf8')) as {
        packages: Record<string, { integrity: string }>;
      };
      const served = (await r.request('GET', '/sig-leaf')).json().versions['1.0.0'].dist as Dist;
      assert.equal(lock.packages['node_modules/sig-leaf']!.integrity, served.integrity);
    });

    it('reports a signature altered in the database as invalid', async () => {
      const mid = JSON.parse((await versionRow('sig-mid', '1.0.0')).manifest).dist as Dist;
      // A well-formed signature by the right key, but over another package: only verification can tell.
      const restore = await editDist('sig-leaf', '1.0.0', (d) => (d.signatures = mid.signatures));
      try {
        const audit = await auditSignatures(project(), r.url);
        assert.deepEqual(clean(audit), { invalid: ['sig-leaf@1.0.0 EINTEGRITYSIGNATURE'], missing: [] });
      } finally {
        await restore();
      }
      const removed = await editDist('sig-leaf', '1.0.0', (d) => delete d.signatures);
      try {
        assert.deepEqual(clean(await auditSignatures(project(), r.url)), { invalid: [], missing: ['sig-leaf@1.0.0'] });
      } finally {
        await removed();
      }
      assert.deepEqual(clean(await auditSignatures(project(), r.url)), { invalid: [], missing: [] });
    });

    it('catches a tarball swapped behind the registry: the lockfile install refuses it, the signature exposes it', async () => {
      // An attacker with the blob store and the database replaces sig-leaf's tarball and makes the metadata agree,
      // but cannot sign: the registry key is sealed with the instance key.
      const evil = packTarball(
        { name: 'sig-leaf', version: '1.0.0', main: 'index.js' },
        { 'package/index.js': "module.exports = 'evil';\n" },
      );
      const blob = await new FsBlobStore(path.join(r.dataDir, 'blobs')).put(evil);
      const integrity = `sha512-${createHash('sha512').update(evil).digest('base64')}`;
      const shasum = createHash('sha1').update(evil).digest('hex');
      await editDist(
        'sig-leaf',
        '1.0.0',
        (d) => {
          d.integrity = integrity;
          d.shasum = shasum;
        },
        { blob, integrity, shasum, size: evil.length },
      );

      // npm ci with the lockfile made before the swap: npm's integrity check refuses the new bytes.
      const pinned = await sandbox(r.url, r.adminToken);
      try {
        const dir = path.join(pinned.dir, 'app');
        await mkdir(dir);
        await copyFile(path.join(project(), 'package.json'), path.join(dir, 'package.json'));
        await copyFile(path.join(project(), 'package-lock.json'), path.join(dir, 'package-lock.json'));
        const ci = await run('npm11', ['ci', '--no-audit', '--no-fund', '--fetch-retries=0'], {
          cwd: dir,
          env: pinned.env,
        });
        assert.notEqual(ci.code, 0);
        assert.match(ci.stderr, /EINTEGRITY/);
      } finally {
        await rm(pinned.dir, { recursive: true, force: true });
      }

      // A fresh install trusts the packument and gets the evil bytes; the signature check is what exposes them.
      const fresh = await sandbox(r.url, r.adminToken);
      try {
        const dir = path.join(fresh.dir, 'app');
        await mkdir(dir);
        await copyFile(path.join(project(), 'package.json'), path.join(dir, 'package.json'));
        await ok('npm11', ['install', '--no-audit', '--no-fund'], { cwd: dir, env: fresh.env });
        assert.equal(
          await readFile(path.join(dir, 'node_modules/sig-leaf/index.js'), 'utf8'),
          "module.exports = 'evil';\n",
        );
        const audit = await auditSignatures(dir, r.url);
        assert.deepEqual(clean(audit), { invalid: ['sig-leaf@1.0.0 EINTEGRITYSIGNATURE'], missing: [] });
      } finally {
        await rm(fresh.dir, { recursive: true, force: true });
      }
    });

    it('never serves a tarball altered in place in the blob store', async () => {
      const { blob } = await r.store.db
        .selectFrom('versions')
        .innerJoin('packages', 'packages.id', 'versions.package_id')
        .select('versions.blob')
        .where('packages.name', '=', 'sig-solo')
        .executeTakeFirstOrThrow();
      const file = path.join(r.dataDir, 'blobs', blob.slice(0, 2), blob.slice(2, 4), blob);
      await writeFile(file, packTarball({ name: 'sig-solo', version: '1.0.0', description: 'altered' }));
      assert.equal((await r.request('GET', '/sig-solo/-/sig-solo-1.0.0.tgz')).status, 500);
      const dir = path.join(sb.dir, 'solo');
      await mkdir(dir);
      await writeFile(
        path.join(dir, 'package.json'),
        JSON.stringify({ name: 'solo', version: '1.0.0', private: true }),
      );
      const install = await run(
        'npm11',
        ['install', 'sig-solo@1.0.0', '--no-audit', '--no-fund', '--fetch-retries=0'],
        { cwd: dir, env: sb.env },
      );
      assert.notEqual(install.code, 0, 'the install fails instead of unpacking altered bytes');
      await assert.rejects(readFile(path.join(dir, 'node_modules/sig-solo/package.json')));
    });

    it('handles an expired key as npm does: valid for versions published before its expiry, refused after', async () => {
      await publish({ name: 'sig-old', version: '1.0.0' });
      const oldKey = await r.store.db
        .withTables<SigningTables>()
        .selectFrom('signing_keys')
        .selectAll()
        .orderBy('generation', 'desc')
        .executeTakeFirstOrThrow();
      const { created } = await rotateSigningKey(r.store.db, TEST_SECRET_KEY, 0, Date.now() + skew);
      skew += 1000;
      await publish({ name: 'sig-new', version: '1.0.0' });
      const newDist = JSON.parse((await versionRow('sig-new', '1.0.0')).manifest).dist as Dist;
      assert.equal(newDist.signatures![0]!.keyid, created, 'the registry signs with the new key after a rotation');

      const dir = path.join(sb.dir, 'rotated');
      await mkdir(dir);
      await writeFile(
        path.join(dir, 'package.json'),
        JSON.stringify({
          name: 'rotated',
          version: '1.0.0',
          private: true,
          dependencies: { 'sig-old': '1.0.0', 'sig-new': '1.0.0' },
        }),
      );
      await ok('npm11', ['install', '--no-audit', '--no-fund'], { cwd: dir, env: sb.env });
      const audit = await auditSignatures(dir, r.url);
      assert.deepEqual(clean(audit), { invalid: [], missing: [] });
      assert.equal(audit.verifiedSignatureCount, 2);
      const keys = [...audit.keys.values()][0]!;
      assert.equal(
        keys.find((k) => k.keyid === oldKey.keyid)?.expires !== null,
        true,
        'npm sees the old key with its expiry',
      );

      // A valid signature by the expired key on a version published after the expiry: npm refuses it.
      const oldPrivate = privateKeyFromDer(open(TEST_SECRET_KEY, 'registry-signing-key', oldKey.sealed_private_key));
      await editDist(
        'sig-new',
        '1.0.0',
        (d) => (d.signatures = [signVersion(oldPrivate, oldKey.keyid, 'sig-new', '1.0.0', d.integrity)]),
      );
      await assert.rejects(auditSignatures(dir, r.url), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'EEXPIREDSIGNATUREKEY');
        assert.match(
          err.message,
          /sig-new@1\.0\.0 has a registry signature with keyid: .* but the corresponding public key has expired/,
        );
        return true;
      });
    });
  });
}
