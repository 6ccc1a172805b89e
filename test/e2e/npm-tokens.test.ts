// The real npm 11 CLI with scoped tokens: `npm token create/list/revoke`, then `npm publish` and `npm install` with
// what they made — a token for one package, for one scope, read-only, revoked, expired, limited to an address
// (npm's --local-address binds the client to 127.0.0.1 or 127.0.0.2), and an automation token on an account whose
// every write needs a one-time password.
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ok, run, sandbox, type Sandbox } from '../helpers/clients.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { codeAt, enableMfa } from '../helpers/totp.ts';

const PASSWORD = 'correct-horse-battery';
const npm = 'npm11';

async function makePackage(dir: string, name: string, version = '1.0.0') {
  await mkdir(dir, { recursive: true });
  await writeFile(
    path.join(dir, 'package.json'),
    JSON.stringify({ name, version, main: 'index.js', license: 'MIT' }, null, 2),
  );
  await writeFile(path.join(dir, 'index.js'), `module.exports = ${JSON.stringify(name)};\n`);
}

describe('npm 11 token commands and scoped tokens (sqlite)', () => {
  let r: TestRegistry;
  let owner: Sandbox;
  let now = Date.now();
  const sandboxes: Sandbox[] = [];

  /** `npm token create` with the given flags, as the account's own token; returns the new token. */
  async function create(sb: Sandbox, flags: string[]): Promise<string> {
    const res = await ok(npm, ['token', 'create', '--password', PASSWORD, ...flags], { cwd: sb.dir, env: sb.env });
    const m = /Created token (bwk_[0-9A-Za-z]{42})/.exec(res.stdout);
    assert.ok(m, res.stdout + res.stderr);
    return m[1]!;
  }
  async function as(token: string): Promise<Sandbox> {
    const sb = await sandbox(r.url, token);
    sandboxes.push(sb);
    return sb;
  }
  async function publish(sb: Sandbox, name: string, version = '1.0.0', extra: string[] = []) {
    const dir = path.join(sb.dir, name.replace('/', '__'), version);
    await makePackage(dir, name, version);
    return run(npm, ['publish', '--access', 'public', ...extra], { cwd: dir, env: sb.env });
  }

  before(async () => {
    r = await startRegistry('sqlite', {}, { clock: () => now });
    const hana = await r.user('hana');
    owner = await as(hana.token);
  });
  after(async () => {
    await r.stop();
    for (const sb of sandboxes) await rm(sb.dir, { recursive: true, force: true });
  });

  it('creates, lists and revokes tokens; a token for one package publishes it and is refused for another', async () => {
    const token = await create(owner, [
      '--name',
      'ci-a',
      '--packages',
      'hana-a',
      '--packages-and-scopes-permission',
      'read-write',
    ]);
    const list = await ok(npm, ['token', 'list'], { cwd: owner.dir, env: owner.env });
    assert.match(list.stdout, new RegExp(`Token ${token.slice(0, 10)}… with id [0-9a-f]{6,} name ci-a`));

    const ci = await as(token);
    const good = await publish(ci, 'hana-a');
    assert.equal(good.code, 0, good.stderr);
    const bad = await publish(ci, 'hana-b');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /403/);
    assert.match(bad.stderr, /not allowed to change hana-b/);
    assert.equal((await r.request('GET', '/hana-b')).status, 404, 'nothing was published');

    const id = new RegExp(`Token ${token.slice(0, 10)}… with id ([0-9a-f]+)`).exec(list.stdout)![1]!;
    const revoked = await ok(npm, ['token', 'revoke', id], { cwd: owner.dir, env: owner.env });
    assert.match(revoked.stdout, /Removed 1 token/);
    const after = await publish(ci, 'hana-a', '1.0.1');
    assert.notEqual(after.code, 0);
    assert.match(after.stderr, /E401|invalid, expired or revoked/);
    assert.doesNotMatch(
      (await ok(npm, ['token', 'list'], { cwd: owner.dir, env: owner.env })).stdout,
      new RegExp(token.slice(0, 10)),
    );
  });

  it('a token for @scope/* publishes in that scope only; a read-only token installs but cannot publish', async () => {
    const scoped = await as(
      await create(owner, ['--name', 'scope', '--scopes', '@hana', '--packages-and-scopes-permission', 'read-write']),
    );
    assert.equal((await publish(scoped, '@hana/x')).code, 0);
    const outside = await publish(scoped, 'hana-x');
    assert.notEqual(outside.code, 0);
    assert.match(outside.stderr, /not allowed to change hana-x/);
    const other = await publish(scoped, '@hanax/y');
    assert.notEqual(other.code, 0);

    const readonly = await as(
      await create(owner, ['--name', 'ro', '--packages-all', '--packages-and-scopes-permission', 'read-only']),
    );
    const app = path.join(readonly.dir, 'app');
    await mkdir(app, { recursive: true });
    await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    await ok(npm, ['install', '@hana/x'], { cwd: app, env: readonly.env });
    const refused = await publish(readonly, '@hana/x', '2.0.0');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /read-only/);
  });

  it('an expired token is refused', async () => {
    const token = await create(owner, [
      '--name',
      'short',
      '--packages',
      'hana-exp',
      '--packages-and-scopes-permission',
      'read-write',
      '--expires',
      '1',
    ]);
    await r.store.db
      .updateTable('tokens')
      .set({ expires_at: Date.now() - 1000 })
      .where('display', '=', token.slice(0, 10))
      .execute();
    const res = await publish(await as(token), 'hana-exp');
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /E401|invalid, expired or revoked/);
  });

  // npm accepts only addresses of the machine's own interfaces for --local-address (not 127.0.0.2, which the
  // protocol-level test uses), so the other address is one of this machine's non-loopback IPv4 addresses: a connection
  // from it to the registry on 127.0.0.1 arrives with that source address.
  const otherAddress = Object.values(os.networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
  it(
    'a CIDR-limited token works from its address and is refused from another',
    { skip: otherAddress ? false : 'this machine has no non-loopback IPv4 address to connect from' },
    async () => {
      const token = await create(owner, [
        '--name',
        'lan',
        '--packages',
        'hana-lan',
        '--packages-and-scopes-permission',
        'read-write',
        '--cidr',
        '127.0.0.1/32',
      ]);
      const sb = await as(token);
      const wrong = await publish(sb, 'hana-lan', '1.0.0', ['--local-address', otherAddress!]);
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.stderr, /EAUTHIP/);
      assert.equal((await r.request('GET', '/hana-lan')).status, 404, 'nothing was published');
      const right = await publish(sb, 'hana-lan', '1.0.0', ['--local-address', '127.0.0.1']);
      assert.equal(right.code, 0, right.stderr);
    },
  );

  it('refuses automation tokens on all packages or beyond 90 days, with the reason', async () => {
    let res = await run(
      npm,
      [
        'token',
        'create',
        '--password',
        PASSWORD,
        '--name',
        'x',
        '--packages-all',
        '--packages-and-scopes-permission',
        'read-write',
        '--bypass-2fa',
      ],
      { cwd: owner.dir, env: owner.env },
    );
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /limited to listed packages/);
    res = await run(
      npm,
      [
        'token',
        'create',
        '--password',
        PASSWORD,
        '--name',
        'x',
        '--packages',
        'hana-a',
        '--packages-and-scopes-permission',
        'read-write',
        '--bypass-2fa',
        '--expires',
        '120',
      ],
      { cwd: owner.dir, env: owner.env },
    );
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /from 1 to 90/);
    res = await run(npm, ['token', 'create', '--password', 'not-my-password', '--name', 'x'], {
      cwd: owner.dir,
      env: owner.env,
    });
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /incorrect password/);
  });

  it('with auth-and-writes, creating needs the code; an automation token publishes without one while a normal token is asked', async () => {
    const ivy = await r.user('ivy');
    now += 30_000;
    const secret = await enableMfa(r, 'ivy', 'auth-and-writes', now);
    const sb = await as(ivy.token);
    const flags = [
      'token',
      'create',
      '--password',
      PASSWORD,
      '--packages',
      'ivy-lib',
      '--packages-and-scopes-permission',
      'read-write',
    ];
    const noCode = await run(npm, [...flags, '--name', 'ci'], { cwd: sb.dir, env: sb.env });
    assert.notEqual(noCode.code, 0);
    assert.match(noCode.stderr, /EOTP|one-time password/);
    now += 30_000;
    const automation = await create(sb, [
      '--name',
      'ci',
      '--packages',
      'ivy-lib',
      '--packages-and-scopes-permission',
      'read-write',
      '--bypass-2fa',
      '--otp',
      codeAt(secret, now),
    ]);
    now += 30_000;
    const normal = await create(sb, [
      '--name',
      'laptop',
      '--packages',
      'ivy-lib',
      '--packages-and-scopes-permission',
      'read-write',
      '--otp',
      codeAt(secret, now),
    ]);

    const asked = await publish(await as(normal), 'ivy-lib');
    assert.notEqual(asked.code, 0);
    assert.match(asked.stderr, /EOTP|one-time password/);
    const ci = await publish(await as(automation), 'ivy-lib');
    assert.equal(ci.code, 0, ci.stderr);
  });
});
