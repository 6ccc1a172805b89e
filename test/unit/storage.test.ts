import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadSecretKey, open, seal } from '../../src/crypto/secret-key.ts';
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

describe('secret key', () => {
  it('seals secrets so they open only with the same key and purpose', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bulwark-key-'));
    try {
      const warnings: string[] = [];
      const generated = loadSecretKey(dir, {}, (m) => warnings.push(m));
      assert.equal(generated.source, 'generated');
      assert.equal(warnings.length, 1);
      const again = loadSecretKey(dir, {}, (m) => warnings.push(m));
      assert.deepEqual(again.key, generated.key);
      assert.equal(warnings.length, 1, 'no warning once the key exists');
      const fromEnv = loadSecretKey(dir, { BULWARK_SECRET_KEY: 'k'.repeat(32) }, () => {});
      assert.equal(fromEnv.source, 'environment');
      assert.throws(() => loadSecretKey(dir, { BULWARK_SECRET_KEY: 'short' }, () => {}), /at least 32/);

      const sealed = seal(generated.key, 'totp', Buffer.from('JBSWY3DPEHPK3PXP'));
      assert.equal(open(generated.key, 'totp', sealed).toString(), 'JBSWY3DPEHPK3PXP');
      assert.throws(
        () => open(generated.key, 'signing-key', sealed),
        'a secret sealed for one purpose does not open for another',
      );
      assert.throws(() => open(fromEnv.key, 'totp', sealed));
      assert.ok(!sealed.includes('JBSWY3DPEHPK3PXP'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
