import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { SETTINGS } from '../../src/config.ts';
import { TOKEN_PATTERN } from '../../src/tokens/format.ts';
import { bulwark, serve } from '../helpers/bulwark-process.ts';
import { DB_KINDS, testDatabase } from '../helpers/db.ts';

describe('bulwark command line', () => {
  it('explains itself: --help for the program, every command and command group', async () => {
    const top = await bulwark(['--help']);
    assert.equal(top.code, 0);
    const commands = [
      'serve',
      'admin user create',
      'admin user verify-email',
      'admin user list',
      'admin user show',
      'admin user disable',
      'admin user enable',
      'admin user delete',
      'admin user force-reset',
      'admin user recover',
      'admin token create',
      'token create',
      'token list',
      'token revoke',
    ];
    for (const cmd of commands) assert.match(top.stdout, new RegExp(cmd));
    const serveHelp = await bulwark(['serve', '--help']);
    assert.equal(serveHelp.code, 0);
    for (const s of SETTINGS) {
      assert.match(serveHelp.stdout, new RegExp(`--${s.flag} `), `serve --help lists --${s.flag}`);
      assert.match(serveHelp.stdout, new RegExp(s.env), `serve --help names ${s.env}`);
    }
    for (const cmd of [...commands.slice(1).map((c) => c.split(' ')), ['admin'], ['token']]) {
      const r = await bulwark([...cmd, '--help']);
      assert.equal(r.code, 0, cmd.join(' '));
      assert.match(r.stdout, /usage|Commands/i);
    }
    const unknown = await bulwark(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    const badFlag = await bulwark(['serve', '--no-such-flag']);
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /no-such-flag/);
  });

  it('validates every setting at start and reports each mistake', async () => {
    const r = await bulwark(
      [
        'serve',
        '--port',
        '99999',
        '--signup',
        'maybe',
        '--public-url',
        'ftp://x',
        '--trust-proxy',
        '10.0.0.0/99',
        '--blob-grace',
        '5m',
      ],
      { env: { BULWARK_DATABASE_URL: 'mysql://nope' } },
    );
    assert.equal(r.code, 1);
    for (const m of [
      /--blob-grace = "5m" must be at least 10m/,
      /--port = "99999"/,
      /--signup = "maybe" must be one of open, closed/,
      /--public-url = "ftp:\/\/x" must use http or https/,
      /10\.0\.0\.0\/99/,
      /BULWARK_DATABASE_URL = "mysql:\/\/nope" must be a postgres:\/\/ URL/,
    ])
      assert.match(r.stderr, m);
    const short = await bulwark(['serve', '--data-dir', '/nonexistent-never'], {
      env: { BULWARK_SECRET_KEY: 'too-short' },
    });
    assert.equal(short.code, 1);
    assert.match(short.stderr, /BULWARK_SECRET_KEY must be at least 32 characters/);
  });

  for (const kind of DB_KINDS) {
    it(`creates the first admin and a token that the served registry accepts (${kind})`, async () => {
      const t = await testDatabase(kind);
      const store = ['--data-dir', t.dataDir, ...(t.database ? ['--database', t.database] : [])];
      try {
        let r = await bulwark(
          ['admin', 'user', 'create', 'root', '--email', 'root@example.com', '--admin', '--password-stdin', ...store],
          { input: 'a-long-admin-passphrase\n' },
        );
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /created administrator root <root@example.com>/);
        r = await bulwark(
          ['admin', 'user', 'create', 'root', '--email', 'root@example.com', '--password-stdin', ...store],
          { input: 'another-long-passphrase' },
        );
        assert.equal(r.code, 1);
        assert.match(r.stderr, /already taken/);
        r = await bulwark(
          ['admin', 'user', 'create', 'weak', '--email', 'weak@example.com', '--password-stdin', ...store],
          { input: 'short' },
        );
        assert.equal(r.code, 1);
        assert.match(r.stderr, /at least 10 characters/);
        r = await bulwark(['admin', 'user', 'create', 'nopw', '--email', 'n@example.com', ...store]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /--password-stdin is required/);

        const tok = await bulwark(['admin', 'token', 'create', 'root', ...store]);
        assert.equal(tok.code, 0, tok.stderr);
        const token = tok.stdout.trim();
        assert.match(
          token,
          new RegExp(`^${TOKEN_PATTERN.source.replace(/\\b/g, '')}$`),
          'the token, alone on its line',
        );
        assert.equal(tok.stdout, `${token}\n`);
        assert.equal((await bulwark(['admin', 'token', 'create', 'ghost', ...store])).code, 1);

        const server = await serve(store, { env: { BULWARK_SECRET_KEY: 'x'.repeat(40) } });
        try {
          const who = await fetch(`${server.url}/-/whoami`, { headers: { authorization: `Bearer ${token}` } });
          assert.deepEqual(await who.json(), { username: 'root' });
          const line = server.logs.find((l) => l.includes('listening on'))!;
          assert.equal(JSON.parse(line).database, kind);
        } finally {
          assert.equal(await server.stop(), 0, 'SIGTERM shuts down cleanly');
        }
        // The token is stored only as its hash.
        if (kind === 'sqlite') {
          const raw = await readFile(path.join(t.dataDir, 'bulwark.sqlite'));
          assert.equal(raw.includes(Buffer.from(token)), false);
        }
      } finally {
        await t.cleanup();
      }
    });
  }

  it('administers accounts: list, show, disable, enable, force a reset, recover and delete, each needing a reason', async () => {
    const t = await testDatabase('sqlite');
    const store = ['--data-dir', t.dataDir];
    try {
      for (const name of ['alice', 'bob']) {
        assert.equal(
          (
            await bulwark(
              ['admin', 'user', 'create', name, '--email', `${name}@example.com`, '--password-stdin', ...store],
              { input: 'a-long-passphrase' },
            )
          ).code,
          0,
        );
      }
      assert.equal((await bulwark(['admin', 'token', 'create', 'alice', ...store])).code, 0);
      const list = await bulwark(['admin', 'user', 'list', '--query', 'ali', ...store]);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /^alice\talice@example\.com\tactive\t/m);
      assert.doesNotMatch(list.stdout, /bob/);

      const noReason = await bulwark(['admin', 'user', 'disable', 'alice', ...store]);
      assert.equal(noReason.code, 2);
      assert.match(noReason.stderr, /--reason is required/);
      const disabled = await bulwark(['admin', 'user', 'disable', 'alice', '--reason', 'compromised laptop', ...store]);
      assert.equal(disabled.code, 0, disabled.stderr);
      assert.match(disabled.stdout, /revoked 0 session\(s\) and 1 token\(s\)/);
      assert.equal((await bulwark(['admin', 'user', 'disable', 'alice', '--reason', 'twice', ...store])).code, 1);
      assert.equal((await bulwark(['admin', 'user', 'disable', 'nobody', '--reason', 'missing', ...store])).code, 1);
      assert.equal((await bulwark(['admin', 'user', 'enable', 'alice', '--reason', 'laptop wiped', ...store])).code, 0);

      const started = await bulwark([
        'admin',
        'user',
        'recover',
        'alice',
        '--email',
        'alice@new.example.com',
        '--reason',
        'lost mailbox',
        '--evidence',
        'id checked on a call',
        ...store,
      ]);
      assert.equal(started.code, 0, started.stderr);
      const early = await bulwark(['admin', 'user', 'recover', 'alice', '--complete', ...store]);
      assert.equal(early.code, 1);
      assert.match(early.stderr, /waiting period/);
      assert.equal(
        (await bulwark(['admin', 'user', 'recover', 'alice', '--cancel', '--reason', 'owner objected', ...store])).code,
        0,
      );

      const show = await bulwark(['admin', 'user', 'show', 'alice', ...store]);
      assert.equal(show.code, 0, show.stderr);
      for (const line of [
        /status: +active/,
        /Account disabled by an administrator \(by operator \(command line\), reason: compromised laptop\)/,
        /Account recovery cancelled/,
        /Access token created/,
      ])
        assert.match(show.stdout, line);

      assert.equal(
        (await bulwark(['admin', 'user', 'force-reset', 'bob', '--reason', 'password reuse', ...store])).code,
        0,
      );
      const deleted = await bulwark(['admin', 'user', 'delete', 'bob', '--reason', 'owner asked', ...store]);
      assert.equal(deleted.code, 0, deleted.stderr);
      const again = await bulwark(
        ['admin', 'user', 'create', 'bob', '--email', 'other@example.com', '--password-stdin', ...store],
        { input: 'a-long-passphrase' },
      );
      assert.equal(again.code, 1, 'a deleted name stays reserved');
      assert.match(
        (await bulwark(['admin', 'user', 'list', '--status', 'deleted', ...store])).stdout,
        /^bob\t-\tdeleted/m,
      );
    } finally {
      await t.cleanup();
    }
  });

  it('reads settings from environment variables and a config file, and generates a secret key with a warning', async () => {
    const t = await testDatabase('sqlite');
    try {
      const config = path.join(t.dataDir, 'bulwark.json');
      await writeFile(
        config,
        JSON.stringify({ 'data-dir': t.dataDir, signup: 'closed', 'public-url': 'https://npm.example.com/' }),
      );
      const env = { BULWARK_CONFIG: config };
      const server = await serve([], { env: { ...env, BULWARK_READ_ACCESS: 'authenticated' } });
      try {
        assert.ok(server.logs.some((l) => /generated a new secret key/.test(l) && /back it up/.test(l)));
        assert.ok((await stat(path.join(t.dataDir, 'secret.key'))).mode.toString(8).endsWith('600'));
        assert.equal((await fetch(`${server.url}/anything`)).status, 401, 'BULWARK_READ_ACCESS applied');
        const res = await fetch(`${server.url}/-/user/org.couchdb.user:newbie`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'newbie', password: 'a-long-passphrase', email: 'n@example.com' }),
        });
        assert.equal(res.status, 403, 'signup closed by the config file');
      } finally {
        await server.stop();
      }
      const again = await serve([], { env });
      try {
        assert.ok(!again.logs.some((l) => /generated a new secret key/.test(l)), 'the key is reused on the next start');
      } finally {
        await again.stop();
      }
    } finally {
      await t.cleanup();
    }
  });

  for (const kind of DB_KINDS) {
    it(`makes, lists and revokes scoped tokens for operators, refusing what the token rules forbid (${kind})`, async () => {
      const t = await testDatabase(kind);
      const store = ['--data-dir', t.dataDir, ...(t.database ? ['--database', t.database] : [])];
      try {
        assert.equal(
          (
            await bulwark(
              ['admin', 'user', 'create', 'kai', '--email', 'kai@example.com', '--password-stdin', ...store],
              { input: 'a-long-passphrase' },
            )
          ).code,
          0,
        );
        const made = await bulwark([
          'token',
          'create',
          'kai',
          '--name',
          'ci',
          '--packages',
          'kai-lib',
          '--scopes',
          '@kai/*',
          '--permission',
          'read-write',
          '--bypass-2fa',
          '--cidr',
          '10.0.0.0/8,2001:db8::/32',
          '--expires-days',
          '7',
          ...store,
        ]);
        assert.equal(made.code, 0, made.stderr);
        const [token, summary] = made.stdout.trim().split('\n');
        assert.match(token!, /^bwk_[0-9A-Za-z]{42}$/);
        assert.match(summary!, /read-write on kai-lib, @kai\/\*; only from 10\.0\.0\.0\/8, 2001:db8::\/32; automation/);
        assert.match(summary!, /expires \d{4}-/);

        for (const [args, message] of [
          [['--all-packages', '--permission', 'read-write', '--bypass-2fa'], /limited to listed packages/],
          [['--packages', 'kai-lib', '--permission', 'read-write', '--expires-days', '365'], /from 1 to 90/],
          [['--packages', 'kai-lib', '--cidr', '300.1.1.1/8'], /invalid CIDR/],
          [['--permission', 'admin'], /must be one of/],
        ] as const) {
          const r = await bulwark(['token', 'create', 'kai', ...args, ...store]);
          assert.equal(r.code, 1, args.join(' '));
          assert.match(r.stderr, message);
        }
        const admin = await bulwark(['admin', 'token', 'create', 'kai', '--expires-days', '365', ...store]);
        assert.equal(admin.code, 1, 'no long-lived write token from the operator command either');
        assert.match(admin.stderr, /from 1 to 90/);

        const list = await bulwark(['token', 'list', 'kai', ...store]);
        assert.equal(list.code, 0, list.stderr);
        const line = list.stdout.split('\n').find((l) => l.includes(token!.slice(0, 10)))!;
        assert.ok(line, list.stdout);
        assert.ok(!list.stdout.includes(token!), 'never the secret');
        const key = line.split('\t')[0]!;
        assert.match(key, /^[0-9a-f]{64}$/);
        assert.equal(
          (await bulwark(['token', 'revoke', 'kai', key.slice(0, 3), ...store])).code,
          1,
          'a prefix shorter than 6 names nothing',
        );
        const revoked = await bulwark(['token', 'revoke', 'kai', key.slice(0, 8), ...store]);
        assert.equal(revoked.code, 0, revoked.stderr);
        assert.doesNotMatch((await bulwark(['token', 'list', 'kai', ...store])).stdout, new RegExp(key));
        assert.equal((await bulwark(['token', 'revoke', 'kai', key, ...store])).code, 1, 'already revoked');
      } finally {
        await t.cleanup();
      }
    });
  }
});
