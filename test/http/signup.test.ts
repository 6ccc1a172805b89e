// Sign-up without email (issue 19): with no SMTP server, self sign-up is closed unless the operator chose approval by an
// administrator, and then npm adduser and the web form say that an administrator must approve the account instead of
// pointing at an email that is never sent. An account waiting for approval can do no more than any unverified one.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { startSmtp, type Smtp } from '../helpers/smtp.ts';
import { WebClient, csrfIn } from '../helpers/web-client.ts';

const adduser = (r: TestRegistry, name: string) =>
  r.request('PUT', `/-/user/org.couchdb.user:${name}`, {
    body: {
      _id: `org.couchdb.user:${name}`,
      name,
      password: 'a-long-passphrase',
      email: `${name}@example.com`,
      type: 'user',
      roles: [],
    },
  });

async function webSignup(r: TestRegistry, name: string) {
  const web = new WebClient(r.url);
  const form = await web.get('/-/web/signup');
  // A closed sign-up page has no form: the token of the sign-in page's form lets the test post one anyway.
  const csrf = form.text.includes('name="_csrf"') ? csrfIn(form.text) : await web.csrf('/-/web/signin');
  const res = await web.post('/-/web/signup', {
    _csrf: csrf,
    username: name,
    email: `${name}@example.com`,
    password: 'a-long-passphrase',
  });
  return { web, form, res };
}

const APPROVAL = /An administrator of this registry must approve your account before you can publish/;

describe('sign-up without an SMTP server, by default', () => {
  let r: TestRegistry;
  before(async () => {
    r = await startRegistry('sqlite');
  });
  after(() => r.stop());

  it('is closed: npm adduser and the web form create no account, and existing users still log in', async () => {
    const res = await adduser(r, 'newbie');
    assert.equal(res.status, 403, res.text);
    assert.match(res.text, /sign-up is closed/);
    const { form, res: posted } = await webSignup(r, 'newbie');
    assert.match(form.text, /Sign-up is closed on this registry/);
    assert.equal(posted.status, 403);
    const row = await r.store.db.selectFrom('users').select('id').where('name', '=', 'newbie').executeTakeFirst();
    assert.equal(row, undefined, 'no account was made');
    const login = await r.request('PUT', '/-/user/org.couchdb.user:admin', {
      body: { name: 'admin', password: 'correct-horse-battery' },
    });
    assert.equal(login.status, 201);
  });
});

