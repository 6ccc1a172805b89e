// npm's browser flows at the protocol level, on both databases: web login (POST /-/v1/login, the approval page,
// doneUrl polling) and web OTP (a 401 carrying authUrl/doneUrl, the code typed on a page, a single-use grant sent back
// as npm-otp). Each attack is tried and refused: polling someone else's or a forged, cancelled, expired or used
// request, approving without a CSRF token, approving with a session that never gave the second factor, using a
// grant twice or for another account.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DB_KINDS } from '../helpers/db.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { startSmtp, type Smtp } from '../helpers/smtp.ts';
import { WebClient, csrfIn } from '../helpers/web-client.ts';
import { codeAt, enableMfa, signInWithCode } from '../helpers/totp.ts';

const PASSWORD = 'correct-horse-battery';

function movableClock() {
  let now = Date.now();
  return { now: () => now, tick: (ms: number) => (now += ms) };
}

const pathOf = (url: string) => new URL(url).pathname;

async function startLogin(r: TestRegistry, body: unknown = {}) {
  const res = await r.request('POST', '/-/v1/login', { body });
  assert.equal(res.status, 200, res.text);
  const { loginUrl, doneUrl } = res.json() as { loginUrl: string; doneUrl: string };
  return { loginUrl, doneUrl, page: pathOf(loginUrl), done: pathOf(doneUrl) };
}

