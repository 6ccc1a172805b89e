// The real `npm adduser` against a registry whose new accounts an administrator approves (--email-verification admin,
// no SMTP server): npm prints that an administrator must approve the account (the registry's npm-notice header), the
// account cannot publish until approved, and publishes once it is.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OPERATOR } from '../../src/accounts/admin.ts';
import { approveAccount } from '../../src/accounts/approval.ts';
import { interact, ok, run, sandbox, type Sandbox } from '../helpers/clients.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

describe('npm adduser when an administrator approves new accounts', () => {
  let r: TestRegistry;
  let sb: Sandbox;
  before(async () => {
    r = await startRegistry('sqlite', { 'email-verification': 'admin' });
    sb = await sandbox(r.url);
  });
  after(() => r.stop());

  it('tells the new user an administrator must approve the account; publishing waits for the approval', async () => {
    const signup = await interact(
      'npm11',
      ['adduser', '--auth-type=legacy'],
      [
        [/Username: $/, 'newcomer\n'],
        [/Password: $/, 'a-long-passphrase\n'],
        [/Email[^\n]*$/, 'newcomer@example.com\n'],
      ],
      { cwd: sb.dir, env: sb.env },
    );
    assert.equal(signup.code, 0, signup.stderr);
    assert.match(
      signup.stderr,
      /npm notice An administrator of this registry must approve your account before you can publish/,
    );
    assert.doesNotMatch(signup.stderr, /email|verification link/i, 'no word of an email to open');
    assert.equal((await ok('npm11', ['whoami'], { cwd: sb.dir, env: sb.env })).stdout.trim(), 'newcomer');

    const pkg = path.join(sb.dir, 'pkg');
    await mkdir(pkg, { recursive: true });
    await writeFile(
      path.join(pkg, 'package.json'),
      JSON.stringify({ name: 'newcomer-pkg', version: '1.0.0', license: 'MIT' }),
    );
    await writeFile(path.join(pkg, 'index.js'), 'module.exports = 1;\n');
    const refused = await run('npm11', ['publish'], { cwd: pkg, env: sb.env });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /an administrator of this registry must approve the account before it can publish/);

    await approveAccount(r.store.db, 'newcomer', OPERATOR);
    await ok('npm11', ['publish'], { cwd: pkg, env: sb.env });
    assert.equal(
      (await ok('npm11', ['view', 'newcomer-pkg', 'version'], { cwd: sb.dir, env: sb.env })).stdout.trim(),
      '1.0.0',
    );
  });
});
