import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import { beginEnrolment, confirmEnrolment, matchStep } from '../../src/accounts/totp.ts';
import { ok, run, sandbox } from '../helpers/clients.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { TEST_SECRET_KEY, startRegistry, type TestRegistry } from '../helpers/registry.ts';

/** A registry clock the test moves forward, so each write can have a fresh one-time password. */
function testClock() {
  let now = Date.now();
  return { now: () => now, tick: (ms = 30_000) => (now += ms) };
}

const codeAt = (secret: string, at: number) =>
  new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate({ timestamp: at });

async function enrol(r: TestRegistry, userId: number, mode: 'auth-only' | 'auth-and-writes', now: number) {
  const user = await r.store.db
    .selectFrom('users')
    .select(['id', 'name', 'totp_mode'])
    .where('id', '=', userId)
    .executeTakeFirstOrThrow();
  const { secret, uri, qrSvg } = await beginEnrolment(r.store.db, TEST_SECRET_KEY, user, 'Bulwark test');
  assert.match(uri, /^otpauth:\/\/totp\/Bulwark%20test:/);
  assert.match(qrSvg, /^<svg/);
  const stored = await r.store.db
    .selectFrom('users')
    .select('totp_secret')
    .where('id', '=', userId)
    .executeTakeFirstOrThrow();
  assert.ok(stored.totp_secret && !stored.totp_secret.includes(secret), 'the seed is stored sealed');
  await assert.rejects(confirmEnrolment(r.store.db, TEST_SECRET_KEY, userId, '000000', mode, now), /not right/);
  const recovery = await confirmEnrolment(r.store.db, TEST_SECRET_KEY, userId, codeAt(secret, now), mode, now);
  assert.equal(recovery.length, 10);
  return { secret, recovery };
}

describe('TOTP rules', () => {
  it('accepts the code of the current step and one step either side, and no further', () => {
    const secret = new Secret({ size: 20 }).base32;
    const now = Date.parse('2026-06-01T12:00:10Z');
    const step = Math.floor(now / 30_000);
    assert.equal(matchStep(secret, codeAt(secret, now), now), step);
    assert.equal(matchStep(secret, codeAt(secret, now - 30_000), now), step - 1);
    assert.equal(matchStep(secret, codeAt(secret, now + 30_000), now), step + 1);
    assert.equal(matchStep(secret, codeAt(secret, now - 90_000), now), null);
    assert.equal(matchStep(secret, 'abcdef', now), null);
  });
});

for (const kind of DB_KINDS) {
  describe(`second factor on writes and sign-in (${kind})`, () => {
    const clock = testClock();
    let r: TestRegistry;
    before(async () => {
      r = await startRegistry(kind, {}, { clock: clock.now });
    });
    after(() => r.stop());

    it('in auth-and-writes mode, every write needs a fresh code; codes are single-use; recovery codes work once', async () => {
      const kim = await r.user('kim');
      const { secret, recovery } = await enrol(r, kim.id, 'auth-and-writes', clock.now());
      const doc = (v: string) => body(publishDoc({ name: 'kims-pkg', version: v }));

      let res = await r.request('PUT', '/kims-pkg', { token: kim.token, body: doc('1.0.0') });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'OTP');
      assert.match(res.json().error, /--otp/);
      res = await r.request('PUT', '/kims-pkg', {
        token: kim.token,
        body: doc('1.0.0'),
        headers: { 'npm-otp': '123456' },
      });
      assert.equal(res.status, 401);

      clock.tick();
      const code = codeAt(secret, clock.now());
      res = await r.request('PUT', '/kims-pkg', { token: kim.token, body: doc('1.0.0'), headers: { 'npm-otp': code } });
      assert.equal(res.status, 201, res.text);
      res = await r.request('PUT', '/-/package/kims-pkg/dist-tags/next', {
        token: kim.token,
        body: '1.0.0',
        headers: { 'npm-otp': code },
      });
      assert.equal(res.status, 401, 'a code is never accepted twice');
      const older = codeAt(secret, clock.now() - 30_000);
      res = await r.request('PUT', '/-/package/kims-pkg/dist-tags/next', {
        token: kim.token,
        body: '1.0.0',
        headers: { 'npm-otp': older },
      });
      assert.equal(res.status, 401, 'nor an older one, once a later one was used');

      res = await r.request('PUT', '/-/package/kims-pkg/dist-tags/next', {
        token: kim.token,
        body: '1.0.0',
        headers: { 'npm-otp': recovery[0]! },
      });
      assert.equal(res.status, 201, 'a recovery code stands in for the app');
      res = await r.request('PUT', '/kims-pkg', {
        token: kim.token,
        body: doc('1.0.1'),
        headers: { 'npm-otp': recovery[0]! },
      });
      assert.equal(res.status, 401, 'a recovery code works once');
      const events = await r.store.db.selectFrom('events').select('kind').where('subject', '=', 'kim').execute();
      assert.ok(events.some((e) => e.kind === 'user.mfa-enabled'));
      assert.ok(events.some((e) => e.kind === 'user.recovery-code-used'));
    });

    it('in auth-only mode writes need no code, but signing in does', async () => {
      const lee = await r.user('lee');
      const { secret } = await enrol(r, lee.id, 'auth-only', clock.now());
      assert.equal(
        (
          await r.request('PUT', '/lees-pkg', {
            token: lee.token,
            body: body(publishDoc({ name: 'lees-pkg', version: '1.0.0' })),
          })
        ).status,
        201,
      );
      const login = { name: 'lee', password: 'correct-horse-battery' };
      let res = await r.request('PUT', '/-/user/org.couchdb.user:lee', { body: login });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'OTP');
      clock.tick();
      res = await r.request('PUT', '/-/user/org.couchdb.user:lee', {
        body: login,
        headers: { 'npm-otp': codeAt(secret, clock.now()) },
      });
      assert.equal(res.status, 201);
      res = await r.request('PUT', '/-/user/org.couchdb.user:lee', {
        body: { ...login, password: 'wrong-password!' },
        headers: { 'npm-otp': codeAt(secret, clock.now() + 30_000) },
      });
      assert.equal(res.status, 401, 'a right code does not make up for a wrong password');
    });
  });
}

describe('npm 11 with a second factor', () => {
  const clock = testClock();
  let r: TestRegistry;
  before(async () => {
    r = await startRegistry('sqlite', {}, { clock: clock.now });
  });
  after(() => r.stop());

  it('publishes and tags with --otp, fails with EOTP without it, and logs in with --otp', async () => {
    const max = await r.user('max');
    const { secret } = await enrol(r, max.id, 'auth-and-writes', clock.now());
    const sb = await sandbox(r.url, max.token);
    try {
      const pkg = path.join(sb.dir, 'pkg');
      await mkdir(pkg);
      await writeFile(path.join(pkg, 'package.json'), JSON.stringify({ name: 'max-otp', version: '1.0.0' }));
      const refused = await run('npm11', ['publish'], { cwd: pkg, env: sb.env });
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /EOTP|one-time password/);
      clock.tick();
      await ok('npm11', ['publish', `--otp=${codeAt(secret, clock.now())}`], { cwd: pkg, env: sb.env });
      clock.tick();
      await ok('npm11', ['dist-tag', 'add', 'max-otp@1.0.0', 'stable', `--otp=${codeAt(secret, clock.now())}`], {
        cwd: pkg,
        env: sb.env,
      });
      assert.equal((await r.request('GET', '/-/package/max-otp/dist-tags')).json().stable, '1.0.0');
    } finally {
      await rm(sb.dir, { recursive: true, force: true });
    }
  });
});
