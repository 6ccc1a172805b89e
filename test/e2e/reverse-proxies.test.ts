// The nginx and Caddy examples of docs/deploy.md, as written there, each in front of a real registry over TLS (nginx
// with a certificate made here by openssl, Caddy with its own internal CA): the real npm publishes and installs
// through the proxy, tarball links carry the public https URL, and /-/metrics is refused outside the allowed network.
// Each is skipped where its server is not installed (Debian: apt-get install nginx caddy; .ci/run installs them).
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { get as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ok, sandbox } from '../helpers/clients.ts';
import { startRegistry } from '../helpers/registry.ts';

const NGINX = '/usr/sbin/nginx';
const CADDY = '/usr/bin/caddy';
const root = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

/** The fenced block of that language in docs/deploy.md, the registry's address replaced by this test's. */
async function example(lang: string, upstream: number): Promise<string> {
  const doc = await readFile(path.join(root, 'docs', 'deploy.md'), 'utf8');
  const block = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(doc)?.[1];
  assert.ok(block, `docs/deploy.md has a ${lang} example`);
  assert.ok(block.includes('127.0.0.1:4873'));
  return block.replaceAll('127.0.0.1:4873', `127.0.0.1:${upstream}`);
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await fetch(url, { redirect: 'manual' }).catch(() => null)) return;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`nothing answered at ${url}`);
}

function statusOf(url: string, ca: Buffer): Promise<number | undefined> {
  return new Promise((done, fail) => httpsGet(url, { ca }, (res) => done(res.resume().statusCode)).on('error', fail));
}

type Proxy = { publicUrl: string; ca: string; stop(): void };

/**
 * Starts a registry that believes the proxy's X-Forwarded-For, then the proxy (given the free ports and the
 * registry's port), and checks what a user does through it with the real npm.
 */
async function throughProxy(
  name: string,
  start: (o: { dir: string; https: number; http: number; upstream: number }) => Promise<Proxy>,
) {
  const dir = await mkdtemp(path.join(os.tmpdir(), `bulwark-${name}-`));
  const [https, http] = [await freePort(), await freePort()];
  const registry = await startRegistry('sqlite', {
    'public-url': `https://localhost:${https}`,
    'trust-proxy': '127.0.0.1',
  });
  let proxy: Proxy | undefined;
  try {
    proxy = await start({ dir, https, http, upstream: Number(new URL(registry.url).port) });
    await waitFor(`http://127.0.0.1:${http}/`);
    const redirect = await fetch(`http://127.0.0.1:${http}/-/ping`, { redirect: 'manual' });
    assert.ok([301, 308].includes(redirect.status), `plain HTTP is sent to https (${redirect.status})`);
    assert.match(redirect.headers.get('location') ?? '', /^https:\/\/[^/]+\/-\/ping$/);

    // The real npm, trusting the proxy's certificate, publishes and installs through it.
    const sb = await sandbox(proxy.publicUrl, registry.adminToken);
    await writeFile(path.join(sb.home, '.npmrc'), `cafile=${proxy.ca}\n`, { flag: 'a' });
    const pkg = path.join(sb.dir, 'pkg');
    const pkgName = `behind-${name}`;
    await mkdir(pkg);
    await writeFile(path.join(pkg, 'package.json'), JSON.stringify({ name: pkgName, version: '1.0.0' }));
    await writeFile(path.join(pkg, 'index.js'), 'module.exports = 1;\n');
    await ok('npm11', ['publish'], { cwd: pkg, env: sb.env });
    const consumer = path.join(sb.dir, 'consumer');
    await mkdir(consumer);
    await writeFile(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    await ok('npm11', ['install', pkgName], { cwd: consumer, env: sb.env });
    const lock = JSON.parse(await readFile(path.join(consumer, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { resolved: string }>;
    };
    assert.equal(
      lock.packages[`node_modules/${pkgName}`]!.resolved,
      `${proxy.publicUrl}/${pkgName}/-/${pkgName}-1.0.0.tgz`,
      'tarball links use the public https URL',
    );
    await rm(sb.dir, { recursive: true, force: true });

    // The metrics are for the internal network only: 127.0.0.1 is refused by the proxy itself.
    assert.equal(await statusOf(`${proxy.publicUrl}/-/metrics`, await readFile(proxy.ca)), 403);
  } finally {
    proxy?.stop();
    await registry.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function daemon(cmd: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(env ? { env } : {}) });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + String(d)).slice(-4000)));
  child.on('exit', (code) => {
    if (code) process.stderr.write(`${cmd} exited ${code}:\n${stderr}\n`);
  });
  return child;
}

