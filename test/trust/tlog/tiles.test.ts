import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeBundle,
  encodeBundle,
  encodeTileIndex,
  parseTilePath,
  tilePath,
  tileWidthAt,
} from '../../../src/trust/tlog/tiles.ts';

describe('tlog-tiles layout', () => {
  it('encodes tile indexes as the spec shows', () => {
    assert.equal(encodeTileIndex(1234067), 'x001/x234/067');
    assert.equal(encodeTileIndex(0), '000');
    assert.equal(encodeTileIndex(1000), 'x001/000');
    assert.equal(tilePath({ kind: 'hashes', level: 2, index: 1234067, width: 17 }), 'tile/2/x001/x234/067.p/17');
    assert.equal(tilePath({ kind: 'entries', index: 5, width: null }), 'tile/entries/005');
  });

  it('parses only canonical tile paths', () => {
    assert.deepEqual(parseTilePath('0/x001/x234/067'), { kind: 'hashes', level: 0, index: 1234067, width: null });
    assert.deepEqual(parseTilePath('entries/000.p/112'), { kind: 'entries', index: 0, width: 112 });
    assert.deepEqual(parseTilePath('63/001.p/255'), { kind: 'hashes', level: 63, index: 1, width: 255 });
    for (const bad of [
      '',
      '0',
      '0/',
      '0/1',
      '0/0001',
      '0/x000/001',
      '0/001/x001',
      '64/000',
      '00/000',
      '0/000.p/0',
      '0/000.p/256',
      '0/000.p/01',
      '0/000.p',
      'x/000',
      'entries/x001',
      '0/000/',
      '0/000.p/1/2',
    ]) {
      assert.equal(parseTilePath(bad), null, bad);
    }
  });

  it('sizes tiles as the spec example for a tree of 70,000 entries', () => {
    const size = 70_000;
    assert.equal(tileWidthAt(0, 272, size), 256);
    assert.equal(tileWidthAt(0, 273, size), 112);
    assert.equal(tileWidthAt(0, 274, size), 0);
    assert.equal(tileWidthAt(1, 0, size), 256);
    assert.equal(tileWidthAt(1, 1, size), 17);
    assert.equal(tileWidthAt(2, 0, size), 1);
    assert.equal(tileWidthAt(3, 0, size), 0);
    assert.equal(tileWidthAt(1, 0, 256), 1, 'a tree of 256 has a partial level-1 tile of width 1');
  });

  it('round-trips entry bundles with 16-bit big-endian lengths and refuses truncated ones', () => {
    const entries = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(300, 7)];
    const bytes = encodeBundle(entries);
    assert.deepEqual([...bytes.subarray(0, 3)], [0, 1, 0x61]);
    assert.deepEqual(decodeBundle(bytes), entries);
    assert.throws(() => decodeBundle(bytes.subarray(0, bytes.length - 1)), RangeError);
    assert.throws(() => encodeBundle([Buffer.alloc(0x10000)]), RangeError);
  });
});
