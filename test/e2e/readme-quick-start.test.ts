// The README's quick start, step by step, with the real `bulwark` binary and the real npm 11: the first administrator
// and the token the README has them create, put in npm's config exactly as the README says; then what a new user tries
// next. `npm access list packages USER` lists the user's packages (npm asks /-/org/USER/package first) and the other
// read forms answer; `npm token list` with that scoped token is refused with the exact command that gets a credential
// that can manage tokens, and running that command (npm login, approved on the web page) makes `npm token list` work.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bulwark, serve, type Served } from '../helpers/bulwark-process.ts';
import { CLIENTS, ok, run, sandbox, type Sandbox } from '../helpers/clients.ts';
import { WebClient, csrfIn } from '../helpers/web-client.ts';

const PASSWORD = 'correct-horse-battery-staple';

describe('the README quick start with npm 11', () => {
  let dataDir: string;
  let server: Served;
  let sb: Sandbox;
  let token: string;
  const npm = (args: string[], cwd = sb.dir) => run('npm11', args, { cwd, env: sb.env });

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'bulwark-readme-'));
    const at = ['--data-dir', dataDir];
    // printf '%s' "$PASSWORD" | npm run -s bulwark -- admin user create alice --email alice@example.com --admin --password-stdin
    const created = await bulwark(
      ['admin', 'user', 'create', 'alice', '--email', 'alice@example.com', '--admin', '--password-stdin', ...at],
      { input: PASSWORD },
    );
    assert.equal(created.code, 0, created.stderr);
    // npm run -s bulwark -- admin token create alice
    const issued = await bulwark(['admin', 'token', 'create', 'alice', ...at]);
    assert.equal(issued.code, 0, issued.stderr);
    token = issued.stdout.trim();
    assert.match(token, /^bwk_[0-9A-Za-z]{42}$/);
    server = await serve(at);
    sb = await sandbox(server.url);
    // npm config set //127.0.0.1:4873/:_authToken "bwk_…" and npm config set registry http://127.0.0.1:4873/
    await ok('npm11', ['config', 'set', `${server.url.replace(/^http:/, '')}/:_authToken`, token], {
      cwd: sb.dir,
      env: sb.env,
    });
    await ok('npm11', ['config', 'set', 'registry', `${server.url}/`], { cwd: sb.dir, env: sb.env });
    assert.equal((await ok('npm11', ['whoami'], { cwd: sb.dir, env: sb.env })).stdout.trim(), 'alice');

    const lib = path.join(sb.dir, 'alices-lib');
    await mkdir(lib, { recursive: true });
    await writeFile(path.join(lib, 'package.json'), JSON.stringify({ name: 'alices-lib', version: '1.0.0' }));
    await writeFile(path.join(lib, 'index.js'), 'module.exports = 1;\n');
    await ok('npm11', ['publish'], { cwd: lib, env: sb.env });
  });
  after(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(sb.dir, { recursive: true, force: true });
  });

  it('npm access lists the user’s packages, collaborators and status with that token', async () => {
    for (const args of [
      ['access', 'list', 'packages', 'alice'],
      ['access', 'list', 'packages'],
    ]) {
      const res = await npm(args);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stdout.trim(), 'alices-lib: read-write');
    }
    const json = await npm(['access', 'list', 'packages', 'alice', '--json']);
    assert.deepEqual(JSON.parse(json.stdout), { 'alices-lib': 'read-write' });
    assert.equal((await npm(['access', 'list', 'collaborators', 'alices-lib'])).stdout.trim(), 'alice: read-write');
    assert.equal((await npm(['access', 'get', 'status', 'alices-lib'])).stdout.trim(), 'alices-lib: public');
    // Someone who has published nothing: an empty list, not an error.
    assert.equal(
      (
        await bulwark(
          ['admin', 'user', 'create', 'bob', '--email', 'bob@example.com', '--password-stdin', '--data-dir', dataDir],
          { input: PASSWORD },
        )
      ).code,
      0,
    );
    const empty = await npm(['access', 'list', 'packages', 'bob', '--json']);
    assert.equal(empty.code, 0, empty.stderr);
    assert.deepEqual(JSON.parse(empty.stdout), {});
  });

  it('npm token list names the command that fixes it, and that command does', async () => {
    const refused = await npm(['token', 'list']);
    assert.notEqual(refused.code, 0);
    const command = new RegExp(`\`(npm login --registry=${server.url.replace(/[.]/g, '\\.')}/)\``).exec(refused.stderr);
    assert.ok(command, refused.stderr);

    // Run exactly that command; npm prints where to log in and waits while the browser approves.
    const args = command[1]!.split(' ').slice(1);
    const login = spawn(CLIENTS.npm11.cmd, [...CLIENTS.npm11.pre, ...args], { cwd: sb.dir, env: sb.env });
    let out = '';
    login.stdout.on('data', (d: Buffer) => (out += d));
    login.stderr.on('data', (d: Buffer) => (out += d));
    const exit = new Promise<number>((resolve) => login.on('close', (code) => resolve(code ?? 1)));
    let url: string | undefined;
    for (let i = 0; i < 300 && !url; i++) {
      url = /Login at:\n(http\S+)/.exec(out)?.[1];
      if (!url) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(url, out);
    const web = new WebClient(server.url);
    const page = new URL(url).pathname;
    await web.signIn('alice', PASSWORD, page);
    const approve = await web.get(page);
    assert.equal((await web.post(`${page}/approve`, { _csrf: csrfIn(approve.text) })).status, 200);
    assert.equal(await exit, 0, out);

    const listed = await npm(['token', 'list']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(
      listed.stdout,
      new RegExp(`Token ${token.slice(0, 10)}… with id [0-9a-f]{6,} name created by an operator`),
    );
    assert.equal((await npm(['whoami'])).stdout.trim(), 'alice');
  });
});
