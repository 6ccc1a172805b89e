// The organisation, team and package-access pages: at the protocol level on both databases (every refusal the gate
// makes shows on the page with its status; strangers get 404; CSRF and the second factor apply), then in Chromium
// with screenshots.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { browserUrl, launchBrowser, signInThroughForm, type TestBrowser } from '../helpers/browser.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { codeAt, enableMfa } from '../helpers/totp.ts';
import { WebClient, csrfIn } from '../helpers/web-client.ts';

const PASSWORD = 'correct-horse-battery';

async function signedIn(r: TestRegistry, name: string): Promise<WebClient> {
  const web = new WebClient(r.url);
  const res = await web.signIn(name, PASSWORD);
  assert.equal(res.status, 303, res.text);
  return web;
}

for (const kind of DB_KINDS) {
  describe(`organisation pages (${kind})`, () => {
    let r: TestRegistry;
    let now = Date.now();
    const tokens: Record<string, string> = {};
    before(async () => {
      r = await startRegistry(kind, {}, { clock: () => now });
      for (const n of ['olivia', 'adam', 'dora', 'mallory', 'sam']) tokens[n] = (await r.user(n)).token;
    });
    after(() => r.stop());

    it('creates an org, adds members and teams, grants a team access; each change is an event', async () => {
      const olivia = await signedIn(r, 'olivia');
      let csrf = await olivia.csrf('/-/web/orgs');
      let res = await olivia.post('/-/web/orgs', { _csrf: csrf, name: '@acme' });
      assert.equal(res.status, 303, res.text);
      assert.equal(res.location, '/-/web/org/acme?done=created');
      let page = await olivia.get('/-/web/org/acme');
      assert.equal(page.status, 200);
      assert.match(page.text, /@acme:developers/);
      csrf = csrfIn(page.text);
      assert.equal(
        (await olivia.post('/-/web/org/acme/members', { _csrf: csrf, user: 'adam', role: 'admin' })).status,
        303,
      );
      assert.equal(
        (await olivia.post('/-/web/org/acme/members', { _csrf: csrf, user: 'dora', role: 'developer' })).status,
        303,
      );
      assert.equal(
        (await olivia.post('/-/web/org/acme/teams', { _csrf: csrf, name: 'core', description: 'the core team' }))
          .status,
        303,
      );
      assert.equal(
        (await olivia.post('/-/web/org/acme/teams/core/members', { _csrf: csrf, user: 'dora' })).status,
        303,
      );
      page = await olivia.get('/-/web/org/acme');
      assert.match(page.text, /adam<\/td>\s*<td><span class="badge role-admin">admin/);

      // The package's access page: Olivia publishes, Adam (admin) grants core read-write.
      const adam = await signedIn(r, 'adam');
      assert.equal(
        (
          await r.request('PUT', '/@acme%2fwidget', {
            token: tokens.olivia!,
            body: body(publishDoc({ name: '@acme/widget', version: '1.0.0' }, { access: 'restricted' })),
          })
        ).status,
        201,
      );
      page = await adam.get('/-/web/access?package=%40acme%2Fwidget');
      assert.equal(page.status, 200, page.text);
      res = await adam.post('/-/web/access/teams', {
        _csrf: csrfIn(page.text),
        package: '@acme/widget',
        team: 'acme:core',
        permission: 'read-write',
      });
      assert.equal(res.status, 303, res.text);
      res = await adam.post('/-/web/access/maintainers', {
        _csrf: csrfIn(page.text),
        package: '@acme/widget',
        user: 'adam',
      });
      assert.equal(res.status, 404, 'an org admin cannot make himself a maintainer of a package he cannot read');
      const dora = await signedIn(r, 'dora');
      const doraPage = await dora.get('/-/web/access?package=%40acme%2Fwidget');
      assert.equal(doraPage.status, 200, 'the read-write grant lets dora see it');
      res = await dora.post('/-/web/access/maintainers', {
        _csrf: csrfIn(doraPage.text),
        package: '@acme/widget',
        user: 'dora',
      });
      assert.equal(res.status, 403, 'publishing rights do not include managing maintainers');
      assert.match(res.text, /only a maintainer of this package can change its maintainers/i);

      const kinds = (
        await r.store.db.selectFrom('events').select('kind').where('kind', 'like', 'org.%').orderBy('seq').execute()
      ).map((e) => e.kind);
      assert.deepEqual(kinds, [
        'org.created',
        'org.member-added',
        'org.member-added',
        'org.team-created',
        'org.team-member-added',
      ]);
    });

    it('refuses developers, strangers and forged forms', async () => {
      const dora = await signedIn(r, 'dora');
      const page = await dora.get('/-/web/org/acme');
      assert.equal(page.status, 200);
      assert.doesNotMatch(page.text, /Add member/, 'a developer gets no management forms');
      const csrf = csrfIn(page.text);
      let res = await dora.post('/-/web/org/acme/members', { _csrf: csrf, user: 'mallory', role: 'developer' });
      assert.equal(res.status, 403);
      assert.match(res.text, /only an owner or admin of @acme can manage its members/i);
      res = await dora.post('/-/web/org/acme/teams/core/delete', { _csrf: csrf });
      assert.equal(res.status, 403);

      const mallory = await signedIn(r, 'mallory');
      assert.equal((await mallory.get('/-/web/org/acme')).status, 404, 'a stranger does not see the org');
      assert.equal(
        (await mallory.get('/-/web/access?package=%40acme%2Fwidget')).status,
        404,
        'nor its restricted package',
      );
      const mcsrf = await mallory.csrf('/-/web/orgs');
      res = await mallory.post('/-/web/org/acme/members', { _csrf: mcsrf, user: 'mallory', role: 'owner' });
      assert.equal(res.status, 404);
      res = await mallory.post('/-/web/orgs', { _csrf: mcsrf, name: 'acme' });
      assert.equal(res.status, 403, 'an existing org cannot be taken');
      res = await mallory.post('/-/web/orgs', { _csrf: mcsrf, name: 'olivia' });
      assert.equal(res.status, 403, "another user's own scope cannot be made an org by someone else");
      res = await mallory.post('/-/web/orgs', { _csrf: mcsrf, name: 'Not Valid!' });
      assert.equal(res.status, 400);
      res = await mallory.post('/-/web/org/acme/members', { _csrf: 'forged', user: 'mallory', role: 'owner' });
      assert.equal(res.status, 403, 'CSRF');
      const anon = new WebClient(r.url);
      res = await anon.get('/-/web/org/acme');
      assert.equal(res.status, 303);
      assert.match(res.location ?? '', /^\/-\/web\/signin\?next=/);
    });

    it('asks for the one-time password of an account that protects writes', async () => {
      const secret = await enableMfa(r, 'adam', 'auth-and-writes', now);
      now += 30_000;
      const web = new WebClient(r.url);
      const first = await web.signIn('adam', PASSWORD);
      const ticket = /name="ticket" value="([^"]+)"/.exec(first.text)![1]!;
      assert.equal(
        (await web.post('/-/web/signin/otp', { _csrf: csrfIn(first.text), ticket, otp: codeAt(secret, now) })).status,
        303,
      );
      now += 30_000;
      const page = await web.get('/-/web/org/acme');
      assert.match(page.text, /name="otp"/);
      let res = await web.post('/-/web/org/acme/members', {
        _csrf: csrfIn(page.text),
        user: 'mallory',
        role: 'developer',
      });
      assert.equal(res.status, 401);
      assert.match(res.text, /one-time password/);
      res = await web.post('/-/web/org/acme/members', {
        _csrf: csrfIn(page.text),
        user: 'mallory',
        role: 'developer',
        otp: codeAt(secret, now),
      });
      assert.equal(res.status, 303, res.text);
    });

    it('shows managers every package of the org, and lets only an owner delete the org', async () => {
      const olivia = await signedIn(r, 'olivia');
      await r.request('PUT', '/@acme%2fhidden', {
        token: tokens.olivia!,
        body: body(publishDoc({ name: '@acme/hidden', version: '1.0.0' }, { access: 'restricted' })),
      });
      const dora = await signedIn(r, 'dora');
      const doraPage = await dora.get('/-/web/org/acme');
      assert.doesNotMatch(doraPage.text, /@acme\/hidden/, 'a developer without a grant does not see the package');
      let page = await olivia.get('/-/web/org/acme');
      assert.match(page.text, /@acme\/hidden/);
      let res = await dora.post('/-/web/org/acme/delete', { _csrf: csrfIn(doraPage.text), confirm: 'acme' });
      assert.equal(res.status, 403, 'a developer cannot delete the org');
      const sam = await signedIn(r, 'sam');
      res = await sam.post('/-/web/org/acme/delete', { _csrf: await sam.csrf('/-/web/orgs'), confirm: 'acme' });
      assert.equal(res.status, 404, 'a stranger does not even see it');
      res = await olivia.post('/-/web/org/acme/delete', { _csrf: csrfIn(page.text), confirm: 'wrong' });
      assert.equal(res.status, 400);
      res = await olivia.post('/-/web/org/acme/delete', { _csrf: csrfIn(page.text), confirm: 'acme' });
      assert.equal(res.status, 303, res.text);
      assert.equal((await olivia.get('/-/web/org/acme')).status, 404);
      const scope = await r.store.db
        .selectFrom('scopes')
        .innerJoin('users', 'users.id', 'scopes.owner_user_id')
        .select('users.name')
        .where('scopes.name', '=', 'acme')
        .executeTakeFirstOrThrow();
      assert.equal(scope.name, 'olivia', 'the scope is now the deleting owner’s own');
      assert.equal((await r.request('GET', '/@acme%2fwidget', { token: tokens.olivia! })).status, 200, 'packages stay');
      assert.equal(
        (await r.request('GET', '/@acme%2fwidget', { token: tokens.dora! })).status,
        404,
        'team grants went with the org',
      );
      const last = await r.store.db
        .selectFrom('events')
        .select(['kind', 'subject'])
        .where('kind', '=', 'org.deleted')
        .execute();
      assert.deepEqual(last, [{ kind: 'org.deleted', subject: 'acme' }]);
      page = await olivia.get('/-/web/orgs');
      assert.match(page.text, /not in any organisation/);
    });
  });
}

