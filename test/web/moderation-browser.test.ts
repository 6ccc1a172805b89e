// GEN-2b in a real browser: a user reports a version from its package page, a moderator finds it at the top of the
// queue, reads the report and the publisher's activity, quarantines the version and then removes it as malicious,
// with one click each, under the strict Content-Security-Policy.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { browserUrl, cspViolations, launchBrowser, signInThroughForm, type TestBrowser } from '../helpers/browser.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const PASSWORD = 'correct-horse-battery';

describe('reporting and moderating in a browser', () => {
  let r: TestRegistry;
  let b: TestBrowser;
  let base: string;
  before(async () => {
    r = await startRegistry('sqlite');
    base = browserUrl(r.url);
    await r.user('bob');
    const mallory = await r.user('mallory');
    const mod = await r.user('mod');
    await r.store.db.updateTable('users').set({ is_moderator: 1 }).where('id', '=', mod.id).execute();
    for (const v of ['1.0.0', '1.0.1'])
      assert.equal(
        (
          await r.request('PUT', '/evil-widget', {
            token: mallory.token,
            body: body(publishDoc({ name: 'evil-widget', version: v })),
          })
        ).status,
        201,
      );
    b = await launchBrowser();
  });
  after(async () => {
    await b?.close();
    await r.stop();
  });

  it('a report from the package page reaches the queue, and the moderator quarantines and removes the version', async () => {
    const reporter = await b.person();
    const blocked = cspViolations(reporter.page);
    await signInThroughForm(reporter.page, base, 'bob', PASSWORD);
    await reporter.page.goto(`${base}/-/web/package/evil-widget`);
    await reporter.page.click('a.report-link');
    await reporter.page.waitForURL(/\/-\/web\/report\?package=evil-widget/);
    await reporter.page.selectOption('select[name=version]', '1.0.1');
    await reporter.page.check('input[name=reason][value=malicious]');
    await reporter.page.fill(
      'textarea[name=details]',
      'postinstall.js sends ~/.npmrc to https://exfil.example.invalid',
    );
    await b.screenshot(reporter.page, 'report-form');
    await reporter.page.click('form.report-form button[type=submit]');
    const receipt = await reporter.page.textContent('.report-receipt');
    assert.match(receipt ?? '', /Your report #\d+ of evil-widget@1\.0\.1 reached the moderators/);

    const moderator = await b.person();
    const modBlocked = cspViolations(moderator.page);
    await signInThroughForm(moderator.page, base, 'mod', PASSWORD);
    await moderator.page.goto(`${base}/-/web/moderation`);
    const first = moderator.page.locator('tr.queue-item').first();
    assert.match((await first.textContent()) ?? '', /evil-widget@1\.0\.1/);
    await first.locator('a').click();
    await moderator.page.waitForURL(/\/-\/web\/moderation\/\d+$/);
    const detail = (await moderator.page.textContent('main')) ?? '';
    assert.match(detail, /by bob/);
    assert.match(detail, /exfil\.example\.invalid/);
    assert.match(detail, /Publisher: mallory/);
    assert.match(detail, /evil-widget@1\.0\.0/, 'the publisher’s recent publishes');

    await moderator.page.fill('input[name=reason]', 'steals npm tokens');
    await moderator.page.click('button:has-text("Quarantine version")');
    await moderator.page.waitForURL(/done=quarantine/);
    assert.match((await moderator.page.textContent('.alert.notice')) ?? '', /quarantined/);
    const state = async () =>
      (await r.store.db.selectFrom('versions').select('state').where('version', '=', '1.0.1').executeTakeFirstOrThrow())
        .state;
    assert.equal(await state(), 'quarantined');

    await moderator.page.click('button:has-text("Remove version as malicious")');
    await moderator.page.waitForURL(/done=remove/);
    assert.equal(await state(), 'removed');
    assert.match((await moderator.page.textContent('main')) ?? '', /remove by mod/);
    await b.screenshot(moderator.page, 'moderation-item');
    assert.deepEqual([...blocked, ...modBlocked], [], 'nothing was blocked by the Content-Security-Policy');

    // The reporter sees the outcome on their reports page.
    await reporter.page.goto(`${base}/-/web/reports`);
    assert.match((await reporter.page.textContent('main')) ?? '', /evil-widget@1\.0\.1\s*malicious\s*removed/);
  });
});
