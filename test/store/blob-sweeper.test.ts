// The blob sweeper (issue 15, item 7): what crashes leave in the blob folder goes, what any version references stays,
// including a blob a publish takes up while a sweep runs. Files are aged by setting their modification times; the
// race is ordered by running the sweep's two halves (plan, apply) around a real publish.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, rename, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Lifecycle } from '../../src/packages/lifecycle.ts';
import { BlobSweeper } from '../../src/store/blob-sweeper.ts';
import { FsBlobStore } from '../../src/store/blobs.ts';
import { serve } from '../helpers/bulwark-process.ts';
import { DB_KINDS, testDatabase } from '../helpers/db.ts';
import { body, packTarball, publishDoc, type Manifest } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const HOUR = 3600_000;
const OPERATOR = { id: null, name: 'operator' };

async function age(file: string, ms: number): Promise<void> {
  const t = new Date(Date.now() - ms);
  await utimes(file, t, t);
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

for (const kind of DB_KINDS) {
  describe(`blob sweeper (${kind})`, () => {
    let r: TestRegistry;
    let token: string;
    let blobs: FsBlobStore;
    const lines: Array<{ msg: string; [k: string]: unknown }> = [];
    const log = {
      info: (obj: object, msg: string) => lines.push({ ...obj, msg }),
      error: (obj: object, msg: string) => lines.push({ ...obj, msg }),
    };
    const sweeper = () => new BlobSweeper({ db: r.store.db, blobs, graceMs: HOUR, log });
    const publish = async (manifest: Manifest, tarball?: Buffer) => {
      const res = await r.request('PUT', `/${manifest.name}`, {
        token,
        body: body(publishDoc(manifest, tarball ? { tarball } : {})),
      });
      assert.equal(res.status, 201, res.text);
    };
    const blobOf = async (name: string, version: string) =>
      (
        await r.store.db
          .selectFrom('versions')
          .innerJoin('packages', 'packages.id', 'versions.package_id')
          .select('versions.blob')
          .where('packages.name', '=', name)
          .where('versions.version', '=', version)
          .executeTakeFirstOrThrow()
      ).blob;
    const tarballStatus = async (name: string, version: string) =>
      (await r.request('GET', `/${name}/-/${name}-${version}.tgz`)).status;

    before(async () => {
      r = await startRegistry(kind);
      token = (await r.user('alice')).token;
      blobs = new FsBlobStore(path.join(r.dataDir, 'blobs'));
    });
    after(() => r.stop());

    it('removes old temporary files and old blobs no version references; keeps every referenced blob, young files and files not its own', async () => {
      await publish({ name: 'steady', version: '1.0.0' });
      await publish({ name: 'steady', version: '1.0.1' });
      await publish({ name: 'doomed', version: '1.0.0' });
      const lifecycle = new Lifecycle({ db: r.store.db, clock: Date.now });
      // A version removed as malicious keeps its row, so its bytes stay as evidence; a deleted package's do not.
      await lifecycle.removeMalicious(OPERATOR, 'steady', '1.0.1', { reason: 'test' });
      const doomed = await blobOf('doomed', '1.0.0');
      await lifecycle.deletePackage(OPERATOR, 'doomed', 'test');
      const referenced = [await blobOf('steady', '1.0.0'), await blobOf('steady', '1.0.1')];

      // Litter: a blob whose publish never committed, old and young; temporary files of writes killed midway, old
      // and young; a write probe; and a file that is not the store's.
      const oldOrphan = await blobs.put(randomBytes(64));
      const youngOrphan = await blobs.put(randomBytes(64));
      const shard = path.dirname(blobs.path(oldOrphan));
      const oldTmp = path.join(shard, `${oldOrphan}.0a1b2c3d4e5f.tmp`);
      const youngTmp = path.join(shard, `${oldOrphan}.aabbccddeeff.tmp`);
      const probe = path.join(blobs.root, '.probe-0badf00d');
      const foreign = path.join(shard, 'notes.txt');
      for (const f of [oldTmp, youngTmp, probe, foreign]) await writeFile(f, 'partial');
      for (const f of [
        oldTmp,
        probe,
        foreign,
        blobs.path(oldOrphan),
        blobs.path(doomed),
        ...referenced.map((k) => blobs.path(k)),
      ])
        await age(f, 2 * HOUR);
      await age(youngTmp, HOUR / 2);
      await age(blobs.path(youngOrphan), HOUR / 2);

      lines.length = 0;
      const result = await sweeper().sweep();
      assert.deepEqual(result.unreferenced.sort(), [oldOrphan, doomed].sort());
      assert.deepEqual(result.temporary.sort(), [oldTmp, probe].sort());
      assert.deepEqual(result.kept, []);
      for (const f of [oldTmp, probe, blobs.path(oldOrphan), blobs.path(doomed)])
        assert.equal(await exists(f), false, `${f} removed`);
      for (const f of [youngTmp, foreign, blobs.path(youngOrphan), ...referenced.map((k) => blobs.path(k))])
        assert.equal(await exists(f), true, `${f} kept`);
      assert.equal(await tarballStatus('steady', '1.0.0'), 200);
      assert.ok(await blobs.get(referenced[1]!), 'the removed version’s bytes are intact');
      // What was removed is logged, one line each.
      assert.deepEqual(
        lines
          .filter((l) => l.msg === 'blob sweep: removed a blob no version references')
          .map((l) => l.blob)
          .sort(),
        [oldOrphan, doomed].sort(),
      );
      assert.equal(lines.filter((l) => l.msg === 'blob sweep: removed a temporary file').length, 2);

      // A second sweep finds nothing more.
      const again = await sweeper().sweep();
      assert.deepEqual([again.unreferenced, again.temporary], [[], []]);
    });

    it('keeps a blob that a publish takes up between the sweep judging it unreferenced and removing it', async () => {
      // A publish was killed after writing its blob and before its transaction: the blob is litter, an hour old.
      const manifest = { name: 'adopted', version: '1.0.0' };
      const tarball = packTarball(manifest);
      const key = await blobs.put(tarball);
      await age(blobs.path(key), 2 * HOUR);
      const s = sweeper();
      const plan = await s.plan();
      assert.ok(
        plan.unreferenced.some((f) => f.key === key),
        'judged unreferenced',
      );

      // The same tarball is published again and commits before the sweep goes on: it finds its bytes stored.
      await publish(manifest, tarball);
      assert.equal(await blobOf('adopted', '1.0.0'), key);

      const result = await s.apply(plan);
      assert.ok(!result.unreferenced.includes(key), 'not removed');
      assert.deepEqual(result.kept, [key]);
      assert.equal(await tarballStatus('adopted', '1.0.0'), 200);
      assert.deepEqual(await blobs.get(key), tarball);
      assert.deepEqual(
        (await readdir(path.dirname(blobs.path(key)))).filter((n) => n.startsWith(key)),
        [key],
        'nothing left aside',
      );
    });

    it('keeps a blob that a publish has stored again but not yet committed while the sweep removes litter', async () => {
      // Publish stores its tarball (FsBlobStore.put) before its transaction. Here the sweep runs whole between the
      // two: the database does not reference the blob yet when the sweep asks, and references it right after.
      const manifest = { name: 'uncommitted-publish', version: '1.0.0' };
      const tarball = packTarball(manifest);
      const key = await blobs.put(tarball);
      await age(blobs.path(key), 2 * HOUR);
      const s = sweeper();
      const plan = await s.plan();
      assert.ok(plan.unreferenced.some((f) => f.key === key));

      assert.equal(await blobs.put(tarball), key, 'the publish finds its bytes stored');
      const result = await s.apply(plan);
      assert.deepEqual(result.kept, [key]);
      assert.deepEqual(await blobs.get(key), tarball, 'still there when the publish commits');
      await publish(manifest, tarball);
      assert.equal(await tarballStatus('uncommitted-publish', '1.0.0'), 200);
    });

    it('lets a publish that comes after the sweep removed its blob write the blob again', async () => {
      const manifest = { name: 'rewritten', version: '1.0.0' };
      const tarball = packTarball(manifest);
      const key = await blobs.put(tarball);
      await age(blobs.path(key), 2 * HOUR);
      assert.ok((await sweeper().sweep()).unreferenced.includes(key));
      assert.equal(await exists(blobs.path(key)), false);
      await publish(manifest, tarball);
      assert.equal(await tarballStatus('rewritten', '1.0.0'), 200);
      assert.deepEqual(await blobs.get(key), tarball);
    });

    it('puts back a blob an interrupted sweep had set aside, and drops the copy when the blob is there again', async () => {
      await publish({ name: 'interrupted', version: '1.0.0' });
      await publish({ name: 'interrupted', version: '1.0.1' });
      const missing = await blobOf('interrupted', '1.0.0');
      const doubled = await blobOf('interrupted', '1.0.1');
      const aside = (key: string) => `${blobs.path(key)}.00ff00ff00ff.sweep`;
      // A sweep stopped between its rename and its check: one blob only aside, the other aside and written again.
      await rename(blobs.path(missing), aside(missing));
      await copyFile(blobs.path(doubled), aside(doubled));

      const result = await sweeper().sweep();
      assert.deepEqual(result.restored, [missing]);
      for (const key of [missing, doubled]) {
        assert.equal(await exists(aside(key)), false);
        assert.ok(await blobs.get(key));
      }
      assert.equal(await tarballStatus('interrupted', '1.0.0'), 200);
      assert.equal(await tarballStatus('interrupted', '1.0.1'), 200);
    });
  });
}

describe('bulwark serve', () => {
  it('sweeps the blob folder when it starts', async () => {
    const t = await testDatabase('sqlite');
    try {
      const shard = path.join(t.dataDir, 'blobs', 'ab', 'cd');
      await mkdir(shard, { recursive: true });
      const tmp = path.join(shard, `${'ab'.padEnd(128, 'c')}.0123456789ab.tmp`);
      await writeFile(tmp, 'partial');
      await age(tmp, 2 * HOUR);
      const server = await serve(['--data-dir', t.dataDir]);
      try {
        for (let i = 0; i < 100 && (await exists(tmp)); i++) await new Promise((res) => setTimeout(res, 100));
        assert.equal(await exists(tmp), false);
        for (let i = 0; i < 50 && !server.logs.some((l) => l.includes('blob sweep: removed a temporary file')); i++)
          await new Promise((res) => setTimeout(res, 100));
        assert.ok(server.logs.some((l) => l.includes('blob sweep: removed a temporary file') && l.includes('ab/cd/')));
      } finally {
        assert.equal(await server.stop(), 0);
      }
    } finally {
      await t.cleanup();
    }
  });
});
