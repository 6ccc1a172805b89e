// Package pages in a real browser: a hostile README cannot run anything, the Content-Security-Policy is in force,
// and a restricted package's page does not exist for anyone who may not read it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { CONTENT_SECURITY_POLICY } from '../../src/web/routes.ts';
import { browserUrl, launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { body, packTarball, publishDoc, type Manifest } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const PASSWORD = 'correct-horse-battery'; // what the registry helper gives its users

const HOSTILE_README = `# xss-demo

Looks harmless.

<script>window.__pwned = 'script'; alert('script')</script>

<img src=x onerror="window.__pwned = 'onerror'; alert('onerror')">

[click me](javascript:alert('link'))

<a href="jAvAsCrIpT:alert('mixed')">mixed case</a>

<div style="position:fixed;inset:0;background:red" onclick="alert('click')">styled</div>

<iframe src="javascript:alert('frame')"></iframe>

<svg><script>alert('svg')</script></svg>

<form action="https://evil.example/"><button>free stuff</button></form>
`;

const NICE_README = `# left-pad-plus

Pads strings on the left, on the right, or both — with **zero dependencies** and full TypeScript types.

## Install

\`\`\`sh
npm install left-pad-plus
\`\`\`

## Usage

\`\`\`js
import { padStart } from 'left-pad-plus';

padStart('42', 5, '0'); // '00042'
\`\`\`

| function | what it does |
|---|---|
| \`padStart(s, n, c)\` | pads on the left |
| \`padEnd(s, n, c)\` | pads on the right |

> Tip: the fill character defaults to a space.

See the [changelog](https://example.com/changelog) for what changed.
`;

async function publish(
  r: TestRegistry,
  token: string,
  manifest: Manifest,
  readme: string,
  opts: { tag?: string; files?: Record<string, string> } = {},
) {
  const tarball = packTarball(manifest, { 'package/README.md': readme, ...opts.files });
  const res = await r.request('PUT', `/${manifest.name.replace('/', '%2f')}`, {
    token,
    body: body(publishDoc(manifest, { tarball, ...(opts.tag ? { tag: opts.tag } : {}) })),
  });
  assert.equal(res.status, 201, res.text);
}

async function signIn(page: Page, base: string, name: string) {
  await page.goto(`${base}/-/web/signin`);
  await page.fill('input[name=username]', name);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('form.stack button[type=submit]');
  await page.waitForURL(`${base}/-/web/account`);
}

describe('package pages in a browser', () => {
  let r: TestRegistry;
  let b: TestBrowser;
  let base: string;
  before(async () => {
    r = await startRegistry('sqlite');
    b = await launchBrowser();
    base = browserUrl(r.url);
  });
  after(async () => {
    await b?.close();
    await r?.stop();
  });

  it('renders a hostile README without running any of it, under a strict CSP', async () => {
    await publish(
      r,
      r.adminToken,
      { name: 'xss-demo', version: '1.0.0', description: 'a <b>description</b> with markup' },
      HOSTILE_README,
    );
    const { page } = await b.person();
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const res = await page.goto(`${base}/-/web/package/xss-demo`);
    assert.equal(res?.status(), 200);
    const headers = res!.headers();
    assert.equal(headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.equal(headers['x-frame-options'], 'DENY');
    assert.equal(headers['referrer-policy'], 'same-origin');

    await page.waitForLoadState('load');
    assert.deepEqual(dialogs, [], 'no dialog fired');
    assert.equal(
      await page.evaluate(() => (window as unknown as { __pwned?: string }).__pwned),
      undefined,
      'no injected code ran',
    );
    const readme = page.locator('article.readme');
    assert.match((await readme.textContent()) ?? '', /Looks harmless/);
    assert.equal(await page.locator('script').count(), 0, 'no script element anywhere');
    assert.equal(
      await page
        .locator('article.readme iframe, article.readme svg, article.readme form, article.readme [style]')
        .count(),
      0,
    );
    const handlers = await page.evaluate(() =>
      [...document.querySelectorAll('*')].flatMap((el) =>
        [...el.attributes].filter((a) => a.name.startsWith('on')).map((a) => `${el.tagName}.${a.name}`),
      ),
    );
    assert.deepEqual(handlers, [], 'no event-handler attributes');
    const hrefs = await page.evaluate(() =>
      [...document.querySelectorAll('[href], [src]')].map(
        (el) => el.getAttribute('href') ?? el.getAttribute('src') ?? '',
      ),
    );
    assert.deepEqual(
      hrefs.filter((h) => /^\s*javascript:/i.test(h)),
      [],
      'no javascript: URLs',
    );
    // The description is text, not markup.
    assert.equal(await page.textContent('.pkg-head .description'), 'a <b>description</b> with markup');
  });

  it('shows versions, dist-tags, maintainers and the install command', async (t) => {
    const manifest = (version: string) => ({
      name: 'left-pad-plus',
      version,
      description: 'Pad strings on either side, with types',
      license: 'MIT',
      keywords: ['string', 'pad', 'format'],
      homepage: 'https://example.com/left-pad-plus',
      repository: { type: 'git', url: 'git+https://github.com/example/left-pad-plus.git' },
    });
    for (const v of ['1.0.0', '1.1.0', '1.2.0']) await publish(r, r.adminToken, manifest(v), NICE_README);
    await publish(r, r.adminToken, manifest('2.0.0-beta.1'), NICE_README, { tag: 'next' });
    const { page } = await b.person();
    await page.goto(`${base}/-/web/package/left-pad-plus`);
    assert.equal(await page.textContent('h1'), 'left-pad-plus');
    assert.equal(await page.textContent('pre.install'), 'npm install left-pad-plus');
    const versions = await page.locator('table.versions code').allTextContents();
    assert.deepEqual(versions, ['2.0.0-beta.1', '1.2.0', '1.1.0', '1.0.0'], 'newest first');
    const tags = await page
      .locator('aside section:has(h3:text("Dist-tags")) tr')
      .evaluateAll((rows) =>
        rows.map((row) => [...(row as HTMLTableRowElement).cells].map((c) => c.textContent).join(' ')),
      );
    assert.deepEqual(tags, ['latest 1.2.0', 'next 2.0.0-beta.1']);
    assert.deepEqual(await page.locator('ul.people li').allTextContents(), ['Aadmin']);
    assert.equal(
      await page.getAttribute('a[href^="https://github.com/"]', 'href'),
      'https://github.com/example/left-pad-plus',
    );
    assert.equal(await page.locator('article.readme table').count(), 1, 'GitHub-flavoured tables render');
    await b.screenshot(page, 'package');
    t.diagnostic(`screenshots in ${b.screenshots}`);
    // The package's transparency-log history is one click away.
    await page.click('a[href="/-/web/package/left-pad-plus/history"]');
    await page.waitForURL(/\/-\/web\/package\/left-pad-plus\/history$/);
    assert.match((await page.textContent('main')) ?? '', /1\.2\.0/);

    // The search and home pages list it too.
    await page.goto(`${base}/`);
    assert.deepEqual(
      await page.locator('li.result a.name').allTextContents(),
      ['left-pad-plus', 'xss-demo'],
      'recently updated first',
    );
    await b.screenshot(page, 'home');
    await page.fill('form.search.big input[name=q]', 'left-pad');
    await page.click('form.search.big button');
    await page.waitForURL(/\/-\/web\/search\?q=left-pad/);
    assert.deepEqual(await page.locator('li.result a.name').allTextContents(), ['left-pad-plus']);
    await b.screenshot(page, 'search');
  });

  it('links dependencies and dependents, shows weekly downloads, size and files, and has a page per version', async () => {
    const insider = await r.user('insider');
    const files = { 'package/lib/index.js': 'module.exports = 42;\n', 'package/lib/util/strings.js': '// strings\n' };
    await publish(
      r,
      r.adminToken,
      { name: 'dep-base', version: '1.0.0', description: 'at the bottom' },
      '# dep-base\n',
    );
    await publish(
      r,
      r.adminToken,
      { name: 'dep-mid', version: '1.0.0', license: 'MIT', dependencies: { 'dep-base': '^1.0.0' } },
      '# dep-mid\n',
      { files },
    );
    await publish(r, r.adminToken, { name: 'dep-top', version: '2.0.0', dependencies: { 'dep-mid': '~1.0.0' } }, '');
    // A restricted dependent: counted and listed only for those who may read it.
    await publish(
      r,
      insider.token,
      { name: '@insider/uses-mid', version: '1.0.0', dependencies: { 'dep-mid': '*' } },
      '',
    );
    for (let i = 0; i < 3; i++) assert.equal((await r.request('GET', '/dep-mid/-/dep-mid-1.0.0.tgz')).status, 200);
    await r.app.downloads.flush();

    const { page } = await b.person();
    await page.goto(`${base}/-/web/package/dep-mid`);
    const side = (section: string) => page.locator(`aside section.${section} a`).allTextContents();
    assert.deepEqual(await side('dependencies'), ['dep-base']);
    assert.equal(await page.getAttribute('aside section.dependencies a', 'href'), '/-/web/package/dep-base');
    assert.deepEqual(await side('dependents'), ['dep-top'], 'the restricted dependent is not shown');
    assert.equal(await page.textContent('aside section.dependents .count'), '1', 'nor counted');
    assert.equal(await page.textContent('dd.downloads'), '3');
    assert.equal(await page.textContent('dd.file-count'), '4');
    assert.match((await page.textContent('dd.unpacked-size')) ?? '', /^\d+ B$/);
    await b.screenshot(page, 'package-with-dependencies');

    // The version row is a link to the version's page.
    await page.click('table.versions a:has-text("1.0.0")');
    await page.waitForURL(`${base}/-/web/package/dep-mid/v/1.0.0`);
    assert.equal(await page.textContent('pre.install'), 'npm install dep-mid@1.0.0');
    assert.deepEqual(await page.locator('table.files td:first-child').allTextContents(), [
      'README.md',
      'lib/index.js',
      'lib/util/strings.js',
      'package.json',
    ]);
    assert.equal(await page.textContent('table.files tr:has-text("lib/index.js") td.right'), '21 B');
    assert.deepEqual(await page.locator('aside section.dependencies a').allTextContents(), ['dep-base']);
    assert.match((await page.textContent('aside')) ?? '', /sha512-/);
    await b.screenshot(page, 'version');

    const mine = await b.person();
    await signIn(mine.page, base, 'insider');
    await mine.page.goto(`${base}/-/web/package/dep-mid`);
    assert.deepEqual(await mine.page.locator('aside section.dependents a').allTextContents(), [
      '@insider/uses-mid',
      'dep-top',
    ]);
    // A scoped version page, for its reader only.
    assert.equal((await mine.page.goto(`${base}/-/web/package/@insider/uses-mid/v/1.0.0`))?.status(), 200);
    assert.equal((await page.goto(`${base}/-/web/package/@insider/uses-mid/v/1.0.0`))?.status(), 404);
  });

  it('answers a held, quarantined or unpublished version’s page as it answers a version that never existed', async () => {
    for (const v of ['1.0.0', '1.1.0', '1.2.0', '1.3.0'])
      await publish(r, r.adminToken, { name: 'hidden-versions', version: v, description: `release ${v}` }, '');
    const id = (
      await r.store.db
        .selectFrom('packages')
        .select('id')
        .where('name', '=', 'hidden-versions')
        .executeTakeFirstOrThrow()
    ).id;
    const states: Record<string, string> = { '1.1.0': 'held', '1.2.0': 'quarantined', '1.3.0': 'unpublished' };
    for (const [version, state] of Object.entries(states))
      await r.store.db
        .updateTable('versions')
        .set({ state })
        .where('package_id', '=', id)
        .where('version', '=', version)
        .execute();
    await r.store.db.updateTable('dist_tags').set({ version: '1.0.0' }).where('package_id', '=', id).execute();
    r.app.packages.invalidate('hidden-versions');

    // Even the maintainer (an administrator here) sees no page: the protocol serves none of these versions either.
    const admin = await b.person();
    await signIn(admin.page, base, 'admin');
    const anonymous = await b.person();
    const answer = async (page: Page, version: string) => {
      const res = await page.goto(`${base}/-/web/package/hidden-versions/v/${version}`);
      return { status: res?.status(), main: (await page.textContent('main'))?.trim() };
    };
    for (const page of [anonymous.page, admin.page]) {
      const missing = await answer(page, '9.9.9');
      assert.equal(missing.status, 404);
      for (const version of Object.keys(states)) {
        const got = await answer(page, version);
        assert.deepEqual(got, missing, `${version} (${states[version]}) reads as missing`);
        assert.doesNotMatch(await page.content(), new RegExp(`release ${version.replace(/\./g, '\\.')}`));
      }
      assert.equal((await answer(page, '1.0.0')).status, 200);
    }
    await anonymous.page.goto(`${base}/-/web/package/hidden-versions`);
    assert.deepEqual(await anonymous.page.locator('table.versions code').allTextContents(), ['1.0.0']);
  });

  it('lists the files of a version published before file lists were kept, reading its tarball once', async () => {
    await publish(r, r.adminToken, { name: 'old-timer', version: '1.0.0' }, '# old\n');
    const id = (
      await r.store.db.selectFrom('packages').select('id').where('name', '=', 'old-timer').executeTakeFirstOrThrow()
    ).id;
    const files = () =>
      r.store.db.selectFrom('versions').select('files').where('package_id', '=', id).executeTakeFirstOrThrow();
    assert.equal(
      (await files()).files,
      '[["README.md",6],["package.json",' +
        String(JSON.stringify({ name: 'old-timer', version: '1.0.0' }, null, 2).length) +
        ']]',
      'stored at publish',
    );
    await r.store.db.updateTable('versions').set({ files: null }).where('package_id', '=', id).execute();
    const { page } = await b.person();
    assert.equal((await page.goto(`${base}/-/web/package/old-timer/v/1.0.0`))?.status(), 200);
    assert.deepEqual(await page.locator('table.files td:first-child').allTextContents(), ['README.md', 'package.json']);
    assert.notEqual((await files()).files, null, 'the list read from the tarball is stored');
  });

  it('keeps a restricted package invisible to anonymous and other users, and shows it to its owner', async () => {
    const owner = await r.user('owner');
    await r.user('stranger');
    await publish(r, owner.token, { name: '@owner/secret', version: '1.0.0', description: 'top secret' }, '# secret\n');

    const anonymous = await b.person();
    for (const path of ['/-/web/package/@owner/secret', '/-/web/package/@owner%2fsecret']) {
      const res = await anonymous.page.goto(`${base}${path}`);
      assert.equal(res?.status(), 404, path);
      assert.match((await anonymous.page.textContent('main')) ?? '', /There is nothing here/);
      assert.doesNotMatch(await anonymous.page.content(), /top secret/);
    }
    await b.screenshot(anonymous.page, 'not-found');
    await anonymous.page.goto(`${base}/-/web/search?q=secret`);
    assert.equal(await anonymous.page.locator('li.result').count(), 0);

    const stranger = await b.person();
    await signIn(stranger.page, base, 'stranger');
    const res = await stranger.page.goto(`${base}/-/web/package/@owner/secret`);
    assert.equal(res?.status(), 404);
    assert.doesNotMatch(await stranger.page.content(), /top secret/);

    const mine = await b.person();
    await signIn(mine.page, base, 'owner');
    const ok = await mine.page.goto(`${base}/-/web/package/@owner/secret`);
    assert.equal(ok?.status(), 200);
    assert.equal(await mine.page.textContent('h1'), '@owner/secret');
    assert.equal(await mine.page.textContent('.badge.private'), 'private');
    await mine.page.goto(`${base}/-/web/search?q=secret`);
    assert.deepEqual(await mine.page.locator('li.result a.name').allTextContents(), ['@owner/secret']);
  });
});
