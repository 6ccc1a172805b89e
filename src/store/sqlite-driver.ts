// Kysely's SqliteDialect expects better-sqlite3's statement shape; node:sqlite is built into Node and needs no
// compiler on install, so this adapter bridges the two small differences (spread parameters, no `reader` flag).
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import {
  CompiledQuery,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type SqliteDatabase,
  type SqliteStatement,
} from 'kysely';

function bind(params: ReadonlyArray<unknown>): SQLInputValue[] {
  return params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p === undefined ? null : (p as SQLInputValue)));
}

class Statement implements SqliteStatement {
  readonly reader: boolean;
  readonly #stmt: StatementSync;
  /** Not kept for reuse: closed as soon as the query it was prepared for has run. */
  readonly #oneShot: boolean;
  constructor(stmt: StatementSync, oneShot: boolean) {
    this.#stmt = stmt;
    this.#oneShot = oneShot;
    this.reader = stmt.columns().length > 0;
  }
  all(parameters: ReadonlyArray<unknown>): unknown[] {
    try {
      // node:sqlite returns null-prototype rows; give callers ordinary objects.
      return this.#stmt.all(...bind(parameters)).map((row) => ({ ...row }));
    } finally {
      if (this.#oneShot) this.close();
    }
  }
  run(parameters: ReadonlyArray<unknown>) {
    try {
      const r = this.#stmt.run(...bind(parameters));
      return { changes: r.changes, lastInsertRowid: r.lastInsertRowid };
    } finally {
      if (this.#oneShot) this.close();
    }
  }
  *iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    try {
      for (const row of this.#stmt.iterate(...bind(parameters))) yield { ...row };
    } finally {
      if (this.#oneShot) this.close();
    }
  }
  /** Frees the statement now (Node 26 has StatementSync.close; on older Node the garbage collector frees it). */
  close(): void {
    const stmt = this.#stmt as StatementSync & { close?: () => void };
    if (typeof stmt.close === 'function') stmt.close();
  }
}

/**
 * How many prepared statements are kept. Kysely prepares every query it runs; preparing is a good part of a small
 * query's cost, and a statement left to the garbage collector keeps its native memory until a full collection, which
 * under a steady write load (publishing) grew the process by tens of megabytes. The application has a few hundred
 * distinct query texts at most, so this covers them; queries with variable-length lists just take turns.
 */
const STATEMENT_CACHE = 256;

/**
 * Statements with more parameters than this are not kept. They come from variable-length lists (multi-row inserts
 * of transparency-log leaves and nodes, `in (…)` lists): every length is a different text, so they are rarely run
 * twice, and each compiles to a program proportional to its length. Kept, they filled the cache with a few hundred
 * such programs (tens of kilobytes of native memory each) and pushed out the short statements worth keeping.
 */
const MAX_CACHED_PARAMETERS = 32;

function parameterCount(sql: string): number {
  let n = 0;
  for (let i = sql.indexOf('?'); i !== -1; i = sql.indexOf('?', i + 1)) n++;
  return n;
}

/** How long a statement waits for another process's write lock (SQLite's busy_timeout) before it fails as busy. */
export const BUSY_TIMEOUT_MS = 5000;

export function openSqlite(file: string, opts: { busyTimeoutMs?: number } = {}): SqliteDatabase {
  // The busy timeout is set as the connection opens, so it covers the pragmas below too.
  const db = new DatabaseSync(file, { timeout: opts.busyTimeoutMs ?? BUSY_TIMEOUT_MS });
  // WAL lets readers proceed during a publish; the busy timeout makes the CLI and a running server share the file
  // (with transactions that take the write lock as they begin: see ImmediateSqliteDriver).
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');
  // Kysely runs one query at a time on this connection (it holds a mutex around each), so a statement is never used
  // by two queries at once and can be reused.
  const statements = new Map<string, Statement>();
  return {
    close: () => {
      for (const stmt of statements.values()) stmt.close();
      statements.clear();
      db.close();
    },
    prepare: (sql: string) => {
      let stmt = statements.get(sql);
      if (stmt) {
        statements.delete(sql);
      } else {
        if (parameterCount(sql) > MAX_CACHED_PARAMETERS) return new Statement(db.prepare(sql), true);
        stmt = new Statement(db.prepare(sql), false);
        if (statements.size >= STATEMENT_CACHE) {
          const [oldest, old] = statements.entries().next().value!;
          statements.delete(oldest);
          old.close();
        }
      }
      statements.set(sql, stmt);
      return stmt;
    },
  };
}

/** True when err is SQLite's SQLITE_BUSY ("database is locked"), with or without an extended code. */
export function isSqliteBusy(err: unknown): boolean {
  const e = err as { code?: string; errcode?: number } | null;
  return e?.code === 'ERR_SQLITE_ERROR' && typeof e.errcode === 'number' && (e.errcode & 0xff) === 5;
}

/** How many times a transaction's BEGIN is tried: each try waits up to BUSY_TIMEOUT_MS for the write lock. */
export const BEGIN_ATTEMPTS = 4;

/**
 * Transactions begin with BEGIN IMMEDIATE. Kysely's driver says BEGIN, which SQLite defers: the transaction starts as
 * a reader and asks for the write lock at its first write. Almost every transaction here reads before it writes, and
 * when another process (a `bulwark admin` command, or the server while such a command runs) writes in between, the
 * upgrade fails with SQLITE_BUSY at once: SQLite calls no busy handler for a transaction that already holds a read
 * snapshot, since the other writer's commit makes that snapshot stale and waiting could not help (issue 15, item 8: the
 * CLI's "database is locked" while a server published). Taken at BEGIN, the lock is waited for
 * like any other, and a transaction that could not get it has done nothing, so its BEGIN is simply tried again (a
 * bounded number of times). A failure after BEGIN is never retried here: the transaction's code may have acted on
 * what it read.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await connection.executeQuery(CompiledQuery.raw('begin immediate'));
        return;
      } catch (err) {
        if (!isSqliteBusy(err) || attempt >= BEGIN_ATTEMPTS) throw err;
      }
    }
  }
}

/** Kysely's SQLite dialect over one node:sqlite connection (openSqlite), with transactions that begin IMMEDIATE. */
export class ImmediateSqliteDialect extends SqliteDialect {
  readonly #database: SqliteDatabase;
  constructor(database: SqliteDatabase) {
    super({ database });
    this.#database = database;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver({ database: this.#database });
  }
}
