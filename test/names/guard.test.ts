// The name guard's protected set on both databases: the registry's own most-downloaded public packages join it
// (restricted ones never do), and a stale index is rebuilt in the background, outside the caller's transaction.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NameGuard, topDownloaded } from '../../src/names/guard.ts';
import { DB_KINDS, testStore } from '../helpers/db.ts';

for (const kind of DB_KINDS) {
  describe(`name guard (${kind})`, () => {
    let store: Awaited<ReturnType<typeof testStore>>;
    before(async () => {
      store = await testStore(kind);
    });
    after(() => store.cleanup());

    it('protects the most-downloaded public packages, never restricted ones, and refreshes a stale index in the background', async () => {
      let now = Date.parse('2026-11-30T12:00:00Z');
      const guard = new NameGuard({ protectedNames: [], reservedNames: [], typosquatTop: 10 }, () => now);
      const db = store.db;
      assert.equal((await guard.index(db)).check('quartz-widgetz').verdict, 'allow');

      for (const [name, access] of [
        ['quartz-widgets', 'public'],
        ['secret-gizmos', 'restricted'],
      ] as const) {
        const pkg = await db
          .insertInto('packages')
          .values({
            name,
            scope: null,
            access,
            description: '',
            keywords: '',
            latest_version: '1.0.0',
            rev: 1,
            created_at: now,
            modified_at: now,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        await db
          .insertInto('downloads')
          .values({ package_id: pkg.id, version: '1.0.0', day: '2026-11-29', count: 50 })
          .execute();
      }
      // An old day does not count.
      assert.deepEqual(await topDownloaded(db, 10, now), ['quartz-widgets']);
      assert.deepEqual(await topDownloaded(db, 10, now + 40 * 86_400_000), []);

      assert.equal((await guard.index(db, db)).check('quartz-widgetz').verdict, 'allow', 'the index is not yet stale');
      now += 6 * 60_000;
      assert.equal(
        (await guard.index(db, db)).check('quartz-widgetz').verdict,
        'allow',
        'a stale index answers while it is rebuilt',
      );
      await guard.rebuilt();
      assert.equal(
        (await guard.index(db, db)).check('quartz-widgetz').verdict,
        'block',
        'the rebuilt index protects the registry’s own popular package',
      );
      assert.equal(
        (await guard.index(db)).check('secret-gizmoz').verdict,
        'allow',
        'a restricted package is never named in a refusal',
      );
    });
  });
}
