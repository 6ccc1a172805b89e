// Two-factor settings on the account page, over real HTTP on both databases with a real SMTP server: enrolment with
// a server-rendered QR code, confirmation, recovery codes shown once, mode changes, new recovery codes and turning it
// off, each with its email; and the refusals: wrong, replayed and recovery codes where they do not belong, missing
// CSRF tokens, and the limit on guessing. Then the enrolment page in a real Chromium, with a screenshot.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DB_KINDS } from '../helpers/db.ts';
import { startBrowserRegistry, type BrowserRegistry } from '../helpers/browser-registry.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { startSmtp, type Smtp } from '../helpers/smtp.ts';
import { codeAt, wrongCodeAt } from '../helpers/totp.ts';
import { WebClient, csrfIn } from '../helpers/web-client.ts';

const PASSWORD = 'correct-horse-battery'; // what the registry helper gives its users

function movableClock() {
  let now = Date.now();
  return { now: () => now, tick: (ms: number) => (now += ms) };
}

const secretIn = (page: string): string => {
  const m = /id="two-factor-secret">([A-Z2-7 ]+)</.exec(page);
  assert.ok(m, 'the secret is shown as text');
  return m[1]!.replace(/ /g, '');
};
const codesIn = (page: string): string[] =>
  [...page.matchAll(/<li><code>([0-9a-f-]+)<\/code><\/li>/g)].map((m) => m[1]!);

/** Signs in and enrols through the pages; returns the client, the secret and the recovery codes. */
async function enrol(r: TestRegistry, name: string, now: () => number, mode = 'auth-and-writes') {
  const web = new WebClient(r.url);
  assert.equal((await web.signIn(name, PASSWORD)).status, 303);
  const page = await web.post('/-/web/account/two-factor/enrol', { _csrf: await web.csrf('/-/web/account') });
  assert.equal(page.status, 200, page.text);
  const secret = secretIn(page.text);
  const done = await web.post('/-/web/account/two-factor/confirm', {
    _csrf: csrfIn(page.text),
    mode,
    otp: codeAt(secret, now()),
  });
  assert.equal(done.status, 200, done.text);
  return { web, secret, codes: codesIn(done.text) };
}

