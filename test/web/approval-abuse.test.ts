// Sign-up with administrator approval against a waiting account that tries to act before it is approved, and against
// a forged approval (adversarial review): a waiting account makes a token with npm, then publishes, stars, creates an
// organisation and changes its email address with it; another site makes an administrator's browser post the
// approval. None of it may verify the account.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { findUser } from '../../src/accounts/users.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { WebClient, csrfIn } from '../helpers/web-client.ts';

const QUEUE = '/-/web/admin/approvals';
const PASSWORD = 'a-long-passphrase';

describe('web: a waiting account and forged approvals', () => {
  let r: TestRegistry;
  let admin: WebClient;
  let token: string;

  const verified = async (name: string) => (await findUser(r.store.db, name))?.email_verified === 1;

  before(async () => {
    r = await startRegistry('sqlite', { 'email-verification': 'admin' });
    admin = new WebClient(r.url);
    assert.equal((await admin.signIn('admin', 'correct-horse-battery')).status, 303);
    // npm adduser's legacy PUT: the account is made, and waits.
    const made = await r.request('PUT', '/-/user/org.couchdb.user:wes', {
      body: { _id: 'org.couchdb.user:wes', name: 'wes', password: PASSWORD, email: 'wes@example.com', type: 'user' },
    });
    assert.equal(made.status, 201, made.text);
    token = made.json().token;
    assert.ok(token);
    assert.equal(await verified('wes'), false);
  });
  after(() => r.stop());

  it('a waiting account’s token cannot publish, star, or create an organisation', async () => {
    const publish = await r.request('PUT', '/wes-lib', {
      token,
      body: body(publishDoc({ name: 'wes-lib', version: '1.0.0' })),
    });
    assert.equal(publish.status, 403, publish.text);
    assert.equal(publish.json().code, 'E_EMAIL_UNVERIFIED');
    assert.match(publish.json().error, /an administrator of this registry must approve the account/);

    const theirs = await r.request('PUT', '/public-lib', {
      token: r.adminToken,
      body: body(publishDoc({ name: 'public-lib', version: '1.0.0' })),
    });
    assert.equal(theirs.status, 201);
    const star = await r.request('PUT', '/public-lib', { token, body: { _id: 'public-lib', users: { wes: true } } });
    assert.equal(star.status, 403, star.text);
    assert.equal(star.json().code, 'E_EMAIL_UNVERIFIED');

    const org = await r.request('PUT', '/-/org', { token, body: { name: 'wesorg' } });
    assert.notEqual(org.status, 201, org.text);
    assert.equal(await verified('wes'), false);
  });

  it('changing its email address through npm profile does not verify it', async () => {
    const res = await r.request('POST', '/-/npm/v1/user', {
      token,
      body: { email: 'admin@example.com', password: PASSWORD },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(await verified('wes'), false);
    const profile = (await r.request('GET', '/-/npm/v1/user', { token })).json();
    assert.equal(profile.email_verified, false);
  });

  it('an approval posted without the form’s CSRF token, or from another site, approves nothing', async () => {
    const page = await admin.get(QUEUE);
    assert.match(page.text, /\/wes\/approve/);
    const noToken = await admin.post(`${QUEUE}/wes/approve`, {});
    assert.equal(noToken.status, 403, noToken.text.slice(0, 200));
    const wrongToken = await admin.post(`${QUEUE}/wes/approve`, { _csrf: 'x'.repeat(43) });
    assert.equal(wrongToken.status, 403);
    const crossSite = await admin.post(
      `${QUEUE}/wes/approve`,
      { _csrf: csrfIn(page.text) },
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    );
    assert.equal(crossSite.status, 403);
    assert.equal(await verified('wes'), false);
    // The administrator's own form still works.
    const real = await admin.post(`${QUEUE}/wes/approve`, { _csrf: csrfIn((await admin.get(QUEUE)).text) });
    assert.equal(real.status, 303, real.text);
    assert.equal(await verified('wes'), true);
  });
});
