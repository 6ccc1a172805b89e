// The real npm 11 CLI through its browser flows: `npm login` and `npm adduser` (auth-type=web, npm 11's default)
// approved in a real Chromium while npm polls, and `npm publish` by an account whose second factor covers writes,
// where npm on a terminal opens the web OTP page, the code is typed there, and the publish goes through. Without a
// terminal npm prints the link (it never tries to open a browser there) and `--otp` keeps working.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLIENTS, ok, run, sandbox, type Sandbox } from '../helpers/clients.ts';
import { browserUrl, launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { codeAt, enableMfa, signInWithCode } from '../helpers/totp.ts';
import { WebClient, csrfIn } from '../helpers/web-client.ts';

const PASSWORD = 'correct-horse-battery';

/** npm running in the background, its output readable while it runs. */
type Running = {
  child: ChildProcess;
  output: () => string;
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  exit: Promise<number>;
};

function start(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Running {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (out += d));
  const exit = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  return {
    child,
    output: () => out,
    exit,
    async waitFor(re, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = re.exec(out);
        if (m) return m;
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`npm never printed ${re}; output:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

const npm = (args: string[], sb: Sandbox, cwd = sb.dir) =>
  start(CLIENTS.npm11.cmd, [...CLIENTS.npm11.pre, ...args], { cwd, env: sb.env });

/** npm under a pseudo-terminal (util-linux `script`), so it behaves as for a person at a terminal. */
const npmOnTerminal = (args: string[], sb: Sandbox, cwd: string) => {
  const command = [CLIENTS.npm11.cmd, ...CLIENTS.npm11.pre, ...args]
    .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
    .join(' ');
  return start('script', ['-qefc', command, '/dev/null'], { cwd, env: { ...sb.env, TERM: 'dumb' } });
};

async function makePackage(dir: string, name: string, version: string) {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name, version, main: 'index.js', license: 'MIT' }));
  await writeFile(path.join(dir, 'index.js'), 'module.exports = 1;\n');
}

describe('npm 11 web login, adduser and web OTP against Bulwark', () => {
  let r: TestRegistry;
  let b: TestBrowser;
  let offset = 0;
  const now = () => Date.now() + offset;
  const nextCode = (secret: string) => {
    offset += 30_000;
    return codeAt(secret, now());
  };
  const sandboxes: Sandbox[] = [];
  const fresh = async (token?: string) => {
    const sb = await sandbox(r.url, token);
    sandboxes.push(sb);
    return sb;
  };
  before(async () => {
    r = await startRegistry('sqlite', { 'email-verification': 'admin' }, { clock: now });
    await r.user('wendy');
    b = await launchBrowser();
  });
  after(async () => {
    await b?.close();
    await r?.stop();
    for (const sb of sandboxes) await rm(sb.dir, { recursive: true, force: true });
  });

  it('npm login prints the login URL, waits while the browser signs in and approves, then is logged in', async () => {
    const sb = await fresh();
    const login = npm(['login'], sb);
    const [, url] = await login.waitFor(/Login at:\n(http\S+)/);
    assert.ok(url!.startsWith(`${r.url}/-/web/login/`), url!);

    const { page } = await b.person();
    await page.goto(browserUrl(url!));
    assert.equal(new URL(page.url()).pathname, '/-/web/signin', 'signed out: sent to sign in first');
    await page.fill('input[name=username]', 'wendy');
    await page.fill('input[name=password]', PASSWORD);
    await page.click('form.stack button[type=submit]');
    await page.waitForSelector('#web-login');
    assert.match((await page.textContent('#web-login h1')) ?? '', /Log in to npm\?/);
    await b.screenshot(page, 'npm-web-login-approve');
    await page.click('#web-login form[action$="/approve"] button');
    await page.waitForSelector('#web-login-done');

    assert.equal(await login.exit, 0, login.output());
    assert.match(login.output(), /Logged in on http:\/\/127\.0\.0\.1:\d+\/\./);
    assert.equal((await ok('npm11', ['whoami'], { cwd: sb.dir, env: sb.env })).stdout.trim(), 'wendy');
  });

  it('npm adduser sends a new person to create an account, then approves and is logged in as it', async () => {
    const sb = await fresh();
    const adduser = npm(['adduser'], sb);
    const [, url] = await adduser.waitFor(/Create your account at:\n(http\S+)/);
    const { page } = await b.person();
    await page.goto(browserUrl(url!));
    await page.click('#web-login a.button');
    await page.waitForURL(/\/-\/web\/signup/);
    await page.fill('input[name=username]', 'newbie');
    await page.fill('input[name=email]', 'newbie@example.com');
    await page.fill('input[name=password]', 'a-long-enough-password');
    await page.click('form.stack button[type=submit]');
    // Sign-up returns to the approval page by itself.
    await page.waitForURL(/\/-\/web\/login\//);
    await page.click('#web-login form[action$="/approve"] button');
    await page.waitForSelector('#web-login-done');
    assert.equal(await adduser.exit, 0, adduser.output());
    assert.equal((await ok('npm11', ['whoami'], { cwd: sb.dir, env: sb.env })).stdout.trim(), 'newbie');
  });

  it('npm publish by an auth-and-writes account: web OTP on a terminal, --otp without one', async () => {
    const user = await r.user('otis');
    const secret = await enableMfa(r, 'otis', 'auth-and-writes', now());
    const sb = await fresh(user.token);
    const pkg = path.join(sb.dir, 'pkg');
    await makePackage(pkg, 'otis-pkg', '1.0.0');

    // No terminal: npm cannot ask, so it fails with EOTP and says how to pass the code.
    const refused = await run('npm11', ['publish'], { cwd: pkg, env: sb.env });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /EOTP|one-time password/);

    // A terminal: npm prints the page to open and polls while the code is typed there.
    const publish = npmOnTerminal(['publish', '--browser=false'], sb, pkg);
    const [, url] = await publish.waitFor(/Authenticate your account at:\r?\n(http\S+)/);
    const authPath = new URL(url!).pathname;
    const web = new WebClient(r.url);
    await signInWithCode(web, 'otis', secret, ((offset += 30_000), now()), authPath);
    const form = await web.get(authPath);
    assert.equal(form.status, 200, form.text);
    const approved = await web.post(`${authPath}/approve`, { _csrf: csrfIn(form.text), otp: nextCode(secret) });
    assert.equal(approved.status, 200, approved.text);
    assert.equal(await publish.exit, 0, publish.output());
    assert.match(publish.output(), /\+ otis-pkg@1\.0\.0/);
    assert.equal((await r.request('GET', '/otis-pkg')).json()['dist-tags'].latest, '1.0.0');

    // The classic path beside it.
    await makePackage(pkg, 'otis-pkg', '1.0.1');
    await ok('npm11', ['publish', `--otp=${nextCode(secret)}`], { cwd: pkg, env: sb.env });
    assert.equal((await r.request('GET', '/otis-pkg')).json()['dist-tags'].latest, '1.0.1');
  });
});
