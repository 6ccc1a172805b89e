// Every kind of page in a real browser at a phone's width (360 px) and a desktop's (1280 px): nothing may scroll
// sideways, and each is screenshotted at both widths to be looked at. Then the staff navigation: administrators and
// moderators reach every page of the registry's administration from the header and from each of those pages, through
// one set of links; and form controls (the token page's selects) are styled like the inputs beside them.
// One browser, one server, every page: CI has two cores.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { createOrg } from '../../src/access/orgs.ts';
import type { ModerationDatabase } from '../../src/safety/moderation-tables.ts';
import { fileReport } from '../../src/safety/reports.ts';
import { browserUrl, cspViolations, launchBrowser, signInThroughForm, type TestBrowser } from '../helpers/browser.ts';
import { body, packTarball, publishDoc, type Manifest } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const PASSWORD = 'correct-horse-battery'; // what the registry helper gives its users
const WIDTHS = [360, 1280] as const;

// Long unbroken words and code are what push a narrow page wider than the screen.
const README = `# widget-core

The core of the widget toolkit: \`createWidget(options)\` returns a widget bound to its container.

\`\`\`js
import { createWidget } from 'widget-core'; const widget = createWidget({ container: document.body, theme: 'dark' });
\`\`\`

| option | default | what it does |
|---|---|---|
| \`container\` | \`document.body\` | where the widget is mounted, as an element or a selector string |
| \`theme\` | \`'light'\` | the colour theme |

See https://example.com/a/very/long/link/that/does/not/break/anywhere/because/it/has/no/spaces/at/all for more.
`;

async function publish(r: TestRegistry, token: string, manifest: Manifest, files: Record<string, string> = {}) {
  const tarball = packTarball(manifest, files);
  const res = await r.request('PUT', `/${manifest.name.replace('/', '%2f')}`, {
    token,
    body: body(publishDoc(manifest, { tarball })),
  });
  assert.equal(res.status, 201, res.text);
}

/** How far the page reaches sideways beyond the viewport, and which elements stick out (for the failure message). */
async function overflow(page: Page): Promise<{ scrollWidth: number; culprits: string[] }> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const culprits = [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > width + 0.5)
      .slice(0, 6)
      .map((el) => `${el.tagName.toLowerCase()}${el.className ? `.${String(el.className).replace(/ /g, '.')}` : ''}`);
    return { scrollWidth: document.documentElement.scrollWidth, culprits };
  });
}

