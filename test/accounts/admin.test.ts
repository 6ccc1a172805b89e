import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RECOVERY_WAIT_MS } from '../../src/accounts/admin.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { enableMfa } from '../helpers/totp.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { startSmtp, type Smtp } from '../helpers/smtp.ts';
import { WebClient, csrfIn } from '../helpers/web-client.ts';
import { eventsAbout } from '../helpers/events.ts';

const PASSWORD = 'correct-horse-battery';

for (const kind of DB_KINDS) {
  describe(`administering accounts (${kind})`, () => {
    let smtp: Smtp;
    let r: TestRegistry;
    // The registry's clock: real time, plus whatever a test skips ahead (the recovery waiting period).
    let skipped = 0;
    let admin: WebClient;
    let adminId: number;

    before(async () => {
      smtp = await startSmtp();
      r = await startRegistry(
        kind,
        { 'smtp-url': smtp.url, 'trust-proxy': '127.0.0.1,::1' },
        { clock: () => Date.now() + skipped },
      );
      adminId = (await r.user('root', { admin: true })).id;
      admin = new WebClient(r.url);
      assert.equal((await admin.signIn('root', PASSWORD)).status, 303);
    });
    after(async () => {
      await r.stop();
      await smtp.stop();
    });

    /** Posts an admin action from the user's admin page with that page's CSRF token. */
    async function act(name: string, action: string, form: Record<string, string>) {
      const page = await admin.get(`/-/web/admin/users/${name}`);
      assert.equal(
        page.status,
        200,
        `admin page of ${name}: ${page.status} ${page.location ?? page.text.slice(0, 300)}`,
      );
      const token = csrfIn(page.text);
      return admin.post(`/-/web/admin/users/${name}/${action}`, { _csrf: token, ...form });
    }
    const whoami = (token: string) => r.request('GET', '/-/whoami', { token });
    const npmLogin = (name: string, password: string) =>
      r.request('PUT', `/-/user/org.couchdb.user:${name}`, { body: { name, password } });
    const lastEvent = (subject: string, kind: string) =>
      r.store.db
        .selectFrom('events')
        .selectAll()
        .where('subject', '=', subject)
        .where('kind', '=', kind)
        .orderBy('seq', 'desc')
        .executeTakeFirst();

    it('shows the user pages to administrators only: others get a 404, anonymous visitors the sign-in page', async () => {
      await r.user('plain');
      const plain = new WebClient(r.url);
      await plain.signIn('plain', PASSWORD);
      for (const path of ['/-/web/admin/users', '/-/web/admin/users/plain'])
        assert.equal((await plain.get(path)).status, 404, path);
      const token = csrfIn((await plain.get('/-/web/account')).text);
      assert.equal(
        (await plain.post('/-/web/admin/users/plain/disable', { _csrf: token, reason: 'self-promotion' })).status,
        404,
        'a non-administrator cannot act',
      );
      assert.equal(
        (
          await r.store.db
            .selectFrom('users')
            .select('disabled_at')
            .where('name', '=', 'plain')
            .executeTakeFirstOrThrow()
        ).disabled_at,
        null,
      );

      const anonymous = await new WebClient(r.url).get('/-/web/admin/users');
      assert.equal(anonymous.status, 303);
      assert.match(anonymous.location ?? '', /^\/-\/web\/signin\?next=/);

      const list = await admin.get('/-/web/admin/users?q=pla');
      assert.equal(list.status, 200);
      assert.match(list.text, /href="\/-\/web\/admin\/users\/plain"/);
      assert.doesNotMatch(list.text, /href="\/-\/web\/admin\/users\/root"/, 'the search filters');
      assert.equal(
        (await admin.post('/-/web/admin/users/plain/disable', { reason: 'no token' })).status,
        403,
        'CSRF applies to admin actions',
      );
    });

    it('disables an account: its token, web session and password stop working at once, and it is told why', async () => {
      const { token } = await r.user('mallory');
      const browser = new WebClient(r.url);
      await browser.signIn('mallory', PASSWORD);
      assert.equal((await browser.get('/-/web/account')).status, 200);
      assert.equal((await whoami(token)).status, 200);

      const refused = await act('mallory', 'disable', { reason: '' });
      assert.equal(refused.status, 400, 'a reason is required');
      assert.match(refused.text, /give a reason/i);
      const res = await act('mallory', 'disable', { reason: 'publishing spam' });
      assert.equal(res.status, 303);
      assert.equal((await admin.get(res.location!)).status, 200);

      assert.equal((await whoami(token)).status, 401, 'the token died');
      assert.equal((await browser.get('/-/web/account')).status, 303, 'the session died');
      const login = await npmLogin('mallory', PASSWORD);
      assert.equal(login.status, 403);
      assert.match(login.json().error, /disabled/);
      assert.equal((await new WebClient(r.url).signIn('mallory', PASSWORD)).status, 403);

      const event = await lastEvent('mallory', 'user.disabled');
      assert.equal(event?.actor_id, adminId);
      assert.deepEqual(JSON.parse(event!.data), { by: 'root', reason: 'publishing spam', sessions: 1, tokens: 1 });
      const mail = await smtp.waitFor((m) => m.to.includes('mallory@example.com') && /disabled/.test(m.subject));
      assert.match(mail.text, /publishing spam/);

      assert.equal((await act('mallory', 'enable', { reason: 'appeal accepted' })).status, 303);
      assert.equal((await npmLogin('mallory', PASSWORD)).status, 201, 'signing in works again');
      assert.equal((await whoami(token)).status, 401, 'but the old token stays revoked');
      await smtp.waitFor((m) => m.to.includes('mallory@example.com') && /enabled again/.test(m.subject));
    });

    it('forces a password reset: the password stops working, everything is signed out, and a reset link is emailed', async () => {
      const { token } = await r.user('victim');
      const res = await act('victim', 'force-reset', { reason: 'credentials found in a public paste' });
      assert.equal(res.status, 303);
      assert.equal((await whoami(token)).status, 401);
      assert.equal((await npmLogin('victim', PASSWORD)).status, 401, 'the old password no longer works');
      const mail = await smtp.waitFor((m) => m.to.includes('victim@example.com') && /must be reset/.test(m.subject));
      assert.match(mail.text, /\/-\/web\/reset-password\?token=/);
      assert.match(mail.text, /public paste/);

      await r.user('unverified', { verified: false });
      await act('unverified', 'force-reset', { reason: 'suspicious activity' });
      assert.equal(JSON.parse((await lastEvent('unverified', 'user.password-reset-forced'))!.data).linkSent, false);
      await new Promise((res) => setTimeout(res, 1500));
      assert.ok(
        !smtp.mails.some((m) => m.to.includes('unverified@example.com') && /must be reset/.test(m.subject)),
        'no reset link to an unverified address',
      );
    });

    it('recovers an account in two steps with a waiting period, telling the old address at each step', async () => {
      const { id, token } = await r.user('lost');
      await enableMfa(r, 'lost', 'auth-and-writes', Date.now() - 30_000);

      const noEvidence = await act('lost', 'recover/start', {
        email: 'lost-new@example.com',
        removeMfa: '1',
        reason: 'lost phone and codes',
        evidence: '',
      });
      assert.equal(noEvidence.status, 400);
      const started = await act('lost', 'recover/start', {
        email: 'lost-new@example.com',
        removeMfa: '1',
        reason: 'lost phone and codes',
        evidence: 'signed commit with the key on their GitHub profile',
      });
      assert.equal(started.status, 303);
      const notice = await smtp.waitFor(
        (m) => m.to.includes('lost@example.com') && /started an account recovery/.test(m.subject),
      );
      assert.match(notice.text, /lost-new@example\.com/);
      assert.equal((await whoami(token)).status, 200, 'nothing changes before the waiting period ends');

      const early = await act('lost', 'recover/complete', {});
      assert.equal(early.status, 409);
      assert.match(early.text, /waiting period/);
      assert.equal(
        (await act('lost', 'recover/start', { email: 'x@example.com', reason: 'again', evidence: 'same' })).status,
        409,
        'one recovery at a time',
      );

      skipped += RECOVERY_WAIT_MS + 1000;
      // Three days later the administrator's own session has expired too.
      assert.equal((await admin.signIn('root', PASSWORD)).status, 303);
      assert.equal((await act('lost', 'recover/complete', {})).status, 303);
      const user = await r.store.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      assert.equal(user.email, 'lost-new@example.com');
      assert.equal(user.email_verified, 0);
      assert.equal(user.totp_mode, 'disabled');
      assert.equal(user.totp_secret, null);
      assert.equal((await whoami(token)).status, 401, 'everything was signed out');
      assert.equal((await npmLogin('lost', PASSWORD)).status, 401, 'the password must be chosen anew');
      await smtp.waitFor((m) => m.to.includes('lost-new@example.com') && /Verify your email/.test(m.subject));
      await smtp.waitFor((m) => m.to.includes('lost@example.com') && /email address was changed/i.test(m.subject));
      await smtp.waitFor((m) => m.to.includes('lost-new@example.com') && /completed the recovery/.test(m.subject));
      const done = await lastEvent('lost', 'user.recovered-by-admin');
      assert.equal(done?.actor_id, adminId);
      const page = await admin.get('/-/web/admin/users/lost');
      assert.doesNotMatch(page.text, /Pending recovery/);
    });

    it('deletes an account for good: credentials gone, name reserved, own account protected', async () => {
      const { token } = await r.user('leaver');
      assert.equal(
        (await act('leaver', 'delete', { reason: 'owner asked', confirm: 'wrong-name' })).status,
        400,
        'the name must be typed to confirm',
      );
      assert.equal((await act('leaver', 'delete', { reason: 'owner asked', confirm: 'leaver' })).status, 303);
      assert.equal((await whoami(token)).status, 401);
      const user = await r.store.db
        .selectFrom('users')
        .selectAll()
        .where('name', '=', 'leaver')
        .executeTakeFirstOrThrow();
      assert.equal(user.email, '');
      assert.ok(user.deleted_at);
      const again = await r.request('PUT', '/-/user/org.couchdb.user:leaver', {
        body: { name: 'leaver', password: 'another-long-password', email: 'someone@example.com' },
      });
      assert.notEqual(again.status, 201, 'nobody can sign up under a deleted name');
      assert.equal((await act('leaver', 'disable', { reason: 'too late' })).status, 409);
      const self = await act('root', 'delete', { reason: 'oops', confirm: 'root' });
      assert.equal(self.status, 400);
      assert.match(self.text, /your own account/);
    });

    it('emails an account under attack once when its sign-in gets locked', async () => {
      await r.user('target');
      for (let i = 0; i < 24; i++) {
        await r.request('PUT', '/-/user/org.couchdb.user:target', {
          body: { name: 'target', password: `wrong-${i}-password` },
          headers: { 'x-forwarded-for': `10.44.${i}.1` },
        });
      }
      await smtp.waitFor((m) => m.to.includes('target@example.com') && /temporarily blocked/.test(m.subject));
      const events = await eventsAbout(r.store.db, 'target', 'user.sign-in-locked');
      assert.equal(events.length, 1, 'one notice per lock, not one per attempt');
      for (let i = 0; i < 5; i++)
        await r.request('PUT', '/-/user/org.couchdb.user:nobody-here', {
          body: { name: 'nobody-here', password: `wrong-${i}-password` },
          headers: { 'x-forwarded-for': `10.45.${i}.1` },
        });
      assert.equal(
        (await r.store.db.selectFrom('events').select('seq').where('subject', '=', 'nobody-here').execute()).length,
        0,
      );
    });
  });
}
