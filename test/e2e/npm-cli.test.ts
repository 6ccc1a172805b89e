// The real npm CLI (11 and 10) against a running Bulwark: every command a user of the registry core relies on.
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { execFile, spawn } from 'node:child_process';
import { CLIENTS, interact, ok, run, sandbox, type ClientName, type Sandbox } from '../helpers/clients.ts';
import { WebClient, csrfIn } from '../helpers/web-client.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

async function makePackage(
  dir: string,
  manifest: Record<string, unknown>,
  main = "module.exports = 'hello from bulwark';\n",
) {
  await mkdir(dir, { recursive: true });
  await writeFile(
    path.join(dir, 'package.json'),
    JSON.stringify({ main: 'index.js', license: 'MIT', ...manifest }, null, 2),
  );
  await writeFile(path.join(dir, 'index.js'), main);
  await writeFile(path.join(dir, 'README.md'), `# ${String(manifest.name)}\n`);
}

/** Runs npm's browser flow: waits for the URL npm prints, lets `act` approve it, and returns npm's result. */
async function viaBrowser(
  npm: ClientName,
  args: string[],
  printed: RegExp,
  sb: Sandbox,
  act: (url: string) => Promise<void>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = CLIENTS[npm];
  const child = spawn(c.cmd, [...c.pre, ...args], { cwd: sb.dir, env: sb.env });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (out += d));
  const exit = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  const deadline = Date.now() + 30_000;
  let m: RegExpExecArray | null;
  while (!(m = printed.exec(out))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill();
      throw new Error(`${npm} never printed ${printed}:\n${out}`);
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  await act(m[1]!);
  return { code: await exit, stdout: out, stderr: out };
}

/** Approves a pending npm login on its page, as the signed-in browser user. */
async function approve(browser: WebClient, pagePath: string): Promise<void> {
  const page = await browser.get(pagePath);
  assert.equal(page.status, 200, page.text.slice(0, 300));
  assert.equal((await browser.post(`${pagePath}/approve`, { _csrf: csrfIn(page.text) })).status, 200);
}

