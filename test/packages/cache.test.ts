import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LruCache, etagMatches, negotiateEncoding } from '../../src/packages/cache.ts';

describe('HTTP caching rules', () => {
  it('negotiates encodings by q-value and matches ETags weakly', () => {
    assert.equal(negotiateEncoding('gzip, deflate, br', 5000), 'br');
    assert.equal(negotiateEncoding('gzip', 5000), 'gzip');
    assert.equal(negotiateEncoding('br;q=0, gzip', 5000), 'gzip');
    assert.equal(negotiateEncoding('*', 5000), 'br');
    assert.equal(negotiateEncoding('identity', 5000), 'identity');
    assert.equal(negotiateEncoding('gzip', 100), 'identity', 'tiny bodies are not worth compressing');
    assert.ok(etagMatches('W/"abc", "def"', '"abc"'));
    assert.ok(etagMatches('*', '"x"'));
    assert.equal(etagMatches('"abc-gzip"', '"abc"'), false);
  });

  it('keeps an LRU within its byte budget and never caches a value loaded before an invalidation', async () => {
    const cache = new LruCache<{ size: number; v: number }>(100);
    let version = 1;
    const load = async () => ({ size: 40, v: version });
    await cache.get('a', load);
    await cache.get('b', load);
    await cache.get('a', load); // a is now most recent
    await cache.get('c', load); // evicts b
    assert.equal(cache.bytes, 80);
    let loads = 0;
    await cache.get('b', async () => (loads++, { size: 40, v: 0 }));
    assert.equal(loads, 1, 'b was evicted');

    let release!: () => void;
    const slow = cache.get('d', () => {
      const seen = version;
      return new Promise((res) => (release = () => res({ size: 10, v: seen })));
    });
    version = 2;
    cache.invalidate('d');
    release();
    assert.equal((await slow).v, 1, 'the waiting request gets the value it asked for');
    assert.equal((await cache.get('d', load)).v, 2, 'but the stale value is not kept');
  });
});
