import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadSettings, parseSize } from '../src/config.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

describe('settings', () => {
  it('applies flag > environment > config file > default and collects every problem', () => {
    const s = loadSettings({
      flags: { port: '1234' },
      env: { BULWARK_PORT: '999', BULWARK_SIGNUP: 'closed', BULWARK_TRUST_PROXY: '10.0.0.0/8, ::1' },
    });
    assert.equal(s.port, 1234);
    assert.equal(s.signup, 'closed');
    assert.deepEqual(s.trustProxy, ['10.0.0.0/8', '::1']);
    assert.equal(s.maxTarballSize, 50 * 1024 * 1024);
    assert.equal(s.publicUrl, null);
    assert.equal(
      loadSettings({ flags: { 'public-url': 'https://npm.example.com/base/' }, env: {} }).publicUrl,
      'https://npm.example.com/base',
    );
    try {
      loadSettings({ flags: { port: '-1', 'read-access': 'nobody' }, env: { BULWARK_MAX_TARBALL_SIZE: 'huge' } });
      assert.fail('should have thrown');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems.length, 3);
    }
    assert.deepEqual(
      s.passwordHash,
      { memoryCost: 19456, timeCost: 2, parallelism: 1 },
      'OWASP’s recommended argon2id cost by default',
    );
    assert.deepEqual(loadSettings({ flags: { 'password-hash': 'm=65536,t=3,p=4' }, env: {} }).passwordHash, {
      memoryCost: 65536,
      timeCost: 3,
      parallelism: 4,
    });
    for (const weak of [
      'm=1024,t=1,p=1',
      'm=19456,t=1,p=1',
      'm=7168,t=4,p=1',
      'm=19456,t=2,p=0',
      'argon2',
      'm=19456;t=2;p=1',
    ]) {
      assert.throws(() => loadSettings({ flags: { 'password-hash': weak }, env: {} }), ConfigError, weak);
    }
    assert.equal(parseSize('1.5mb'), 1.5 * 1024 * 1024);
  });

  it('takes config file keys as flag names, setting names or environment variables (issue 19: "dataDir" was refused)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bulwark-config-'));
    const file = path.join(dir, 'config.json');
    try {
      writeFileSync(
        file,
        JSON.stringify({
          dataDir: '/srv/a',
          'max-tarball-size': '2mb',
          BULWARK_SIGNUP: 'closed',
          trustProxy: ['10.0.0.0/8', '::1'],
        }),
      );
      const s = loadSettings({ flags: {}, env: {}, file });
      assert.equal(s.dataDir, '/srv/a');
      assert.equal(s.maxTarballSize, 2 * 1024 * 1024);
      assert.equal(s.signup, 'closed');
      assert.deepEqual(s.trustProxy, ['10.0.0.0/8', '::1']);
      writeFileSync(file, JSON.stringify({ dataDir: '/srv/a', 'data-dir': '/srv/b', datadir: 'x' }));
      assert.throws(
        () => loadSettings({ flags: {}, env: {}, file }),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.deepEqual(
            err.problems.map((p) => p.replace(file, 'FILE')),
            [
              'config file FILE: "data-dir" sets data-dir a second time',
              'config file FILE: unknown setting "datadir" (keys are the option names, e.g. "data-dir"; see bulwark serve --help)',
            ],
          );
          return true;
        },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.throws(() => parseSize('12'), /at least 1kb/);
  });
});