for (const kind of DB_KINDS) {
  describe(`two-factor settings on the web (${kind})`, () => {
    let smtp: Smtp;
    let r: TestRegistry;
    const clock = movableClock();
    const mailFor = (name: string, what: RegExp) =>
      smtp.waitFor((m) => m.to.includes(`${name}@example.com`) && what.test(m.subject));
    before(async () => {
      smtp = await startSmtp();
      r = await startRegistry(
        kind,
        { 'smtp-url': smtp.url, 'mail-from': 'registry@example.com' },
        { clock: clock.now },
      );
      for (const name of ['tess', 'guess', 'csrf']) await r.user(name);
    });
    after(async () => {
      await r?.stop();
      await smtp?.stop();
    });

    it('enrols: QR code and secret on the page, a wrong code refused, ten recovery codes shown once, an email sent', async () => {
      const web = new WebClient(r.url);
      assert.equal((await web.signIn('tess', PASSWORD)).status, 303);
      const account = await web.get('/-/web/account');
      assert.match(account.text, /<section class="panel" id="two-factor">[\s\S]*Set up two-factor authentication/);
      const page = await web.post('/-/web/account/two-factor/enrol', { _csrf: csrfIn(account.text) });
      assert.equal(page.status, 200);
      assert.doesNotMatch(page.text, /<script|style="/i, 'nothing the CSP would block');
      const img = /<img class="qr" src="data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)"/.exec(page.text);
      assert.ok(img, 'the QR code is a data: image');
      const svg = Buffer.from(img[1]!, 'base64').toString('utf8');
      assert.match(svg, /^<svg[^>]*viewBox/);
      assert.doesNotMatch(svg, /style=|<script/i);
      const secret = secretIn(page.text);
      assert.equal(secret.length, 32);
      const row = await r.store.db
        .selectFrom('users')
        .select(['totp_mode', 'totp_secret'])
        .where('name', '=', 'tess')
        .executeTakeFirstOrThrow();
      assert.equal(row.totp_mode, 'disabled', 'nothing is on until a code confirms it');
      assert.ok(row.totp_secret && !row.totp_secret.includes(secret), 'the seed is stored sealed');

      const csrf = csrfIn(page.text);
      const wrong = await web.post('/-/web/account/two-factor/confirm', {
        _csrf: csrf,
        mode: 'auth-and-writes',
        otp: wrongCodeAt(secret, clock.now()),
      });
      assert.equal(wrong.status, 401);
      assert.match(wrong.text, /That code is not right/);
      assert.equal(secretIn(wrong.text), secret, 'the same QR code and secret are shown again');
      const noMode = await web.post('/-/web/account/two-factor/confirm', {
        _csrf: csrf,
        mode: 'sometimes',
        otp: codeAt(secret, clock.now()),
      });
      assert.equal(noMode.status, 400);
      assert.equal(
        (await r.store.db.selectFrom('users').select('totp_mode').where('name', '=', 'tess').executeTakeFirstOrThrow())
          .totp_mode,
        'disabled',
      );

      const code = codeAt(secret, clock.now());
      const done = await web.post('/-/web/account/two-factor/confirm', {
        _csrf: csrf,
        mode: 'auth-and-writes',
        otp: code,
      });
      assert.equal(done.status, 200);
      assert.match(done.text, /Save these recovery codes now/);
      const codes = codesIn(done.text);
      assert.equal(codes.length, 10);
      assert.equal(new Set(codes).size, 10);
      const stored = await r.store.db
        .selectFrom('recovery_codes')
        .innerJoin('users', 'users.id', 'recovery_codes.user_id')
        .select('code_hash')
        .where('users.name', '=', 'tess')
        .execute();
      assert.equal(stored.length, 10);
      assert.ok(
        stored.every((s) => !codes.includes(s.code_hash)),
        'only hashes are stored',
      );
      assert.equal(
        (await r.store.db.selectFrom('users').select('totp_mode').where('name', '=', 'tess').executeTakeFirstOrThrow())
          .totp_mode,
        'auth-and-writes',
      );

      // The same code again (a double submit, or someone replaying it) changes nothing.
      const replay = await web.post('/-/web/account/two-factor/confirm', { _csrf: csrf, mode: 'auth-only', otp: code });
      assert.equal(replay.status, 409);
      const mail = await mailFor('tess', /Two-factor authentication was enabled/);
      assert.match(mail.text, /Hello tess/);

      // The account page now shows the mode and the codes left, and never the codes themselves again.
      const after = await web.get('/-/web/account');
      assert.match(after.text, /id="two-factor-current-mode">Authorization and writes</);
      assert.match(after.text, /Recovery codes left<\/dt><dd>10</);
      for (const c of codes) assert.ok(!after.text.includes(c));

      // Changing the mode needs a current code: the one just used is a replay, a recovery code is not accepted (and
      // not spent), a fresh code works.
      const modeCsrf = csrfIn(after.text);
      const replayed = await web.post('/-/web/account/two-factor/mode', {
        _csrf: modeCsrf,
        mode: 'auth-only',
        otp: code,
      });
      assert.equal(replayed.status, 401);
      assert.match(replayed.text, /already used/);
      const withRecovery = await web.post('/-/web/account/two-factor/mode', {
        _csrf: modeCsrf,
        mode: 'auth-only',
        otp: codes[0]!,
      });
      assert.equal(withRecovery.status, 401);
      assert.equal(
        (await r.store.db.selectFrom('recovery_codes').select('id').where('used_at', 'is not', null).execute()).length,
        0,
        'the recovery code was not spent',
      );
      clock.tick(30_000);
      const changed = await web.post('/-/web/account/two-factor/mode', {
        _csrf: modeCsrf,
        mode: 'auth-only',
        otp: codeAt(secret, clock.now()),
      });
      assert.equal(changed.status, 303);
      assert.equal(changed.location, '/-/web/account?two-factor=mode#two-factor');
      assert.match(
        (await web.get('/-/web/account?two-factor=mode')).text,
        /The two-factor mode was changed[\s\S]*id="two-factor-current-mode">Authorization only</,
      );
      const modeMail = await mailFor('tess', /two-factor authentication mode was changed/);
      assert.match(modeMail.text, /from: auth-and-writes[\s\S]*to: auth-only/);

      // New recovery codes: the old ones die.
      clock.tick(30_000);
      const regenerated = await web.post('/-/web/account/two-factor/recovery-codes', {
        _csrf: modeCsrf,
        otp: codeAt(secret, clock.now()),
      });
      assert.equal(regenerated.status, 200);
      assert.match(regenerated.text, /Save these recovery codes now[\s\S]*previous recovery codes no longer work/);
      const fresh = codesIn(regenerated.text);
      assert.equal(fresh.length, 10);
      assert.ok(fresh.every((c) => !codes.includes(c)));
      await mailFor('tess', /New recovery codes were generated/);

      // Turning it off: a wrong code and an old recovery code are refused; a new recovery code works.
      const wrongOff = await web.post('/-/web/account/two-factor/disable', {
        _csrf: modeCsrf,
        otp: wrongCodeAt(secret, clock.now()),
      });
      assert.equal(wrongOff.status, 401);
      assert.match(wrongOff.text, /Turn off two-factor authentication/);
      const oldCode = await web.post('/-/web/account/two-factor/disable', { _csrf: modeCsrf, otp: codes[1]! });
      assert.equal(oldCode.status, 401);
      assert.equal(
        (await r.store.db.selectFrom('users').select('totp_mode').where('name', '=', 'tess').executeTakeFirstOrThrow())
          .totp_mode,
        'auth-only',
      );
      const off = await web.post('/-/web/account/two-factor/disable', { _csrf: modeCsrf, otp: fresh[0]! });
      assert.equal(off.status, 303);
      assert.equal(off.location, '/-/web/account?two-factor=disabled#two-factor');
      const user = await r.store.db
        .selectFrom('users')
        .select(['totp_mode', 'totp_secret'])
        .where('name', '=', 'tess')
        .executeTakeFirstOrThrow();
      assert.equal(user.totp_mode, 'disabled');
      assert.equal(user.totp_secret, null);
      assert.match((await mailFor('tess', /A recovery code was used/)).text, /recovery codes left: 9/);
      await mailFor('tess', /Two-factor authentication was disabled/);
      assert.match(
        (await web.get('/-/web/account?two-factor=disabled')).text,
        /Two-factor authentication is off\.[\s\S]*Set up two-factor authentication/,
      );
    });

    it('limits code guessing on these pages: 429 with Retry-After, the right code included, until the back-off passes', async () => {
      const { web, secret } = await enrol(r, 'guess', clock.now);
      clock.tick(30_000);
      const csrf = await web.csrf('/-/web/account');
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++)
        statuses.push(
          (await web.post('/-/web/account/two-factor/disable', { _csrf: csrf, otp: wrongCodeAt(secret, clock.now()) }))
            .status,
        );
      assert.deepEqual(statuses, [401, 401, 401, 401, 401, 401, 429]);
      const blocked = await web.post('/-/web/account/two-factor/disable', {
        _csrf: csrf,
        otp: codeAt(secret, clock.now()),
      });
      assert.equal(blocked.status, 429);
      assert.match(blocked.headers.get('retry-after') ?? '', /^\d+$/);
      assert.match(blocked.text, /Too many failed one-time passwords/);
      assert.equal(
        (await r.store.db.selectFrom('users').select('totp_mode').where('name', '=', 'guess').executeTakeFirstOrThrow())
          .totp_mode,
        'auth-and-writes',
      );
      clock.tick(60_000);
      const ok = await web.post('/-/web/account/two-factor/disable', { _csrf: csrf, otp: codeAt(secret, clock.now()) });
      assert.equal(ok.status, 303);
    });

    it('refuses every two-factor form without the CSRF token, and sends the signed-out to sign in', async () => {
      const web = new WebClient(r.url);
      assert.equal((await web.signIn('csrf', PASSWORD)).status, 303);
      for (const path of ['enrol', 'confirm', 'mode', 'recovery-codes', 'disable']) {
        const res = await web.post(`/-/web/account/two-factor/${path}`, { otp: '123456', mode: 'auth-only' });
        assert.equal(res.status, 403, path);
      }
      const forged = await web.post('/-/web/account/two-factor/enrol', { _csrf: 'x'.repeat(43) });
      assert.equal(forged.status, 403);
      assert.equal(
        (
          await r.store.db
            .selectFrom('users')
            .select('totp_secret')
            .where('name', '=', 'csrf')
            .executeTakeFirstOrThrow()
        ).totp_secret,
        null,
      );
      const anonymous = new WebClient(r.url);
      const res = await anonymous.post('/-/web/account/two-factor/enrol', {
        _csrf: await anonymous.csrf('/-/web/signin'),
      });
      assert.equal(res.status, 303);
      assert.equal(res.location, '/-/web/signin?next=%2F-%2Fweb%2Faccount');
    });
  });
}

