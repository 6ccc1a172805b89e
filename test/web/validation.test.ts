// Pages' forms and queries are checked against declared schemas, as the npm routes are (src/web/form.ts): a form of
// another shape draws its page again with the sentence naming the field and a 400 — never a JSON body, never a 500 —
// and a malformed query gets the error page.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { WebClient } from '../helpers/web-client.ts';

describe('schema-checked pages', () => {
  let r: TestRegistry;
  let web: WebClient;
  before(async () => {
    r = await startRegistry('sqlite');
    await r.user('olivia');
    web = new WebClient(r.url);
    assert.equal((await web.signIn('olivia', 'correct-horse-battery')).status, 303);
  });
  after(() => r.stop());

  it('draws the form again with the field named when a form has the wrong shape', async () => {
    const csrf = await web.csrf('/-/web/orgs');
    const res = await web.post('/-/web/orgs', { _csrf: csrf, name: 'x'.repeat(300) });
    assert.equal(res.status, 400);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.text, /&quot;name&quot; in the request body must be at most 214 characters\./);
    assert.match(res.text, /name="name"/, 'the create form is on the page again');
    assert.equal((await r.store.db.selectFrom('orgs').select('name').execute()).length, 0, 'nothing was created');
  });

  it('checks a form on the organisation page the same way, and still applies the change to a good one', async () => {
    let csrf = await web.csrf('/-/web/orgs');
    assert.equal((await web.post('/-/web/orgs', { _csrf: csrf, name: 'acme' })).status, 303);
    csrf = await web.csrf('/-/web/org/acme');
    const bad = await web.post('/-/web/org/acme/teams', { _csrf: csrf, name: 'core', description: 'd'.repeat(2000) });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /&quot;description&quot; in the request body must be at most 1024 characters\./);
    assert.match(bad.text, /@acme:developers/, 'the organisation page is drawn again');
    csrf = await web.csrf('/-/web/org/acme');
    assert.equal((await web.post('/-/web/org/acme/teams', { _csrf: csrf, name: 'core' })).status, 303);
  });

  it('draws the tokens page again naming a malformed field, with what was typed but never the password', async () => {
    const csrf = await web.csrf('/-/web/account/tokens');
    const res = await web.post('/-/web/account/tokens', {
      _csrf: csrf,
      name: 'ci',
      expires: 'soon',
      password: 'correct-horse-battery',
    });
    assert.equal(res.status, 400);
    assert.match(res.text, /&quot;expires&quot; in the request body must be a whole number of days\./);
    assert.doesNotMatch(res.text, /correct-horse-battery/);
  });

  it('still checks the CSRF token before answering a malformed form', async () => {
    const res = await web.post('/-/web/orgs', { _csrf: 'forged', name: 'x'.repeat(300) });
    assert.equal(res.status, 403);
  });

  it('checks a staff page query only after the gate: a malformed one is a 404 for anyone else', async () => {
    const res = await web.get('/-/web/admin/users?q=a&q=b');
    assert.equal(res.status, 404, 'the page does not advertise itself');
    await r.user('root', { admin: true });
    const admin = new WebClient(r.url);
    assert.equal((await admin.signIn('root', 'correct-horse-battery')).status, 303);
    const bad = await admin.get('/-/web/admin/users?q=a&q=b');
    assert.equal(bad.status, 400);
    assert.match(bad.text, /&quot;q&quot; in the query must be a string/);
    const csrf = await admin.csrf('/-/web/admin/users/olivia');
    const refused = await admin.post('/-/web/admin/users/olivia/disable', { _csrf: csrf, reason: 'r'.repeat(5000) });
    assert.equal(refused.status, 400);
    assert.match(refused.text, /&quot;reason&quot; in the request body must be at most 4096 characters\./);
    assert.match(refused.text, /olivia/, 'the account page is drawn again');
  });

  it('answers a malformed query with the error page, not JSON', async () => {
    const res = await web.get('/-/web/access?package=a&package=b');
    assert.equal(res.status, 400);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.text, /&quot;package&quot; in the query must be a string/);
  });
});