describe('sign-up approved by an administrator (--email-verification admin, no SMTP server)', () => {
  let r: TestRegistry;
  before(async () => {
    r = await startRegistry('sqlite', { 'email-verification': 'admin' });
  });
  after(() => r.stop());

  it('opens sign-up; npm adduser says an administrator must approve the account (npm-notice header and body)', async () => {
    const res = await adduser(r, 'erin');
    assert.equal(res.status, 201, res.text);
    assert.match(res.headers.get('npm-notice') ?? '', APPROVAL);
    assert.match(res.json().message, APPROVAL);
    assert.doesNotMatch(res.text, /email/i, 'nothing about an email to open');
    // Logging in again while waiting says the same.
    const again = await r.request('PUT', '/-/user/org.couchdb.user:erin', {
      body: { name: 'erin', password: 'a-long-passphrase' },
    });
    assert.equal(again.status, 201);
    assert.match(again.headers.get('npm-notice') ?? '', APPROVAL);
  });

  it('the web form says an administrator approves accounts, and the welcome says the account waits', async () => {
    const { web, form, res } = await webSignup(r, 'wendy');
    assert.match(form.text, /An administrator of this registry approves each new account/);
    assert.doesNotMatch(form.text, /We send a link/);
    assert.equal(res.status, 303, res.text);
    const account = await web.get(res.location!);
    assert.equal(account.status, 200);
    assert.match(account.text, /Welcome! Your account was created\. An administrator of this registry must approve/);
    assert.doesNotMatch(account.text, /Resend verification email/);
    assert.match(account.text, /yours is waiting for approval/);
    // Asking for a verification link anyway is refused with the reason: no link is ever mailed.
    const refused = await web.post('/-/web/account/email/verify', { _csrf: csrfIn(account.text) });
    assert.equal(refused.status, 400);
    assert.match(refused.text, /sends no verification links: an administrator approves your address/);
  });

  it('npm adduser in the browser (npm 11): the approval page a new account comes back to says it waits', async () => {
    const started = await r.request('POST', '/-/v1/login', { body: { create: true } });
    assert.equal(started.status, 200, started.text);
    const loginPath = new URL((started.json() as { loginUrl: string }).loginUrl).pathname;
    const web = new WebClient(r.url);
    const form = await web.get(`/-/web/signup?next=${encodeURIComponent(loginPath)}`);
    const created = await web.post('/-/web/signup', {
      _csrf: csrfIn(form.text),
      username: 'nina',
      email: 'nina@example.com',
      password: 'a-long-passphrase',
      next: loginPath,
    });
    assert.equal(created.location, loginPath, 'back to approving npm adduser');
    const approval = await web.get(loginPath);
    assert.equal(approval.status, 200);
    assert.match(approval.text, APPROVAL);
  });

  it('a waiting account cannot publish, nor make a token that can, until approved; then it can', async () => {
    const res = await adduser(r, 'pat');
    const token = (res.json() as { token: string }).token;
    const publish = (t: string, version: string) =>
      r.request('PUT', '/pat-pkg', { token: t, body: body(publishDoc({ name: 'pat-pkg', version })) });
    let refused = await publish(token, '1.0.0');
    assert.equal(refused.status, 403);
    assert.match(refused.text, /not verified yet: an administrator of this registry must approve the account/);
    // npm token create works as for any unverified account, and what it makes cannot publish either.
    const created = await r.request('POST', '/-/npm/v1/tokens', {
      token,
      body: { password: 'a-long-passphrase', readonly: false },
    });
    assert.equal(created.status, 200, created.text);
    const granular = (created.json() as { token: string }).token;
    refused = await publish(granular, '1.0.0');
    assert.equal(refused.status, 403);

    const admin = new WebClient(r.url);
    await admin.signIn('admin', 'correct-horse-battery');
    const queue = await admin.get('/-/web/admin/approvals');
    const approved = await admin.post('/-/web/admin/approvals/pat/approve', { _csrf: csrfIn(queue.text) });
    assert.equal(approved.status, 303, approved.text);
    assert.equal((await publish(token, '1.0.0')).status, 201, 'the same token publishes once approved');
    assert.equal((await publish(granular, '1.0.1')).status, 201);
  });

  it('mails no verification link even when an SMTP server is set: approval is the only way in', async () => {
    const smtp: Smtp = await startSmtp();
    const withMail = await startRegistry('sqlite', { 'email-verification': 'admin', 'smtp-url': smtp.url });
    try {
      const res = await adduser(withMail, 'mia');
      assert.equal(res.status, 201, res.text);
      assert.match(res.headers.get('npm-notice') ?? '', APPROVAL);
      // A security notice is mailed for the first web sign-in: by then the user.created event was handled too.
      const web = new WebClient(withMail.url);
      await web.signIn('mia', 'a-long-passphrase');
      await smtp.waitFor((m) => m.to.includes('mia@example.com'));
      await new Promise((done) => setTimeout(done, 1500));
      assert.ok(smtp.mails.length > 0);
      for (const m of smtp.mails) assert.doesNotMatch(m.text, /verify-email\?token=/, m.subject);
      const tokens = await withMail.store.db.selectFrom('email_tokens').selectAll().execute();
      assert.equal(tokens.length, 0, 'no verification token exists');
    } finally {
      await withMail.stop();
      await smtp.stop();
    }
  });
});

describe('sign-up with an SMTP server (the default verification by email)', () => {
  let r: TestRegistry;
  let smtp: Smtp;
  before(async () => {
    smtp = await startSmtp();
    r = await startRegistry('sqlite', { 'smtp-url': smtp.url });
  });
  after(async () => {
    await r.stop();
    await smtp.stop();
  });

  it('is open, and npm adduser and the web point at the emailed link, which is sent', async () => {
    const res = await adduser(r, 'ivy');
    assert.equal(res.status, 201, res.text);
    assert.match(res.headers.get('npm-notice') ?? '', /not verified yet: open the link we emailed you/);
    const mail = await smtp.waitFor((m) => m.to.includes('ivy@example.com'));
    assert.match(mail.text, /verify-email\?token=/);
    const { form, res: posted } = await webSignup(r, 'ida');
    assert.match(form.text, /We send a link to verify it/);
    assert.equal(posted.status, 303);
    await smtp.waitFor((m) => m.to.includes('ida@example.com'));
  });
});
