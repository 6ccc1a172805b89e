// Kysely's SqliteDialect expects better-sqlite3's statement shape; node:sqlite is built into Node and needs no
// compiler on install, so this adapter bridges the two small differences (spread parameters, no `reader` flag).
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

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

export function openSqlite(file: string): SqliteDatabase {
  const db = new DatabaseSync(file);
  // WAL lets readers proceed during a publish; busy_timeout makes the CLI and a running server share the file.
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;');
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