for (const kind of DB_KINDS) {
  describe(`npm web login and web OTP (${kind})`, () => {
    let smtp: Smtp;
    let r: TestRegistry;
    const clock = movableClock();
    before(async () => {
      smtp = await startSmtp();
      r = await startRegistry(kind, { 'smtp-url': smtp.url }, { clock: clock.now });
      for (const name of ['lena', 'mika', 'otto', 'bob']) await r.user(name);
    });
    after(async () => {
      await r?.stop();
      await smtp?.stop();
    });

    it('answers loginUrl and doneUrl, keeps npm waiting with 202 + Retry-After, and hands the approved token out once', async () => {
      const login = await startLogin(r);
      assert.ok(login.loginUrl.startsWith(`${r.url}/-/web/login/`), login.loginUrl);
      assert.ok(login.doneUrl.startsWith(`${r.url}/-/v1/login/done/`), login.doneUrl);
      const ids = [login.page.split('/').pop()!, login.done.split('/').pop()!];
      const rows = await r.store.db.selectFrom('web_logins').selectAll().execute();
      assert.equal(rows.length, 1);
      assert.ok(
        ids.every((id) => !JSON.stringify(rows).includes(id) && !JSON.stringify(rows).includes(id.split('.').pop()!)),
        'only hashes of the ids are stored',
      );

      let poll = await r.request('GET', login.done);
      assert.equal(poll.status, 202);
      assert.equal(poll.headers.get('retry-after'), '2');
      assert.deepEqual(poll.json(), {});

      const web = new WebClient(r.url);
      const signedOut = await web.get(login.page);
      assert.equal(signedOut.status, 303);
      assert.equal(signedOut.location, `/-/web/signin?next=${encodeURIComponent(login.page)}`);
      const signedIn = await web.signIn('lena', PASSWORD, login.page);
      assert.equal(signedIn.location, login.page);
      const page = await web.get(login.page);
      assert.equal(page.status, 200);
      assert.match(page.text, /<h1>Log in to npm\?<\/h1>[\s\S]*your account <strong>lena<\/strong>/);
      assert.doesNotMatch(page.text, /name="otp"/, 'no code asked of an account without two-factor');

      // No CSRF token, or another browser's: refused, and npm still waits.
      assert.equal((await web.post(`${login.page}/approve`, {})).status, 403);
      const other = new WebClient(r.url);
      assert.equal((await other.post(`${login.page}/approve`, { _csrf: csrfIn(page.text) })).status, 403);
      assert.equal((await r.request('GET', login.done)).status, 202);

      const approved = await web.post(`${login.page}/approve`, { _csrf: csrfIn(page.text) });
      assert.equal(approved.status, 200);
      assert.match(approved.text, /npm is logged in/);
      poll = await r.request('GET', login.done);
      assert.equal(poll.status, 200);
      const { token } = poll.json() as { token: string };
      assert.match(token, /^bwk_/);
      assert.deepEqual((await r.request('GET', '/-/whoami', { token })).json(), { username: 'lena' });
      await smtp.waitFor((m) => m.to.includes('lena@example.com') && /A new access token was created/.test(m.subject));

      // Exactly once: the poll and the page are gone now.
      assert.equal((await r.request('GET', login.done)).status, 410);
      assert.equal((await web.get(login.page)).status, 404);
      const row = await r.store.db.selectFrom('web_logins').selectAll().executeTakeFirstOrThrow();
      assert.equal(row.token_sealed, null, 'the delivered token is not kept');
    });

    it("refuses someone else's, forged, cancelled and expired requests", async () => {
      const web = new WebClient(r.url);
      await web.signIn('mika', PASSWORD);
      const a = await startLogin(r);
      const b = await startLogin(r, { create: true, hostname: 'build-box' });
      const pageA = await web.get(a.page);
      assert.equal((await web.post(`${a.page}/approve`, { _csrf: csrfIn(pageA.text) })).status, 200);
      // Approving one login answers that one only.
      assert.equal((await r.request('GET', b.done)).status, 202);
      // A page id is not a done id, a done id of one flow is not one of the other, and made-up ids are unknown.
      assert.equal((await r.request('GET', `/-/v1/login/done/${a.page.split('/').pop()!}`)).status, 404);
      assert.equal((await r.request('GET', a.done.replace('/login/', '/otp/'))).status, 404);
      assert.equal((await r.request('GET', `/-/v1/login/done/${'A'.repeat(43)}`)).status, 404);
      assert.equal(
        (
          await web.get(
            `/-/web/login/${a.page
              .split('/')
              .pop()!
              .replace(/^./, (c) => (c === 'e' ? 'f' : 'e'))}`,
          )
        ).status,
        404,
        'editing what the id shows makes it unknown',
      );
      assert.equal((await r.request('GET', a.done)).status, 200);

      // The page names the computer npm said it runs on; adduser tells a signed-out browser how to get an account.
      const pageB = await web.get(b.page);
      assert.match(pageB.text, /<h1>Log in to npm on build-box\?<\/h1>/);
      assert.match(
        (await new WebClient(r.url).get(b.page)).text,
        /Create an account[\s\S]*href="\/-\/web\/signin\?next=/,
      );
      const cancelled = await web.post(`${b.page}/cancel`, { _csrf: csrfIn(pageB.text) });
      assert.equal(cancelled.status, 200);
      assert.equal((await r.request('GET', b.done)).status, 404);
      assert.equal((await web.get(b.page)).status, 404);

      const c = await startLogin(r);
      const pageC = await web.get(c.page);
      clock.tick(11 * 60_000);
      assert.equal((await r.request('GET', c.done)).status, 410);
      assert.equal((await web.get(c.page)).status, 404);
      assert.equal((await web.post(`${c.page}/approve`, { _csrf: csrfIn(pageC.text) })).status, 404);
      const tokens = await r.store.db
        .selectFrom('tokens')
        .innerJoin('users', 'users.id', 'tokens.user_id')
        .select('tokens.id')
        .where('users.name', '=', 'mika')
        .execute();
      assert.equal(tokens.length, 2, 'the test token and the one approved login');

      // Whatever the client sends about itself, the page shows only clean text and its link still works.
      const odd = await r.request('POST', '/-/v1/login', {
        body: { hostname: '<b>bold</b>' },
        headers: { 'user-agent': 'é"\\<script>'.repeat(200) },
      });
      const oddPage = await web.get(pathOf((odd.json() as { loginUrl: string }).loginUrl));
      assert.equal(oddPage.status, 200);
      assert.match(oddPage.text, /<h1>Log in to npm\?<\/h1>/);
      assert.doesNotMatch(oddPage.text, /<script>|<b>/);

      // Nonsense bodies still start a login (npm falls back to username and password on any 4xx).
      assert.equal(
        (await r.request('POST', '/-/v1/login', { raw: 'null', headers: { 'content-type': 'application/json' } }))
          .status,
        200,
      );
    });

    it('asks an account with two-factor for a code when its session did not sign in with one', async () => {
      const before = new WebClient(r.url);
      await before.signIn('otto', PASSWORD);
      clock.tick(60_000);
      const secret = await enableMfa(r, 'otto', 'auth-only', clock.now());
      const login = await startLogin(r);
      const page = await before.get(login.page);
      assert.match(page.text, /signed in before it was turned on[\s\S]*name="otp"/);
      const csrf = csrfIn(page.text);
      const without = await before.post(`${login.page}/approve`, { _csrf: csrf });
      assert.equal(without.status, 401);
      assert.equal((await before.post(`${login.page}/approve`, { _csrf: csrf, otp: '000000' })).status, 401);
      assert.equal((await r.request('GET', login.done)).status, 202, 'still not approved');
      clock.tick(30_000);
      assert.equal(
        (await before.post(`${login.page}/approve`, { _csrf: csrf, otp: codeAt(secret, clock.now()) })).status,
        200,
      );
      assert.equal((await r.request('GET', login.done)).status, 200);

      // A session that signed in with the code approves with the button alone.
      clock.tick(30_000);
      const fresh = new WebClient(r.url);
      await signInWithCode(fresh, 'otto', secret, clock.now());
      const second = await startLogin(r);
      const page2 = await fresh.get(second.page);
      assert.doesNotMatch(page2.text, /name="otp"/);
      assert.equal((await fresh.post(`${second.page}/approve`, { _csrf: csrfIn(page2.text) })).status, 200);
      assert.equal((await r.request('GET', second.done)).status, 200);
    });

    it('runs npm web OTP: the 401 carries authUrl/doneUrl, the code goes in the page, the grant works once and for its account only', async () => {
      clock.tick(30_000);
      const secret = await enableMfa(r, 'bob', 'auth-and-writes', clock.now());
      const { token } = await startLoginToken(r, 'bob', secret, clock);

      const publish = (version: string, headers: Record<string, string> = {}) =>
        r.request('PUT', '/bob-pkg', { token, headers, body: body(publishDoc({ name: 'bob-pkg', version })) });
      const first = await publish('1.0.0');
      assert.equal(first.status, 401);
      assert.equal(first.headers.get('www-authenticate'), 'OTP');
      const { error, authUrl, doneUrl } = first.json() as { error: string; authUrl: string; doneUrl: string };
      assert.match(error, /one-time password/);
      assert.ok(
        authUrl.startsWith(`${r.url}/-/web/otp/`) && doneUrl.startsWith(`${r.url}/-/v1/otp/done/`),
        JSON.stringify(first.json()),
      );
      assert.equal((await r.request('GET', pathOf(doneUrl))).status, 202);

      // Someone else's browser cannot answer it.
      const lena = new WebClient(r.url);
      await lena.signIn('lena', PASSWORD);
      assert.equal((await lena.get(pathOf(authUrl))).status, 403);
      assert.equal(
        (
          await lena.post(`${pathOf(authUrl)}/approve`, {
            _csrf: await lena.csrf('/-/web/account'),
            otp: codeAt(secret, clock.now()),
          })
        ).status,
        403,
      );

      clock.tick(30_000);
      const web = new WebClient(r.url);
      const signedIn = await signInWithCode(web, 'bob', secret, clock.now(), pathOf(authUrl));
      assert.equal(signedIn.location, pathOf(authUrl));
      const page = await web.get(pathOf(authUrl));
      assert.equal(page.status, 200);
      assert.match(page.text, /npm is making a change as <strong>bob<\/strong> \(this change\)/);
      // The code used to sign in is spent; a wrong one is refused; the next one approves.
      const replay = await web.post(`${pathOf(authUrl)}/approve`, {
        _csrf: csrfIn(page.text),
        otp: codeAt(secret, clock.now()),
      });
      assert.equal(replay.status, 401);
      assert.equal((await r.request('GET', pathOf(doneUrl))).status, 202);
      clock.tick(30_000);
      const ok = await web.post(`${pathOf(authUrl)}/approve`, {
        _csrf: csrfIn(page.text),
        otp: codeAt(secret, clock.now()),
      });
      assert.equal(ok.status, 200);
      assert.match(ok.text, /Approved/);
      assert.equal((await web.get(pathOf(authUrl))).status, 404, 'answered once');

      const done = await r.request('GET', pathOf(doneUrl));
      assert.equal(done.status, 200);
      const grant = (done.json() as { token: string }).token;
      assert.match(grant, /^web-otp\./);
      assert.equal((await r.request('GET', pathOf(doneUrl))).status, 410);

      // The grant is bound to bob: another account with a second factor cannot spend it.
      const writer = await r.user('writer');
      await enableMfa(r, 'writer', 'auth-and-writes', clock.now());
      const stolen = await r.request('PUT', '/writer-pkg', {
        token: writer.token,
        headers: { 'npm-otp': grant },
        body: body(publishDoc({ name: 'writer-pkg', version: '1.0.0' })),
      });
      assert.equal(stolen.status, 401);

      assert.equal((await publish('1.0.0', { 'npm-otp': grant })).status, 201);
      // Used once: the next write asks again.
      assert.equal((await publish('1.0.1', { 'npm-otp': grant })).status, 401);
      // And the classic path still works beside it.
      clock.tick(30_000);
      assert.equal((await publish('1.0.1', { 'npm-otp': codeAt(secret, clock.now()) })).status, 201);

      // Guessing codes on the web OTP page hits the same per-account limit: 429 with Retry-After, right code or not.
      const next = await publish('1.0.2');
      const otpPage = pathOf((next.json() as { authUrl: string }).authUrl);
      const form = await web.get(otpPage);
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++)
        statuses.push(
          (await web.post(`${otpPage}/approve`, { _csrf: csrfIn(form.text), otp: String(100000 + i) })).status,
        );
      assert.deepEqual(statuses, [401, 401, 401, 401, 401, 401, 429]);
      const blocked = await web.post(`${otpPage}/approve`, {
        _csrf: csrfIn(form.text),
        otp: codeAt(secret, clock.now()),
      });
      assert.equal(blocked.status, 429);
      assert.match(blocked.headers.get('retry-after') ?? '', /^\d+$/);
      assert.equal((await r.request('GET', pathOf((next.json() as { doneUrl: string }).doneUrl))).status, 202);
    });

    it('limits how many web logins one address starts', async () => {
      const statuses: number[] = [];
      // Earlier tests in this file started a few from this address already; the 61st within the hour is refused.
      for (let i = 0; i < 61; i++) statuses.push((await r.request('POST', '/-/v1/login', { body: {} })).status);
      const refused = await r.request('POST', '/-/v1/login', { body: {} });
      assert.equal(refused.status, 429);
      assert.match(refused.headers.get('retry-after') ?? '', /^\d+$/);
      assert.match((refused.json() as { error: string }).error, /too many failed web logins started|try again/);
      assert.ok(statuses.includes(200) && statuses.at(-1) === 429, statuses.join(','));
    });
  });
}

/** A token for a user with a second factor, got through web login with a session that signed in with the code. */
async function startLoginToken(
  r: TestRegistry,
  name: string,
  secret: string,
  clock: { now: () => number; tick: (ms: number) => number },
) {
  clock.tick(30_000);
  const web = new WebClient(r.url);
  await signInWithCode(web, name, secret, clock.now());
  const login = await startLogin(r);
  const page = await web.get(login.page);
  assert.equal((await web.post(`${login.page}/approve`, { _csrf: csrfIn(page.text) })).status, 200);
  return (await r.request('GET', login.done)).json() as { token: string };
}
