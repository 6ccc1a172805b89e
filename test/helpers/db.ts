// Test databases: every store and HTTP suite runs once on SQLite and once on PostgreSQL. Each test gets its own
// SQLite file or its own PostgreSQL schema, so test files can run in parallel against one server.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openStore, type Store } from '../../src/store/db.ts';

export const PG_URL = process.env.BULWARK_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type DbKind = 'sqlite' | 'postgres';
/** Set BULWARK_TEST_POSTGRES_URL=off to run the suite on SQLite only. */
export const DB_KINDS: DbKind[] = PG_URL === 'off' ? ['sqlite'] : ['sqlite', 'postgres'];

export type TestDatabase = { dataDir: string; database: string | null; cleanup(): Promise<void> };

/** A new empty data directory and, for PostgreSQL, a new schema. */
export async function testDatabase(kind: DbKind): Promise<TestDatabase> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bulwark-test-'));
  if (kind === 'sqlite')
    return { dataDir, database: null, cleanup: () => rm(dataDir, { recursive: true, force: true }) };
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.end();
  const url = new URL(PG_URL);
  url.searchParams.set('schema', schema);
  return {
    dataDir,
    database: url.href,
    async cleanup() {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function testStore(kind: DbKind): Promise<Store & { dataDir: string; cleanup(): Promise<void> }> {
  const t = await testDatabase(kind);
  const store = await openStore({ dataDir: t.dataDir, database: t.database, poolSize: 4 });
  return {
    ...store,
    dataDir: t.dataDir,
    cleanup: async () => {
      await store.close();
      await t.cleanup();
    },
  };
}
