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
  opts: { tag?: string } = {},
) {
  const tarball = packTarball(manifest, { 'package/README.md': readme });
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
