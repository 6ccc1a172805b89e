// npm's profile endpoints at the protocol level, on both databases: GET/POST /-/npm/v1/user in npm-profile's shapes,
// with the web page's safeguards: the current password and (with two-factor authentication on) a one-time password
// for the email address, the password and the second factor; scoped and read-only tokens refused; the two-step
// enrolment (otpauth:// URL, then a code, then recovery codes); the brute-force limits; events and security history.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OPERATOR, deleteUser } from '../../src/accounts/admin.ts';
import { securityHistory } from '../../src/accounts/security-history.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { startSmtp, type Smtp } from '../helpers/smtp.ts';
import { codeAt, wrongCodeAt } from '../helpers/totp.ts';

const PASSWORD = 'correct-horse-battery';
const USER = '/-/npm/v1/user';
const error = (res: { json(): unknown }) => (res.json() as { error: string }).error;

for (const kind of DB_KINDS) {
  describe(`npm profile endpoints (${kind})`, () => {
    let r: TestRegistry;
    let smtp: Smtp;
    // The registry's clock, moved past each one-time code used so that no code is refused as a replay.
    let now = Date.now();
    const tick = () => (now += 30_000);

    const get = (token: string | null) => r.request('GET', USER, { token });
    const post = (token: string, body: unknown, otp?: string) =>
      r.request('POST', USER, { token, body, ...(otp ? { headers: { 'npm-otp': otp } } : {}) });
    /** What `npm profile set` sends: every writable field as GET returned it, with one changed. */
    const npmSet = async (token: string, change: Record<string, unknown>, otp?: string) => {
      const p = (await get(token)).json();
      const body = Object.fromEntries(
        ['email', 'fullname', 'homepage', 'freenode', 'twitter', 'github'].map((k) => [k, p[k] ?? undefined]),
      );
      return post(token, { ...body, ...change }, otp);
    };
    const history = async (name: string) =>
      (await securityHistory(r.store.db, name, { limit: 50 })).entries.map((e) => [e.what, ...e.details].join(' | '));
    /** Enrols through the endpoints as npm does; returns the seed. */
    async function enrol(token: string, mode = 'auth-and-writes'): Promise<string> {
      const begun = await post(token, { tfa: { mode, password: PASSWORD } });
      assert.equal(begun.status, 200, begun.text);
      const secret = new URL(begun.json().tfa as string).searchParams.get('secret')!;
      const done = await post(token, { tfa: [codeAt(secret, tick())] });
      assert.equal(done.status, 200, done.text);
      return secret;
    }

    before(async () => {
      smtp = await startSmtp();
      r = await startRegistry(
        kind,
        { 'smtp-url': smtp.url, 'mail-from': 'Registry <registry@example.com>' },
        { clock: () => now },
      );
    });
    after(async () => {
      await r.stop();
      await smtp.stop();
    });

    it('GET answers the caller’s own profile in npm-profile’s shape; nobody else’s is reachable', async () => {
      const ada = await r.user('ada');
      const bob = await r.user('bob');
      const res = await get(ada.token);
      assert.equal(res.status, 200, res.text);
      const p = res.json();
      assert.deepEqual(Object.keys(p).sort(), [
        'created',
        'email',
        'email_verified',
        'freenode',
        'fullname',
        'github',
        'homepage',
        'name',
        'tfa',
        'twitter',
        'updated',
      ]);
      assert.equal(p.name, 'ada');
      assert.equal(p.email, 'ada@example.com');
      assert.equal(p.email_verified, true);
      assert.equal(p.tfa, false);
      assert.equal(p.fullname, null);
      assert.ok(!Number.isNaN(Date.parse(p.created)) && p.updated >= p.created);
      // The profile is the token's: bob's token reads bob, and nothing in the URL or body reaches ada.
      assert.equal((await get(bob.token)).json().name, 'bob');
      assert.equal((await r.request('GET', `${USER}/ada`, { token: bob.token })).status, 404);
      const renamed = await post(bob.token, { name: 'ada', fullname: 'Not Ada' });
      assert.equal(renamed.status, 400);
      assert.match(error(renamed), /username cannot be changed/);
      assert.equal((await get(ada.token)).json().fullname, null);
      assert.equal((await get(bob.token)).json().fullname, null);
      // Without a valid token there is no profile.
      assert.equal((await get(null)).status, 401);
      assert.equal((await get('bwk_000000000000000000000000000000000000000000')).status, 401);
      assert.equal((await r.request('POST', USER, { body: { fullname: 'x' } })).status, 401);
    });

    it('sets and clears the public fields as `npm profile set` sends them, with an event in the security history', async () => {
      const cy = await r.user('cy');
      const before = (await get(cy.token)).json();
      tick();
      let res = await npmSet(cy.token, { fullname: 'Cy Twombly', homepage: 'https://cy.example', github: 'cy' });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json().fullname, 'Cy Twombly');
      const p = (await get(cy.token)).json();
      assert.equal(p.homepage, 'https://cy.example');
      assert.equal(p.github, 'cy');
      assert.equal(p.email, 'cy@example.com', 'the unchanged email npm sends back is no change');
      assert.ok(p.updated > before.updated, 'updated moves with the change');
      assert.match((await history('cy'))[0]!, /^Profile changed \| fullname, homepage, github \| from /);
      // npm-profile turns '' into null: the field is cleared.
      res = await npmSet(cy.token, { github: null });
      assert.equal(res.json().github, null);

      for (const [body, message] of [
        [{ homepage: 'javascript:alert(1)' }, /http:\/\/ or https:\/\//],
        [{ twitter: 'a b' }, /handle/],
        [{ fullname: 'x\u0007' }, /control characters/],
        [{ fullname: 42 }, /string or null/],
        [{ nickname: 'x' }, /not a profile field/],
        [{ email: null }, /cannot be removed/],
        [[1], /JSON object/],
      ] as const) {
        const bad = await post(cy.token, body);
        assert.equal(bad.status, 400, JSON.stringify(body));
        assert.match(error(bad), message);
      }
      assert.equal((await get(cy.token)).json().homepage, 'https://cy.example', 'refused changes change nothing');
    });

    it('deleting an account scrubs what its owner wrote in the profile', async () => {
      const kit = await r.user('kit');
      assert.equal((await npmSet(kit.token, { fullname: 'Kit Marlowe', twitter: 'kit' })).status, 200);
      await deleteUser(r.store.db, 'kit', OPERATOR, 'asked to be forgotten');
      const row = await r.store.db
        .selectFrom('users')
        .select(['fullname', 'homepage', 'freenode', 'twitter', 'github'])
        .where('name', '=', 'kit')
        .executeTakeFirstOrThrow();
      assert.deepEqual({ ...row }, { fullname: null, homepage: null, freenode: null, twitter: null, github: null });
      assert.equal((await get(kit.token)).status, 401, 'its tokens were revoked');
    });

    it('a token limited by a scope, or read-only, reads the profile but cannot change it', async () => {
      const dee = await r.user('dee');
      const make = async (payload: Record<string, unknown>) => {
        const res = await r.request('POST', '/-/npm/v1/tokens', {
          token: dee.token,
          body: { password: PASSWORD, ...payload },
        });
        assert.equal(res.status, 200, res.text);
        return res.json().token as string;
      };
      const scoped = await make({ name: 'ci', packages: ['dee-a'], packages_and_scopes_permission: 'read-write' });
      const readonly = await make({ readonly: true });
      for (const token of [scoped, readonly]) {
        assert.equal((await get(token)).json().name, 'dee');
        for (const body of [
          { fullname: 'Mallory' },
          { email: 'mallory@example.com', password: PASSWORD },
          { password: { old: PASSWORD, new: 'mallory-was-here-1' } },
          { tfa: { mode: 'auth-and-writes', password: PASSWORD } },
        ]) {
          const res = await post(token, body);
          assert.equal(res.status, 403, JSON.stringify(body));
          assert.match(error(res), token === scoped ? /limited by a scope/ : /read-only token/);
        }
      }
      const p = (await get(dee.token)).json();
      assert.equal(p.fullname, null);
      assert.equal(p.email, 'dee@example.com');
      assert.equal(p.tfa, false);
    });

    it('changes the email address only with the current password; the new one starts unverified and is mailed', async () => {
      const eve = await r.user('eve');
      // What `npm profile set email` sends: no password.
      let res = await npmSet(eve.token, { email: 'eve@new.example' });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), null, 'not an OTP challenge: npm would ask for a code');
      assert.match(error(res), /needs your current password.*account page/);
      res = await npmSet(eve.token, { email: 'eve@new.example', password: 'not-the-password' });
      assert.equal(res.status, 401);
      assert.match(error(res), /current password is not right/);
      res = await npmSet(eve.token, { email: 'not-an-address', password: PASSWORD });
      assert.equal(res.status, 400);
      assert.equal((await get(eve.token)).json().email, 'eve@example.com');

      res = await npmSet(eve.token, { email: 'eve@new.example', password: PASSWORD });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json().email, 'eve@new.example');
      assert.equal(res.json().email_verified, false);
      await smtp.waitFor((m) => m.to.includes('eve@new.example') && /Verify your email/.test(m.subject));
      await smtp.waitFor((m) => m.to.includes('eve@example.com'));
      assert.match((await history('eve'))[0]!, /^Email address changed \| from eve@example.com \| to eve@new.example/);
    });

    it('changes the password with the old one (as `npm profile set password` sends it); limits count wrong ones', async () => {
      const fay = await r.user('fay');
      const login = (password: string) =>
        r.request('PUT', '/-/user/org.couchdb.user:fay', { body: { name: 'fay', password } });
      let res = await npmSet(fay.token, { password: { old: 'wrong-password-1', new: 'brand-new-secret-1' } });
      assert.equal(res.status, 401);
      res = await npmSet(fay.token, { password: { old: PASSWORD, new: 'short' } });
      assert.equal(res.status, 400);
      assert.match(error(res), /at least/);
      res = await npmSet(fay.token, { password: { old: PASSWORD, new: 'brand-new-secret-1' }, email: 'x@example.com' });
      assert.equal(res.status, 400, 'not both at once');
      res = await npmSet(fay.token, { password: { old: PASSWORD, new: 'brand-new-secret-1' } });
      assert.equal(res.status, 200, res.text);
      assert.equal((await login('brand-new-secret-1')).status, 201);
      assert.equal((await login(PASSWORD)).status, 401);
      assert.match((await history('fay')).join('\n'), /^Password changed \| from /m);

      // Wrong passwords here are sign-in attempts (the refused `npm login` above was the first of five free ones):
      // past the free ones, this address is blocked for this account.
      for (let i = 0; i < 4; i++)
        assert.equal(
          (await npmSet(fay.token, { password: { old: `guess-number-${i}`, new: 'brand-new-secret-2' } })).status,
          401,
        );
      assert.equal((await npmSet(fay.token, { password: { old: 'guess-6', new: 'brand-new-secret-2' } })).status, 401);
      res = await npmSet(fay.token, { password: { old: 'brand-new-secret-1', new: 'brand-new-secret-2' } });
      assert.equal(res.status, 429, 'blocked even with the right password');
      assert.ok(Number(res.headers.get('retry-after')) > 0);
    });

    it('enables two-factor authentication in two steps: an otpauth:// URL, then a code that returns recovery codes', async () => {
      const gus = await r.user('gus');
      let res = await post(gus.token, { tfa: { mode: 'auth-only', password: 'wrong-password-1' } });
      assert.equal(res.status, 401);
      assert.equal((await get(gus.token)).json().tfa, false, 'nothing begun with a wrong password');

      res = await post(gus.token, { tfa: { mode: 'auth-only', password: PASSWORD } });
      assert.equal(res.status, 200, res.text);
      const url = new URL(res.json().tfa as string);
      assert.equal(url.protocol, 'otpauth:');
      assert.equal(url.host, 'totp');
      const secret = url.searchParams.get('secret')!;
      assert.match(secret, /^[A-Z2-7]{32}$/);
      assert.deepEqual((await get(gus.token)).json().tfa, { pending: true, mode: 'auth-only' });

      res = await post(gus.token, { tfa: [wrongCodeAt(secret, tick())] });
      assert.equal(res.status, 400);
      assert.deepEqual((await get(gus.token)).json().tfa, { pending: true, mode: 'auth-only' });
      res = await post(gus.token, { tfa: [codeAt(secret, tick())] });
      assert.equal(res.status, 200, res.text);
      const codes = res.json().tfa as string[];
      assert.equal(codes.length, 10);
      for (const c of codes) assert.match(c, /^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$/);
      assert.deepEqual((await get(gus.token)).json().tfa, { pending: false, mode: 'auth-only' });
      assert.match((await history('gus'))[0]!, /^Two-factor authentication enabled \| for signing in$/);

      // Enabling again enrols nothing: the confirm step is refused, and the enable step only switches the mode,
      // which needs a current code from the enrolled app (a recovery code is refused without being spent).
      res = await post(gus.token, { tfa: [codeAt(secret, tick())] });
      assert.equal(res.status, 400);
      assert.match(error(res), /already enabled/);
      res = await post(gus.token, { tfa: { mode: 'auth-and-writes', password: PASSWORD } });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'OTP');
      res = await post(gus.token, { tfa: { mode: 'auth-and-writes', password: PASSWORD } }, codes[0]);
      assert.equal(res.status, 401);
      assert.match(error(res), /not a recovery code/);
      res = await post(gus.token, { tfa: { mode: 'auth-and-writes', password: PASSWORD } }, codeAt(secret, tick()));
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json().tfa, { pending: false, mode: 'auth-and-writes' });
      assert.match((await history('gus'))[0]!, /^Two-factor authentication mode changed/);

      // The recovery code the mode change refused still works, here to turn it off: the same device is enrolled.
      res = await post(gus.token, { tfa: { mode: 'disable', password: PASSWORD } }, codes[0]);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json().tfa, false);
    });

    it('with two-factor authentication on, changes need a one-time password; disabling needs both credentials', async () => {
      const hal = await r.user('hal');
      const secret = await enrol(hal.token);

      // auth-and-writes: even the public fields ask for a code.
      let res = await npmSet(hal.token, { fullname: 'Hal' });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'OTP');
      assert.ok(res.json().authUrl && res.json().doneUrl, 'npm’s web OTP URLs come with the challenge');
      res = await npmSet(hal.token, { fullname: 'Hal' }, wrongCodeAt(secret, tick()));
      assert.equal(res.status, 401);
      res = await npmSet(hal.token, { fullname: 'Hal' }, codeAt(secret, now));
      assert.equal(res.status, 200, res.text);
      res = await npmSet(hal.token, { fullname: 'Hal 2' }, codeAt(secret, now));
      assert.equal(res.status, 401, 'a code works once');
      assert.equal((await get(hal.token)).json().fullname, 'Hal');

      // The email address: password and code.
      res = await npmSet(hal.token, { email: 'hal@new.example', password: PASSWORD });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'OTP');
      res = await npmSet(hal.token, { email: 'hal@new.example', password: PASSWORD }, codeAt(secret, tick()));
      assert.equal(res.status, 200, res.text);

      // Disable: no code → asked for one; a wrong password is refused before the code is checked, so the same code
      // still works with the right password.
      res = await post(hal.token, { tfa: { mode: 'disable', password: PASSWORD } });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'OTP');
      const code = codeAt(secret, tick());
      res = await post(hal.token, { tfa: { mode: 'disable', password: 'wrong-password-1' } }, code);
      assert.equal(res.status, 401);
      assert.match(error(res), /current password is not right/);
      assert.equal((await get(hal.token)).json().tfa.mode, 'auth-and-writes');
      res = await post(hal.token, { tfa: { mode: 'disable' } }, code);
      assert.equal(res.status, 401, 'no password');
      res = await post(hal.token, { tfa: { mode: 'disable', password: PASSWORD } }, code);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json().tfa, false);
      assert.match((await history('hal'))[0]!, /^Two-factor authentication disabled/);
      res = await post(hal.token, { tfa: { mode: 'disable', password: PASSWORD } });
      assert.equal(res.status, 400, 'nothing to disable');
    });

    it('auth-only asks for a code for the account’s authentication, not for the public fields', async () => {
      const ike = await r.user('ike');
      const secret = await enrol(ike.token, 'auth-only');
      assert.equal((await npmSet(ike.token, { twitter: '@ike' })).status, 200);
      const res = await npmSet(ike.token, { password: { old: PASSWORD, new: 'brand-new-secret-9' } });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'OTP');
      assert.equal(
        (await npmSet(ike.token, { password: { old: PASSWORD, new: 'brand-new-secret-9' } }, codeAt(secret, tick())))
          .status,
        200,
      );
    });

    it('a pending enrolment is dropped with the password alone; wrong codes are limited like every other', async () => {
      const jan = await r.user('jan');
      let res = await post(jan.token, { tfa: { mode: 'auth-and-writes', password: PASSWORD } });
      const secret = new URL(res.json().tfa as string).searchParams.get('secret')!;
      res = await post(jan.token, { tfa: { mode: 'disable', password: PASSWORD } });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json().tfa, false);
      res = await post(jan.token, { tfa: [codeAt(secret, tick())] });
      assert.equal(res.status, 400, 'the dropped seed confirms nothing');

      res = await post(jan.token, { tfa: { mode: 'auth-and-writes', password: PASSWORD } });
      const seed = new URL(res.json().tfa as string).searchParams.get('secret')!;
      tick();
      for (let i = 0; i < 6; i++) assert.equal((await post(jan.token, { tfa: [wrongCodeAt(seed, now)] })).status, 400);
      res = await post(jan.token, { tfa: [codeAt(seed, now)] });
      assert.equal(res.status, 429, 'blocked even with the right code');
      assert.deepEqual((await get(jan.token)).json().tfa, { pending: true, mode: 'auth-and-writes' });
    });
  });
}