describe('organisation pages in a browser', () => {
  let r: TestRegistry;
  let b: TestBrowser;
  before(async () => {
    r = await startRegistry('sqlite');
    b = await launchBrowser();
  });
  after(async () => {
    await b?.close();
    await r?.stop();
  });

  it('an owner creates an org, adds a member, makes a team and grants it a package', async (t) => {
    const base = browserUrl(r.url);
    const olivia = await r.user('olivia');
    await r.user('dora');
    const { page } = await b.person();
    await signInThroughForm(page, base, 'olivia', PASSWORD);
    await page.click('nav.account a[href="/-/web/orgs"]');
    await page.waitForURL(`${base}/-/web/orgs`);
    await b.screenshot(page, 'orgs');
    await page.fill('input[name=name]', 'acme');
    await page.click('form.stack button[type=submit]');
    await page.waitForURL(/\/-\/web\/org\/acme/);
    assert.match((await page.textContent('.alert.notice')) ?? '', /You are its owner/);
    await page.fill('form.add-member input[name=user]', 'dora');
    await page.click('form.add-member button[type=submit]');
    await page.waitForURL(/done=member/);
    await page.fill('form.add-team input[name=name]', 'core');
    await page.fill('form.add-team input[name=description]', 'Maintains the widget');
    await page.click('form.add-team button[type=submit]');
    await page.waitForURL(/done=team/);
    assert.equal(
      (
        await r.request('PUT', '/@acme%2fwidget', {
          token: olivia.token,
          body: body(publishDoc({ name: '@acme/widget', version: '1.0.0' }, { access: 'restricted' })),
        })
      ).status,
      201,
    );
    await page.goto(`${base}/-/web/access?package=%40acme%2Fwidget`);
    await page.selectOption('select[name=team]', 'acme:core');
    await page.selectOption('select[name=permission]', 'read-write');
    await page.click('#teams form.filters button[type=submit]');
    await page.waitForURL(/done=granted/);
    assert.match((await page.textContent('#teams table')) ?? '', /@acme:core\s*read-write/);
    const accessShot = await b.screenshot(page, 'package-access');
    await page.goto(`${base}/-/web/org/acme`);
    assert.match((await page.textContent('#teams')) ?? '', /@acme\/widget/);
    const orgShot = await b.screenshot(page, 'org-page');
    t.diagnostic(`screenshots: ${orgShot} ${accessShot}`);
  });
});