describe('the reverse-proxy examples of docs/deploy.md', () => {
  it('nginx serves npm over TLS in front of Bulwark', { skip: !existsSync(NGINX) && 'nginx is not installed' }, () =>
    throughProxy('nginx', async ({ dir, https, http, upstream }) => {
      const cert = path.join(dir, 'cert.pem');
      const key = path.join(dir, 'key.pem');
      await run('openssl', [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'],
        ...['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', key, '-out', cert],
      ]);
      const server = (await example('nginx', upstream))
        .replaceAll('npm.example.com', 'localhost')
        .replace('listen 80;', `listen 127.0.0.1:${http};`)
        .replace(/listen 443 ssl http2;.*/, `listen 127.0.0.1:${https} ssl http2;`)
        .replace(/ssl_certificate\s+\S+;/, `ssl_certificate ${cert};`)
        .replace(/ssl_certificate_key\s+\S+;/, `ssl_certificate_key ${key};`);
      await mkdir(path.join(dir, 'logs'));
      const conf = path.join(dir, 'nginx.conf');
      await writeFile(
        conf,
        [
          'daemon off;',
          'worker_processes 1;',
          `pid ${dir}/nginx.pid;`,
          `error_log ${dir}/logs/error.log;`,
          'events { worker_connections 64; }',
          'http {',
          `  access_log ${dir}/logs/access.log;`,
          ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`),
          server,
          '}',
          '',
        ].join('\n'),
      );
      const check = await run(NGINX, ['-t', '-p', dir, '-c', conf]).catch((err: { stderr: string }) => err);
      assert.doesNotMatch(check.stderr, /emerg|\[error\]/, check.stderr);
      const nginx = daemon(NGINX, ['-p', dir, '-c', conf]);
      return { publicUrl: `https://localhost:${https}`, ca: cert, stop: () => nginx.kill('SIGTERM') };
    }),
  );

  it('Caddy serves npm over TLS in front of Bulwark', { skip: !existsSync(CADDY) && 'caddy is not installed' }, () =>
    throughProxy('caddy', async ({ dir, https, http, upstream }) => {
      const site = (await example('caddyfile', upstream)).replace(
        /^npm\.example\.com \{/m,
        // Caddy's own CA instead of a public certificate, which cannot be had for localhost.
        `https://localhost:${https} {\n    tls internal`,
      );
      const storage = path.join(dir, 'storage');
      const conf = path.join(dir, 'Caddyfile');
      const global = `{\n  admin off\n  skip_install_trust\n  http_port ${http}\n  https_port ${https}\n  storage file_system ${storage}\n}\n`;
      await writeFile(conf, global + site);
      const env = { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir };
      await run(CADDY, ['validate', '--config', conf, '--adapter', 'caddyfile'], { env });
      const caddy = daemon(CADDY, ['run', '--config', conf, '--adapter', 'caddyfile'], env);
      const ca = path.join(storage, 'pki', 'authorities', 'local', 'root.crt');
      for (let i = 0; i < 100 && !existsSync(ca); i++) await new Promise((done) => setTimeout(done, 100));
      return { publicUrl: `https://localhost:${https}`, ca, stop: () => caddy.kill('SIGTERM') };
    }),
  );
});
