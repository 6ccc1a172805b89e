// The web UI's security properties over real HTTP, on both databases, each with its negative case: security
// headers, CSRF, open redirects, session storage and expiry, the session cookie's reach (web pages only, never the
// npm protocol), Secure cookies behind a trusted proxy, closed sign-up, brute-force limits and the second factor.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import { SESSION_MAX_MS, hashSessionId } from '../../src/accounts/sessions.ts';
import { beginEnrolment, confirmEnrolment } from '../../src/accounts/totp.ts';
import { CONTENT_SECURITY_POLICY } from '../../src/web/routes.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { TEST_SECRET_KEY, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { WebClient, csrfIn } from '../helpers/web-client.ts';

const PASSWORD = 'correct-horse-battery'; // what the registry helper gives its users

function movableClock() {
  let now = Date.now();
  return { now: () => now, tick: (ms: number) => (now += ms) };
}

function assertSecurityHeaders(headers: Headers, what: string) {
  assert.equal(headers.get('content-security-policy'), CONTENT_SECURITY_POLICY, what);
  assert.equal(headers.get('x-content-type-options'), 'nosniff', what);
  assert.equal(headers.get('referrer-policy'), 'same-origin', what);
  assert.equal(headers.get('x-frame-options'), 'DENY', what);
}

