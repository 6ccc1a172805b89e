// Every client × every flow a new user tries, against one real `bulwark serve` (the binary), set up as the README's
// quick start says: an account made with `bulwark admin user create`, its token from `bulwark admin token create` in
// the client's configuration. Each client runs its flows in order (login, publish, view and search, dist-tags, install
// with a lockfile and again from that lockfile alone, owners, access, tokens, profile, deprecation, stars, audit,
// unpublish); the clients run side by side. A flow a client lacks, or hands to npm, is said so in docs/clients.md.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bulwark, serve, type Served } from '../helpers/bulwark-process.ts';
import { CLIENTS, interact, run, sandbox, type ClientName, type Run, type Sandbox } from '../helpers/clients.ts';
import { WebClient, csrfIn } from '../helpers/web-client.ts';

const PASSWORD = 'correct-horse-battery-staple';
// One account and one family of package names per client, far enough apart that the look-alike guard sees no
// typosquat between them.
const ACCOUNT: Record<ClientName, { user: string; prefix: string }> = {
  npm11: { user: 'ada', prefix: 'granite' },
  npm10: { user: 'ben', prefix: 'meadow' },
  pnpm: { user: 'cleo', prefix: 'harbor' },
  yarn: { user: 'dora', prefix: 'lantern' },
  bun: { user: 'eli', prefix: 'orchid' },
};
const BYSTANDER = 'zoe';

let dataDir: string;
let server: Served;
const sandboxes: Sandbox[] = [];

async function admin(args: string[], input?: string): Promise<string> {
  const res = await bulwark([...args, '--data-dir', dataDir], input === undefined ? {} : { input });
  assert.equal(res.code, 0, `bulwark ${args.join(' ')}: ${res.stderr}`);
  return res.stdout;
}

async function writePackage(dir: string, manifest: Record<string, unknown>): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ license: 'MIT', ...manifest }, null, 2));
  await writeFile(path.join(dir, 'index.js'), `module.exports = ${JSON.stringify(manifest.name)};\n`);
  return dir;
}

/** A client's sandbox: a home whose .npmrc (read by npm, pnpm and bun) names the registry and holds the token. */
async function setUp(token: string): Promise<Sandbox> {
  const sb = await sandbox(server.url, token);
  sandboxes.push(sb);
  // pnpm 10 hands publish and the npm-only commands (dist-tag, owner, access, token, profile, deprecate, star,
  // unpublish, search, view) to the `npm` on PATH: make that npm 11, the one a new user has.
  const bin = path.join(sb.dir, 'bin');
  await mkdir(bin, { recursive: true });
  await writeFile(path.join(bin, 'npm'), `#!/bin/sh\nexec "${process.execPath}" "${CLIENTS.npm11.pre[0]}" "$@"\n`);
  await chmod(path.join(bin, 'npm'), 0o755);
  sb.env.PATH = `${bin}:${sb.env.PATH}`;
  return sb;
}

/** yarn 4 reads only .yarnrc.yml: the registry, plain HTTP allowed, and no minimum age for fresh publishes. */
async function yarnrc(dir: string, token?: string) {
  await writeFile(
    path.join(dir, '.yarnrc.yml'),
    [
      `npmRegistryServer: "${server.url}"`,
      ...(token ? [`npmAuthToken: "${token}"`] : []),
      `unsafeHttpWhitelist: ["${new URL(server.url).hostname}"]`,
      // yarn 4.10+ refuses versions younger than a day (1440 minutes) by default; every version here was just
      // published, so the tests turn the gate off (docs/clients.md).
      'npmMinimalAgeGate: 0',
      'nodeLinker: node-modules',
      'enableGlobalCache: false',
      'enableTelemetry: false',
      '',
    ].join('\n'),
  );
  if (!(await readFile(path.join(dir, 'yarn.lock'), 'utf8').catch(() => null)))
    await writeFile(path.join(dir, 'yarn.lock'), '');
}

/**
 * Logging in through the browser, as `npm login` does by default and `yarn npm login --web-login` does: the client
 * prints a link, the user signs in on that page and approves, and the client, polling meanwhile, stores the session
 * it is handed. (npm 10 reads the legacy prompts from a piped stdin with a race that sometimes hands one typed line
 * to two prompts; the browser flow needs no typing.) `answer` replies to a question asked first (yarn offers to open
 * a browser).
 */
