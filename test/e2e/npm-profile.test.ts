// The real npm 11 CLI's `npm profile` against a running registry: get (text and --json), set of a public field, set
// email (refused: npm sends no password for it), set password and enable-2fa typed at npm's prompts (npm reads them
// from a piped stdin; the enrolment code is computed from the secret npm prints under its QR code), then writes with
// --otp, and disable-2fa.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { interact, ok, run, sandbox, type Sandbox } from '../helpers/clients.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { codeAt } from '../helpers/totp.ts';

const PASSWORD = 'correct-horse-battery';
const NEW_PASSWORD = 'a-brand-new-passphrase';
const npm = 'npm11';

describe('npm 11 profile commands (sqlite)', () => {
  let r: TestRegistry;
  let sb: Sandbox;
  // The registry's clock, moved past each one-time code used so that no code is refused as a replay.
  let now = Date.now();
  const tick = () => (now += 30_000);
  const profile = (args: string[], extra: string[] = []) => run(npm, ['profile', ...args, ...extra], at());
  const login = (password: string) =>
    r.request('PUT', '/-/user/org.couchdb.user:kim', { body: { name: 'kim', password } });
  let secret = '';
  const at = () => ({ cwd: sb.dir, env: sb.env });

  before(async () => {
    r = await startRegistry('sqlite', {}, { clock: () => now });
    const kim = await r.user('kim');
    sb = await sandbox(r.url, kim.token);
  });
  after(async () => {
    await r.stop();
    await rm(sb.dir, { recursive: true, force: true });
  });

  it('npm profile get prints the profile, and --json gives npm-profile’s object', async () => {
    const text = await ok(npm, ['profile', 'get'], at());
    assert.match(text.stdout, /^name: kim$/m);
    assert.match(text.stdout, /^email: kim@example\.com \(verified\)$/m);
    assert.match(text.stdout, /^two-factor auth: disabled$/m);
    assert.match(text.stdout, /^created: \d{4}-\d\d-\d\dT/m);
    const json = JSON.parse((await ok(npm, ['profile', 'get', '--json'], at())).stdout);
    assert.equal(json.name, 'kim');
    assert.equal(json.email_verified, true);
    assert.equal(json.tfa, false);
  });

  it('npm profile set fullname sets it; npm profile set email is refused, saying why, and changes nothing', async () => {
    const set = await ok(npm, ['profile', 'set', 'fullname', 'Kim', 'Gordon'], at());
    assert.match(set.stdout, /Set fullname to Kim Gordon/);
    assert.equal((await ok(npm, ['profile', 'get', 'fullname'], at())).stdout.trim(), 'Kim Gordon');

    const email = await profile(['set', 'email', 'kim@new.example']);
    assert.notEqual(email.code, 0);
    assert.match(email.stderr, /E401/);
    assert.match(email.stderr, /needs your current password/);
    assert.match((await ok(npm, ['profile', 'get', 'email'], at())).stdout, /kim@example\.com/);
  });

  it('npm profile set password, typed at its prompts, changes the password', async () => {
    const res = await interact(
      npm,
      ['profile', 'set', 'password'],
      [
        [/Current password: $/, `${PASSWORD}\n`],
        [/New password: $/, `${NEW_PASSWORD}\n`],
        [/Again: +$/, `${NEW_PASSWORD}\n`],
      ],
      at(),
    );
    assert.equal(res.code, 0, res.stderr + res.stdout);
    assert.match(res.stdout, /Set password/);
    assert.equal((await login(NEW_PASSWORD)).status, 201);
    assert.equal((await login(PASSWORD)).status, 401);
  });

  it('npm profile enable-2fa auth-and-writes: password, then a code from the secret under the QR code', async () => {
    const res = await interact(
      npm,
      ['profile', 'enable-2fa', 'auth-and-writes'],
      [
        [/npm password: $/, `${NEW_PASSWORD}\n`],
        [
          /And an OTP code from your authenticator: $/,
          (stdout) => {
            secret = /Or enter code: ([A-Z2-7]+)/.exec(stdout)![1]!;
            return `${codeAt(secret, tick())}\n`;
          },
        ],
      ],
      at(),
    );
    assert.equal(res.code, 0, res.stderr + res.stdout);
    assert.match(res.stdout, /Scan into your authenticator app:/);
    assert.match(res.stdout, /2FA successfully enabled/);
    assert.equal(res.stdout.match(/^\t[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$/gm)?.length, 10);
    assert.match((await ok(npm, ['profile', 'get'], at())).stdout, /^two-factor auth: auth-and-writes$/m);

    // Asked again for the same mode, npm checks the profile and changes nothing.
    const again = await ok(npm, ['profile', 'enable-2fa', 'auth-and-writes'], at());
    assert.match(again.stdout, /already enabled and set to auth-and-writes/);
  });

  it('with two-factor authentication on, a change needs --otp', async () => {
    const without = await profile(['set', 'fullname', 'K.', 'G.']);
    assert.notEqual(without.code, 0);
    assert.match(without.stderr, /EOTP|one-time password/);
    assert.equal((await ok(npm, ['profile', 'get', 'fullname'], at())).stdout.trim(), 'Kim Gordon');
    await ok(npm, ['profile', 'set', 'fullname', 'K.', 'G.', `--otp=${codeAt(secret, tick())}`], at());
    assert.equal((await ok(npm, ['profile', 'get', 'fullname'], at())).stdout.trim(), 'K. G.');
  });

  it('npm profile disable-2fa needs the password and a code', async () => {
    const wrong = await interact(npm, ['profile', 'disable-2fa'], [[/npm password: $/, `${PASSWORD}\n`]], {
      ...at(),
      env: { ...sb.env, npm_config_otp: codeAt(secret, tick()) },
    });
    assert.notEqual(wrong.code, 0, 'the old password');
    assert.match(wrong.stderr, /current password is not right/);
    const res = await interact(
      npm,
      ['profile', 'disable-2fa', `--otp=${codeAt(secret, now)}`],
      [[/npm password: $/, `${NEW_PASSWORD}\n`]],
      at(),
    );
    assert.equal(res.code, 0, res.stderr + res.stdout);
    assert.match(res.stdout, /Two factor authentication disabled/);
    assert.match((await ok(npm, ['profile', 'get'], at())).stdout, /^two-factor auth: disabled$/m);
  });
});
