import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { Kysely, SqliteDialect } from 'kysely';
import { BEGIN_ATTEMPTS, ImmediateSqliteDialect, isSqliteBusy, openSqlite } from '../../src/store/sqlite-driver.ts';

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
    const db = new Kysely<Db>({
      dialect: new SqliteDialect({ database: openSqlite(path.join(dir, 'kysely.sqlite')) }),
    });
    try {
      await db.schema
        .createTable('items')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .execute();
      for (const count of [50, 51, 50]) {
        const base = (
          await db
            .selectFrom('items')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n;
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
      for await (const row of db.selectFrom('items').select('id').where('id', 'in', ids).orderBy('id').stream())
        streamed.push(row.id);
      assert.deepEqual(streamed, ids);
    } finally {
      await db.destroy();
    }
  });

  describe('sharing the file with another process', () => {
    // Another connection on its own thread stands for the other process (a server, or a `bulwark admin` command):
    // node:sqlite waits for a lock synchronously, so the two connections cannot share one event loop.
    function otherWriter(file: string) {
      const worker = new Worker(
        `const { parentPort, workerData } = require('node:worker_threads');
         const { DatabaseSync } = require('node:sqlite');
         const db = new DatabaseSync(workerData.file, { timeout: 5000 });
         parentPort.on('message', ({ name, holdMs }) => {
           db.exec('begin immediate');
           db.prepare('insert into items (name) values (?)').run(name);
           parentPort.postMessage('locked');
           Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, holdMs);
           db.exec('commit');
           parentPort.postMessage('committed');
         });`,
        { eval: true, workerData: { file } },
      );
      const messages: string[] = [];
      worker.on('message', (m: string) => messages.push(m));
      /** Waits up to ms for the worker to say m, and takes that message. */
      const until = async (m: string, ms: number) => {
        for (const end = Date.now() + ms; !messages.includes(m) && Date.now() < end;) await sleep(5);
        const i = messages.indexOf(m);
        if (i !== -1) messages.splice(i, 1);
        return i !== -1;
      };
      return {
        write: (name: string, holdMs: number) => worker.postMessage({ name, holdMs }),
        until,
        stop: () => worker.terminate(),
      };
    }

    async function itemsDb(name: string, busyTimeoutMs?: number) {
      const file = path.join(dir, name);
      const db = new Kysely<Db>({
        dialect: new ImmediateSqliteDialect(openSqlite(file, busyTimeoutMs === undefined ? {} : { busyTimeoutMs })),
      });
      await db.schema
        .createTable('items')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .execute();
      return { db, file };
    }

    it('a transaction that reads, then writes, while another process writes, commits instead of failing as busy', async () => {
      const { db, file } = await itemsDb('read-then-write.sqlite');
      const other = otherWriter(file);
      try {
        await db.transaction().execute(async (trx) => {
          const before = await trx.selectFrom('items').select('id').execute();
          // The other process writes now. A deferred transaction (plain BEGIN) would let it take the write lock and
          // then fail its own insert below at once with "database is locked"; an immediate one holds the lock
          // already, so the other process waits for this commit instead.
          other.write('theirs', 50);
          await other.until('locked', 500);
          await trx
            .insertInto('items')
            .values({ id: before.length + 1, name: 'ours' })
            .execute();
        });
        assert.ok(await other.until('committed', 10_000));
        assert.deepEqual(
          (await db.selectFrom('items').select('name').orderBy('id').execute()).map((r) => r.name),
          ['ours', 'theirs'],
        );
      } finally {
        await other.stop();
        await db.destroy();
      }
    });

    it('tries BEGIN again while another process holds the write lock for longer than the busy timeout, a bounded number of times', async () => {
      const { db, file } = await itemsDb('begin-retry.sqlite', 100);
      const other = otherWriter(file);
      try {
        // Held for about two busy timeouts: the first BEGIN gives up, a later one gets the lock.
        other.write('long', 2 * 100 + 50);
        assert.ok(await other.until('locked', 5000));
        await db.transaction().execute((trx) => trx.insertInto('items').values({ id: 100, name: 'after' }).execute());
        assert.ok(await other.until('committed', 5000));

        // Held for longer than every attempt together: the transaction fails as busy, having done nothing.
        other.write('longer', (BEGIN_ATTEMPTS + 12) * 100);
        assert.ok(await other.until('locked', 5000));
        let ran = false;
        await assert.rejects(
          db.transaction().execute(async () => {
            ran = true;
          }),
          (err) => isSqliteBusy(err),
        );
        assert.equal(ran, false);
        assert.ok(await other.until('committed', 5000));
      } finally {
        await other.stop();
        await db.destroy();
      }
    });
  });
});
