import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadSecretKey, open, seal } from '../../src/crypto/secret-key.ts';

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