async function browserLogin(
  client: ClientName,
  args: string[],
  at: { cwd: string; env: NodeJS.ProcessEnv },
  user: string,
  answer?: [RegExp, string],
): Promise<Run> {
  const child = spawn(CLIENTS[client].cmd, [...CLIENTS[client].pre, ...args], at);
  let out = '';
  let answered = false;
  child.stdout.on('data', (d: Buffer) => {
    out += d;
    if (answer && !answered && answer[0].test(out)) {
      answered = true;
      setTimeout(() => child.stdin.write(answer[1]), 150);
    }
  });
  child.stderr.on('data', (d: Buffer) => (out += d));
  const exit = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  let url: string | undefined;
  for (let i = 0; i < 300 && !url && child.exitCode === null; i++) {
    url = /(http\S+\/-\/web\/login\/[\w.-]+)/.exec(out)?.[1];
    if (!url) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(url, out);
  const web = new WebClient(server.url);
  const page = new URL(url).pathname;
  await web.signIn(user, PASSWORD, page);
  const approval = await web.get(page);
  assert.equal((await web.post(`${page}/approve`, { _csrf: csrfIn(approval.text) })).status, 200);
  return { code: await exit, stdout: out, stderr: '' };
}

/** docs/clients.md's yarn configuration for one scope only. */
async function yarnrcForScope(dir: string, scope: string, token: string) {
  await writeFile(
    path.join(dir, '.yarnrc.yml'),
    [
      'npmScopes:',
      `  ${scope}:`,
      `    npmRegistryServer: "${server.url}"`,
      `    npmPublishRegistry: "${server.url}"`,
      `    npmAuthToken: "${token}"`,
      `unsafeHttpWhitelist: ["${new URL(server.url).hostname}"]`,
      'enableTelemetry: false',
      '',
    ].join('\n'),
  );
}

const passed = (res: Run, what: string) => assert.equal(res.code, 0, `${what}\n${res.stdout}\n${res.stderr}`);
/** The installed package, as Node loads it from the project. */
function require(dir: string, name: string): unknown {
  return createRequire(path.join(dir, 'index.js'))(name);
}
const owners = (out: string) =>
  out
    .trim()
    .split('\n')
    .map((l) => l.split(' ')[0])
    .sort();
const failed = (res: Run, what: string) => assert.notEqual(res.code, 0, `${what} should fail\n${res.stdout}`);

before(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'bulwark-matrix-'));
  for (const name of [...Object.values(ACCOUNT).map((a) => a.user), BYSTANDER])
    await admin(['admin', 'user', 'create', name, '--email', `${name}@example.com`, '--password-stdin'], PASSWORD);
  server = await serve(['--data-dir', dataDir]);
});
after(async () => {
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
  for (const sb of sandboxes) await rm(sb.dir, { recursive: true, force: true });
});

