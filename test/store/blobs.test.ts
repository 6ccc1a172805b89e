import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BlobCorruptError, FsBlobStore } from '../../src/store/blobs.ts';

describe('blob store', () => {
  it('stores by sha512, deduplicates, and refuses to serve corrupted bytes', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bulwark-blobs-'));
    try {
      const blobs = new FsBlobStore(dir);
      const key = await blobs.put(Buffer.from('hello'));
      assert.match(key, /^[0-9a-f]{128}$/);
      assert.equal(await blobs.put(Buffer.from('hello')), key);
      assert.deepEqual(await blobs.get(key), Buffer.from('hello'));
      assert.equal(await blobs.get('0'.repeat(128)), null);
      const file = path.join(dir, key.slice(0, 2), key.slice(2, 4), key);
      assert.deepEqual(await readdir(path.dirname(file)), [key], 'no temp files left behind');
      await writeFile(file, 'tampered');
      await assert.rejects(blobs.get(key), BlobCorruptError);
      await assert.rejects(blobs.get('../../etc/passwd'), /invalid blob key/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