for (const kind of DB_KINDS) {
  describe(`web UI security (${kind})`, () => {
    let r: TestRegistry;
    const clock = movableClock();
    before(async () => {
      r = await startRegistry(kind, { 'email-verification': 'admin' }, { clock: clock.now });
      await r.user('alice');
      const owner = await r.user('owner');
      const res = await r.request('PUT', '/@owner%2fprivate', {
        token: owner.token,
        body: body(publishDoc({ name: '@owner/private', version: '1.0.0' })),
      });
      assert.equal(res.status, 201, res.text);
    });
    after(() => r.stop());

    it('sends the security headers on every page, error pages included, and keeps JSON for npm clients', async () => {
      const web = new WebClient(r.url);
      for (const path of [
        '/',
        '/-/web/signin',
        '/-/web/signup',
        '/-/web/search?q=x',
        '/-/web/package/nope',
        '/-/web/nowhere',
        '/no-such-package',
      ]) {
        const res = await web.get(path);
        assert.match(res.headers.get('content-type') ?? '', /^text\/html/, path);
        assertSecurityHeaders(res.headers, path);
        assert.equal(res.headers.get('cache-control'), 'no-store', path);
        assert.doesNotMatch(res.text, /<script|style="/i, `${path} has no inline script or style`);
      }
      assert.equal((await web.get('/-/web/package/nope')).status, 404);
      // npm's clients do not ask for HTML and keep getting JSON, with no page headers.
      let res = await r.request('GET', '/');
      assert.deepEqual(res.json(), { registry: 'bulwark', ok: true });
      assert.equal(res.headers.get('content-security-policy'), null);
      res = await r.request('GET', '/no-such-package', { headers: { accept: 'application/json' } });
      assert.equal(res.status, 404);
      assert.deepEqual(res.json(), { error: 'Not found', code: 'E_NOT_FOUND' });
      res = await r.request('GET', '/-/web/nowhere');
      assert.deepEqual(res.json(), { error: 'Not found', code: 'E_NOT_FOUND' });
      // The stylesheet is served from the app, cacheable, with nosniff.
      const css = await fetch(
        `${r.url}${/href="(\/-\/web\/static\/style\.css\?v=\w+)"/.exec((await web.get('/')).text)![1]}`,
      );
      assert.equal(css.status, 200);
      assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
      assert.equal(css.headers.get('x-content-type-options'), 'nosniff');
      assert.match(await css.text(), /font: 16px\/1.55 system-ui/);
    });

    it('refuses form posts without the CSRF token, with a wrong one, with another browser’s, or from another site', async () => {
      const web = new WebClient(r.url);
      const token = await web.csrf('/-/web/signin');
      const attempt = { username: 'alice', password: PASSWORD };
      const refused = async (form: Record<string, string>, client = web, headers?: Record<string, string>) => {
        const res = await client.post('/-/web/signin', form, headers);
        assert.equal(res.status, 403, JSON.stringify(form));
        assert.match(res.text, /This form has expired or was not sent from this site/);
        assertSecurityHeaders(res.headers, 'CSRF refusal');
        assert.equal(client.cookies.has('bulwark_session'), false);
      };
      await refused(attempt);
      await refused({ ...attempt, _csrf: '' });
      await refused({ ...attempt, _csrf: token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A') });
      await refused({ ...attempt, _csrf: 'x'.repeat(43) });
      // A token is bound to its browser: another browser's pre-session cookie does not match it.
      const other = new WebClient(r.url);
      await other.csrf('/-/web/signin');
      await refused({ ...attempt, _csrf: token }, other);
      // Without any cookie there is nothing to bind to.
      const bare = new WebClient(r.url);
      await refused({ ...attempt, _csrf: token }, bare);
      // The browser says the form came from another site: refused even with a valid token.
      await refused({ ...attempt, _csrf: token }, web, { 'sec-fetch-site': 'cross-site' });

      // With the right token the same browser signs in.
      const ok = await web.post('/-/web/signin', { ...attempt, _csrf: token });
      assert.equal(ok.status, 303);
      assert.ok(web.cookies.has('bulwark_session'));

      // Once signed in, tokens bind to the session: the pre-session token no longer works.
      let res = await web.post('/-/web/signout', { _csrf: token });
      assert.equal(res.status, 403);
      res = await web.post('/-/web/signout', {});
      assert.equal(res.status, 403);
      assert.equal((await web.get('/-/web/account')).status, 200, 'still signed in after refused sign-outs');
      const own = (
        await r.store.db
          .selectFrom('sessions')
          .select('id')
          .where('session_hash', '=', hashSessionId(web.cookies.get('bulwark_session')!))
          .executeTakeFirstOrThrow()
      ).id;
      res = await web.post(`/-/web/account/sessions/${own}/revoke`, { _csrf: token });
      assert.equal(res.status, 403, 'revoking needs the session-bound token too');
      res = await web.post('/-/web/signout', { _csrf: csrfIn((await web.get('/-/web/account')).text) });
      assert.equal(res.status, 303);
      assert.equal(res.location, '/');
      assert.equal((await web.get('/-/web/account')).status, 303, 'signed out');
    });

    it('follows ?next= only to a path on this site', async () => {
      const cases: Array<[string, string]> = [
        ['/-/web/package/@owner/private', '/-/web/package/@owner/private'],
        ['/-/web/search?q=a#top', '/-/web/search?q=a#top'],
        ['//evil.example/x', '/-/web/account'],
        ['/\\evil.example', '/-/web/account'],
        ['https://evil.example/', '/-/web/account'],
        ['javascript:alert(1)', '/-/web/account'],
        ['/\t/evil.example', '/-/web/account'],
        ['evil', '/-/web/account'],
        // Paths that normalise to "//host" (issue 15): the check applies to the value redirected to.
        ['/.//evil.example', '/-/web/account'],
        ['/..//evil.example', '/-/web/account'],
        ['/%2e//evil.example', '/-/web/account'],
        ['/a/..//evil.example', '/-/web/account'],
      ];
      for (const [next, expected] of cases) {
        const web = new WebClient(r.url);
        const res = await web.signIn('alice', PASSWORD, next);
        assert.equal(res.status, 303, next);
        assert.equal(res.location, expected, next);
      }
    });

    it('stores only a hash of the session id, records session.created, and expires sessions', async () => {
      const web = new WebClient(r.url);
      const before = clock.now();
      assert.equal((await web.signIn('alice', PASSWORD)).status, 303);
      const secret = web.cookies.get('bulwark_session')!;
      assert.match(secret, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
      const row = await r.store.db
        .selectFrom('sessions')
        .selectAll()
        .where('session_hash', '=', hashSessionId(secret))
        .executeTakeFirstOrThrow();
      const everything =
        JSON.stringify(await r.store.db.selectFrom('sessions').selectAll().execute()) +
        JSON.stringify(await r.store.db.selectFrom('events').selectAll().execute());
      assert.equal(everything.includes(secret), false, 'the session id itself is stored nowhere');
      assert.equal(row.ip, '127.0.0.1');
      const event = await r.store.db
        .selectFrom('events')
        .selectAll()
        .where('kind', '=', 'session.created')
        .where('created_at', '>=', before)
        .orderBy('seq', 'desc')
        .executeTakeFirstOrThrow();
      assert.equal(event.subject, 'alice');
      assert.deepEqual(JSON.parse(event.data), { sessionId: row.id, ip: '127.0.0.1', userAgent: web.userAgent });

      // Sliding idle expiry: 11 hours idle is fine and renews it (twice: 22 hours after sign-in); 13 idle hours are not.
      clock.tick(11 * 3600_000);
      assert.equal((await web.get('/-/web/account')).status, 200);
      clock.tick(11 * 3600_000);
      assert.equal((await web.get('/-/web/account')).status, 200);
      clock.tick(13 * 3600_000);
      assert.equal((await web.get('/-/web/account')).status, 303, 'signed out after 12 idle hours');

      // Absolute limit: even a session in constant use ends after 30 days.
      const busy = new WebClient(r.url);
      assert.equal((await busy.signIn('alice', PASSWORD)).status, 303);
      for (let elapsed = 0; elapsed < SESSION_MAX_MS - 10 * 3600_000; elapsed += 10 * 3600_000) {
        clock.tick(10 * 3600_000);
        assert.equal((await busy.get('/-/web/account')).status, 200);
      }
      clock.tick(10 * 3600_000);
      assert.equal((await busy.get('/-/web/account')).status, 303, 'signed out after 30 days');

      // A disabled account has no valid session; re-enabling it does not bring back revoked ones.
      const victim = new WebClient(r.url);
      assert.equal((await victim.signIn('alice', PASSWORD)).status, 303);
      await r.store.db.updateTable('users').set({ disabled_at: clock.now() }).where('name', '=', 'alice').execute();
      assert.equal((await victim.get('/-/web/account')).status, 303);
      const res = await new WebClient(r.url).signIn('alice', PASSWORD);
      assert.equal(res.status, 403);
      assert.match(res.text, /This account has been disabled/);
      await r.store.db.updateTable('users').set({ disabled_at: null }).where('name', '=', 'alice').execute();
      // A malformed or unknown cookie is simply no session.
      const forged = new WebClient(r.url);
      forged.cookies.set('bulwark_session', 'A'.repeat(43));
      assert.equal((await forged.get('/-/web/account')).status, 303);
      forged.cookies.set('bulwark_session', '%E0%A4%A');
      assert.equal((await forged.get('/-/web/account')).status, 303);
    });

    it('lets a session cookie act on web pages only, never on the npm protocol', async () => {
      const web = new WebClient(r.url);
      assert.equal((await web.signIn('owner', PASSWORD)).status, 303);
      assert.equal((await web.get('/-/web/package/@owner/private')).status, 200, 'the owner sees the page');
      const cookie = { cookie: `bulwark_session=${web.cookies.get('bulwark_session')}` };
      assert.equal(
        (await r.request('GET', '/@owner%2fprivate', { headers: cookie })).status,
        404,
        'the packument ignores the cookie',
      );
      assert.equal((await r.request('GET', '/@owner/private/-/private-1.0.0.tgz', { headers: cookie })).status, 404);
      assert.equal((await r.request('GET', '/-/whoami', { headers: cookie })).status, 401);
      const put = await r.request('PUT', '/@owner%2fprivate', {
        headers: cookie,
        body: body(publishDoc({ name: '@owner/private', version: '1.0.1' })),
      });
      assert.equal(put.status, 401, 'no publish with a cookie');
      assert.equal(
        (await r.request('PUT', '/-/package/@owner%2fprivate/dist-tags/x', { headers: cookie, body: '1.0.0' })).status,
        401,
      );
      // A bearer token wins over a cookie on web pages too: another user's token shows that user's view.
      const alice = await r.store.db
        .selectFrom('users')
        .select('id')
        .where('name', '=', 'alice')
        .executeTakeFirstOrThrow();
      const { createToken } = await import('../../src/tokens/service.ts');
      const { token } = await createToken(r.store.db, {
        userId: alice.id,
        userName: 'alice',
        name: 't',
        kind: 'publish',
      });
      assert.equal((await web.get('/-/web/package/@owner/private', { authorization: `Bearer ${token}` })).status, 404);
    });

    it('revokes only the signed-in user’s own sessions', async () => {
      const a = new WebClient(r.url);
      const o = new WebClient(r.url);
      assert.equal((await a.signIn('alice', PASSWORD)).status, 303);
      assert.equal((await o.signIn('owner', PASSWORD)).status, 303);
      const ownerSession = (
        await r.store.db
          .selectFrom('sessions')
          .select('id')
          .where('session_hash', '=', hashSessionId(o.cookies.get('bulwark_session')!))
          .executeTakeFirstOrThrow()
      ).id;
      const token = csrfIn((await a.get('/-/web/account')).text);
      const res = await a.post(`/-/web/account/sessions/${ownerSession}/revoke`, { _csrf: token });
      assert.equal(res.status, 404);
      assert.equal((await o.get('/-/web/account')).status, 200, 'the other user is still signed in');
      assert.equal((await a.post('/-/web/account/sessions/not-a-number/revoke', { _csrf: token })).status, 404);
    });

    it('creates accounts through the sign-up form, refusing bad input with a readable page', async () => {
      const web = new WebClient(r.url);
      let token = await web.csrf('/-/web/signup');
      let res = await web.post('/-/web/signup', {
        _csrf: token,
        username: 'alice',
        email: 'a@example.com',
        password: 'a-long-enough-password',
      });
      assert.equal(res.status, 409);
      assert.match(res.text, /The username &quot;alice&quot; is already taken/);
      assert.match(res.text, /value="a@example.com"/, 'what was typed is kept');
      assert.doesNotMatch(res.text, /a-long-enough-password/, 'the password is not echoed');
      token = csrfIn(res.text);
      res = await web.post('/-/web/signup', {
        _csrf: token,
        username: 'newbie',
        email: 'newbie@example.com',
        password: 'short',
      });
      assert.equal(res.status, 400);
      assert.match(res.text, /Password must be at least 10 characters/);
      res = await web.post('/-/web/signup', {
        _csrf: token,
        username: '<script>',
        email: 'x@example.com',
        password: 'a-long-enough-password',
      });
      assert.equal(res.status, 400);
      assert.match(res.text, /value="&lt;script&gt;"/, 'escaped when shown back');
      res = await web.post('/-/web/signup', {
        _csrf: token,
        username: 'newbie',
        email: 'newbie@example.com',
        password: 'a-long-enough-password',
      });
      assert.equal(res.status, 303);
      assert.equal(res.location, '/-/web/account?welcome=1');
      const user = await r.store.db
        .selectFrom('users')
        .selectAll()
        .where('name', '=', 'newbie')
        .executeTakeFirstOrThrow();
      assert.equal(user.email_verified, 0);
      const created = await r.store.db.selectFrom('events').select('kind').where('subject', '=', 'newbie').execute();
      assert.deepEqual(created.map((e) => e.kind).sort(), ['session.created', 'user.created']);
    });

    it('asks accounts with two-factor authentication for a code before the session starts', async () => {
      const carol = await r.user('carol');
      const userRow = await r.store.db
        .selectFrom('users')
        .select(['id', 'name', 'totp_mode'])
        .where('id', '=', carol.id)
        .executeTakeFirstOrThrow();
      const { secret } = await beginEnrolment(r.store.db, TEST_SECRET_KEY, userRow, 'Bulwark test');
      const code = () =>
        new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate({ timestamp: clock.now() });
      await confirmEnrolment(r.store.db, TEST_SECRET_KEY, carol.id, code(), 'auth-only', clock.now());
      clock.tick(30_000);

      const web = new WebClient(r.url);
      let res = await web.signIn('carol', PASSWORD, '/-/web/search');
      assert.equal(res.status, 200);
      assert.match(res.text, /Two-factor authentication/);
      assert.equal(web.cookies.has('bulwark_session'), false, 'no session after the password alone');
      const ticket = /name="ticket" value="([^"]+)"/.exec(res.text)![1]!;
      const token = csrfIn(res.text);

      res = await web.post('/-/web/signin/otp', { _csrf: token, ticket, next: '/-/web/search', otp: '000000' });
      assert.equal(res.status, 401);
      assert.match(res.text, /That code is not right/);
      assert.equal(web.cookies.has('bulwark_session'), false);
      // A forged ticket, or one carried to another browser, is refused before any code is checked.
      const [id, expires, mac] = ticket.split('.');
      res = await web.post('/-/web/signin/otp', {
        _csrf: token,
        ticket: `${Number(id) - 1}.${expires}.${mac}`,
        otp: code(),
      });
      assert.equal(res.status, 400);
      const thief = new WebClient(r.url);
      res = await thief.post('/-/web/signin/otp', { _csrf: await thief.csrf('/-/web/signin'), ticket, otp: code() });
      assert.equal(res.status, 400);
      assert.equal(thief.cookies.has('bulwark_session'), false);

      const good = code();
      res = await web.post('/-/web/signin/otp', { _csrf: token, ticket, next: '/-/web/search', otp: good });
      assert.equal(res.status, 303);
      assert.equal(res.location, '/-/web/search');
      assert.ok(web.cookies.has('bulwark_session'));

      // The same code never works twice, and a ticket dies after five minutes.
      const again = new WebClient(r.url);
      res = await again.signIn('carol', PASSWORD);
      const ticket2 = /name="ticket" value="([^"]+)"/.exec(res.text)![1]!;
      res = await again.post('/-/web/signin/otp', { _csrf: csrfIn(res.text), ticket: ticket2, otp: good });
      assert.equal(res.status, 401, 'replayed code refused');
      clock.tick(5 * 60_000 + 1);
      res = await again.post('/-/web/signin/otp', { _csrf: csrfIn(res.text), ticket: ticket2, otp: code() });
      assert.equal(res.status, 400, 'expired ticket refused');
      assert.equal(again.cookies.has('bulwark_session'), false);
    });

    it('applies the sign-in limits: repeated wrong passwords get 429 with Retry-After', async () => {
      await r.user('target');
      const web = new WebClient(r.url);
      let res;
      for (let i = 0; i < 12; i++) {
        res = await web.signIn('target', `wrong-password-${i}`);
        if (res.status === 429) break;
        assert.equal(res.status, 401);
      }
      assert.equal(res!.status, 429);
      assert.ok(Number(res!.headers.get('retry-after')) > 0);
      assert.match(res!.text, /Too many failed sign-in attempts/);
      // The right password is refused too while the block lasts: the attacker learns nothing from it.
      res = await web.signIn('target', PASSWORD);
      assert.equal(res.status, 429);
      assert.equal(web.cookies.has('bulwark_session'), false);
    });
  });
}

