// Opens the metadata database: SQLite in the data directory by default, PostgreSQL when a URL is given.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Kysely } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';
import { ImmediateSqliteDialect, openSqlite } from './sqlite-driver.ts';
import { migrate } from './migrations.ts';
import { SchemaScopedPostgresDialect } from './pg-schema-dialect.ts';

export type Dialect = 'sqlite' | 'postgres';
export type Db = Kysely<Database>;
export type Store = { db: Db; dialect: Dialect; close(): Promise<void> };

// bigint columns hold millisecond times and counters, all far below 2^53: read them as numbers.
pg.types.setTypeParser(20, (v) => Number(v));

export async function openStore(opts: { dataDir: string; database: string | null; poolSize?: number }): Promise<Store> {
  let db: Db;
  let dialect: Dialect;
  let schema: string | null = null;
  if (opts.database) {
    dialect = 'postgres';
    const url = new URL(opts.database);
    // A "schema" query parameter selects a PostgreSQL schema, so several registries (or test runs) can share a database.
    schema = url.searchParams.get('schema');
    if (schema !== null && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
      throw new Error('the "schema" parameter of the database URL must be a plain lowercase identifier');
    url.searchParams.delete('schema');
    const pool = new pg.Pool({
      connectionString: url.href,
      max: opts.poolSize ?? 10,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    });
    db = new Kysely<Database>({ dialect: new SchemaScopedPostgresDialect({ pool }, schema ?? 'public') });
  } else {
    dialect = 'sqlite';
    mkdirSync(opts.dataDir, { recursive: true });
    const file = path.join(opts.dataDir, 'bulwark.sqlite');
    db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect(openSqlite(file)) });
  }
  try {
    await migrate(db as Kysely<unknown>, dialect, dialect === 'postgres' ? (schema ?? 'public') : undefined);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return { db, dialect, close: () => db.destroy() };
}

/** True when err is a unique-constraint violation in either database. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  return e?.code === '23505' || /UNIQUE constraint failed/.test(e?.message ?? '');
}
