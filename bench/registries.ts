// Starting the servers under test, each in a fresh temporary state, and the cold `npm install` measurement.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { NODE, ROOT, cleanEnv, freePort, mustRun, startServer, tempDir, type Server } from './processes.ts';

export type Registry = Server & { token: string };

const BULWARK_BIN = path.join(ROOT, 'bench', 'bulwark-dist.js');
/** The checkout's sources, type-stripped (what the tests run), for benchmarks that compare Bulwark with itself. */
export const SOURCE_BIN = path.join(ROOT, 'bin', 'bulwark.js');
const BENCH = path.join(ROOT, 'bench');
export const VERDACCIO_BIN = path.join(BENCH, 'node_modules', 'verdaccio', 'bin', 'verdaccio');
export const NPM11 = path.join(ROOT, 'node_modules', 'npm11', 'bin', 'npm-cli.js');
const USER = 'bench';
const PASSWORD = 'load-test-password-1234';

/** Compiles src/ to dist/ (what an installed bulwark runs); startBulwark runs that. */
export async function buildBulwark(): Promise<void> {
  await mustRun('npm run build', NODE, [path.join(ROOT, 'scripts', 'build.ts')], { env: cleanEnv({}) });
}

/**
 * A fresh Bulwark on SQLite in `dataDir`: an administrator and a publish token made with the CLI first, then
 * `bulwark serve` on a free loopback port with warn-level logs (no per-request log lines).
 */
/** serveArgs: extra `serve` options; by default no upstream proxy, so a missing package is a 404 measured here, not a proxy miss. */
export async function startBulwark(
  dataDir: string,
  serveArgs: string[] = ['--upstream', 'none'],
  bin: string = BULWARK_BIN,
): Promise<Registry> {
  const env = cleanEnv({ BULWARK_SECRET_KEY: randomBytes(24).toString('hex') });
  const store = ['--data-dir', dataDir];
  await mustRun(
    'bulwark admin user create',
    NODE,
    [bin, 'admin', 'user', 'create', USER, '--email', 'bench@example.com', '--admin', '--password-stdin', ...store],
    { env, input: `${PASSWORD}\n` },
  );
  const created = await mustRun(
    'bulwark admin token create',
    NODE,
    [bin, 'admin', 'token', 'create', USER, '--name', 'benchmark', ...store],
    { env },
  );
  const token = created.stdout.trim().split('\n').at(-1)?.trim() ?? '';
  if (!token) throw new Error(`bulwark admin token create printed no token:\n${created.stdout}`);
  // `serve` announces its URL in an info-level line, which --log-level warn hides: pick the port here so the URL is
  // known either way (an announced URL is still preferred when one appears).
  const port = await freePort();
  const server = await startServer(
    'bulwark',
    NODE,
    [bin, 'serve', '--host', '127.0.0.1', '--port', String(port), ...store, '--log-level', 'warn', ...serveArgs],
    {
      env,
      url: `http://127.0.0.1:${port}`,
      probe: '/-/ready',
    },
  );
  return { ...server, token };
}

/** Installs Verdaccio into bench/node_modules with the machine's npm when it is missing (the only network use). */
export async function ensureVerdaccio(): Promise<void> {
  if (existsSync(VERDACCIO_BIN)) return;
  console.log('installing Verdaccio into bench/node_modules (npm install in bench/) …');
  await mustRun('npm install (bench/)', 'npm', ['install', '--no-audit', '--no-fund'], {
    cwd: BENCH,
    env: cleanEnv(),
    timeoutMs: 600_000,
  });
  if (!existsSync(VERDACCIO_BIN)) throw new Error(`npm install in bench/ did not install ${VERDACCIO_BIN}`);
}

