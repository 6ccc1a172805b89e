import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kysely, SqliteDialect } from 'kysely';
import { openSqlite } from '../../src/store/sqlite-driver.ts';

type Db = { items: { id: number; name: string } };

describe('sqlite driver (node:sqlite under Kysely)', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'bulwark-sqlite-driver-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reuses a prepared statement for a query text it has seen', () => {
    const db = openSqlite(path.join(dir, 'reuse.sqlite'));
    try {
      const a = db.prepare('select ? as x');
      const b = db.prepare('select ? as x');
      assert.equal(a, b);
      assert.deepEqual(a.all([1]), [{ x: 1 }]);
      assert.deepEqual(b.all([2]), [{ x: 2 }]);
    } finally {
      db.close();
    }
  });

  it('closes a statement with a long parameter list once it has run instead of keeping it', () => {
    const db = openSqlite(path.join(dir, 'oneshot.sqlite'));
    try {
      const sql = `select ${Array.from({ length: 40 }, () => '?').join(' + ')} as total`;
      const stmt = db.prepare(sql);
      assert.deepEqual(stmt.all(Array.from({ length: 40 }, () => 1)), [{ total: 40 }]);
      // Closed after its one run: running it again fails, and preparing the text again gives a new statement.
      assert.throws(() => stmt.all(Array.from({ length: 40 }, () => 1)));
      const again = db.prepare(sql);
      assert.notEqual(again, stmt);
      assert.deepEqual(again.all(Array.from({ length: 40 }, () => 2)), [{ total: 80 }]);
    } finally {
      db.close();
    }
  });

  it('runs multi-row inserts, long in-lists and streamed queries through Kysely', async () => {
    const db = new Kysely<Db>({ dialect: new SqliteDialect({ database: openSqlite(path.join(dir, 'kysely.sqlite')) }) });
    try {
      await db.schema.createTable('items').addColumn('id', 'integer', (c) => c.primaryKey()).addColumn('name', 'text', (c) => c.notNull()).execute();
      for (const count of [50, 51, 50]) {
        const base = (await db.selectFrom('items').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;
        await db
          .insertInto('items')
          .values(Array.from({ length: count }, (_, i) => ({ id: base + i + 1, name: `item-${base + i + 1}` })))
          .execute();
      }
      const ids = Array.from({ length: 60 }, (_, i) => i * 2 + 1);
      const rows = await db.selectFrom('items').select(['id', 'name']).where('id', 'in', ids).orderBy('id').execute();
      assert.deepEqual(
        rows,
        ids.map((id) => ({ id, name: `item-${id}` })),
      );
      const streamed: number[] = [];
      for await (const row of db.selectFrom('items').select('id').where('id', 'in', ids).orderBy('id').stream()) streamed.push(row.id);
      assert.deepEqual(streamed, ids);
    } finally {
      await db.destroy();
    }
  });
});