describe('every page at 360 and 1280 pixels, and the staff navigation', () => {
  let r: TestRegistry;
  let b: TestBrowser;
  let base: string;
  let itemId = 0;
  before(async () => {
    r = await startRegistry('sqlite');
    b = await launchBrowser();
    base = browserUrl(r.url);
    const bob = await r.user('bob');
    const mod = await r.user('mod');
    await r.store.db.updateTable('users').set({ is_moderator: 1 }).where('id', '=', mod.id).execute();
    await publish(r, r.adminToken, { name: 'tiny-dep', version: '1.0.0', description: 'a small dependency' });
    await publish(
      r,
      r.adminToken,
      {
        name: 'widget-core',
        version: '1.0.0',
        description: 'Widgets for everyone, with a description long enough to wrap on a phone screen',
        license: 'MIT',
        keywords: ['widget', 'ui', 'components'],
        homepage: 'https://example.com/widget-core-has-a-rather-long-homepage-address',
        repository: { type: 'git', url: 'git+https://github.com/example-organisation/widget-core-monorepo.git' },
        dependencies: { 'tiny-dep': '^1.0.0' },
      },
      { 'package/README.md': README, 'package/lib/index.js': 'module.exports = {};\n' },
    );
    await publish(r, bob.token, { name: 'widget-app', version: '0.1.0', dependencies: { 'widget-core': '^1.0.0' } });
    await createOrg(r.store.db, 'acme', 'admin', null, Date.now());
    const { report } = await fileReport(
      r.store.db,
      null,
      { id: bob.id, name: 'bob', moderator: false },
      '127.0.0.1',
      {
        package: 'widget-app',
        version: '0.1.0',
        reason: 'suspicious',
        details: 'it phones home to a host nobody has heard of',
      },
      Date.now(),
    );
    itemId = (
      await r.store.db
        .withTables<ModerationDatabase>()
        .selectFrom('reports')
        .select('item_id')
        .where('id', '=', report.id)
        .executeTakeFirstOrThrow()
    ).item_id;
  });
  after(async () => {
    await b?.close();
    await r?.stop();
  });

  it('no page scrolls sideways at 360 px or at 1280 px', async (t) => {
    const anonymous = await b.person();
    const admin = await b.person();
    const blocked = [...cspViolations(anonymous.page), ...cspViolations(admin.page)];
    await signInThroughForm(admin.page, base, 'admin', PASSWORD);
    type Visit = { name: string; who: 'anonymous' | 'admin'; status?: number; open: (page: Page) => Promise<unknown> };
    const go = (path: string) => (page: Page) => page.goto(base + path);
    const visits: Visit[] = [
      { name: 'home', who: 'anonymous', open: go('/') },
      { name: 'home-signed-in', who: 'admin', open: go('/') },
      { name: 'search', who: 'anonymous', open: go('/-/web/search?q=widget') },
      { name: 'package', who: 'admin', open: go('/-/web/package/widget-core') },
      { name: 'version', who: 'anonymous', open: go('/-/web/package/widget-core/v/1.0.0') },
      { name: 'signin', who: 'anonymous', open: go('/-/web/signin') },
      { name: 'signup', who: 'anonymous', open: go('/-/web/signup') },
      { name: 'account', who: 'admin', open: go('/-/web/account') },
      { name: 'tokens', who: 'admin', open: go('/-/web/account/tokens') },
      {
        name: 'two-factor-setup',
        who: 'admin',
        open: async (page) => {
          await page.goto(`${base}/-/web/account`);
          await page.click('form[action="/-/web/account/two-factor/enrol"] button');
          await page.waitForURL(/two-factor\/enrol/);
        },
      },
      { name: 'security-policy', who: 'anonymous', open: go('/-/web/security') },
      { name: 'security-reports', who: 'admin', open: go('/-/web/security/reports') },
      { name: 'orgs', who: 'admin', open: go('/-/web/orgs') },
      { name: 'org', who: 'admin', open: go('/-/web/org/acme') },
      { name: 'admin-users', who: 'admin', open: go('/-/web/admin/users') },
      { name: 'admin-user', who: 'admin', open: go('/-/web/admin/users/bob') },
      { name: 'moderation', who: 'admin', open: go('/-/web/moderation') },
      { name: 'moderation-item', who: 'admin', open: go(`/-/web/moderation/${itemId}`) },
      { name: 'names', who: 'admin', open: go('/-/web/admin/names?check=widget-kore') },
      { name: 'log-history', who: 'anonymous', open: go('/-/web/package/widget-core/history') },
      { name: 'not-found', who: 'anonymous', status: 404, open: go('/-/web/package/no-such-package') },
    ];
    const wide: string[] = [];
    for (const width of WIDTHS) {
      for (const p of [anonymous.page, admin.page]) await p.setViewportSize({ width, height: 800 });
      for (const v of visits) {
        const page = v.who === 'admin' ? admin.page : anonymous.page;
        const res = (await v.open(page)) as Awaited<ReturnType<Page['goto']>> | undefined;
        if (res) assert.equal(res.status(), v.status ?? 200, `${v.name}: ${page.url()}`);
        const { scrollWidth, culprits } = await overflow(page);
        if (scrollWidth > width) wide.push(`${v.name} at ${width}: ${scrollWidth} px wide (${culprits.join(', ')})`);
        await b.screenshot(page, `${v.name}-${width}`);
      }
    }
    t.diagnostic(`screenshots in ${b.screenshots}`);
    assert.deepEqual(wide, [], 'pages wider than the viewport');
    assert.deepEqual(blocked, [], 'nothing was blocked by the Content-Security-Policy');
  });

  it('one staff navigation: in the header and on every staff page, with what each role may open', async () => {
    const admin = await b.person();
    await signInThroughForm(admin.page, base, 'admin', PASSWORD);
    const links = (page: Page, selector: string) =>
      page.locator(`${selector} a`).evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    const ADMIN_LINKS = ['/-/web/moderation', '/-/web/admin/users', '/-/web/admin/names', '/-/web/security/reports'];
    // The header leads an administrator to the administration.
    await admin.page.goto(`${base}/`);
    const headerHref = await admin.page.getAttribute('nav.account a.staff', 'href');
    assert.ok(headerHref && ADMIN_LINKS.includes(headerHref), `header link to administration: ${headerHref}`);
    for (const path of [
      ...ADMIN_LINKS,
      `/-/web/moderation/${itemId}`,
      '/-/web/admin/users/bob',
      '/-/web/admin/names?check=widget-kore',
    ]) {
      const res = await admin.page.goto(base + path);
      assert.equal(res?.status(), 200, path);
      assert.deepEqual(await links(admin.page, 'nav.staff'), ADMIN_LINKS, `the staff navigation on ${path}`);
      assert.equal(await admin.page.locator('nav.staff a[aria-current="page"]').count(), 1, `current page on ${path}`);
    }

    // A moderator sees the moderation queue only: the administrators' pages are not offered (they are 404s to them).
    const mod = await b.person();
    await signInThroughForm(mod.page, base, 'mod', PASSWORD);
    await mod.page.goto(`${base}/-/web/moderation`);
    assert.deepEqual(await links(mod.page, 'nav.staff'), ['/-/web/moderation']);
    assert.equal(await mod.page.getAttribute('nav.account a.staff', 'href'), '/-/web/moderation');
    assert.equal((await mod.page.goto(`${base}/-/web/admin/names`))?.status(), 404);

    // Everyone else: no staff link anywhere.
    const user = await b.person();
    await signInThroughForm(user.page, base, 'bob', PASSWORD);
    await user.page.goto(`${base}/-/web/account`);
    assert.equal(await user.page.locator('nav.account a.staff, nav.staff').count(), 0);
  });

  it('selects are styled like the inputs beside them', async () => {
    const admin = await b.person();
    await signInThroughForm(admin.page, base, 'admin', PASSWORD);
    await admin.page.goto(`${base}/-/web/account/tokens`);
    const heights = await admin.page.evaluate(() => {
      const form = document.querySelector('#create-token')!;
      const h = (el: Element) => Math.round(el.getBoundingClientRect().height);
      return {
        selects: [...form.querySelectorAll('select')].map(h),
        inputs: [...form.querySelectorAll('input[name=name], input[name=packages], input[type=password]')].map(h),
        fontSizes: [...form.querySelectorAll('select, input[name=name]')].map((el) => getComputedStyle(el).fontSize),
      };
    });
    assert.equal(heights.selects.length, 3);
    assert.ok(heights.inputs[0]! >= 38, `inputs are ${heights.inputs[0]} px high`);
    assert.deepEqual(
      new Set([...heights.selects, ...heights.inputs]).size,
      1,
      `same heights: ${JSON.stringify(heights)}`,
    );
    assert.equal(new Set(heights.fontSizes).size, 1, `same font size: ${JSON.stringify(heights.fontSizes)}`);
  });
});
