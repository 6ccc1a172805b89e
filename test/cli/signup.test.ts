// Issue 19, sign-up without email, through the real binary: a start without SMTP closes sign-up and says how to open
// it; an explicit open sign-up nobody can verify refuses to start in one line; with --email-verification admin the
// queue is worked from the command line (pending, approve, reject) and `admin user verify-email` still works.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bulwark, serve, type Exit } from '../helpers/bulwark-process.ts';

function oneLine(r: Exit, pattern: RegExp): string {
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at |Error:/, 'no stack trace');
  assert.match(lines[0]!, /^bulwark: /);
  assert.match(lines[0]!, pattern);
  return lines[0]!;
}

const adduser = (url: string, name: string) =>
  fetch(`${url}/-/user/org.couchdb.user:${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password: 'a-long-passphrase', email: `${name}@example.com` }),
  });

describe('bulwark serve: sign-up without an SMTP server', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bulwark-signup-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses --signup open with no way to verify accounts: one line naming the settings, nothing written', async () => {
    const data = path.join(dir, 'refused');
    const line = oneLine(
      await bulwark(['serve', '--port', '0', '--data-dir', data, '--signup', 'open']),
      /--signup = "open" needs a way to verify new accounts/,
    );
    assert.match(line, /choose --email-verification admin \(BULWARK_EMAIL_VERIFICATION\)/);
    assert.match(line, /set --smtp-url \(BULWARK_SMTP_URL\)/);
    oneLine(
      await bulwark(['serve', '--port', '0', '--data-dir', data], { env: { BULWARK_SIGNUP: 'open' } }),
      /environment variable BULWARK_SIGNUP = "open" needs a way to verify/,
    );
    const file = path.join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ signup: 'open', 'data-dir': data }));
    oneLine(await bulwark(['serve', '--port', '0', '--config', file]), /config file key "signup" = "open"/);
    assert.equal(existsSync(data), false, 'nothing written');
  });

  it('serve --help lists --email-verification with its variable', async () => {
    const help = await bulwark(['serve', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--email-verification <value> +how a new account is verified/);
    assert.match(help.stdout, /env BULWARK_EMAIL_VERIFICATION/);
    assert.match(help.stdout, /--signup <value> +[^\n]*otherwise closed\)/);
  });

  it('starts with sign-up closed by default and says why and how to open it; npm adduser is refused', async () => {
    const server = await serve(['--data-dir', path.join(dir, 'default')]);
    try {
      const line = server.logs.find((l) => l.includes('self sign-up'));
      assert.ok(line, server.logs.join('\n'));
      const msg = (JSON.parse(line) as { msg: string }).msg;
      assert.match(msg, /^self sign-up is closed: no SMTP server is set/);
      assert.match(msg, /--smtp-url \(BULWARK_SMTP_URL\)/);
      assert.match(msg, /--email-verification admin \(BULWARK_EMAIL_VERIFICATION\)/);
      assert.equal((await adduser(server.url, 'newbie')).status, 403);
    } finally {
      await server.stop();
    }
  });

  it('with --email-verification admin: open, and the queue is worked with admin user pending/approve/reject', async () => {
    const data = path.join(dir, 'approval');
    const server = await serve(['--data-dir', data], { env: { BULWARK_EMAIL_VERIFICATION: 'admin' } });
    try {
      const line = server.logs.find((l) => l.includes('self sign-up'))!;
      assert.match(line, /self sign-up is open; new accounts wait for an administrator to approve them/);
      for (const name of ['ann', 'bob', 'cy']) {
        const res = await adduser(server.url, name);
        assert.equal(res.status, 201);
        assert.match(res.headers.get('npm-notice') ?? '', /an administrator of this registry must approve/i);
      }
      const store = ['--data-dir', data];
      let pending = await bulwark(['admin', 'user', 'pending', ...store]);
      assert.equal(pending.code, 0, pending.stderr);
      assert.deepEqual(
        pending.stdout
          .trim()
          .split('\n')
          .map((l) => l.split('\t').slice(0, 2).join(' ')),
        ['ann ann@example.com', 'bob bob@example.com', 'cy cy@example.com'],
      );
      assert.match(pending.stderr, /3 accounts waiting for approval/);

      const approved = await bulwark(['admin', 'user', 'approve', 'ann', ...store]);
      assert.equal(approved.code, 0, approved.stderr);
      assert.match(approved.stdout, /approved ann <ann@example\.com>/);
      const twice = await bulwark(['admin', 'user', 'approve', 'ann', ...store]);
      assert.equal(twice.code, 1);
      assert.match(twice.stderr, /no account named ann is waiting for approval/);

      const noReason = await bulwark(['admin', 'user', 'reject', 'bob', ...store]);
      assert.equal(noReason.code, 2, 'a missing reason is a usage error');
      assert.match(noReason.stderr, /give a reason/);
      const rejected = await bulwark(['admin', 'user', 'reject', 'bob', '--reason', 'spam', ...store]);
      assert.equal(rejected.code, 0, rejected.stderr);

      // The older command still verifies an address, and so takes the account out of the queue.
      const verified = await bulwark(['admin', 'user', 'verify-email', 'cy', ...store]);
      assert.equal(verified.code, 0, verified.stderr);
      pending = await bulwark(['admin', 'user', 'pending', ...store]);
      assert.equal(pending.stdout.trim(), '');
      assert.match(pending.stderr, /0 accounts waiting/);

      const shown = await bulwark(['admin', 'user', 'show', 'ann', ...store]);
      assert.match(
        shown.stdout,
        /Account approved by an administrator \(ann@example\.com, by operator \(command line\)\)/,
      );
      const bob = await bulwark(['admin', 'user', 'show', 'bob', ...store]);
      assert.match(bob.stdout, /status: +deleted/);
    } finally {
      await server.stop();
    }
  });
});
