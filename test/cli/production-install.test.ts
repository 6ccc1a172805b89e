// A production install, as docs/deploy.md tells an operator to make one: `npm pack` (which builds dist/), the tarball
// installed into an empty folder without devDependencies, and `bulwark serve` run by the Node LTS lines users have
// (22 and 24, from the npm registry's Node binaries) rather than the Node 26 this repo pins for its own work. The
// real npm then publishes a package to it and installs that package back.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ok, sandbox } from '../helpers/clients.ts';
import { bulwark, serve } from '../helpers/bulwark-process.ts';
import { LTS_NODES, nodeBinary, type LtsMajor } from '../helpers/node-binaries.ts';

const root = path.resolve(import.meta.dirname, '../..');
/** The machine's npm cache, so a fresh clone installs the registry's dependencies without downloading them again. */
const npmCache = process.env.npm_config_cache ?? path.join(os.homedir(), '.npm');

// The Node versions run side by side: each test has its own server, data and client folders.
describe('a production install', { concurrency: true }, () => {
  let out = '';
  let app = '';
  let files: string[] = [];
  let cleanup = async () => {};

  before(async () => {
    out = await mkdtemp(path.join(os.tmpdir(), 'bulwark-prod-'));
    const sb = await sandbox('https://registry.npmjs.org');
    cleanup = async () => {
      await rm(out, { recursive: true, force: true });
      await rm(sb.dir, { recursive: true, force: true });
    };
    // The Node binaries are fetched while the package builds.
    const binaries = Promise.all([nodeBinary(22), nodeBinary(24)]);
    const packed = await ok('npm11', ['pack', '--pack-destination', out, '--json'], {
      cwd: root,
      env: sb.env,
      timeoutMs: 300_000,
    });
    const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    files = info!.files.map((f) => f.path);
    app = path.join(out, 'app');
    await mkdir(app);
    await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'runs-bulwark', private: true }));
    const args = ['--omit=dev', '--cache', npmCache, '--prefer-offline', '--no-audit', '--no-fund'];
    await ok('npm11', ['install', path.join(out, info!.filename), ...args], {
      cwd: app,
      env: sb.env,
      timeoutMs: 300_000,
    });
    await binaries;
  });
  after(() => cleanup());

  it('ships compiled JavaScript, the files it reads at run time, and neither sources nor tests', async () => {
    for (const f of ['bin/bulwark.js', 'dist/cli/main.js', 'dist/safety/scan/worker.js', 'dist/web/static/style.css'])
      assert.ok(files.includes(f), `${f} is in the package`);
    assert.ok(!files.some((f) => /^(src|test|bench|scripts)\//.test(f)), 'no sources, tests or scripts');
    const installed = path.join(app, 'node_modules');
    assert.deepEqual((await readdir(path.join(installed, 'bulwark'))).includes('src'), false);
    const has = async (name: string) => (await readdir(installed)).includes(name);
    assert.equal(await has('fastify'), true, 'dependencies are installed');
    assert.equal(await has('typescript'), false, 'devDependencies are not');
  });

  for (const major of Object.keys(LTS_NODES).map(Number) as LtsMajor[])
    it(`serves on Node ${major}: the real npm publishes to it and installs from it`, () =>
      publishAndInstall(major, app));
});

async function publishAndInstall(major: LtsMajor, app: string): Promise<void> {
  const node = await nodeBinary(major);
  assert.match((await promisify(execFile)(node, ['--version'])).stdout, new RegExp(`^v${major}\\.`));
  const bin = path.join(app, 'node_modules', '.bin', 'bulwark');
  // Metrics on, so prom-client and Node's own metrics are loaded by this Node too.
  const env = { BULWARK_SECRET_KEY: 'p'.repeat(40), BULWARK_METRICS: 'public' };
  const data = ['--data-dir', path.join(app, `data-${major}`)];
  const opts = { bin, cwd: app, env, node };

  const help = await bulwark(['--help'], opts);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /bulwark <command>/);
  assert.doesNotMatch(help.stderr, /Warning/, 'an operator sees no warning from a supported Node');
  const created = await bulwark(
    ['admin', 'user', 'create', 'ops', '--email', 'ops@example.com', '--admin', '--password-stdin', ...data],
    { ...opts, input: 'a-long-enough-password\n' },
  );
  assert.equal(created.code, 0, created.stderr);
  const token = /^bwk_\S+$/m.exec((await bulwark(['admin', 'token', 'create', 'ops', ...data], opts)).stdout)?.[0];
  assert.ok(token, 'the admin command prints a token');

  const server = await serve(data, opts);
  const sb = await sandbox(server.url, token);
  try {
    // A publish runs what reads files from beside the compiled code: the scanner's worker thread and signature
    // database, the protected-name list, the migrations that made the database at start.
    const pkg = path.join(sb.dir, 'pkg');
    await mkdir(pkg);
    const name = `on-node-${major}`;
    await writeFile(path.join(pkg, 'package.json'), JSON.stringify({ name, version: '1.0.0', main: 'index.js' }));
    await writeFile(path.join(pkg, 'index.js'), `module.exports = 'served by Node ${major}';\n`);
    await ok('npm11', ['publish'], { cwd: pkg, env: sb.env });

    const consumer = path.join(sb.dir, 'consumer');
    await mkdir(consumer);
    await writeFile(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    await ok('npm11', ['install', name], { cwd: consumer, env: sb.env });
    const lock = JSON.parse(await readFile(path.join(consumer, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { resolved?: string; integrity?: string }>;
    };
    const entry = lock.packages[`node_modules/${name}`]!;
    assert.equal(entry.resolved, `${server.url}/${name}/-/${name}-1.0.0.tgz`);
    assert.match(entry.integrity ?? '', /^sha512-/);
    assert.equal(
      await readFile(path.join(consumer, 'node_modules', name, 'index.js'), 'utf8'),
      `module.exports = 'served by Node ${major}';\n`,
    );
    const metrics = await fetch(`${server.url}/-/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(
      await metrics.text(),
      /^bulwark_http_request_duration_seconds_count\{method="PUT",route="\/:name",status="201"\} 1$/m,
    );
    assert.deepEqual(
      server.logs.filter((l) => /Warning|"level":[56]0/.test(l)),
      [],
      'the server logged no warning or error',
    );
  } finally {
    assert.equal(await server.stop(), 0, 'bulwark serve stops cleanly on SIGTERM');
    await rm(sb.dir, { recursive: true, force: true });
  }
}
