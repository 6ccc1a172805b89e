// Runs the real package-manager clients pinned in devDependencies, each isolated from the machine's own
// configuration (a temporary HOME, cache and npmrc; no npm_config_* variables inherited from `npm test`).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const nm = (p: string) => path.join(root, 'node_modules', p);

export const CLIENTS = {
  npm11: { cmd: process.execPath, pre: [nm('npm11/bin/npm-cli.js')] },
  npm10: { cmd: process.execPath, pre: [nm('npm10/bin/npm-cli.js')] },
  pnpm: { cmd: process.execPath, pre: [nm('pnpm/bin/pnpm.cjs')] },
  yarn: { cmd: process.execPath, pre: [nm('@yarnpkg/cli-dist/bin/yarn.js')] },
  bun: { cmd: nm('bun/bin/bun.exe'), pre: [] },
} as const;
export type ClientName = keyof typeof CLIENTS;

export type Sandbox = { dir: string; home: string; env: NodeJS.ProcessEnv };

/** A temporary HOME with an .npmrc pointing at the registry (and holding the token, if any). */
export async function sandbox(registryUrl: string, token?: string): Promise<Sandbox> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bulwark-e2e-'));
  const home = path.join(dir, 'home');
  await mkdir(home, { recursive: true });
  const hostPath = registryUrl.replace(/^https?:/, '');
  const npmrc = [
    `registry=${registryUrl}/`,
    token ? `${hostPath}/:_authToken=${token}` : '',
    'fund=false',
    'audit=false',
    'update-notifier=false',
    '',
  ].join('\n');
  await writeFile(path.join(home, '.npmrc'), npmrc);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_|^yarn_|^pnpm_|^bun_/i.test(k)) env[k] = v;
  Object.assign(env, {
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_DATA_HOME: path.join(home, '.local/share'),
    npm_config_userconfig: path.join(home, '.npmrc'),
    npm_config_globalconfig: path.join(home, 'npmrc-global'),
    npm_config_cache: path.join(home, '.npm'),
    BUN_INSTALL_CACHE_DIR: path.join(home, '.bun-cache'),
    YARN_ENABLE_IMMUTABLE_INSTALLS: 'false',
    YARN_ENABLE_TELEMETRY: '0',
    COREPACK_ENABLE_STRICT: '0',
    NO_UPDATE_NOTIFIER: '1',
    PATH: `${path.dirname(process.execPath)}:${env.PATH ?? ''}`,
  });
  return { dir, home, env };
}

export type Run = { code: number; stdout: string; stderr: string };

export function run(
  client: ClientName,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; input?: string; timeoutMs?: number },
): Promise<Run> {
  const c = CLIENTS[client];
  return new Promise((resolve) => {
    const child = execFile(
      c.cmd,
      [...c.pre, ...args],
      { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs ?? 180_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

/** Like run, but fails with the client's output when it exits non-zero. */
export async function ok(client: ClientName, args: string[], opts: Parameters<typeof run>[2]): Promise<Run> {
  const r = await run(client, args, opts);
  if (r.code !== 0)
    throw new Error(`${client} ${args.join(' ')} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r;
}

/**
 * Runs a client that prompts (npm adduser/login): each answer is typed when its prompt appears on stdout. An answer
 * may be a function of everything printed so far (a code computed from a secret the client just showed).
 */
export function interact(
  client: ClientName,
  args: string[],
  answers: Array<[RegExp, string | ((stdout: string) => string)]>,
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Run> {
  const c = CLIENTS[client];
  return new Promise((resolve) => {
    const child = spawn(c.cmd, [...c.pre, ...args], { cwd: opts.cwd, env: opts.env });
    let stdout = '';
    let stderr = '';
    let pending = '';
    const queue = [...answers];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill();
    }, opts.timeoutMs ?? 60_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      pending += d;
      const next = queue[0];
      if (next && next[0].test(pending)) {
        queue.shift();
        pending = '';
        // npm prints a prompt a moment before its reader is listening; an answer that arrives earlier can be read by
        // the previous prompt's reader as it closes (seen with npm 10 on a loaded machine). Answer after a pause.
        const answer = typeof next[1] === 'function' ? next[1](stdout) : next[1];
        setTimeout(() => child.stdin.write(answer), 150);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('close', (code) => {
      clearTimeout(timer);
      // A hung prompt says which answer it was waiting for and what it had seen, so a failure explains itself.
      if (timedOut)
        stderr += `\n[timed out waiting for ${String(queue[0]?.[0] ?? 'exit')}; stdout so far: ${JSON.stringify(stdout.slice(-500))}]`;
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

/** What npm's package-lock.json in dir pins, name@version to integrity, each entry checked to resolve from registry. */
export async function npmLockIntegrities(dir: string, registry: string): Promise<Map<string, string>> {
  const lock = JSON.parse(await readFile(path.join(dir, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version: string; resolved: string; integrity: string }>;
  };
  const out = new Map<string, string>();
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (!key) continue;
    assert.ok(entry.resolved.startsWith(`${registry}/`), `${key} resolved from ${entry.resolved}`);
    out.set(`${key.slice(key.lastIndexOf('node_modules/') + 13)}@${entry.version}`, entry.integrity);
  }
  return out;
}
