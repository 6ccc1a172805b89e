// The version page (/-/web/package/NAME/v/VERSION) in a real browser against a package written to attack it
// (adversarial review): markup in file names inside the tarball, in the description, license, deprecation message and
// dependency names of package.json, a javascript: tarball link, and version paths that try to leave the page. Nothing
// may run, and each hostile string must show as text.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { browserUrl, launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { publishDoc, body, tar } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const XSS_FILE = `<img src=x onerror="window.__pwned='file'">.js`;
const XSS_DEP = `"><img src=x onerror="window.__pwned='dep'">`;
const manifest = {
  name: 'hostile-lib',
  version: '1.0.0',
  description: `<script>window.__pwned='description'</script>`,
  license: `<svg onload="window.__pwned='license'">`,
  dependencies: { [XSS_DEP]: `"><script>window.__pwned='range'</script>` },
};

describe('web: the version page against a hostile package', () => {
  let r: TestRegistry;
  let browser: TestBrowser;
  before(async () => {
    r = await startRegistry('sqlite');
    browser = await launchBrowser();
    const tarball = tar({
      'package/package.json': JSON.stringify(manifest),
      [`package/${XSS_FILE}`]: 'module.exports = 1;\n',
      'package/"onmouseover="window.__pwned=1".js': '\n',
    });
    const doc = body(publishDoc(manifest, { tarball }));
    const res = await r.request('PUT', '/hostile-lib', { token: r.adminToken, body: doc });
    assert.equal(res.status, 201, res.text);
    const deprecate = (await r.request('GET', '/hostile-lib?write=true', { token: r.adminToken })).json();
    deprecate.versions['1.0.0'].deprecated = `<img src=x onerror="window.__pwned='deprecated'">`;
    deprecate.versions['1.0.0'].dist.tarball = `javascript:window.__pwned='tarball'`;
    const dep = await r.request('PUT', '/hostile-lib', { token: r.adminToken, body: deprecate });
    assert.equal(dep.status, 200, dep.text);
  });
  after(async () => {
    await browser.close();
    await r.stop();
  });

  it('shows every hostile string as text, and nothing runs', async () => {
    const { page } = await browser.person();
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const res = await page.goto(`${browserUrl(r.url)}/-/web/package/hostile-lib/v/1.0.0`);
    assert.equal(res?.status(), 200);
    await page.mouse.move(10, 10);
    for (const row of await page.locator('table.files code').all()) await row.hover();
    assert.equal(await page.evaluate(() => (window as { __pwned?: unknown }).__pwned), undefined);
    assert.deepEqual(dialogs, []);
    const text = await page.locator('body').innerText();
    for (const shown of [XSS_FILE, manifest.description, manifest.license, XSS_DEP])
      assert.ok(text.includes(shown), `${shown} shows as text`);
    assert.match(text, /Deprecated: <img src=x/);
    assert.equal(await page.locator('a[href^="javascript:"]').count(), 0, 'no javascript: link');
    assert.equal(await page.locator('img, svg[onload], script:not([src])').count(), 0, 'no injected element');
  });

  it('answers version paths that try to leave the page with a 404 (a NUL with the 400 every URL with one gets)', async () => {
    for (const v of ['..%2F..%2F..%2Fetc%2Fpasswd', '__proto__', 'constructor', '1.0.0%2F..', '1.0.0%20'])
      assert.equal((await r.request('GET', `/-/web/package/hostile-lib/v/${v}`)).status, 404, v);
    assert.equal((await r.request('GET', '/-/web/package/hostile-lib/v/1.0.0%00')).status, 400);
  });
});
