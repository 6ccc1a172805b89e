// Account settings over real HTTP on both databases, with a real SMTP server reading every email: password change,
// email change with re-verification, resending the verification email, forgot/reset password, the security history,
// and the verify-email page. Each protection is attacked: missing CSRF tokens, wrong current passwords until the
// limiter blocks, reused, expired and re-addressed reset links, probing forgot-password for account existence.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FORGOT_PASSWORD_FLOOR_MS } from '../../src/accounts/account-settings.ts';
import { describeSecurityEvent, securityHistory } from '../../src/accounts/security-history.ts';
import { redactUrl } from '../../src/http/server.ts';
import type { EventRow } from '../../src/store/schema.ts';
import { createToken } from '../../src/tokens/service.ts';
import { CONTENT_SECURITY_POLICY } from '../../src/web/routes.ts';
import { waitText } from '../../src/web/form.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { startSmtp, type Mail, type Smtp } from '../helpers/smtp.ts';
import { WebClient, csrfIn } from '../helpers/web-client.ts';

const PASSWORD = 'correct-horse-battery'; // what the registry helper gives its users
const NEW_PASSWORD = 'a-brand-new-passphrase';
const HOUR = 3600_000;

const resetLinkIn = (m: Mail) => /http:\/\/\S+(\/-\/web\/reset-password\?token=[\w-]+)/.exec(m.text)?.[1];
/** The same link with its secret's first character changed: well-formed, but not the one that was sent. */
const forged = (token: string) => `${token[0] === 'A' ? 'B' : 'A'}${token.slice(1)}`;
const verifyLinkIn = (m: Mail) => /http:\/\/\S+(\/-\/web\/verify-email\?token=[\w-]+)/.exec(m.text)?.[1];

/** The text of one section of the account page, tags removed. */
function section(page: string, id: string): string {
  const m = new RegExp(`<section[^>]*id="${id}"[\\s\\S]*?</section>`).exec(page);
  assert.ok(m, `section #${id} in the page`);
  return m[0].replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
}

function movableClock() {
  let now = Date.now();
  return { now: () => now, tick: (ms: number) => (now += ms) };
}