describe('two-factor enrolment in a browser', () => {
  let s: BrowserRegistry;
  before(async () => void (s = await startBrowserRegistry({ users: ['brenda'] })));
  after(() => s.close());

  it('shows the QR code (rendered, not blocked by the CSP), accepts the code and shows the recovery codes', async () => {
    const { base } = s;
    const { page, blocked } = await s.signedIn('brenda', PASSWORD);
    await page.click('#two-factor button[type=submit]');
    await page.waitForSelector('img.qr');
    const size = await page.$eval('img.qr', (img) => ({
      w: (img as HTMLImageElement).naturalWidth,
      complete: (img as HTMLImageElement).complete,
    }));
    assert.ok(size.complete && size.w > 0, `the QR image decoded (${JSON.stringify(size)})`);
    const shot = await s.b.screenshot(page, 'two-factor-enrol');
    console.log(`screenshot: ${shot}`);
    const secret = (await page.textContent('#two-factor-secret'))!.replace(/\s/g, '');
    await page.selectOption('#two-factor-enrol select[name=mode]', 'auth-only');
    await page.fill('#two-factor-enrol input[name=otp]', codeAt(secret, Date.now()));
    await page.click('#two-factor-enrol form.stack button[type=submit]');
    await page.waitForSelector('#recovery-codes');
    assert.equal((await page.$$('#recovery-codes ol.codes li')).length, 10);
    await s.b.screenshot(page, 'two-factor-recovery-codes');
    await page.click('#recovery-codes a.button');
    await page.waitForURL(`${base}/-/web/account#two-factor`);
    assert.equal(await page.textContent('#two-factor-current-mode'), 'Authorization only');
    await s.b.screenshot(page, 'two-factor-account-section');
    assert.deepEqual(blocked, []);
  });
});
