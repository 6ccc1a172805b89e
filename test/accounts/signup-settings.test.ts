// Issue 19, sign-up without email: how --signup, --smtp-url and --email-verification settle together (config.ts), and
// the start-up line that says so (accounts/signup.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { pendingMessage, signupSummary } from '../../src/accounts/signup.ts';
import { ConfigError, loadSettings, settingsHelp } from '../../src/config.ts';

const SMTP = 'smtp://mail.example.com:25';
const settle = (flags: Record<string, string>, env: NodeJS.ProcessEnv = {}) => {
  const s = loadSettings({ flags, env });
  return { signup: s.signup, emailVerification: s.emailVerification };
};

describe('sign-up settings', () => {
  it('left unset, sign-up is open only when new accounts can be verified', () => {
    assert.deepEqual(settle({}), { signup: 'closed', emailVerification: 'email' }, 'no SMTP server: closed');
    assert.deepEqual(settle({ 'smtp-url': SMTP }), { signup: 'open', emailVerification: 'email' });
    assert.deepEqual(settle({ 'email-verification': 'admin' }), { signup: 'open', emailVerification: 'admin' });
    assert.deepEqual(settle({ signup: 'closed', 'smtp-url': SMTP }), { signup: 'closed', emailVerification: 'email' });
    assert.deepEqual(settle({ signup: 'open', 'email-verification': 'admin' }), {
      signup: 'open',
      emailVerification: 'admin',
    });
    assert.deepEqual(settle({ signup: 'open', 'smtp-url': SMTP, 'email-verification': 'admin' }), {
      signup: 'open',
      emailVerification: 'admin',
    });
  });

  it('refuses an open sign-up nobody can verify, in one line naming the setting and the choices', () => {
    for (const [flags, env, origin] of [
      [{ signup: 'open' }, {}, '--signup'],
      [{}, { BULWARK_SIGNUP: 'open' }, 'environment variable BULWARK_SIGNUP'],
      [{ signup: 'open', 'email-verification': 'email' }, {}, '--signup'],
    ] as const) {
      assert.throws(
        () => loadSettings({ flags, env }),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.equal(err.problems.length, 1);
          assert.equal(err.message.split('\n').length, 1, err.message);
          assert.ok(
            err.message.startsWith(`invalid configuration: ${origin} = "open" needs a way to verify`),
            err.message,
          );
          assert.match(err.message, /--email-verification admin \(BULWARK_EMAIL_VERIFICATION\)/);
          assert.match(err.message, /--smtp-url \(BULWARK_SMTP_URL\)/);
          assert.match(err.message, /leave sign-up closed/);
          return true;
        },
      );
    }
  });

  it('reports a wrong value with the others, and several problems still as a list', () => {
    assert.throws(
      () => loadSettings({ flags: { 'email-verification': 'nobody' }, env: {} }),
      /--email-verification = "nobody" must be one of email, admin/,
    );
    assert.throws(
      () => loadSettings({ flags: { signup: 'open', port: 'x' }, env: {} }),
      (err: unknown) => err instanceof ConfigError && err.problems.length === 2 && err.message.includes('\n  - '),
    );
  });

  it('takes --email-verification as a flag, an environment variable and a config-file key', () => {
    assert.equal(settle({}, { BULWARK_EMAIL_VERIFICATION: 'admin' }).emailVerification, 'admin');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bulwark-signup-'));
    try {
      const file = path.join(dir, 'config.json');
      for (const key of ['email-verification', 'emailVerification', 'BULWARK_EMAIL_VERIFICATION']) {
        writeFileSync(file, JSON.stringify({ [key]: 'admin', signup: 'open' }));
        const s = loadSettings({ flags: {}, env: {}, file });
        assert.deepEqual([s.signup, s.emailVerification], ['open', 'admin'], key);
      }
      // The flag wins over the file: choosing email verification there brings back the refusal.
      writeFileSync(file, JSON.stringify({ 'email-verification': 'admin', signup: 'open' }));
      assert.throws(
        () => loadSettings({ flags: { 'email-verification': 'email' }, env: {}, file }),
        /config file key "signup" = "open" needs a way to verify/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serve --help documents both settings and their variables', () => {
    const help = settingsHelp();
    assert.match(
      help,
      /--email-verification <value>\s+how a new account is verified[^\n]*\(default: email\)\n\s+env BULWARK_EMAIL_VERIFICATION/,
    );
    assert.match(
      help,
      /--signup <value>\s+[^\n]*default: open when new accounts can be verified[^\n]*\n\s+env BULWARK_SIGNUP/,
    );
  });

  it('says in one start-up line whether sign-up is open, how accounts are verified, and how to change it', () => {
    const closed = signupSummary({ signup: 'closed', smtpUrl: null, emailVerification: 'email' });
    assert.match(closed, /^self sign-up is closed: no SMTP server is set/);
    assert.match(closed, /--smtp-url \(BULWARK_SMTP_URL\)/);
    assert.match(
      closed,
      /--signup open \(BULWARK_SIGNUP\) with --email-verification admin \(BULWARK_EMAIL_VERIFICATION\)/,
    );
    assert.doesNotMatch(closed, /\n/);
    assert.match(
      signupSummary({ signup: 'open', smtpUrl: null, emailVerification: 'admin' }),
      /open; new accounts wait for an administrator .*\/-\/web\/admin\/approvals/,
    );
    assert.match(signupSummary({ signup: 'open', smtpUrl: SMTP, emailVerification: 'email' }), /mailed link/);
    assert.match(signupSummary({ signup: 'closed', smtpUrl: SMTP, emailVerification: 'email' }), /--signup closed/);
    assert.match(pendingMessage({ emailVerification: 'admin' }), /administrator .* must approve your account/);
    assert.match(pendingMessage({ emailVerification: 'email' }), /open the link we emailed you/);
  });
});