for (const kind of DB_KINDS) {
  describe(`account settings (${kind})`, () => {
    let r: TestRegistry;
    let smtp: Smtp;
    const clock = movableClock();
    before(async () => {
      smtp = await startSmtp();
      r = await startRegistry(
        kind,
        { 'smtp-url': smtp.url, 'mail-from': 'Registry <registry@example.com>' },
        { clock: clock.now },
      );
    });
    after(async () => {
      await r?.stop();
      await smtp?.stop();
    });

    const mailTo = (to: string, subject: RegExp) => smtp.waitFor((m) => m.to.includes(to) && subject.test(m.subject));
    const mailsTo = (to: string, subject: RegExp) =>
      smtp.mails.filter((m) => m.to.includes(to) && subject.test(m.subject));

    async function signedIn(name: string, password = PASSWORD): Promise<WebClient> {
      const web = new WebClient(r.url);
      const res = await web.signIn(name, password);
      assert.equal(res.status, 303, `${name} signs in: ${res.text.slice(0, 300)}`);
      return web;
    }
    const accountCsrf = async (web: WebClient) => csrfIn((await web.get('/-/web/account')).text);

    async function forgot(identifier: string, web = new WebClient(r.url)) {
      const csrf = await web.csrf('/-/web/forgot-password');
      const started = performance.now();
      const res = await web.post('/-/web/forgot-password', { _csrf: csrf, identifier });
      return { res, ms: performance.now() - started };
    }

    /** Waits until every event so far has been mailed: a sentinel email to a verified account arrives after them. */
    let sentinels = 0;
    async function mailsSettled() {
      const name = `sentinel${++sentinels}`;
      const u = await r.user(name);
      await createToken(r.store.db, { userId: u.id, userName: name, name: 'sentinel', kind: 'publish' }, clock.now());
      await mailTo(`${name}@example.com`, /new access token/);
    }

    const events = (subject: string, eventKind: string) =>
      r.store.db
        .selectFrom('events')
        .selectAll()
        .where('subject', '=', subject)
        .where('kind', '=', eventKind)
        .orderBy('seq')
        .execute();

    // Each test starts a day later, so the address-wide limits (every client here is 127.0.0.1) start afresh.
    const nextDay = () => clock.tick(25 * HOUR);

    it('changes the password: wrong current password refused and limited, other sessions end, tokens stay, emailed', async () => {
      nextDay();
      const pat = await r.user('pat');
      const web = await signedIn('pat');
      const other = await signedIn('pat');
      const csrf = await accountCsrf(web);
      const page = (await web.get('/-/web/account')).text;
      assert.match(section(page, 'password'), /npm access tokens keep working: they are separate credentials/);

      const change = (form: Record<string, string>) => web.post('/-/web/account/password', { _csrf: csrf, ...form });
      let res = await web.post('/-/web/account/password', {
        current: PASSWORD,
        password: NEW_PASSWORD,
        confirm: NEW_PASSWORD,
      });
      assert.equal(res.status, 403, 'no CSRF token');
      res = await change({ current: PASSWORD, password: NEW_PASSWORD, confirm: `${NEW_PASSWORD}x` });
      assert.equal(res.status, 400);
      assert.match(section(res.text, 'password'), /do not match/);
      res = await change({ current: PASSWORD, password: 'short', confirm: 'short' });
      assert.equal(res.status, 400);
      assert.match(section(res.text, 'password'), /at least 10 characters/);
      res = await change({ current: PASSWORD, password: 'pat-is-my-name', confirm: 'pat-is-my-name' });
      assert.equal(res.status, 400);
      assert.match(section(res.text, 'password'), /must not contain the username/);

      // Wrong current passwords count like sign-in failures: five are free, the sixth blocks this account+address.
      for (let i = 0; i < 6; i++) {
        res = await change({ current: `wrong-password-${i}`, password: NEW_PASSWORD, confirm: NEW_PASSWORD });
        assert.equal(res.status, 401, `attempt ${i}`);
        assert.match(section(res.text, 'password'), /Your current password is not right\./);
        assert.doesNotMatch(res.text, /wrong-password-/, 'what was typed is not echoed');
      }
      res = await change({ current: PASSWORD, password: NEW_PASSWORD, confirm: NEW_PASSWORD });
      assert.equal(res.status, 429, 'blocked even with the right password');
      assert.equal(res.headers.get('retry-after'), '2');
      assert.match(section(res.text, 'password'), /Too many wrong passwords\. Try again in 2 seconds\./);
      assert.equal((await events('pat', 'user.password-changed')).length, 0);
      // The same counter guards sign-in: the attacker's guesses here also block sign-in from this address.
      assert.equal((await new WebClient(r.url).signIn('pat', PASSWORD)).status, 429);

      clock.tick(3000);
      res = await change({ current: PASSWORD, password: NEW_PASSWORD, confirm: NEW_PASSWORD });
      assert.equal(res.status, 303, res.text.slice(0, 500));
      assert.equal(res.location, '/-/web/account?changed=password#password');
      const after = await web.get('/-/web/account?changed=password');
      assert.equal(after.status, 200, 'this browser stays signed in');
      assert.match(
        section(after.text, 'password'),
        /Your password was changed\. Every other browser has been signed out/,
      );
      assert.equal((await other.get('/-/web/account')).status, 303, 'the other browser is signed out');
      const live = await r.store.db
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', pat.id)
        .where('revoked_at', 'is', null)
        .execute();
      assert.equal(live.length, 1);
      assert.equal((await r.request('GET', '/-/whoami', { token: pat.token })).status, 200, 'npm tokens keep working');

      assert.equal(
        (await new WebClient(r.url).signIn('pat', PASSWORD)).status,
        401,
        'the old password no longer works',
      );
      await signedIn('pat', NEW_PASSWORD);
      const [event] = await events('pat', 'user.password-changed');
      assert.deepEqual(JSON.parse(event!.data), { reset: false, ip: '127.0.0.1', sessionsRevoked: 1 });
      assert.equal(event!.actor_id, pat.id);

      const mail = await mailTo('pat@example.com', /Your password was changed/);
      assert.match(mail.text, /from address: 127\.0\.0\.1/);
      assert.match(mail.text, /access tokens still work/);
      assert.doesNotMatch(mail.text, new RegExp(NEW_PASSWORD));
    });

    it('tells the owner when wrong current passwords reach the account-wide limit, as sign-in does', async () => {
      nextDay();
      await r.user('tess');
      const web = await signedIn('tess');
      const csrf = await accountCsrf(web);
      for (let i = 0; i < 21; i++) {
        const res = await web.post('/-/web/account/password', {
          _csrf: csrf,
          current: `guess-${i}`,
          password: NEW_PASSWORD,
          confirm: NEW_PASSWORD,
        });
        assert.equal(res.status, 401, `guess ${i}`);
        clock.tick(16 * 60_000); // past this address's back-off, so every guess is checked
      }
      const locked = await events('tess', 'user.sign-in-locked');
      assert.equal(locked.length, 1, 'recorded once, when the account-wide counter first blocks');
      await mailTo('tess@example.com', /Sign-in was temporarily blocked/);
    });

    it('changes the email address: unverified until the new address verifies, the old one is told, old links die', async () => {
      nextDay();
      const quinn = await r.user('quinn');
      // A reset link sent to the current address, before the change.
      await forgot('quinn');
      const oldReset = resetLinkIn(await mailTo('quinn@example.com', /Reset your password/))!;
      assert.ok(oldReset);

      const web = await signedIn('quinn');
      const csrf = await accountCsrf(web);
      const change = (form: Record<string, string>) => web.post('/-/web/account/email', { _csrf: csrf, ...form });
      let res = await web.post('/-/web/account/email', { email: 'quinn-new@example.com', password: PASSWORD });
      assert.equal(res.status, 403, 'no CSRF token');
      res = await change({ email: 'quinn-new@example.com', password: 'not-my-password' });
      assert.equal(res.status, 401);
      assert.match(section(res.text, 'email'), /Your current password is not right\./);
      assert.match(res.text, /value="quinn-new@example\.com"/, 'the typed address is kept');
      res = await change({ email: 'not an address', password: PASSWORD });
      assert.equal(res.status, 400);
      assert.match(section(res.text, 'email'), /A valid email address is required\./);
      res = await change({ email: 'quinn\0@example.com', password: PASSWORD });
      assert.equal(res.status, 400, 'a NUL is bad input, not a database error');
      res = await change({ email: 'QUINN@example.com', password: PASSWORD });
      assert.equal(res.status, 400);
      assert.match(section(res.text, 'email'), /already your email address/);
      let row = await r.store.db.selectFrom('users').selectAll().where('id', '=', quinn.id).executeTakeFirstOrThrow();
      assert.equal(row.email, 'quinn@example.com');
      assert.equal(row.email_verified, 1);

      res = await change({ email: 'quinn-new@example.com', password: PASSWORD });
      assert.equal(res.status, 303);
      assert.equal(res.location, '/-/web/account?changed=email#email');
      row = await r.store.db.selectFrom('users').selectAll().where('id', '=', quinn.id).executeTakeFirstOrThrow();
      assert.equal(row.email, 'quinn-new@example.com');
      assert.equal(row.email_verified, 0, 'unverified until the new address is verified');
      const [event] = await events('quinn', 'user.email-changed');
      assert.deepEqual(JSON.parse(event!.data), {
        oldEmail: 'quinn@example.com',
        newEmail: 'quinn-new@example.com',
        ip: '127.0.0.1',
      });
      const page = (await web.get('/-/web/account?changed=email')).text;
      assert.match(section(page, 'email'), /We sent a verification link to the new address/);
      assert.match(section(page, 'email'), /quinn-new@example\.com is not verified yet/);
      assert.match(page, /Resend verification email/);
      // Unverified again: publishing waits.
      const publish = await r.request('PUT', '/quinn-pkg', {
        token: quinn.token,
        body: body(publishDoc({ name: 'quinn-pkg', version: '1.0.0' })),
      });
      assert.equal(publish.status, 403);

      const notice = await mailTo('quinn@example.com', /The email address was changed/);
      assert.match(notice.text, /new address: quinn-new@example\.com/);
      const verify = verifyLinkIn(await mailTo('quinn-new@example.com', /Verify your email/))!;
      assert.ok(verify);

      // The reset link sent to the old address no longer works.
      res = await new WebClient(r.url).get(oldReset);
      assert.equal(res.status, 400);
      assert.match(res.text, /sent to an address that is no longer on the account/);

      // Email recovery is closed while the address is unverified: the request is recorded, nothing is sent.
      const requestsBefore = (await events('quinn', 'user.password-reset-requested')).length;
      assert.equal((await forgot('quinn-new@example.com')).res.status, 200);
      assert.equal((await events('quinn', 'user.password-reset-requested')).length, requestsBefore + 1);
      await mailsSettled();
      assert.equal(
        mailsTo('quinn-new@example.com', /Reset your password/).length,
        0,
        'no reset link to an unverified address',
      );

      // The verification link, on the site's layout, verifies once.
      const browser = new WebClient(r.url);
      res = await browser.get(verify);
      assert.equal(res.status, 200);
      assert.match(res.text, /Email address verified/);
      assert.match(res.text, /quinn-new@example\.com is verified/);
      assert.match(res.text, /class="brand"/, 'the site header');
      assert.match(res.text, /href="\/-\/web\/static\/style\.css\?v=/, 'the site stylesheet');
      assert.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
      res = await browser.get(verify);
      assert.equal(res.status, 400);
      assert.match(res.text, /already been used/);
      assert.equal(
        (
          await r.store.db
            .selectFrom('users')
            .select('email_verified')
            .where('id', '=', quinn.id)
            .executeTakeFirstOrThrow()
        ).email_verified,
        1,
      );

      // Verified again: recovery works, to the new address only.
      await forgot('quinn');
      assert.ok(resetLinkIn(await mailTo('quinn-new@example.com', /Reset your password/)));

      // Changing back to the old address does not revive links sent to it before.
      assert.equal((await change({ email: 'quinn@example.com', password: PASSWORD })).status, 303);
      await r.store.db.updateTable('users').set({ email_verified: 1 }).where('id', '=', quinn.id).execute();
      res = await new WebClient(r.url).get(oldReset);
      assert.equal(res.status, 400);
    });

    it('resends the verification email, within limits shown as a readable 429 with Retry-After', async () => {
      nextDay();
      await r.user('rae', { verified: false });
      await mailTo('rae@example.com', /Verify your email/);
      const web = await signedIn('rae');
      const page = (await web.get('/-/web/account')).text;
      assert.match(section(page, 'email'), /rae@example\.com is not verified yet/);
      const csrf = csrfIn(page);
      let res = await web.post('/-/web/account/email/verify', {});
      assert.equal(res.status, 403, 'no CSRF token');
      for (let i = 0; i < 4; i++) {
        res = await web.post('/-/web/account/email/verify', { _csrf: csrf });
        assert.equal(res.status, 303, `request ${i}`);
        assert.equal(res.location, '/-/web/account?changed=verification-sent#email');
      }
      res = await web.post('/-/web/account/email/verify', { _csrf: csrf });
      assert.equal(res.status, 429);
      assert.equal(res.headers.get('retry-after'), '600');
      assert.match(
        section(res.text, 'email'),
        /We have sent several verification emails already\. Try again in 10 minutes\./,
      );
      await smtp.waitFor(() => mailsTo('rae@example.com', /Verify your email/).length === 5);
      // Every link is good until one is used; the account is then verified and the button gone.
      const links = mailsTo('rae@example.com', /Verify your email/).map(verifyLinkIn);
      assert.equal(new Set(links).size, 5);
      assert.equal((await web.get(links.at(-1)!)).status, 200);
      const verified = (await web.get('/-/web/account')).text;
      assert.doesNotMatch(verified, /Resend verification email/);
      clock.tick(HOUR);
      res = await web.post('/-/web/account/email/verify', { _csrf: csrf });
      assert.equal(res.status, 400);
      assert.match(section(res.text, 'email'), /already verified/);
    });

    it('answers forgot-password identically, in the same time, whether or not the account exists or is verified', async () => {
      nextDay();
      await r.user('sam');
      await r.user('uma', { verified: false });
      const signin = (await new WebClient(r.url).get('/-/web/signin')).text;
      assert.match(signin, /<a href="\/-\/web\/forgot-password">Forgot password\?<\/a>/);

      const web = new WebClient(r.url);
      const form = await web.get('/-/web/forgot-password');
      assert.equal(form.status, 200);
      assert.match(form.text, /Username or email address/);
      let res = await web.post('/-/web/forgot-password', { identifier: 'sam' });
      assert.equal(res.status, 403, 'no CSRF token');

      const normal = (text: string) =>
        text
          .replace(/name="_csrf" value="[^"]+"/g, '')
          .replace(/name="identifier"([^>]*) value="[^"]*"/, 'name="identifier"$1');
      const answers = [];
      for (const who of ['sam', 'nobody-at-all', 'sam@example.com', 'nobody@example.com', 'uma', 'uma@example.com'])
        answers.push({ who, ...(await forgot(who, web)) });
      for (const a of answers) {
        assert.equal(a.res.status, 200, a.who);
        assert.equal(normal(a.res.text), normal(answers[0]!.res.text), `${a.who} gets the same page`);
        assert.match(a.res.text, /If an account matches and its email address is verified, we have sent it a link/);
        assert.ok(a.ms >= FORGOT_PASSWORD_FLOOR_MS - 5, `${a.who} took ${a.ms} ms, not less than the floor`);
      }
      assert.equal(
        new Set(answers.map((a) => a.res.headers.get('set-cookie') ?? '')).size,
        1,
        'no cookie difference either',
      );
      await mailsSettled();
      assert.equal(mailsTo('sam@example.com', /Reset your password/).length, 2, 'by username and by email address');
      assert.equal(mailsTo('uma@example.com', /Reset your password/).length, 0, 'nothing to an unverified address');
      assert.equal(smtp.mails.filter((m) => m.to.some((t) => t.startsWith('nobody'))).length, 0);
      assert.equal(
        (
          await r.store.db
            .selectFrom('events')
            .select('seq')
            .where('subject', 'in', ['nobody-at-all', 'nobody@example.com'])
            .execute()
        ).length,
        0,
      );

      res = await web.post('/-/web/forgot-password', { _csrf: csrfIn(form.text), identifier: '   ' });
      assert.equal(res.status, 400);
      assert.match(res.text, /Enter your username or email address/);
      res = await web.post('/-/web/forgot-password', { _csrf: csrfIn(form.text), identifier: 'sam\0' });
      assert.equal(res.status, 400, 'a NUL is bad input, not a database error');

      // Limited per what was typed, existing or not, so the limit itself reveals nothing: four pass, the fifth waits.
      for (const who of ['sam', 'nobody-at-all']) {
        for (let i = 2; i <= 4; i++) assert.equal((await forgot(who, web)).res.status, 200, `${who} request ${i}`);
        res = (await forgot(who, web)).res;
        assert.equal(res.status, 429, who);
        assert.equal(res.headers.get('retry-after'), '600', who);
        assert.match(res.text, /We have sent several emails for this already\. Try again in 10 minutes\./);
      }
    });

    it('resets a password with a single-use, short-lived link that ends every session and is notified', async () => {
      nextDay();
      const vic = await r.user('vic');
      const a = await signedIn('vic');
      const b = await signedIn('vic');
      await forgot('vic');
      const link = resetLinkIn(await mailTo('vic@example.com', /Reset your password/))!;
      assert.ok(link);
      const token = new URL(link, r.url).searchParams.get('token')!;
      const stored = await r.store.db
        .selectFrom('email_tokens')
        .selectAll()
        .where('user_id', '=', vic.id)
        .where('purpose', '=', 'reset-password')
        .executeTakeFirstOrThrow();
      assert.ok(stored.expires_at - stored.created_at <= HOUR, 'reset links live at most an hour');
      assert.notEqual(stored.token_hash, token, 'only a hash is stored');

      const web = new WebClient(r.url);
      let res = await web.get(link);
      assert.equal(res.status, 200);
      assert.match(res.text, /Set a new password/);
      assert.match(res.text, /For the account <strong>vic<\/strong>/);
      assert.doesNotMatch(res.text, /action="[^"]*token=/, 'the form does not post the token in its URL');
      const csrf = csrfIn(res.text);
      const reset = (form: Record<string, string>) =>
        web.post('/-/web/reset-password', { _csrf: csrf, token, ...form });
      res = await web.post('/-/web/reset-password', { token, password: NEW_PASSWORD, confirm: NEW_PASSWORD });
      assert.equal(res.status, 403, 'no CSRF token');
      res = await reset({ password: NEW_PASSWORD, confirm: 'something-else-entirely' });
      assert.equal(res.status, 400);
      assert.match(res.text, /do not match/);
      res = await reset({ password: 'short', confirm: 'short' });
      assert.equal(res.status, 400);
      assert.match(res.text, /at least 10 characters/);
      assert.equal((await web.get(link)).status, 200, 'a refused password does not use the link up');
      res = await web.post('/-/web/reset-password', {
        _csrf: csrf,
        token: forged(token),
        password: NEW_PASSWORD,
        confirm: NEW_PASSWORD,
      });
      assert.equal(res.status, 400);
      assert.match(res.text, /This link is not valid/);

      res = await reset({ password: NEW_PASSWORD, confirm: NEW_PASSWORD });
      assert.equal(res.status, 303);
      assert.equal(res.location, '/-/web/reset-password?done=1');
      res = await web.get(res.location);
      assert.match(res.text, /Your password has been changed and every session signed out/);
      assert.equal((await a.get('/-/web/account')).status, 303, 'old sessions are dead');
      assert.equal((await b.get('/-/web/account')).status, 303);
      const live = await r.store.db
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', vic.id)
        .where('revoked_at', 'is', null)
        .execute();
      assert.equal(live.length, 0);
      const [event] = await events('vic', 'user.password-changed');
      assert.deepEqual(JSON.parse(event!.data), { reset: true, ip: '127.0.0.1', sessionsRevoked: 2 });
      const mail = await mailTo('vic@example.com', /Your password was reset/);
      assert.match(mail.text, /every session was signed out/);
      assert.equal((await new WebClient(r.url).signIn('vic', PASSWORD)).status, 401);
      await signedIn('vic', NEW_PASSWORD);

      // Used once: never again.
      res = await web.get(link);
      assert.equal(res.status, 400);
      assert.match(res.text, /already been used/);
      res = await reset({ password: 'yet-another-passphrase', confirm: 'yet-another-passphrase' });
      assert.equal(res.status, 400);
      assert.equal((await new WebClient(r.url).signIn('vic', 'yet-another-passphrase')).status, 401);

      // Short-lived: an hour and a second later it has expired.
      await forgot('vic');
      await smtp.waitFor(() => mailsTo('vic@example.com', /Reset your password/).length === 2);
      const late = resetLinkIn(mailsTo('vic@example.com', /Reset your password/)[1]!)!;
      clock.tick(HOUR + 1000);
      res = await web.get(late);
      assert.equal(res.status, 400);
      assert.match(res.text, /expired/);
      res = await web.post('/-/web/reset-password', {
        _csrf: csrfIn((await web.get('/-/web/forgot-password')).text),
        token: new URL(late, r.url).searchParams.get('token')!,
        password: 'yet-another-passphrase',
        confirm: 'yet-another-passphrase',
      });
      assert.equal(res.status, 400);
      assert.equal((await new WebClient(r.url).signIn('vic', 'yet-another-passphrase')).status, 401);

      // A link already sent is refused once the address is no longer verified (an operator marked it so, say).
      await forgot('vic');
      await smtp.waitFor(() => mailsTo('vic@example.com', /Reset your password/).length === 3);
      const third = resetLinkIn(mailsTo('vic@example.com', /Reset your password/)[2]!)!;
      await r.store.db.updateTable('users').set({ email_verified: 0 }).where('id', '=', vic.id).execute();
      res = await web.get(third);
      assert.equal(res.status, 400);
      assert.match(res.text, /cannot be recovered by email/);
      await r.store.db.updateTable('users').set({ email_verified: 1 }).where('id', '=', vic.id).execute();
      assert.equal((await web.get(third)).status, 200, 'and works again once it is');

      // The link's secret never reaches a log line.
      assert.equal(redactUrl(`/-/web/reset-password?token=${token}`), '/-/web/reset-password?token=[redacted]');
      assert.equal(redactUrl(`/-/web/verify-email?x=1&token=${token}#a`), '/-/web/verify-email?x=1&token=[redacted]#a');
    });

    it('shows the user’s own security history, newest first, paged, in sentences, without secrets', async () => {
      nextDay();
      const wes = await r.user('wes');
      const xena = await r.user('xena');
      const web = await signedIn('wes');
      const csrf = await accountCsrf(web);
      clock.tick(1000);
      assert.equal(
        (
          await web.post('/-/web/account/password', {
            _csrf: csrf,
            current: PASSWORD,
            password: NEW_PASSWORD,
            confirm: NEW_PASSWORD,
          })
        ).status,
        303,
      );
      const secrets: string[] = [];
      for (let i = 1; i <= 22; i++) {
        clock.tick(1000);
        secrets.push(
          (
            await createToken(
              r.store.db,
              { userId: wes.id, userName: 'wes', name: `laptop-${i}`, kind: 'publish' },
              clock.now(),
            )
          ).token,
        );
      }
      // Someone else's events, and things merely named "wes", stay out of wes's history.
      const intruder = new WebClient(r.url);
      intruder.userAgent = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0';
      assert.equal((await intruder.signIn('xena', PASSWORD)).status, 303);
      await createToken(
        r.store.db,
        { userId: xena.id, userName: 'xena', name: 'xena-private-token', kind: 'publish' },
        clock.now(),
      );
      assert.equal(
        (
          await r.request('PUT', '/wes', {
            token: xena.token,
            body: body(publishDoc({ name: 'wes', version: '1.0.0' })),
          })
        ).status,
        201,
      );
      await r.store.db
        .insertInto('events')
        .values({
          kind: 'session.created',
          subject: 'wes',
          actor_id: null,
          data: JSON.stringify({ ip: '203.0.113.66', userAgent: 'x' }),
          created_at: 1000,
        })
        .execute();

      const first = await web.get('/-/web/account');
      const history = section(first.text, 'security-history');
      const rows = [...first.text.matchAll(/<tr>\s*<td class="when">/g)];
      assert.equal(rows.length, 20, '20 a page');
      assert.match(
        history,
        /^ Security history .*When What happened .*Access token created named “laptop-22” .*Access token created named “laptop-21”/,
      );
      for (const forbidden of [
        'xena',
        'Firefox',
        '203.0.113.66',
        wes.token,
        ...secrets,
        ...secrets.map((s) => s.slice(0, 10)),
        PASSWORD,
        NEW_PASSWORD,
      ]) {
        assert.equal(first.text.includes(forbidden), false, `history shows no ${forbidden}`);
      }
      const older = /href="(\/-\/web\/account\?history=\d+)#security-history">Older events/.exec(first.text)?.[1];
      assert.ok(older, 'a link to older events');
      const second = section((await web.get(older)).text, 'security-history');
      assert.match(
        second,
        /Access token created named “laptop-2” .*Access token created named “laptop-1” .*Password changed from 127\.0\.0\.1 .*Signed in from 127\.0\.0\.1 · with Chrome on Linux .*Access token created named “test” .*Account created/,
      );
      assert.match(second, /Newest events/);
      assert.doesNotMatch(second, /Older events|xena|203\.0\.113\.66/);
      // A forged cursor is just a page of nothing newer than it; it cannot reach other accounts.
      const forged = section((await web.get('/-/web/account?history=99999999')).text, 'security-history');
      assert.doesNotMatch(forged, /xena|Firefox/);
      assert.equal(
        section((await web.get('/-/web/account?history=1')).text, 'security-history').includes(
          'Nothing to show on this page',
        ),
        true,
      );

      // The query and the mapping, as the admin pages use them.
      const byName = await securityHistory(r.store.db, 'wes', { limit: 5 });
      const byId = await securityHistory(r.store.db, wes.id, { limit: 5 });
      assert.deepEqual(byName, byId);
      assert.equal(byName.entries.length, 5);
      assert.ok(
        byName.entries.every((e, i, all) => i === 0 || all[i - 1]!.seq > e.seq),
        'newest first',
      );
      const rest = await securityHistory(r.store.db, 'wes', { limit: 100, before: byName.next });
      assert.equal(
        rest.entries.length + 5,
        22 + 4,
        '22 tokens and the helper’s, a password change, a sign-in, the account',
      );
      assert.equal(rest.next, null);
      assert.deepEqual(await securityHistory(r.store.db, 'no-such-user'), { entries: [], next: null });
    });
  });
}

