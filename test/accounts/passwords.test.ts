// The argon2id cost of stored passwords as the real `bulwark` process sets it (issue 16.1). No variable in the
// environment may lower it below OWASP's floor: BULWARK_FAST_PASSWORD_HASH=1 once did, in production as in tests.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashPassword, setPasswordHashParams } from '../../src/accounts/passwords.ts';
import { openStore } from '../../src/store/db.ts';
import { bulwark, serve } from '../helpers/bulwark-process.ts';
import { testDatabase } from '../helpers/db.ts';

// OWASP Password Storage Cheat Sheet, argon2id: m=47104 (46 MiB), t=1; m=19456 (19 MiB), t=2; m=12288 (12 MiB), t=3;
// m=9216 (9 MiB), t=4; m=7168 (7 MiB), t=5; each with p=1. Copied here rather than imported, so that a weakened table
// in the code cannot weaken the test.
const OWASP_FLOOR: Array<[memory: number, time: number]> = [
  [47104, 1],
  [19456, 2],
  [12288, 3],
  [9216, 4],
  [7168, 5],
];

/** The parameters of a PHC-format argon2id hash: $argon2id$v=19$m=…,t=…,p=…$salt$hash. */
function argon2idParams(phc: string): { m: number; t: number; p: number } {
  const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.exec(phc);
  assert.ok(match, `not an argon2id PHC string: ${phc}`);
  return { m: Number(match[1]), t: Number(match[2]), p: Number(match[3]) };
}

const meetsFloor = ({ m, t, p }: { m: number; t: number; p: number }) =>
  p >= 1 && OWASP_FLOOR.some(([mem, time]) => m >= mem && t >= time);

async function storedHash(dataDir: string, name: string): Promise<string> {
  const store = await openStore({ dataDir, database: null });
  try {
    const row = await store.db
      .selectFrom('users')
      .select('password_hash')
      .where('name', '=', name)
      .executeTakeFirstOrThrow();
    assert.ok(row.password_hash);
    return row.password_hash;
  } finally {
    await store.close();
  }
}

// What a test environment once set, and an operator could copy from it: none of it may lower the cost.
const TEST_ENVIRONMENT = {
  BULWARK_FAST_PASSWORD_HASH: '1',
  BULWARK_PASSWORD_HASH: undefined,
  BULWARK_SECRET_KEY: 'k'.repeat(40),
};

describe('password hashing in the bulwark process', () => {
  it('bulwark serve hashes a signed-up password at the default cost, whatever BULWARK_FAST_PASSWORD_HASH says', async () => {
    const t = await testDatabase('sqlite');
    try {
      const server = await serve(['--data-dir', t.dataDir, '--email-verification', 'admin'], { env: TEST_ENVIRONMENT });
      try {
        const res = await fetch(`${server.url}/-/user/org.couchdb.user:alice`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'alice', password: 'a-long-passphrase', email: 'alice@example.com' }),
        });
        assert.equal(res.status, 201, await res.text());
      } finally {
        assert.equal(await server.stop(), 0);
      }
      const params = argon2idParams(await storedHash(t.dataDir, 'alice'));
      assert.deepEqual(params, { m: 19456, t: 2, p: 1 }, 'OWASP’s recommended cost, the --password-hash default');
      assert.ok(meetsFloor(params));
    } finally {
      await t.cleanup();
    }
  });

  it('bulwark admin user create keeps at least the floor under the same environment, at the configured cost', async () => {
    const t = await testDatabase('sqlite');
    try {
      const store = ['--data-dir', t.dataDir];
      const made = await bulwark(
        ['admin', 'user', 'create', 'bob', '--email', 'bob@example.com', '--password-stdin', ...store],
        { env: TEST_ENVIRONMENT, input: 'a-long-passphrase' },
      );
      assert.equal(made.code, 0, made.stderr);
      assert.deepEqual(argon2idParams(await storedHash(t.dataDir, 'bob')), { m: 19456, t: 2, p: 1 });
      // The cheapest cost OWASP accepts, which the test helpers give the processes they start, is still honoured.
      const cheap = await bulwark(
        [
          'admin',
          'user',
          'create',
          'carol',
          '--email',
          'carol@example.com',
          '--password-stdin',
          '--password-hash',
          'm=7168,t=5,p=1',
          ...store,
        ],
        { env: TEST_ENVIRONMENT, input: 'a-long-passphrase' },
      );
      assert.equal(cheap.code, 0, cheap.stderr);
      const params = argon2idParams(await storedHash(t.dataDir, 'carol'));
      assert.deepEqual(params, { m: 7168, t: 5, p: 1 });
      assert.ok(meetsFloor(params));
    } finally {
      await t.cleanup();
    }
  });

  it('no code path sets a cost below the floor, not even the test helpers', async () => {
    for (const weak of [
      { memoryCost: 1024, timeCost: 1, parallelism: 1 },
      { memoryCost: 19455, timeCost: 2, parallelism: 1 },
      { memoryCost: 7168, timeCost: 4, parallelism: 1 },
      { memoryCost: 19456, timeCost: 2, parallelism: 0 },
    ]) {
      assert.throws(() => setPasswordHashParams(weak), RangeError, JSON.stringify(weak));
    }
    setPasswordHashParams({ memoryCost: 7168, timeCost: 5, parallelism: 1 });
    assert.deepEqual(argon2idParams(await hashPassword('a-long-passphrase')), { m: 7168, t: 5, p: 1 });
  });
});
