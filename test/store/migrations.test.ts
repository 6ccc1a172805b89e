// Schema migrations: each has its own number, and a database migrated by an earlier release upgrades to exactly the
// schema a new database gets (issue 16.3: two migrations were numbered 0009, and one had to be renamed without
// running it again or having Kysely refuse the databases that already ran it under its old name).
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Kysely, Migrator, sql, type Migration, type MigrationProvider } from 'kysely';
import pg from 'pg';
import { openStore, type Dialect, type Store } from '../../src/store/db.ts';
import { migrationsFor } from '../../src/store/migrations.ts';
import { SchemaScopedPostgresDialect } from '../../src/store/pg-schema-dialect.ts';
import { ImmediateSqliteDialect, openSqlite } from '../../src/store/sqlite-driver.ts';
import { DB_KINDS, testDatabase, type DbKind, type TestDatabase } from '../helpers/db.ts';

/**
 * The migration names as released before the renumbering, in their order, frozen here: databases in use carry these
 * names in bulwark_migrations. Never edit this list; it stands for what is already out there.
 */
const RELEASED_BEFORE_RENUMBERING = [
  '0001-core',
  '0002-accounts',
  '0005-admin-users',
  '0007-orgs',
  '0008-log',
  '0009-log-witnesses',
  '0009-names-security',
  '0010-signing-keys',
  '0011-lifecycle',
  '0012-advisories',
  '0013-reports',
  '0014-scans',
  '0015-versions-blob',
];

/** What a migration does is named after its number: "0009-log-witnesses" does "log-witnesses". */
const purpose = (name: string) => name.slice(name.indexOf('-') + 1);

