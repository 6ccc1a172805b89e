// `bulwark org create` and `bulwark admin user moderator` against both databases: what they change, the domain events
// they record, and the mistakes they refuse.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openStore } from '../../src/store/db.ts';
import { bulwark } from '../helpers/bulwark-process.ts';
import { DB_KINDS, testDatabase } from '../helpers/db.ts';

for (const kind of DB_KINDS) {
  describe(`bulwark org create and moderator role (${kind})`, () => {
    it('creates an org for an owner, claims the scope, and refuses a second org or an unknown owner', async () => {
      const t = await testDatabase(kind);
      const storeArgs = ['--data-dir', t.dataDir, ...(t.database ? ['--database', t.database] : [])];
      try {
        for (const name of ['alice', 'mod']) {
          const r = await bulwark(
            ['admin', 'user', 'create', name, '--email', `${name}@example.com`, '--password-stdin', ...storeArgs],
            { input: 'a-long-enough-passphrase' },
          );
          assert.equal(r.code, 0, r.stderr);
        }
        let r = await bulwark(['org', 'create', '@acme', '--owner', 'alice', ...storeArgs]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /created the organisation @acme with owner alice/);
        r = await bulwark(['org', 'create', '@acme', '--owner', 'alice', ...storeArgs]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /already an organisation/);
        r = await bulwark(['org', 'create', '@other', '--owner', 'nobody', ...storeArgs]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /no user named "nobody"/);
        r = await bulwark(['org', 'create', '@Bad_Name!', '--owner', 'alice', ...storeArgs]);
        assert.equal(r.code, 1);
        r = await bulwark(['org', 'create', '@acme2', ...storeArgs]);
        assert.equal(r.code, 2, 'the owner is required');
        r = await bulwark(['admin', 'user', 'moderator', 'mod', ...storeArgs]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /mod is now a moderator/);

        const store = await openStore({ dataDir: t.dataDir, database: t.database, poolSize: 1 });
        try {
          const members = await store.db
            .selectFrom('org_members')
            .innerJoin('users', 'users.id', 'org_members.user_id')
            .select(['users.name', 'role'])
            .where('org', '=', 'acme')
            .execute();
          assert.deepEqual(
            members.map((m) => [m.name, m.role]),
            [['alice', 'owner']],
          );
          const scope = await store.db
            .selectFrom('scopes')
            .select('name')
            .where('name', '=', 'acme')
            .executeTakeFirst();
          assert.ok(scope, 'the unclaimed scope was claimed');
          const teams = await store.db.selectFrom('teams').select('name').where('org', '=', 'acme').execute();
          assert.deepEqual(
            teams.map((x) => x.name),
            ['developers'],
          );
          const mod = await store.db
            .selectFrom('users')
            .select('is_moderator')
            .where('name', '=', 'mod')
            .executeTakeFirstOrThrow();
          assert.equal(mod.is_moderator, 1);
          const kinds = (
            await store.db
              .selectFrom('events')
              .select('kind')
              .where('kind', 'in', ['org.created', 'user.moderator-changed'])
              .orderBy('seq')
              .execute()
          ).map((e) => e.kind);
          assert.deepEqual(kinds, ['org.created', 'user.moderator-changed']);
        } finally {
          await store.close();
        }
      } finally {
        await t.cleanup();
      }
    });
  });
}