export async function verdaccioVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(path.join(BENCH, 'node_modules', 'verdaccio', 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/**
 * A fresh Verdaccio with storage only: no uplinks, every package readable by anyone and publishable by any logged-in
 * user, htpasswd accounts, warn-level logs. A user is created over the npm protocol to get a token.
 */
/** createUser: false restarts Verdaccio on a directory that already has its user (the token is then empty). */
export async function startVerdaccio(dir: string, createUser = true): Promise<Registry> {
  const port = await freePort();
  const config = path.join(dir, 'config.yaml');
  await writeFile(
    config,
    [
      `storage: ${JSON.stringify(path.join(dir, 'storage'))}`,
      'auth:',
      '  htpasswd:',
      `    file: ${JSON.stringify(path.join(dir, 'htpasswd'))}`,
      '    max_users: 1000',
      'uplinks: {}',
      'packages:',
      "  '**':",
      '    access: $all',
      '    publish: $authenticated',
      'log: { type: stdout, format: json, level: warn }',
      `listen: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const server = await startServer('verdaccio', NODE, [VERDACCIO_BIN, '--config', config], {
    cwd: dir,
    url: `http://127.0.0.1:${port}`,
    probe: '/-/ping',
  });
  if (!createUser) return { ...server, token: '' };
  const res = await fetch(`${server.url}/-/user/org.couchdb.user:${USER}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      _id: `org.couchdb.user:${USER}`,
      name: USER,
      password: PASSWORD,
      type: 'user',
      roles: [],
      date: new Date().toISOString(),
    }),
  });
  const answer = (await res.json()) as { token?: string };
  if (res.status !== 201 || !answer.token)
    throw new Error(`creating the Verdaccio user answered ${res.status}: ${JSON.stringify(answer)}`);
  return { ...server, token: answer.token };
}

/** The ceiling: bench/ceiling.ts serving the given bytes from memory. */
export async function startCeiling(
  files: { full: Buffer; abbreviated: Buffer; tarball: Buffer },
  pkg: string,
  tarballFile: string,
): Promise<Server> {
  const dir = tempDir('bulwark-bench-ceiling-');
  await writeFile(path.join(dir, 'full.json'), files.full);
  await writeFile(path.join(dir, 'abbreviated.json'), files.abbreviated);
  await writeFile(path.join(dir, 'tarball.tgz'), files.tarball);
  return startServer('node:http ceiling', NODE, [path.join(BENCH, 'ceiling.ts'), dir, pkg, tarballFile], {
    probe: '/-/ping',
  });
}

export type InstallResult = { medianSeconds: number; seconds: number[]; packages: number };

/**
 * One cold install of express from `registry`: a new project with an empty cache, a HOME of its own, and an npmrc
 * holding only the registry (the machine's ~/.npmrc and npm_config_* variables are kept out). Checks that express was
 * installed and that every package came from this registry.
 */
export async function coldInstall(
  label: string,
  registry: string,
  rootVersion: string,
): Promise<{ seconds: number; packages: number }> {
  const dir = tempDir('bulwark-bench-install-');
  const project = path.join(dir, 'project');
  const home = path.join(dir, 'home');
  await mkdir(project, { recursive: true });
  await mkdir(home, { recursive: true });
  await writeFile(
    path.join(project, 'package.json'),
    JSON.stringify(
      { name: 'bench-install', version: '1.0.0', private: true, dependencies: { express: rootVersion } },
      null,
      2,
    ),
  );
  await writeFile(path.join(dir, 'npmrc'), `registry=${registry}/\n`);
  await writeFile(path.join(dir, 'npmrc-global'), '');
  const env = cleanEnv({
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    NO_UPDATE_NOTIFIER: '1',
  });
  const args = [
    NPM11,
    'install',
    '--cache',
    path.join(dir, 'cache'),
    '--userconfig',
    path.join(dir, 'npmrc'),
    '--globalconfig',
    path.join(dir, 'npmrc-global'),
    '--no-audit',
    '--no-fund',
    '--ignore-scripts',
    '--no-update-notifier',
  ];
  const r = await mustRun(`npm install from ${label}`, NODE, args, { cwd: project, env });
  const installed = JSON.parse(
    await readFile(path.join(project, 'node_modules', 'express', 'package.json'), 'utf8'),
  ) as { version: string };
  if (installed.version !== rootVersion)
    throw new Error(`npm install from ${label} installed express@${installed.version}, expected ${rootVersion}`);
  const lock = JSON.parse(await readFile(path.join(project, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { resolved?: string }>;
  };
  const entries = Object.entries(lock.packages).filter(([k]) => k.startsWith('node_modules/'));
  const foreign = entries.filter(([, v]) => !v.resolved?.startsWith(`${registry}/`));
  if (foreign.length)
    throw new Error(
      `npm install from ${label}: ${foreign.length} packages not resolved from ${registry}, e.g. ${foreign[0]![0]} → ${foreign[0]![1].resolved}`,
    );
  const seconds = r.ms / 1000;
  console.log(
    `  ${label}: cold npm install express@${rootVersion}: ${seconds.toFixed(2)} s (${entries.length} packages)`,
  );
  await rm(dir, { recursive: true, force: true });
  return { seconds, packages: entries.length };
}