describe('security events as sentences (pure)', () => {
  const row = (kind: string, data: unknown, created_at = 5): EventRow => ({
    seq: 1,
    kind,
    subject: 'u',
    actor_id: 1,
    data: typeof data === 'string' ? data : JSON.stringify(data),
    created_at,
  });
  it('describes each security event and nothing else', () => {
    assert.deepEqual(
      describeSecurityEvent(
        row('session.created', {
          sessionId: 4,
          ip: '198.51.100.7',
          userAgent:
            'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15',
        }),
      ),
      {
        when: 5,
        what: 'Signed in',
        details: ['from 198.51.100.7', 'with Safari on macOS'],
      },
    );
    assert.deepEqual(
      describeSecurityEvent(row('user.password-changed', { reset: true, ip: '::1', sessionsRevoked: 1 }))?.what,
      'Password reset with an email link',
    );
    assert.deepEqual(
      describeSecurityEvent(row('user.password-changed', { reset: true, ip: '::1', sessionsRevoked: 1 }))?.details,
      ['from ::1', '1 session signed out'],
    );
    assert.deepEqual(
      describeSecurityEvent(row('user.email-changed', { oldEmail: 'a@x.org', newEmail: 'b@x.org' }))?.details,
      ['from a@x.org', 'to b@x.org'],
    );
    assert.deepEqual(describeSecurityEvent(row('user.mfa-enabled', { mode: 'auth-and-writes' }))?.details, [
      'for signing in and for publishing and other changes',
    ]);
    assert.equal(describeSecurityEvent(row('user.mfa-disabled', {}))?.what, 'Two-factor authentication disabled');
    assert.deepEqual(
      describeSecurityEvent(row('user.mfa-mode-changed', { from: 'auth-only', mode: 'auth-and-writes' }))?.details,
      ['now for signing in and for publishing and other changes'],
    );
    assert.deepEqual(describeSecurityEvent(row('user.recovery-code-used', { remaining: 1 }))?.details, [
      '1 recovery code left',
    ]);
    assert.equal(
      describeSecurityEvent(row('user.recovery-codes-regenerated', {}))?.what,
      'New recovery codes generated',
    );
    assert.deepEqual(
      describeSecurityEvent(row('token.created', { tokenId: 9, name: 'ci', kind: 'session', readonly: true }))?.details,
      ['named “ci”', 'read-only', 'by npm login'],
    );
    assert.deepEqual(describeSecurityEvent(row('token.revoked', { tokenId: 9 }))?.details, ['token #9']);
    assert.equal(
      describeSecurityEvent(row('user.email-verified', { email: 'b@x.org' }))?.what,
      'Email address verified',
    );
    // Not security history: package events, and kinds nobody described.
    assert.equal(describeSecurityEvent(row('package.version-published', { version: '1.0.0' })), null);
    assert.equal(describeSecurityEvent(row('something.new', {})), null);
    // Fields outside each kind's list never show, and a broken payload still gives the sentence.
    const odd = describeSecurityEvent(row('token.created', { name: 'x', token: 'bwk_secret', password: 'hunter2' }))!;
    assert.doesNotMatch(JSON.stringify(odd), /bwk_secret|hunter2/);
    assert.deepEqual(describeSecurityEvent(row('user.mfa-disabled', '{not json')), {
      when: 5,
      what: 'Two-factor authentication disabled',
      details: [],
    });
  });

  it('says how long to wait in words', () => {
    assert.equal(waitText(1), '1 second');
    assert.equal(waitText(2), '2 seconds');
    assert.equal(waitText(600), '10 minutes');
    assert.equal(waitText(6 * 3600), 'about 6 hours');
  });
});
