// The read-path caches' memory rules: cached bytes own exactly their memory, compressed forms count against the
// budget, values too large for a cache are served but not kept, and statements are reused and freed.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { LruCache, Representation, negotiateEncoding, ownBytes } from '../../src/packages/cache.ts';
import { openSqlite } from '../../src/store/sqlite-driver.ts';

const exact = (b: Buffer) => b.byteOffset === 0 && b.buffer.byteLength === b.length;

describe('read-path cache memory', () => {
  it('keeps bytes that own exactly their memory, not a slice of a pool or of a zlib chunk', () => {
    const small = Buffer.from('{"name":"x"}');
    assert.equal(exact(small), false, 'Buffer.from of a short string is a slice of the shared pool');
    assert.ok(exact(ownBytes(small)));
    assert.ok(exact(ownBytes('{"name":"x"}')));
    assert.equal(ownBytes('é').length, 2);
    const zipped = gzipSync(Buffer.alloc(5000, 'a'));
    assert.equal(exact(zipped), false, 'zlib returns a slice of its output chunk');
    const rep = new Representation(JSON.stringify({ name: 'x', readme: 'word '.repeat(500) }));
    assert.ok(exact(rep.body));
    assert.ok(exact(rep.bytes('gzip')));
    assert.ok(exact(rep.bytes('br')));
    assert.deepEqual(gunzipSync(rep.bytes('gzip')), rep.body);
  });

  it('counts compressed forms against the budget when they are made', async () => {
    const cache = new LruCache<{ size: number; rep: Representation }>(10_000);
    const [a, b] = ['a', 'b'].map((key) => {
      const holder = { size: 0, rep: null as unknown as Representation };
      holder.rep = new Representation('x'.repeat(3000) + key, (bytes) => cache.grow(key, holder, bytes));
      holder.size = holder.rep.body.length;
      return holder;
    }) as [{ size: number; rep: Representation }, { size: number; rep: Representation }];
    await cache.get('a', async () => a);
    await cache.get('b', async () => b);
    assert.equal(cache.bytes, 6002);
    a.rep.bytes('gzip');
    a.rep.bytes('gzip');
    assert.equal(cache.bytes, 6002 + a.rep.bytes('gzip').length, 'each form counted once');
    cache.invalidate('a');
    assert.equal(cache.bytes, 3001);
    a.rep.bytes('br');
    assert.equal(cache.bytes, 3001, 'a form made for an evicted value is not counted');
  });

  it('serves values too large for the cache without keeping them, and answers peek from memory only', async () => {
    const cache = new LruCache<{ size: number }>(1000, 100);
    let loads = 0;
    const load = (size: number) => async () => (loads++, { size });
    await cache.get('big', load(500));
    await cache.get('big', load(500));
    assert.equal(loads, 2, 'a value over the per-item limit is loaded each time');
    assert.equal(cache.peek('big'), undefined);
    await cache.get('small', load(50));
    assert.deepEqual(cache.peek('small'), { size: 50 });
    assert.deepEqual(cache.stats(), { entries: 1, bytes: 50, hits: 1, misses: 3 });
  });

  it('negotiates the same encoding for a repeated Accept-Encoding header', () => {
    for (let i = 0; i < 2; i++) {
      assert.equal(negotiateEncoding('gzip, deflate, br', 5000), 'br');
      assert.equal(negotiateEncoding('br;q=0, gzip', 5000), 'gzip');
      assert.equal(negotiateEncoding('br;q=0, gzip', 500), 'identity');
    }
    for (let i = 0; i < 600; i++)
      assert.equal(negotiateEncoding(`x-${i}, gzip`, 5000), 'gzip', 'many distinct headers stay correct');
  });
});

describe('SQLite statements', () => {
  it('reuses prepared statements, and frees the oldest beyond the cache bound', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bulwark-sqlite-'));
    const db = openSqlite(path.join(dir, 'db.sqlite'));
    try {
      db.prepare('create table t (n integer)').run([]);
      const insert = db.prepare('insert into t (n) values (?)');
      assert.equal(db.prepare('insert into t (n) values (?)'), insert, 'the same text gives the same statement');
      for (let n = 0; n < 5; n++) insert.run([n]);
      for (let n = 0; n < 300; n++)
        assert.deepEqual(db.prepare(`select count(*) as c, ${n} as k from t`).all([]), [{ c: 5, k: n }]);
      assert.notEqual(db.prepare('insert into t (n) values (?)'), insert, 'evicted after 300 other statements');
      assert.throws(() => insert.run([9]), 'an evicted statement is closed, not left to the garbage collector');
      db.prepare('insert into t (n) values (?)').run([9]);
      assert.deepEqual(db.prepare('select sum(n) as s from t').all([]), [{ s: 19 }]);
    } finally {
      db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