describe('every client, every flow, against bulwark serve', { concurrency: 5 }, () => {
  // pnpm runs its own publish, install and audit, and hands the rest to npm (11 here, see setUp).
  for (const client of ['npm11', 'npm10', 'pnpm'] as const)
    describe(client, { concurrency: 1 }, () => {
      const { user, prefix } = ACCOUNT[client];
      const lib = `${prefix}-kit`;
      const secret = `@${prefix}/vault`;
      const bad = `${prefix}-bad`;
      let sb: Sandbox;
      let session: Sandbox;
      let sessionToken: string;
      let app: string;
      const npm = (args: string[], cwd = sb.dir, env = sb.env) => run(client, args, { cwd, env });
      // pnpm publish refuses outside a clean git checkout unless told not to check.
      const publish = client === 'pnpm' ? ['publish', '--no-git-checks'] : ['publish'];

      before(async () => {
        sb = await setUp((await admin(['admin', 'token', 'create', user])).trim());
      });

      it('whoami with the README token; login with a password gives a session', async () => {
        assert.equal((await npm(['whoami'])).stdout.trim(), user);
        session = await setUp('');
        const login =
          client === 'npm10'
            ? await browserLogin(client, ['login', '--browser=false'], { cwd: session.dir, env: session.env }, user)
            : await interact(
                client,
                ['login', '--auth-type=legacy'],
                [
                  [/Username: $/, `${user}\n`],
                  [/Password: $/, `${PASSWORD}\n`],
                ],
                { cwd: session.dir, env: session.env },
              );
        passed(login, 'npm login');
        assert.match(login.stdout + login.stderr, new RegExp(`Logged in (as ${user} )?on ${server.url}`));
        assert.equal((await npm(['whoami'], session.dir, session.env)).stdout.trim(), user);
        const rc = await readFile(path.join(session.home, '.npmrc'), 'utf8');
        sessionToken = /:_authToken=(bwk_\w+)/.exec(rc)?.[1] ?? '';
        assert.ok(sessionToken, rc);
      });

      it('publishes a package, a second version, and a restricted scoped package', async () => {
        for (const [name, version] of [
          [lib, '1.0.0'],
          [lib, '1.1.0'],
          [bad, '1.0.0'],
          [bad, '1.0.1'],
        ] as const)
          passed(await npm(publish, await writePackage(path.join(sb.dir, name, version), { name, version })), name);
        const scoped = await writePackage(path.join(sb.dir, 'vault'), { name: secret, version: '1.0.0' });
        passed(await npm([...publish, '--access', 'restricted'], scoped), 'publish --access restricted');
        assert.equal((await fetch(`${server.url}/${secret.replace('/', '%2f')}`)).status, 404, 'hidden anonymously');
      });

      it('view, search', async () => {
        assert.equal((await npm(['view', lib, 'version'])).stdout.trim(), '1.1.0');
        assert.deepEqual(JSON.parse((await npm(['view', lib, 'versions', '--json'])).stdout), ['1.0.0', '1.1.0']);
        assert.equal((await npm(['view', secret, 'name'])).stdout.trim(), secret, 'the owner reads it');
        const found = await npm(['search', prefix, '--json']);
        passed(found, 'search');
        assert.deepEqual(
          JSON.parse(found.stdout)
            .map((p: { name: string }) => p.name)
            .sort(),
          [secret, bad, lib].sort(),
        );
      });

      it('dist-tag add, ls, rm', async () => {
        passed(await npm(['dist-tag', 'add', `${lib}@1.0.0`, 'stable']), 'dist-tag add');
        assert.match((await npm(['dist-tag', 'ls', lib])).stdout, /^stable: 1\.0\.0$/m);
        passed(await npm(['dist-tag', 'rm', lib, 'stable']), 'dist-tag rm');
        assert.doesNotMatch((await npm(['dist-tag', 'ls', lib])).stdout, /stable/);
      });

      it('installs with a lockfile, then from the lockfile alone with an empty cache', async () => {
        app = await writePackage(path.join(sb.dir, 'app'), { name: 'app', version: '1.0.0', private: true });
        const deps = [`${lib}@^1.0.0`, secret, `${bad}@^1.0.0`];
        if (client === 'pnpm') {
          passed(await npm(['add', ...deps, `--store-dir=${path.join(sb.dir, 'store')}`], app), 'pnpm add');
          const lock = await readFile(path.join(app, 'pnpm-lock.yaml'), 'utf8');
          assert.match(lock, new RegExp(`^  ${lib}@1\\.1\\.0:\\n    resolution: \\{integrity: sha512-`, 'm'));
          assert.match(lock, new RegExp(`^  ${bad}@1\\.0\\.1:`, 'm'));
          await rm(path.join(app, 'node_modules'), { recursive: true });
          const fresh = ['install', '--frozen-lockfile', `--store-dir=${path.join(sb.dir, 'fresh-store')}`];
          passed(await npm(fresh, app), 'pnpm install --frozen-lockfile');
        } else {
          passed(await npm(['install', ...deps], app), 'install');
          const lock = JSON.parse(await readFile(path.join(app, 'package-lock.json'), 'utf8'));
          assert.equal(lock.packages[`node_modules/${lib}`].resolved, `${server.url}/${lib}/-/${lib}-1.1.0.tgz`);
          assert.equal(lock.packages[`node_modules/${bad}`].version, '1.0.1');
          await rm(path.join(app, 'node_modules'), { recursive: true });
          passed(await npm(['ci', `--cache=${path.join(sb.dir, 'fresh-cache')}`], app), 'npm ci');
        }
        assert.equal(require(app, secret), secret);
      });

      it('owner add, ls, rm', async () => {
        passed(await npm(['owner', 'add', BYSTANDER, lib]), 'owner add');
        assert.deepEqual(owners((await npm(['owner', 'ls', lib])).stdout), [user, BYSTANDER].sort());
        passed(await npm(['owner', 'rm', BYSTANDER, lib]), 'owner rm');
        assert.deepEqual(owners((await npm(['owner', 'ls', lib])).stdout), [user]);
      });

      it('access: list packages and collaborators, get and set status', async () => {
        const mine = await npm(['access', 'list', 'packages', user, '--json']);
        passed(mine, 'access list packages');
        assert.deepEqual(JSON.parse(mine.stdout), { [lib]: 'read-write', [bad]: 'read-write', [secret]: 'read-write' });
        assert.equal((await npm(['access', 'list', 'collaborators', lib])).stdout.trim(), `${user}: read-write`);
        assert.equal((await npm(['access', 'get', 'status', secret])).stdout.trim(), `${secret}: private`);
        passed(await npm(['access', 'set', 'status=public', secret]), 'access set status=public');
        assert.equal((await fetch(`${server.url}/${secret.replace('/', '%2f')}`)).status, 200, 'public now');
        passed(await npm(['access', 'set', 'status=private', secret]), 'access set status=private');
        assert.equal((await npm(['access', 'get', 'status', secret])).stdout.trim(), `${secret}: private`);
      });

      it('token list, create, revoke with the login session; the README token is refused, naming the fix', async () => {
        const refused = await npm(['token', 'list']);
        failed(refused, 'token list with a scoped token');
        assert.ok(refused.stderr.includes(`npm login --registry=${server.url}/`), refused.stderr);
        const as = { cwd: session.dir, env: session.env };
        const created =
          client !== 'npm10'
            ? await run(client, ['token', 'create', '--name', 'ci', '--password', PASSWORD, '--packages-all'], as)
            : await interact(client, ['token', 'create', '--read-only'], [[/npm password: $/, `${PASSWORD}\n`]], as);
        passed(created, 'token create');
        const token = /Created .*token (bwk_[0-9A-Za-z]{42})/.exec(created.stdout)?.[1];
        assert.ok(token, created.stdout);
        const listed = await run(client, ['token', 'list'], as);
        passed(listed, 'token list');
        const id = new RegExp(`${token.slice(0, 10)}… with id ([0-9a-f]+)`).exec(listed.stdout)?.[1];
        assert.ok(id, listed.stdout);
        passed(await run(client, ['token', 'revoke', id], as), 'token revoke');
        assert.doesNotMatch((await run(client, ['token', 'list'], as)).stdout, new RegExp(token.slice(0, 10)));
      });

      it('profile get with the README token, profile set with the session', async () => {
        const got = await npm(['profile', 'get', '--json']);
        passed(got, 'profile get');
        assert.equal(JSON.parse(got.stdout).name, user);
        passed(await npm(['profile', 'set', 'fullname', 'Test User'], session.dir, session.env), 'profile set');
        assert.equal((await npm(['profile', 'get', 'fullname'])).stdout.trim(), 'Test User');
      });

      it('deprecate and undeprecate', async () => {
        passed(await npm(['deprecate', `${lib}@1.0.0`, 'use 1.1']), 'deprecate');
        assert.equal((await npm(['view', `${lib}@1.0.0`, 'deprecated'])).stdout.trim(), 'use 1.1');
        // npm 11 has a command for it; before, an empty message undeprecates.
        const undo = client === 'npm11' ? ['undeprecate', `${lib}@1.0.0`] : ['deprecate', `${lib}@1.0.0`, ''];
        passed(await npm(undo), 'undeprecate');
        assert.equal((await npm(['view', `${lib}@1.0.0`, 'deprecated'])).stdout.trim(), '');
      });

      it('star, stars, unstar', async () => {
        passed(await npm(['star', lib]), 'star');
        assert.equal((await npm(['stars'])).stdout.trim(), lib);
        passed(await npm(['unstar', lib]), 'unstar');
        assert.equal((await npm(['stars'])).stdout.trim(), '');
      });

      it('audit: clean, then the version a moderator removed as malicious', async () => {
        // npm asks the bulk endpoint; pnpm the quick one, with its lockfile's tree.
        const count = (out: string, level: string) => JSON.parse(out).metadata.vulnerabilities[level] as number;
        const clean = await npm(['audit', '--json'], app);
        passed(clean, 'audit');
        assert.equal(count(clean.stdout, 'critical'), 0);
        await admin(['admin', 'package', 'remove-malicious', `${bad}@1.0.1`, '--reason', 'steals tokens']);
        const found = await npm(['audit', '--json'], app);
        failed(found, 'audit after the removal');
        assert.equal(count(found.stdout, 'critical'), 1, found.stdout);
      });

      it('unpublish a version, then a whole package', async () => {
        passed(await npm(['unpublish', `${lib}@1.1.0`]), 'unpublish version');
        assert.deepEqual(JSON.parse((await npm(['view', lib, 'versions', '--json'])).stdout), ['1.0.0']);
        passed(await npm(['unpublish', secret, '--force']), 'unpublish package');
        const gone = await npm(['view', secret]);
        failed(gone, 'view of an unpublished package');
        assert.match(gone.stderr, /Unpublished on/);
      });

      if (client === 'npm11')
        it('npm trust and npm stage say they are not available and what to do instead', async () => {
          const trust = await npm(['trust', 'list', lib]);
          failed(trust, 'npm trust list');
          assert.match(trust.stderr, /405 Method Not Allowed[^\n]*trusted publishing \(npm trust\) is not available/);
          const dir = await writePackage(path.join(sb.dir, 'staged'), { name: `${prefix}-staged`, version: '1.0.0' });
          const stage = await npm(['stage', 'publish'], dir);
          failed(stage, 'npm stage publish');
          assert.match(stage.stderr, /staged publishing \(npm stage\) is not available[^\n]*`npm publish`/);
        });

      it('logout revokes the session', async () => {
        passed(await npm(['logout'], session.dir, session.env), 'logout');
        const after = await fetch(`${server.url}/-/whoami`, { headers: { authorization: `Bearer ${sessionToken}` } });
        assert.equal(after.status, 401, 'the registry no longer accepts it');
      });
    });

  // yarn 4 has whoami, login, publish, tags, info and audit (`yarn npm …`) and installs; it has no owner, access,
  // token, profile, deprecate, unpublish, search or star commands.
  describe('yarn', { concurrency: 1 }, () => {
    const { user, prefix } = ACCOUNT.yarn;
    const lib = `${prefix}-kit`;
    const secret = `@${prefix}/vault`;
    const bad = `${prefix}-bad`;
    const gone = `${prefix}-gone`;
    let sb: Sandbox;
    let token: string;
    let app: string;
    const yarn = (args: string[], cwd: string) => run('yarn', args, { cwd, env: sb.env });
    async function project(dir: string, manifest: Record<string, unknown>, withToken = true) {
      await writePackage(dir, manifest);
      await yarnrc(dir, withToken ? token : undefined);
      return dir;
    }

    before(async () => {
      token = (await admin(['admin', 'token', 'create', user])).trim();
      sb = await setUp(token);
    });

    it('yarn npm whoami with the README token; yarn npm login with a password, and in the browser', async () => {
      const dir = await project(path.join(sb.dir, 'who'), { name: 'who', version: '1.0.0', private: true });
      assert.match((await yarn(['npm', 'whoami'], dir)).stdout, new RegExp(`YN0000: ${user}$`, 'm'));
      const anonymous = await project(
        path.join(sb.dir, 'login'),
        { name: 'l', version: '1.0.0', private: true },
        false,
      );
      failed(await yarn(['npm', 'whoami'], anonymous), 'whoami without a token');
      const login = await interact(
        'yarn',
        ['npm', 'login'],
        [
          [/Username:/, `${user}\n`],
          [/Password:/, `${PASSWORD}\n`],
        ],
        { cwd: anonymous, env: sb.env },
      );
      passed(login, 'yarn npm login');
      assert.match(login.stdout, /Successfully logged in/);
      assert.match((await yarn(['npm', 'whoami'], anonymous)).stdout, new RegExp(`YN0000: ${user}$`, 'm'));

      const viaWeb = await setUp('');
      const web = await project(path.join(viaWeb.dir, 'web'), { name: 'w', version: '1.0.0', private: true }, false);
      const approved = await browserLogin(
        'yarn',
        ['npm', 'login', '--web-login'],
        { cwd: web, env: viaWeb.env },
        user,
        [/open your browser/, 'n\n'],
      );
      passed(approved, 'yarn npm login --web-login');
      assert.match(approved.stdout, /Successfully logged in/);
      const who = await run('yarn', ['npm', 'whoami'], { cwd: web, env: viaWeb.env });
      assert.match(who.stdout, new RegExp(`YN0000: ${user}$`, 'm'));
    });

    it('yarn npm publish, also a restricted scoped package', async () => {
      for (const [name, version] of [
        [lib, '1.0.0'],
        [lib, '1.1.0'],
        [bad, '1.0.0'],
        [bad, '1.0.1'],
        [gone, '1.0.0'],
        [secret, '1.0.0'],
      ] as const) {
        const dir = await project(path.join(sb.dir, name, version), { name, version });
        // The scoped package as docs/clients.md configures "only your scope": without npmPublishRegistry in the
        // scope, yarn would send it to registry.yarnpkg.com.
        if (name === secret) await yarnrcForScope(dir, prefix, token);
        // yarn publishes only a workspace its lockfile knows.
        passed(await yarn(['install'], dir), 'yarn install before publishing');
        const access = name === secret ? ['--access', 'restricted'] : [];
        passed(await yarn(['npm', 'publish', ...access], dir), `yarn npm publish ${name}@${version}`);
      }
      assert.equal((await fetch(`${server.url}/${secret.replace('/', '%2f')}`)).status, 404, 'hidden anonymously');
    });

    it('yarn npm info; yarn npm tag add, list, remove', async () => {
      const dir = path.join(sb.dir, 'who');
      const info = JSON.parse((await yarn(['npm', 'info', lib, '--json'], dir)).stdout);
      assert.equal(info.version, '1.1.0');
      assert.deepEqual(info.versions, ['1.0.0', '1.1.0']);
      assert.equal(JSON.parse((await yarn(['npm', 'info', secret, '--json'], dir)).stdout).name, secret);
      passed(await yarn(['npm', 'tag', 'add', `${lib}@1.0.0`, 'stable'], dir), 'tag add');
      assert.match((await yarn(['npm', 'tag', 'list', lib], dir)).stdout, new RegExp(`${lib}@stable → 1\\.0\\.0`));
      passed(await yarn(['npm', 'tag', 'remove', lib, 'stable'], dir), 'tag remove');
      assert.doesNotMatch((await yarn(['npm', 'tag', 'list', lib], dir)).stdout, /stable/);
    });

    it('installs with yarn.lock, then from it alone with an empty cache (--immutable)', async () => {
      app = await project(path.join(sb.dir, 'app'), {
        name: 'app',
        version: '1.0.0',
        private: true,
        dependencies: { [lib]: '^1.0.0', [secret]: '1.0.0', [bad]: '^1.0.0', [gone]: '1.0.0' },
      });
      passed(await yarn(['install'], app), 'yarn install');
      const lock = await readFile(path.join(app, 'yarn.lock'), 'utf8');
      assert.match(lock, new RegExp(`resolution: "${lib}@npm:1\\.1\\.0"`));
      assert.match(lock, new RegExp(`resolution: "${bad}@npm:1\\.0\\.1"`));
      await rm(path.join(app, 'node_modules'), { recursive: true });
      await rm(path.join(app, '.yarn'), { recursive: true });
      passed(await yarn(['install', '--immutable'], app), 'yarn install --immutable');
      assert.equal(require(app, secret), secret);
    });

    it('yarn npm audit (the bulk endpoint): clean, then a removed version and a removed package', async () => {
      // Without --no-deprecations yarn also reads each installed version's `deprecated` from the packument, and
      // crashes on a version the registry no longer lists, as a removed one (docs/clients.md).
      const audit = ['npm', 'audit', '--all', '--recursive', '--json', '--no-deprecations'];
      const clean = await yarn(audit, app);
      passed(clean, 'yarn npm audit');
      assert.equal(clean.stdout.trim(), '');
      await admin(['admin', 'package', 'remove-malicious', `${bad}@1.0.1`, '--reason', 'steals tokens']);
      await admin(['admin', 'package', 'remove-malicious', gone, '--reason', 'steals tokens']);
      const found = await yarn(audit, app);
      failed(found, 'yarn npm audit after the removals');
      const reported = found.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { value: string; children: { ID: string; Severity: string } });
      assert.deepEqual(reported.map((r) => r.value).sort(), [bad, gone].sort(), found.stdout);
      for (const r of reported) assert.equal(r.children.Severity, 'critical');
    });

    it('a package with no version left reads as one with nothing to install, not as a crash', async () => {
      // A new home: yarn's global metadata cache and offline mirror would otherwise still hold the package.
      const fresh = await setUp(token);
      const dir = await project(path.join(fresh.dir, 'late'), { name: 'late', version: '1.0.0', private: true });
      const res = await run('yarn', ['add', `${gone}@1.0.0`], { cwd: dir, env: fresh.env });
      failed(res, 'yarn add of a removed package');
      assert.match(res.stdout, new RegExp(`${gone}@npm:1\\.0\\.0: No candidates found`), res.stdout);
      assert.doesNotMatch(res.stdout, /TypeError/);
    });
  });

  // bun has whoami (`bun pm whoami`), publish, info, install and audit; it logs in only through .npmrc and has no
  // dist-tag, owner, access, token, profile, deprecate, unpublish, search or star commands.
  describe('bun', { concurrency: 1 }, () => {
    const { user, prefix } = ACCOUNT.bun;
    const lib = `${prefix}-kit`;
    const secret = `@${prefix}/vault`;
    const bad = `${prefix}-bad`;
    let sb: Sandbox;
    let app: string;
    const bun = (args: string[], cwd = sb.dir, env = sb.env) => run('bun', args, { cwd, env });

    before(async () => {
      sb = await setUp((await admin(['admin', 'token', 'create', user])).trim());
    });

    it('bun pm whoami with the README token', async () => {
      assert.equal((await bun(['pm', 'whoami'])).stdout.trim(), user);
    });

    it('bun publish, also a restricted scoped package', async () => {
      for (const [name, version] of [
        [lib, '1.0.0'],
        [lib, '1.1.0'],
        [bad, '1.0.0'],
        [bad, '1.0.1'],
        [secret, '1.0.0'],
      ] as const) {
        const access = name === secret ? ['--access', 'restricted'] : [];
        const dir = await writePackage(path.join(sb.dir, name, version), { name, version });
        passed(await bun(['publish', ...access], dir), `bun publish ${name}@${version}`);
      }
      assert.equal((await fetch(`${server.url}/${secret.replace('/', '%2f')}`)).status, 404, 'hidden anonymously');
    });

    it('bun info', async () => {
      assert.equal((await bun(['info', lib, 'version'])).stdout.trim(), '1.1.0');
      assert.deepEqual(JSON.parse((await bun(['info', lib, 'versions', '--json'])).stdout), ['1.0.0', '1.1.0']);
      assert.equal((await bun(['info', secret, 'name'])).stdout.trim(), secret);
    });

    it('installs with bun.lock, then from it alone with an empty cache (--frozen-lockfile)', async () => {
      app = await writePackage(path.join(sb.dir, 'app'), { name: 'app', version: '1.0.0', private: true });
      passed(await bun(['add', `${lib}@^1.0.0`, secret, `${bad}@^1.0.0`], app), 'bun add');
      const lock = await readFile(path.join(app, 'bun.lock'), 'utf8');
      assert.ok(lock.includes(`"${lib}@1.1.0", "${server.url}/${lib}/-/${lib}-1.1.0.tgz"`), lock);
      await rm(path.join(app, 'node_modules'), { recursive: true });
      const env = { ...sb.env, BUN_INSTALL_CACHE_DIR: path.join(sb.dir, 'fresh-cache') };
      passed(await bun(['install', '--frozen-lockfile'], app, env), 'bun install --frozen-lockfile');
      assert.equal(require(app, secret), secret);
    });

    it('bun audit (the bulk endpoint): clean, then the version a moderator removed', async () => {
      const clean = await bun(['audit', '--json'], app);
      passed(clean, 'bun audit');
      assert.deepEqual(JSON.parse(clean.stdout), {});
      await admin(['admin', 'package', 'remove-malicious', `${bad}@1.0.1`, '--reason', 'steals tokens']);
      const found = await bun(['audit', '--json'], app);
      failed(found, 'bun audit after the removal');
      const report = JSON.parse(found.stdout);
      assert.deepEqual(Object.keys(report), [bad]);
      assert.equal(report[bad][0].severity, 'critical');
    });
  });
});