/** The migrations as an earlier release named them: today's code for each, under the released name. */
class ReleasedMigrations implements MigrationProvider {
  readonly #dialect: Dialect;
  readonly #upTo: string;
  constructor(dialect: Dialect, upTo: string) {
    this.#dialect = dialect;
    this.#upTo = upTo;
  }
  async getMigrations(): Promise<Record<string, Migration>> {
    const current = migrationsFor(this.#dialect);
    const released = RELEASED_BEFORE_RENUMBERING.slice(0, RELEASED_BEFORE_RENUMBERING.indexOf(this.#upTo) + 1);
    return Object.fromEntries(
      released.map((name) => {
        const same = Object.keys(current).filter((n) => purpose(n) === purpose(name));
        assert.equal(same.length, 1, `one current migration does what ${name} did`);
        return [name, current[same[0]!]!];
      }),
    );
  }
}

/** The database connection openStore would make, without migrating. */
function rawConnection(kind: DbKind, t: TestDatabase): { db: Kysely<unknown>; schema: string | undefined } {
  if (kind === 'sqlite')
    return {
      db: new Kysely({ dialect: new ImmediateSqliteDialect(openSqlite(path.join(t.dataDir, 'bulwark.sqlite'))) }),
      schema: undefined,
    };
  const url = new URL(t.database!);
  const schema = url.searchParams.get('schema')!;
  url.searchParams.delete('schema');
  const pool = new pg.Pool({ connectionString: url.href, max: 2, options: `-c search_path=${schema}` });
  return { db: new Kysely({ dialect: new SchemaScopedPostgresDialect({ pool }, schema) }), schema };
}

/** Migrates a database as a release before the renumbering did, up to and including the named migration. */
async function migrateAsReleased(kind: DbKind, t: TestDatabase, upTo: string): Promise<void> {
  const { db, schema } = rawConnection(kind, t);
  try {
    const migrator = new Migrator({
      db,
      provider: new ReleasedMigrations(kind, upTo),
      migrationTableName: 'bulwark_migrations',
      migrationLockTableName: 'bulwark_migrations_lock',
      ...(schema ? { migrationTableSchema: schema } : {}),
    });
    const { error, results } = await migrator.migrateToLatest();
    assert.equal(error, undefined);
    assert.deepEqual(
      results?.map((r) => r.migrationName),
      RELEASED_BEFORE_RENUMBERING.slice(0, RELEASED_BEFORE_RENUMBERING.indexOf(upTo) + 1),
    );
    // Something the upgrade must keep: a table created again would lose it (or fail to be created).
    if (upTo >= '0009-log-witnesses')
      await sql`insert into log_witnesses (name, url, vkey, cosigned_size, created_at) values ('w', 'https://w.example', 'k', 3, 1)`.execute(
        db,
      );
  } finally {
    await db.destroy();
  }
}

type Snapshot = { tables: unknown[]; indexes: unknown[]; constraints: unknown[] };

/** Every table, column, index and constraint of the store's schema, in a form two schemas can be compared in. */
async function schemaOf(store: Store): Promise<Snapshot> {
  if (store.dialect === 'sqlite') {
    const objects = (
      await sql<{
        type: string;
        name: string;
        tbl_name: string;
        sql: string | null;
      }>`select type, name, tbl_name, sql from sqlite_master where name not like 'sqlite_%' order by type, name`.execute(
        store.db,
      )
    ).rows;
    const tables = [];
    for (const o of objects.filter((x) => x.type === 'table')) {
      const columns = (
        await sql`select name, type, "notnull", dflt_value, pk from pragma_table_info(${o.name}) order by cid`.execute(
          store.db,
        )
      ).rows;
      tables.push({ table: o.name, sql: o.sql, columns });
    }
    return { tables, indexes: objects.filter((x) => x.type === 'index'), constraints: [] };
  }
  const schema = (await sql<{ s: string }>`select current_schema() as s`.execute(store.db)).rows[0]!.s;
  const unqualified = (text: string) => text.replaceAll(`${schema}.`, '');
  const columns = (
    await sql<Record<string, unknown>>`
      select table_name, column_name, ordinal_position, data_type, is_nullable, column_default
      from information_schema.columns where table_schema = ${schema} order by table_name, ordinal_position`.execute(
      store.db,
    )
  ).rows;
  const indexes = (
    await sql<{
      tablename: string;
      indexname: string;
      indexdef: string;
    }>`select tablename, indexname, indexdef from pg_indexes where schemaname = ${schema} order by tablename, indexname`.execute(
      store.db,
    )
  ).rows.map((i) => ({ ...i, indexdef: unqualified(i.indexdef) }));
  const constraints = (
    await sql<{ table: string; name: string; def: string }>`
      select c.conrelid::regclass::text as table, c.conname as name, pg_get_constraintdef(c.oid) as def
      from pg_constraint c join pg_namespace n on n.oid = c.connamespace where n.nspname = ${schema} order by 1, 2`.execute(
      store.db,
    )
  ).rows.map((c) => ({ ...c, table: unqualified(c.table), def: unqualified(c.def) }));
  return { tables: columns, indexes, constraints };
}

type Executed = { name: string; timestamp: string };
const executed = async (store: Store): Promise<Executed[]> =>
  (await sql<Executed>`select name, timestamp from bulwark_migrations order by name`.execute(store.db)).rows;

async function freshStore(kind: DbKind): Promise<{ store: Store; t: TestDatabase }> {
  const t = await testDatabase(kind);
  return { store: await openStore({ dataDir: t.dataDir, database: t.database, poolSize: 2 }), t };
}

describe('schema migrations', () => {
  it('each has its own number, and names sort in number order', async () => {
    const { store, t } = await freshStore('sqlite');
    try {
      const names = (await executed(store)).map((e) => e.name);
      assert.ok(names.length >= RELEASED_BEFORE_RENUMBERING.length);
      const numbers = names.map((n) => /^(\d{4}(?:\.\d+)?)-[a-z0-9]+(?:-[a-z0-9]+)*$/.exec(n)?.[1]);
      assert.ok(
        numbers.every((x) => x !== undefined),
        `every name is NNNN[.N]-words: ${names.join(', ')}`,
      );
      const duplicated = numbers.filter((x, i) => numbers.indexOf(x) !== i);
      assert.deepEqual(duplicated, [], 'no two migrations share a number');
      // Kysely orders the migrations by name: that order must be the order of the numbers.
      const byNumber = [...names].sort((a, b) => parseFloat(a) - parseFloat(b));
      assert.deepEqual([...names].sort(), byNumber);
    } finally {
      await store.close();
      await t.cleanup();
    }
  });

  for (const kind of DB_KINDS) {
    describe(kind, () => {
      // A database at each released state that the renumbering touches: before either 0009, after the first only
      // (a release between the two), and fully migrated by the last release.
      for (const upTo of ['0008-log', '0009-log-witnesses', '0015-versions-blob']) {
        it(`upgrades a database migrated up to ${upTo} by the released names to the schema a new database gets`, async () => {
          const old = await testDatabase(kind);
          const fresh = await freshStore(kind);
          try {
            await migrateAsReleased(kind, old, upTo);
            let store = await openStore({ dataDir: old.dataDir, database: old.database, poolSize: 2 });
            const before = await executed(store);
            try {
              assert.deepEqual(await schemaOf(store), await schemaOf(fresh.store));
              const upgraded = await executed(store);
              const current = await executed(fresh.store);
              assert.deepEqual(
                upgraded.map((e) => e.name),
                current.map((e) => e.name),
                'the bookkeeping names every current migration once, and nothing else',
              );
            } finally {
              await store.close();
            }
            // A second start changes nothing: no migration runs again, none is renamed twice.
            store = await openStore({ dataDir: old.dataDir, database: old.database, poolSize: 2 });
            try {
              assert.deepEqual(await executed(store), before);
              // What the database held before the upgrade is still there: nothing was created twice.
              const witnesses = (
                await sql<{
                  name: string;
                  cosigned_size: number;
                }>`select name, cosigned_size from log_witnesses`.execute(store.db)
              ).rows;
              assert.deepEqual(
                witnesses.map((w) => [w.name, Number(w.cosigned_size)]),
                upTo >= '0009-log-witnesses' ? [['w', 3]] : [],
              );
            } finally {
              await store.close();
            }
          } finally {
            await fresh.store.close();
            await fresh.t.cleanup();
            await old.cleanup();
          }
        });
      }

      it('keeps when a renamed migration ran: it is the same row under its new name, not a new run', async () => {
        const old = await testDatabase(kind);
        try {
          await migrateAsReleased(kind, old, '0015-versions-blob');
          const { db } = rawConnection(kind, old);
          let released: Executed[];
          try {
            released = (await sql<Executed>`select name, timestamp from bulwark_migrations order by name`.execute(db))
              .rows;
          } finally {
            await db.destroy();
          }
          const store = await openStore({ dataDir: old.dataDir, database: old.database, poolSize: 2 });
          try {
            const now = await executed(store);
            // Migrations written after that release run now, once each; no released one runs again.
            const added = Object.keys(migrationsFor(kind)).filter(
              (n) => !RELEASED_BEFORE_RENUMBERING.some((name) => purpose(name) === purpose(n)),
            );
            assert.equal(now.length, released.length + added.length);
            for (const e of released) {
              const same = now.filter((n) => purpose(n.name) === purpose(e.name));
              assert.deepEqual(
                same.map((n) => n.timestamp),
                [e.timestamp],
                `${e.name} ran once, when the release ran it`,
              );
            }
          } finally {
            await store.close();
          }
        } finally {
          await old.cleanup();
        }
      });
    });
  }
});
