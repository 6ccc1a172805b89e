// The account pages in a real browser (Chromium): sign up, sign in, account settings, sessions, sign out, and the
// properties a browser enforces (HttpOnly and SameSite cookies) checked where they take effect.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashSessionId } from '../../src/accounts/sessions.ts';
import type { TestBrowser } from '../helpers/browser.ts';
import { startBrowserRegistry } from '../helpers/browser-registry.ts';
import type { TestRegistry } from '../helpers/registry.ts';

const PASSWORD = 'a-long-enough-password';

describe('web account pages in a browser', () => {
  let r: TestRegistry;
  let b: TestBrowser;
  let base: string;
  let close: () => Promise<void>;
  // Sign-up is open where new accounts can verify their address: here by the emailed link.
  before(async () => void ({ r, b, base, close } = await startBrowserRegistry({ smtp: true })));
  after(() => close());

  it('signs up, lands on the account page, signs out and back in', async (t) => {
    const { context, page } = await b.person();
    await page.goto(`${base}/-/web/signup`);
    await page.fill('input[name=username]', 'webuser');
    await page.fill('input[name=email]', 'webuser@example.com');
    await page.fill('input[name=password]', PASSWORD);
    await page.click('form.stack button[type=submit]');
    await page.waitForURL(`${base}/-/web/account?welcome=1`);
    assert.match((await page.textContent('main')) ?? '', /Welcome! Your account is ready/);
    assert.equal(await page.textContent('#profile dd:nth-of-type(1)'), 'webuser');
    assert.match((await page.textContent('#profile')) ?? '', /webuser@example\.com\s+not verified/);
    const user = await r.store.db
      .selectFrom('users')
      .selectAll()
      .where('name', '=', 'webuser')
      .executeTakeFirstOrThrow();
    assert.equal(user.email_verified, 0, 'a web sign-up starts unverified');

    // The session cookie: HttpOnly, SameSite=Lax, not Secure over plain http, and invisible to page scripts.
    const cookie = (await context.cookies()).find((c) => c.name === 'bulwark_session');
    assert.ok(cookie, 'signed in');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    assert.equal(cookie.secure, false);
    assert.equal(cookie.path, '/');
    assert.doesNotMatch(
      await page.evaluate(() => document.cookie),
      /bulwark_session/,
      'document.cookie cannot read the session',
    );
    const row = await r.store.db
      .selectFrom('sessions')
      .selectAll()
      .where('session_hash', '=', hashSessionId(cookie.value))
      .executeTakeFirstOrThrow();
    assert.equal(row.user_id, user.id);
    assert.match(row.user_agent, /Chrome/);

    // Signing out revokes the row, and the account page then asks to sign in.
    await page.click('header form[action="/-/web/signout"] button');
    await page.waitForURL(`${base}/`);
    assert.equal(await page.textContent('nav.account a[href="/-/web/signin"]'), 'Sign in');
    const revoked = await r.store.db
      .selectFrom('sessions')
      .select('revoked_at')
      .where('id', '=', row.id)
      .executeTakeFirstOrThrow();
    assert.notEqual(revoked.revoked_at, null);
    await page.goto(`${base}/-/web/account`);
    assert.equal(new URL(page.url()).pathname, '/-/web/signin');
    assert.equal(new URL(page.url()).searchParams.get('next'), '/-/web/account');

    await b.screenshot(page, 'sign-in');
    t.diagnostic(`screenshots in ${b.screenshots}`);
    await page.fill('input[name=username]', 'webuser');
    await page.fill('input[name=password]', PASSWORD);
    await page.click('form.stack button[type=submit]');
    await page.waitForURL(`${base}/-/web/account`);
    assert.match((await page.textContent('nav.account')) ?? '', /webuser/);

    // A second browser signs in too; the first sees both sessions and revokes the other one.
    const other = await b.person();
    await other.page.goto(`${base}/-/web/signin`);
    await other.page.fill('input[name=username]', 'webuser');
    await other.page.fill('input[name=password]', PASSWORD);
    await other.page.click('form.stack button[type=submit]');
    await other.page.waitForURL(`${base}/-/web/account`);
    await page.reload();
    assert.equal(await page.locator('table.sessions tbody tr').count(), 2);
    assert.equal(await page.locator('table.sessions tr.current').count(), 1);
    await b.screenshot(page, 'account');
    // The placeholders other capabilities fill are there, each in its own section.
    for (const slot of ['password', 'two-factor', 'security-history'])
      assert.equal(await page.locator(`section#${slot}`).count(), 1, slot);

    await page.click('table.sessions tbody tr:not(.current) button');
    await page.waitForURL(`${base}/-/web/account?revoked=1`);
    assert.equal(await page.locator('table.sessions tbody tr').count(), 1);
    await other.page.goto(`${base}/-/web/account`);
    assert.equal(new URL(other.page.url()).pathname, '/-/web/signin', 'the revoked browser is signed out');
  });

  it('shows an error for a wrong password and starts no session', async () => {
    const { context, page } = await b.person();
    await page.goto(`${base}/-/web/signin`);
    await page.fill('input[name=username]', 'webuser');
    await page.fill('input[name=password]', 'not-the-password');
    const [response] = await Promise.all([
      page.waitForResponse((res) => res.request().method() === 'POST'),
      page.click('form.stack button[type=submit]'),
    ]);
    assert.equal(response.status(), 401);
    assert.equal(await page.textContent('.alert.error'), 'Incorrect username or password.');
    assert.equal(await page.inputValue('input[name=username]'), 'webuser', 'the username is kept');
    assert.equal(await page.inputValue('input[name=password]'), '', 'the password is not echoed back');
    assert.equal(
      (await context.cookies()).some((c) => c.name === 'bulwark_session'),
      false,
    );
    assert.equal(await page.locator('nav.account a[href="/-/web/signin"]').count(), 1);
  });

  it('does not send the session cookie on a cross-site form post (SameSite=Lax)', async () => {
    const { context, page } = await b.person();
    await page.goto(`${base}/-/web/signin`);
    await page.fill('input[name=username]', 'webuser');
    await page.fill('input[name=password]', PASSWORD);
    await page.click('form.stack button[type=submit]');
    await page.waitForURL(`${base}/-/web/account`);
    // 127.0.0.1 is another site than localhost: a page there auto-submits a sign-out form to us.
    const sent: Array<string | undefined> = [];
    await context.route(`${base}/-/web/signout`, async (route) => {
      sent.push(route.request().headers().cookie);
      await route.continue();
    });
    await context.route('http://127.0.0.1:1/attack', (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<form id=f method=post action="${base}/-/web/signout"></form><script>document.getElementById('f').submit()</script>`,
      }),
    );
    const [response] = await Promise.all([
      page.waitForResponse(`${base}/-/web/signout`),
      page.goto('http://127.0.0.1:1/attack'),
    ]);
    assert.equal(response.status(), 403, 'refused: no CSRF token');
    assert.ok(
      sent.length === 1 && !/bulwark_session/.test(sent[0] ?? ''),
      `the browser sent no session cookie cross-site: ${sent[0]}`,
    );
    await page.goto(`${base}/-/web/account`);
    assert.equal(new URL(page.url()).pathname, '/-/web/account', 'still signed in');
  });
});
