// The access-tokens page over real HTTP on both databases with a real SMTP server: the link from the account page,
// creating a scoped token (shown once, working at once, limited to its package), the password and one-time code it
// needs, the rules it shares with npm (automation tokens, expiry), revoking with an email each way, and the refusals
// (no session, no CSRF token, someone else's token). Then the page in a real Chromium, with a screenshot.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DB_KINDS } from '../helpers/db.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startBrowserRegistry, type BrowserRegistry } from '../helpers/browser-registry.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { startSmtp, type Smtp } from '../helpers/smtp.ts';
import { codeAt, enableMfa, signInWithCode, wrongCodeAt } from '../helpers/totp.ts';
import { WebClient, csrfIn } from '../helpers/web-client.ts';

const PASSWORD = 'correct-horse-battery';
const TOKENS = '/-/web/account/tokens';
const tokenIn = (page: string) => /id="new-token-value">(bwk_[0-9A-Za-z]{42})</.exec(page)?.[1];
const keysIn = (page: string) => [...page.matchAll(/data-token="([0-9a-f]{64})"/g)].map((m) => m[1]!);

const form = (csrf: string, fields: Record<string, string>) => ({
  _csrf: csrf,
  name: 'ci',
  permission: 'read-write',
  target: 'listed',
  packages: '',
  scopes: '',
  orgs: '',
  orgsPermission: 'no-access',
  cidr: '',
  expires: '',
  password: PASSWORD,
  ...fields,
});

for (const kind of DB_KINDS) {
  describe(`access tokens on the web (${kind})`, () => {
    let smtp: Smtp;
    let r: TestRegistry;
    let now = Date.now();
    const mailFor = (name: string, what: RegExp) =>
      smtp.waitFor((m) => m.to.includes(`${name}@example.com`) && what.test(m.subject));
    before(async () => {
      smtp = await startSmtp();
      r = await startRegistry(
        kind,
        { 'smtp-url': smtp.url, 'mail-from': 'registry@example.com' },
        { clock: () => now },
      );
      for (const name of ['lena', 'milo']) await r.user(name);
    });
    after(async () => {
      await r?.stop();
      await smtp?.stop();
    });

    it('creates a token for one package, shows it once, lists it, and revokes it, emailing both', async () => {
      const web = new WebClient(r.url);
      assert.equal((await web.get(TOKENS)).status, 303, 'signed out: sent to sign in');
      assert.equal((await web.signIn('lena', PASSWORD)).status, 303);
      assert.match((await web.get('/-/web/account')).text, /href="\/-\/web\/account\/tokens"/);
      const page = await web.get(TOKENS);
      assert.equal(page.status, 200);
      assert.match(page.text, /id="create-token"/);

      const created = await web.post(
        TOKENS,
        form(csrfIn(page.text), { name: 'deploy', packages: 'lena-lib', cidr: '127.0.0.1/32', expires: '7' }),
      );
      assert.equal(created.status, 200, created.text);
      const token = tokenIn(created.text)!;
      assert.ok(token, 'the new token is on the page');
      assert.match(created.text, /read-write on lena-lib; only from 127\.0\.0\.1\/32/);
      assert.equal(tokenIn((await web.get(TOKENS)).text), undefined, 'shown once');
      await mailFor('lena', /A new access token was created/);

      const doc = (name: string) => body(publishDoc({ name, version: '1.0.0' }, { access: 'public' }));
      assert.equal((await r.request('PUT', '/lena-lib', { token, body: doc('lena-lib') })).status, 201);
      assert.equal((await r.request('PUT', '/lena-other', { token, body: doc('lena-other') })).status, 403);

      const listed = await web.get(TOKENS);
      assert.match(listed.text, new RegExp(`${token.slice(0, 10)}…`));
      assert.match(listed.text, /<strong>deploy<\/strong>/);
      assert.ok(!listed.text.includes(token), 'the list never shows the secret');
      const key = keysIn(listed.text).find((k) => listed.text.includes(`data-token="${k}">\n  <td><strong>deploy`))!;
      assert.ok(key);

      // Someone else cannot revoke it, and a POST without the CSRF token is refused.
      const milo = new WebClient(r.url);
      assert.equal((await milo.signIn('milo', PASSWORD)).status, 303);
      assert.equal((await milo.post(`${TOKENS}/${key}/revoke`, { _csrf: await milo.csrf(TOKENS) })).status, 404);
      assert.equal((await web.post(`${TOKENS}/${key}/revoke`, {})).status, 403);
      assert.equal((await r.request('GET', '/-/whoami', { token })).status, 200, 'still working');

      const revoked = await web.post(`${TOKENS}/${key}/revoke`, { _csrf: csrfIn(listed.text) });
      assert.equal(revoked.status, 303);
      assert.equal(revoked.location, `${TOKENS}?done=revoked`);
      assert.equal((await r.request('GET', '/-/whoami', { token })).status, 401, 'stopped at once');
      await mailFor('lena', /An access token was revoked/);
      assert.doesNotMatch((await web.get(TOKENS)).text, new RegExp(`data-token="${key}"`));
    });

    it('refuses a wrong password, an unscoped or long-lived automation token, and keeps what was typed', async () => {
      const web = new WebClient(r.url);
      assert.equal((await web.signIn('milo', PASSWORD)).status, 303);
      let csrf = await web.csrf(TOKENS);
      let res = await web.post(TOKENS, form(csrf, { packages: 'milo-lib', password: 'not-the-password' }));
      assert.equal(res.status, 401);
      assert.match(res.text, /That password is not right/);
      assert.match(res.text, /value="milo-lib"/, 'the form comes back filled in');
      assert.doesNotMatch(res.text, /not-the-password/);
      csrf = csrfIn(res.text);
      res = await web.post(TOKENS, form(csrf, { target: 'all', bypass2fa: '1' }));
      assert.equal(res.status, 400);
      assert.match(res.text, /limited to listed packages/);
      res = await web.post(TOKENS, form(csrfIn(res.text), { packages: 'milo-lib', bypass2fa: '1', expires: '120' }));
      assert.equal(res.status, 400);
      assert.match(res.text, /from 1 to 90/);
      res = await web.post(TOKENS, form(csrfIn(res.text), { packages: 'milo-lib', cidr: '10.0.0.0/99' }));
      assert.equal(res.status, 400);
      assert.match(res.text, /prefix length/);
      assert.equal(tokenIn(res.text), undefined);
    });

    it('asks for a current one-time code when the account has a second factor', async () => {
      await r.user('nina');
      now += 30_000;
      const secret = await enableMfa(r, 'nina', 'auth-and-writes', now);
      const web = new WebClient(r.url);
      now += 30_000;
      await signInWithCode(web, 'nina', secret, now);
      const page = await web.get(TOKENS);
      assert.match(page.text, /name="otp"/);
      now += 30_000;
      let res = await web.post(
        TOKENS,
        form(csrfIn(page.text), { packages: 'nina-lib', bypass2fa: '1', otp: wrongCodeAt(secret, now) }),
      );
      assert.equal(res.status, 401);
      assert.equal(tokenIn(res.text), undefined);
      res = await web.post(
        TOKENS,
        form(csrfIn(res.text), { packages: 'nina-lib', bypass2fa: '1', otp: codeAt(secret, now) }),
      );
      assert.equal(res.status, 200, res.text);
      const token = tokenIn(res.text)!;
      assert.match(res.text, /automation/);
      // The automation token publishes with no code on an account whose every write asks for one.
      assert.equal(
        (
          await r.request('PUT', '/nina-lib', {
            token,
            body: body(publishDoc({ name: 'nina-lib', version: '1.0.0' }, { access: 'public' })),
          })
        ).status,
        201,
      );
    });
  });
}