describe('web UI behind a trusted proxy, with sign-up closed', () => {
  let proxied: TestRegistry;
  before(async () => {
    proxied = await startRegistry('sqlite', { 'trust-proxy': '127.0.0.1', signup: 'closed' });
    await proxied.user('alice');
  });
  after(() => proxied?.stop());

  it('marks cookies Secure when the client came over https, and only then', async () => {
    const https = new WebClient(proxied.url);
    const token = csrfIn((await https.get('/-/web/signin', { 'x-forwarded-proto': 'https' })).text);
    const res = await https.post(
      '/-/web/signin',
      { _csrf: token, username: 'alice', password: PASSWORD },
      { 'x-forwarded-proto': 'https' },
    );
    assert.equal(res.status, 303);
    const session = res.setCookies.find((c) => c.startsWith('bulwark_session='))!;
    assert.match(session, /; HttpOnly/);
    assert.match(session, /; SameSite=Lax/);
    assert.match(session, /; Path=\//);
    assert.match(session, /; Secure/);
    const plain = new WebClient(proxied.url);
    const res2 = await plain.signIn('alice', PASSWORD);
    assert.doesNotMatch(
      res2.setCookies.find((c) => c.startsWith('bulwark_session='))!,
      /Secure/,
    );
  });

  it('does not believe X-Forwarded-Proto from an untrusted client', async () => {
    const r = await startRegistry('sqlite');
    try {
      const web = new WebClient(r.url);
      const res = await web.get('/-/web/signin', { 'x-forwarded-proto': 'https' });
      const pre = res.setCookies.find((c) => c.startsWith('bulwark_csrf='))!;
      assert.doesNotMatch(pre, /Secure/);
    } finally {
      await r.stop();
    }
  });

  it('says sign-up is closed and creates no account', async () => {
    const web = new WebClient(proxied.url);
    const page = await web.get('/-/web/signup');
    assert.match(page.text, /Sign-up is closed on this registry/);
    assert.doesNotMatch(page.text, /name="password"/);
    const token = await web.csrf('/-/web/signin');
    const res = await web.post('/-/web/signup', {
      _csrf: token,
      username: 'sneaky',
      email: 'sneaky@example.com',
      password: 'a-long-enough-password',
    });
    assert.equal(res.status, 403);
    assert.equal(
      await proxied.store.db.selectFrom('users').select('id').where('name', '=', 'sneaky').executeTakeFirst(),
      undefined,
    );
  });
});