for (const npm of ['npm11', 'npm10'] as const satisfies ClientName[]) {
  const kind = 'sqlite';
  describe(`${npm} against Bulwark (${kind})`, () => {
    let r: TestRegistry;
    let sb: Sandbox;
    const p = (name: string) => `${npm}-${name}`;
    before(async () => {
      // npm adduser signs a person up below; with no SMTP server, an administrator approves new accounts.
      r = await startRegistry(kind, { 'email-verification': 'admin' });
      sb = await sandbox(r.url, r.adminToken);
    });
    after(async () => {
      await r.stop();
      await rm(sb.dir, { recursive: true, force: true });
    });

    it('pings, says who the token belongs to, and publishes unscoped, scoped and tagged versions', async () => {
      const ping = await ok(npm, ['ping'], { cwd: sb.dir, env: sb.env });
      assert.match(ping.stderr, /PONG/);
      assert.equal((await ok(npm, ['whoami'], { cwd: sb.dir, env: sb.env })).stdout.trim(), 'admin');

      const hello = path.join(sb.dir, 'hello');
      await makePackage(hello, {
        name: p('hello'),
        version: '1.0.0',
        description: 'says hello',
        keywords: ['greeting'],
      });
      await ok(npm, ['publish'], { cwd: hello, env: sb.env });
      await makePackage(hello, { name: p('hello'), version: '1.1.0-beta.0', description: 'says hello' });
      await ok(npm, ['publish', '--tag', 'beta'], { cwd: hello, env: sb.env });

      const scoped = path.join(sb.dir, 'scoped');
      await makePackage(
        scoped,
        { name: `@admin/${p('util')}`, version: '2.0.0', dependencies: { [p('hello')]: '^1.0.0' } },
        `module.exports = require('${p('hello')}') + ' via util';\n`,
      );
      await ok(npm, ['publish', '--access', 'public'], { cwd: scoped, env: sb.env });
      const secret = path.join(sb.dir, 'secret');
      await makePackage(secret, { name: `@admin/${p('secret')}`, version: '0.1.0' });
      await ok(npm, ['publish'], { cwd: secret, env: sb.env });
      assert.equal(
        (await r.request('GET', `/@admin%2f${p('secret')}`)).status,
        404,
        'scoped packages are restricted by default',
      );

      // Publishing the same version again is refused with npm's own wording.
      await makePackage(hello, { name: p('hello'), version: '1.0.0', description: 'changed' });
      const again = await run(npm, ['publish'], { cwd: hello, env: sb.env });
      assert.notEqual(again.code, 0);
      assert.match(again.stderr, /cannot publish over the previously published versions: 1\.0\.0/);
    });

    it('views every field, manages dist-tags and searches', async () => {
      const view = JSON.parse((await ok(npm, ['view', p('hello'), '--json'], { cwd: sb.dir, env: sb.env })).stdout);
      assert.equal(view.name, p('hello'));
      assert.equal(view.version, '1.0.0');
      assert.deepEqual(view.versions, ['1.0.0', '1.1.0-beta.0']);
      assert.deepEqual(view['dist-tags'], { latest: '1.0.0', beta: '1.1.0-beta.0' });
      assert.equal(view.description, 'says hello');
      assert.match(view.dist.integrity, /^sha512-/);
      assert.equal(view.dist.tarball, `${r.url}/${p('hello')}/-/${p('hello')}-1.0.0.tgz`);
      assert.deepEqual(view.maintainers, ['admin <admin@example.com>']);
      const integrity = (
        await ok(npm, ['view', `${p('hello')}@1.0.0`, 'dist.integrity'], { cwd: sb.dir, env: sb.env })
      ).stdout.trim();
      const served = (await r.request('GET', `/${p('hello')}`)).json().versions['1.0.0'].dist.integrity;
      assert.equal(integrity, served);

      await ok(npm, ['dist-tag', 'add', `${p('hello')}@1.0.0`, 'stable'], { cwd: sb.dir, env: sb.env });
      let ls = (await ok(npm, ['dist-tag', 'ls', p('hello')], { cwd: sb.dir, env: sb.env })).stdout;
      assert.match(ls, /^stable: 1\.0\.0$/m);
      await ok(npm, ['dist-tag', 'rm', p('hello'), 'stable'], { cwd: sb.dir, env: sb.env });
      ls = (await ok(npm, ['dist-tag', 'ls', p('hello')], { cwd: sb.dir, env: sb.env })).stdout;
      assert.doesNotMatch(ls, /stable/);
      assert.match(ls, /^beta: 1\.1\.0-beta\.0$/m);

      const found = JSON.parse((await ok(npm, ['search', p('hello'), '--json'], { cwd: sb.dir, env: sb.env })).stdout);
      assert.ok(
        found.some((o: { name: string }) => o.name === p('hello')),
        JSON.stringify(found),
      );
    });

    it('installs what was published, with a lockfile that points at Bulwark, and reinstalls it with npm ci', async () => {
      const app = path.join(sb.dir, 'app');
      await mkdir(app, { recursive: true });
      await writeFile(
        path.join(app, 'package.json'),
        JSON.stringify({
          name: 'app',
          version: '1.0.0',
          private: true,
          dependencies: { [`@admin/${p('util')}`]: '^2.0.0', [`@admin/${p('secret')}`]: '0.1.0' },
        }),
      );
      await ok(npm, ['install'], { cwd: app, env: sb.env });
      const check = async () =>
        (
          await promisify(execFile)(process.execPath, ['-p', `require('@admin/${p('util')}')`], { cwd: app })
        ).stdout.trim();
      assert.equal(await check(), 'hello from bulwark via util');
      const lock = JSON.parse(await readFile(path.join(app, 'package-lock.json'), 'utf8'));
      const entries = Object.entries(lock.packages as Record<string, { resolved?: string; integrity?: string }>).filter(
        ([k]) => k,
      );
      assert.equal(entries.length, 3);
      for (const [key, entry] of entries) {
        assert.ok(entry.resolved?.startsWith(`${r.url}/`), `${key} resolved from ${entry.resolved}`);
        assert.match(entry.integrity ?? '', /^sha512-/);
      }
      await rm(path.join(app, 'node_modules'), { recursive: true });
      await ok(npm, ['ci'], { cwd: app, env: sb.env });
      assert.equal(await check(), 'hello from bulwark via util');
    });

    it(`signs up and logs in with adduser/login (${npm === 'npm10' ? 'browser flow' : 'legacy prompts'}), refuses publishing before email verification, and logs out`, async () => {
      const user = await sandbox(r.url);
      try {
        const name = `${npm}-user`;
        // npm 10 reads the legacy prompts from a piped stdin with one readline interface per prompt, and on a loaded
        // machine one typed line reaches several prompts (a client race, not the registry's). Its default browser
        // flow (POST /-/v1/login) needs no typing, so npm 10 signs up and logs in that way, approved over HTTP; npm 11
        // types the legacy prompts.
        const browser = new WebClient(r.url);
        const signup =
          npm === 'npm10'
            ? await viaBrowser(
                npm,
                ['adduser', '--browser=false'],
                /Create your account at:\s+(http\S+)/,
                user,
                async (url) => {
                  const landing = new URL(url);
                  const next = landing.pathname;
                  const form = await browser.get(`/-/web/signup?next=${encodeURIComponent(next)}`);
                  const created = await browser.post('/-/web/signup', {
                    _csrf: csrfIn(form.text),
                    username: name,
                    email: `${name}@example.com`,
                    password: 'a-long-passphrase',
                    next,
                  });
                  assert.equal(created.location, next, 'sign-up returns to the approval page');
                  await approve(browser, next);
                },
              )
            : await interact(
                npm,
                ['adduser', '--auth-type=legacy'],
                [
                  [/Username: $/, `${name}\n`],
                  [/Password: $/, 'a-long-passphrase\n'],
                  [/Email[^\n]*$/, `${name}@example.com\n`],
                ],
                { cwd: user.dir, env: user.env },
              );
        assert.equal(signup.code, 0, signup.stderr);
        assert.equal((await ok(npm, ['whoami'], { cwd: user.dir, env: user.env })).stdout.trim(), name);

        const pkg = path.join(user.dir, 'pkg');
        await makePackage(pkg, { name: `${name}-pkg`, version: '1.0.0' });
        const refused = await run(npm, ['publish'], { cwd: pkg, env: user.env });
        assert.notEqual(refused.code, 0);
        assert.match(refused.stderr, /not verified/);

        await ok(npm, ['logout'], { cwd: user.dir, env: user.env });
        assert.notEqual((await run(npm, ['whoami'], { cwd: user.dir, env: user.env })).code, 0);
        const tokens = await r.store.db
          .selectFrom('tokens')
          .innerJoin('users', 'users.id', 'tokens.user_id')
          .select(['tokens.revoked_at'])
          .where('users.name', '=', name)
          .execute();
        assert.equal(tokens.length, 1);
        assert.ok(tokens[0]!.revoked_at, 'npm logout revoked the token on the server');

        const login =
          npm === 'npm10'
            ? await viaBrowser(npm, ['login', '--browser=false'], /Login at:\s+(http\S+)/, user, (url) =>
                approve(browser, new URL(url).pathname),
              )
            : await interact(
                npm,
                ['login', '--auth-type=legacy'],
                [
                  [/Username: $/, `${name}\n`],
                  [/Password: $/, 'a-long-passphrase\n'],
                ],
                { cwd: user.dir, env: user.env },
              );
        assert.equal(login.code, 0, login.stderr);
        assert.equal((await ok(npm, ['whoami'], { cwd: user.dir, env: user.env })).stdout.trim(), name);
        if (npm === 'npm11') {
          const wrong = await interact(
            npm,
            ['login', '--auth-type=legacy'],
            [
              [/Username: $/, `${name}\n`],
              [/Password: $/, 'not-the-passphrase\n'],
            ],
            { cwd: user.dir, env: user.env },
          );
          assert.notEqual(wrong.code, 0);
        }
      } finally {
        await rm(user.dir, { recursive: true, force: true });
      }
    });
  });
}
