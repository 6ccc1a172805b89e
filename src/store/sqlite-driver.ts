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
  constructor(stmt: StatementSync) {
    this.#stmt = stmt;
    this.reader = stmt.columns().length > 0;
  }
  all(parameters: ReadonlyArray<unknown>): unknown[] {
    // node:sqlite returns null-prototype rows; give callers ordinary objects.
    return this.#stmt.all(...bind(parameters)).map((row) => ({ ...row }));
  }
  run(parameters: ReadonlyArray<unknown>) {
    const r = this.#stmt.run(...bind(parameters));
    return { changes: r.changes, lastInsertRowid: r.lastInsertRowid };
  }
  *iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    for (const row of this.#stmt.iterate(...bind(parameters))) yield { ...row };
  }
}

export function openSqlite(file: string): SqliteDatabase {
  const db = new DatabaseSync(file);
  // WAL lets readers proceed during a publish; busy_timeout makes the CLI and a running server share the file.
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;');
  return {
    close: () => db.close(),
    prepare: (sql: string) => new Statement(db.prepare(sql)),
  };
}
