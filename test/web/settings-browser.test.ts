// Account recovery in a real browser (Chromium), with the link read from a real SMTP server: "Forgot password?" on
// the sign-in page → email → reset page → sign in with the new password; then the account page's settings sections,
// screenshotted to be looked at.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestBrowser } from '../helpers/browser.ts';
import { startBrowserRegistry } from '../helpers/browser-registry.ts';
import type { TestRegistry } from '../helpers/registry.ts';
import type { Smtp } from '../helpers/smtp.ts';

const OLD_PASSWORD = 'correct-horse-battery'; // what the registry helper gives its users
const NEW_PASSWORD = 'a-brand-new-passphrase';

describe('password reset and account settings in a browser', () => {
  let r: TestRegistry;
  let smtp: Smtp;
  let b: TestBrowser;
  let base: string;
  let close: () => Promise<void>;
  before(async () => void ({ r, b, base, smtp, close } = await startBrowserRegistry({ smtp: true })));
  after(() => close());

  it('forgot password → email link → new password → sign in, and the settings sections look right', async (t) => {
    await r.user('yara');
    // Signed in somewhere else: the reset must end that session.
    const elsewhere = await b.person();
    await elsewhere.page.goto(`${base}/-/web/signin`);
    await elsewhere.page.fill('input[name=username]', 'yara');
    await elsewhere.page.fill('input[name=password]', OLD_PASSWORD);
    await elsewhere.page.click('form.stack button[type=submit]');
    await elsewhere.page.waitForURL(`${base}/-/web/account`);

    const { page } = await b.person();
    await page.goto(`${base}/-/web/signin`);
    await page.click('text=Forgot password?');
    await page.waitForURL(`${base}/-/web/forgot-password`);
    await page.fill('input[name=identifier]', 'yara@example.com');
    await page.click('form.stack button[type=submit]');
    assert.match((await page.textContent('.alert.notice')) ?? '', /we have sent it a link to reset the password/);
    await b.screenshot(page, 'forgot-password');

    const mail = await smtp.waitFor((m) => m.to.includes('yara@example.com') && /Reset your password/.test(m.subject));
    const path = /http:\/\/\S+(\/-\/web\/reset-password\?token=[\w-]+)/.exec(mail.text)?.[1];
    assert.ok(path, mail.text);
    await page.goto(base + path);
    assert.match((await page.textContent('main')) ?? '', /For the account yara/);
    await b.screenshot(page, 'reset-password');
    await page.fill('input[name=password]', NEW_PASSWORD);
    await page.fill('input[name=confirm]', NEW_PASSWORD);
    await page.click('form.stack button[type=submit]');
    await page.waitForURL(`${base}/-/web/reset-password?done=1`);
    await page.click('main a.button:has-text("Sign in")');
    await page.waitForURL(`${base}/-/web/signin`);
    await page.fill('input[name=username]', 'yara');
    await page.fill('input[name=password]', NEW_PASSWORD);
    await page.click('form.stack button[type=submit]');
    await page.waitForURL(`${base}/-/web/account`);

    await elsewhere.page.goto(`${base}/-/web/account`);
    assert.equal(
      new URL(elsewhere.page.url()).pathname,
      '/-/web/signin',
      'the other browser was signed out by the reset',
    );
    await smtp.waitFor((m) => m.to.includes('yara@example.com') && /Your password was reset/.test(m.subject));

    // Change the email address from the account page: the page then shows the unverified address and the resend button.
    await page.fill('#email input[name=email]', 'yara-new@example.com');
    await page.fill('#email input[name=password]', NEW_PASSWORD);
    await page.click('#email button.primary');
    await page.waitForURL(`${base}/-/web/account?changed=email#email`);
    assert.match((await page.textContent('#email .verify-box')) ?? '', /yara-new@example\.com is not verified yet/);
    const history = await page.locator('#security-history table.history tbody tr').allTextContents();
    assert.match(history[0] ?? '', /Email address changed\s*from yara@example\.com · to yara-new@example\.com/);
    assert.ok(
      history.some((row) => /Password reset with an email link/.test(row)),
      history.join('\n'),
    );
    assert.ok(
      history.some((row) => /Signed in\s*from 127\.0\.0\.1 · with Chrome on Linux/.test(row)),
      history.join('\n'),
    );
    // The settings stylesheet applied: the forms are narrow inside the wide panels.
    const formWidth = await page.locator('#password form').evaluate((f) => f.getBoundingClientRect().width);
    assert.ok(formWidth <= 440, `password form is ${formWidth}px wide`);
    const file = await b.screenshot(page, 'account-settings');
    t.diagnostic(`screenshot: ${file}`);
  });
});
