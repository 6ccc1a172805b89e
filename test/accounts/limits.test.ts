import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Limiter, RedisCounterStore, Rules, blockFor } from '../../src/accounts/limits.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { codeAt, enableMfa } from '../helpers/totp.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const PASSWORD = 'correct-horse-battery';

describe('back-off rule', () => {
  it('is free for the first failures, then doubles up to its cap', () => {
    const r = Rules.passwordAccountAddress;
    assert.equal(blockFor(r, r.free), 0);
    assert.equal(blockFor(r, r.free + 1), r.baseMs);
    assert.equal(blockFor(r, r.free + 3), 4 * r.baseMs);
    assert.equal(blockFor(r, 1000), r.maxMs);
  });
});

for (const kind of DB_KINDS) {
  describe(`brute-force defence over HTTP (${kind})`, () => {
    let r: TestRegistry;
    // Time stands still within a test (set at its start), so a slow machine cannot let a back-off run out mid-attack.
    let now = Date.now();
    before(async () => {
      r = await startRegistry(kind, { 'trust-proxy': '127.0.0.1,::1' }, { clock: () => now });
    });
    beforeEach(() => {
      now = Date.now();
    });
    after(() => r.stop());

    const login = (name: string, password: string, ip: string, otp?: string) =>
      r.request('PUT', `/-/user/org.couchdb.user:${name}`, {
        body: { name, password },
        headers: { 'x-forwarded-for': ip, ...(otp ? { 'npm-otp': otp } : {}) },
      });

    it('locks one address out of an account after repeated wrong passwords, without locking out the owner', async () => {
      await r.user('victim');
      assert.equal((await login('victim', PASSWORD, '10.0.0.2')).status, 201, 'the owner signs in from home once');
      const statuses: number[] = [];
      for (let i = 0; i < 1000; i++) statuses.push((await login('victim', `guess-${i}-password`, '10.6.6.6')).status);
      assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401]);
      assert.ok(
        statuses.slice(6).every((s) => s === 429),
        'then every attempt is refused without checking the password',
      );
      const blocked = await login('victim', PASSWORD, '10.6.6.6');
      assert.equal(blocked.status, 429, 'even the right password is refused from the attacking address');
      assert.ok(Number(blocked.headers.get('retry-after')) > 0);
      assert.match(blocked.json().error, /try again in \d+ seconds/);
      assert.equal((await login('victim', PASSWORD, '10.0.0.2')).status, 201, 'the owner is not locked out');
    });

    it('blocks spraying: many addresses against one account, and one address against many accounts', async () => {
      await r.user('target');
      assert.equal((await login('target', PASSWORD, '10.1.0.1')).status, 201);
      for (let i = 0; i < 25; i++) await login('target', 'wrong-password-x', `10.2.${i}.1`);
      assert.equal(
        (await login('target', PASSWORD, '10.3.0.1')).status,
        429,
        'a new address is refused once the account is under attack',
      );
      assert.equal(
        (await login('target', PASSWORD, '10.1.0.1')).status,
        201,
        'an address the owner used before still works',
      );

      const results: number[] = [];
      for (let i = 0; i < 40; i++) results.push((await login(`nobody-${i}`, 'wrong-password-y', '10.9.9.9')).status);
      assert.equal(results[0], 401);
      assert.equal(results.at(-1), 429, 'one address trying many names is stopped');
    });

    it('answers an unknown account exactly like a wrong password, in about the same time', async () => {
      await r.user('real');
      const unknown = await login('ghost-user', 'some-password-1', '10.4.0.1');
      const wrong = await login('real', 'some-password-1', '10.4.0.2');
      assert.equal(unknown.status, wrong.status);
      assert.deepEqual(unknown.json(), wrong.json());
      const time = async (name: string, ip: string) => {
        const t = performance.now();
        await login(name, 'some-password-2', ip);
        return performance.now() - t;
      };
      const a: number[] = [];
      const b: number[] = [];
      for (let i = 0; i < 4; i++) {
        a.push(await time('ghost-user', `10.5.${i}.1`));
        b.push(await time('real', `10.5.${i}.2`));
      }
      const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
      const ratio = median(a) / median(b);
      assert.ok(ratio > 0.33 && ratio < 3, `unknown ${median(a).toFixed(1)} ms vs known ${median(b).toFixed(1)} ms`);
    });

    it('limits one-time password guesses per account', async () => {
      await r.user('otpuser');
      const secret = await enableMfa(r, 'otpuser', 'auth-only', now - 30_000);
      const statuses: number[] = [];
      for (let i = 0; i < 200; i++)
        statuses.push((await login('otpuser', PASSWORD, `10.7.${i % 200}.1`, String(100000 + i))).status);
      assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401]);
      assert.ok(
        statuses.slice(6).every((s) => s === 429),
        String(statuses.slice(0, 12)),
      );
      assert.equal(
        (await login('otpuser', PASSWORD, '10.8.0.1', codeAt(secret, now))).status,
        429,
        'the right code must wait too',
      );
    });
  });
}

describe('Redis counter store', () => {
  it('shares counts between limiters, as between nodes', async () => {
    const prefix = randomBytes(4).toString('hex');
    const a = new Limiter(new RedisCounterStore('redis://127.0.0.1:6379'));
    const b = new Limiter(new RedisCounterStore('redis://127.0.0.1:6379'));
    try {
      const attempt: Array<[typeof Rules.secondFactor, string]> = [[Rules.secondFactor, `${prefix}-acct`]];
      for (let i = 0; i < 3; i++) await a.fail(attempt);
      for (let i = 0; i < 3; i++) await b.fail(attempt);
      await assert.rejects(a.check(attempt, 'one-time passwords'), (err: { status?: number }) => err.status === 429);
      await assert.rejects(b.check(attempt, 'one-time passwords'), (err: { status?: number }) => err.status === 429);
      await b.reset(attempt);
      await a.check(attempt, 'one-time passwords');
      assert.equal(await a.isKnownAddress(`${prefix}-u`, '1.2.3.4'), false);
      await b.rememberAddress(`${prefix}-u`, '1.2.3.4');
      assert.equal(await a.isKnownAddress(`${prefix}-u`, '1.2.3.4'), true);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