describe('access tokens in a browser', () => {
  let s: BrowserRegistry;
  before(async () => void (s = await startBrowserRegistry({ users: ['olga'] })));
  after(() => s.close());

  it('goes from the account page to the tokens page, creates a read-only token and revokes it', async () => {
    const { base } = s;
    const { page, blocked } = await s.signedIn('olga', PASSWORD);
    await page.click('#access-tokens a');
    await page.waitForURL(`${base}${TOKENS}`);
    await page.fill('#create-token input[name=name]', 'laptop install');
    await page.selectOption('#create-token select[name=permission]', 'read-only');
    await page.selectOption('#create-token select[name=target]', 'all');
    await page.fill('#create-token input[name=password]', PASSWORD);
    await page.click('#create-token button[type=submit]');
    await page.waitForSelector('#new-token-value');
    const token = (await page.textContent('#new-token-value'))!;
    assert.match(token, /^bwk_[0-9A-Za-z]{42}$/);
    console.log(`screenshot: ${await s.b.screenshot(page, 'access-tokens-created')}`);
    assert.equal((await s.r.request('GET', '/-/whoami', { token })).status, 200);
    await page.goto(`${base}${TOKENS}`);
    assert.match((await page.textContent('#tokens'))!, /read-only, all packages|read-only on all packages/);
    await page.click('#tokens button[type=submit]');
    await page.waitForURL(`${base}${TOKENS}?done=revoked`);
    assert.equal((await s.r.request('GET', '/-/whoami', { token })).status, 401);
    await s.b.screenshot(page, 'access-tokens-list');
    assert.deepEqual(blocked, []);
  });
});
