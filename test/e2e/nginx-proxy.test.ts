// The nginx example of docs/deploy.md, as written there, in front of a real registry: TLS with a certificate made
// here by openssl, the real npm publishing and installing through it, tarball links on the public https URL, and
// /-/metrics refused outside the allowed network. Skipped where nginx is not installed (Debian: apt-get install nginx).
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ok, sandbox } from '../helpers/clients.ts';
import { startRegistry } from '../helpers/registry.ts';

const NGINX = '/usr/sbin/nginx';
const root = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

/** The ```nginx block of docs/deploy.md, pointed at this test's ports, certificate and registry. */
async function exampleConfig(o: { https: number; http: number; upstream: number; cert: string; key: string }) {
  const doc = await readFile(path.join(root, 'docs', 'deploy.md'), 'utf8');
  const block = /```nginx\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(block, 'docs/deploy.md has an nginx example');
  const replaced = block
    .replaceAll('npm.example.com', 'localhost')
    .replace('listen 80;', `listen 127.0.0.1:${o.http};`)
    .replace(/listen 443 ssl http2;.*/, `listen 127.0.0.1:${o.https} ssl http2;`)
    .replace(/ssl_certificate\s+\S+;/, `ssl_certificate ${o.cert};`)
    .replace(/ssl_certificate_key\s+\S+;/, `ssl_certificate_key ${o.key};`)
    .replaceAll('127.0.0.1:4873', `127.0.0.1:${o.upstream}`);
  assert.equal((replaced.match(new RegExp(`127\\.0\\.0\\.1:${o.upstream}`, 'g')) ?? []).length, 2);
  return replaced;
}

describe('the nginx example of docs/deploy.md', { skip: !existsSync(NGINX) && 'nginx is not installed' }, () => {
  it('serves npm over TLS in front of Bulwark', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bulwark-nginx-'));
    const [https, http] = [await freePort(), await freePort()];
    const publicUrl = `https://localhost:${https}`;
    const registry = await startRegistry('sqlite', { 'public-url': publicUrl, 'trust-proxy': '127.0.0.1' });
    let nginx: ChildProcess | undefined;
    try {
      const cert = path.join(dir, 'cert.pem');
      const key = path.join(dir, 'key.pem');
      await run('openssl', [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'],
        ...['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', key, '-out', cert],
      ]);
      const upstream = Number(new URL(registry.url).port);
      const server = await exampleConfig({ https, http, upstream, cert, key });
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
      const test = await run(NGINX, ['-t', '-p', dir, '-c', conf]).catch((err: { stderr: string }) => err);
      assert.doesNotMatch(test.stderr, /emerg|\[error\]/, test.stderr);
      nginx = spawn(NGINX, ['-p', dir, '-c', conf], { stdio: 'ignore' });
      for (let i = 0; i < 50; i++) {
        const up = await fetch(`http://127.0.0.1:${http}/`, { redirect: 'manual' }).catch(() => null);
        if (up) break;
        await new Promise((done) => setTimeout(done, 100));
      }
      const redirect = await fetch(`http://127.0.0.1:${http}/-/ping`, { redirect: 'manual' });
      assert.equal(redirect.status, 301, 'plain HTTP is sent to https');
      assert.match(redirect.headers.get('location') ?? '', /^https:\/\/[^/]+\/-\/ping$/);

      // The real npm, trusting the test's certificate, publishes and installs through the proxy.
      const sb = await sandbox(publicUrl, registry.adminToken);
      await writeFile(path.join(sb.home, '.npmrc'), `cafile=${cert}\n`, { flag: 'a' });
      const pkg = path.join(sb.dir, 'pkg');
      await mkdir(pkg);
      await writeFile(path.join(pkg, 'package.json'), JSON.stringify({ name: 'behind-nginx', version: '1.0.0' }));
      await writeFile(path.join(pkg, 'index.js'), 'module.exports = 1;\n');
      await ok('npm11', ['publish'], { cwd: pkg, env: sb.env });
      const consumer = path.join(sb.dir, 'consumer');
      await mkdir(consumer);
      await writeFile(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
      await ok('npm11', ['install', 'behind-nginx'], { cwd: consumer, env: sb.env });
      const lock = JSON.parse(await readFile(path.join(consumer, 'package-lock.json'), 'utf8')) as {
        packages: Record<string, { resolved: string }>;
      };
      assert.equal(
        lock.packages['node_modules/behind-nginx']!.resolved,
        `${publicUrl}/behind-nginx/-/behind-nginx-1.0.0.tgz`,
        'tarball links use the public https URL',
      );
      await rm(sb.dir, { recursive: true, force: true });

      // The metrics location allows only the internal network: 127.0.0.1 is refused by nginx itself.
      const ca = await readFile(cert);
      const status = await new Promise<number | undefined>((done, fail) =>
        httpsGet(`${publicUrl}/-/metrics`, { ca }, (res) => done(res.resume().statusCode)).on('error', fail),
      );
      assert.equal(status, 403);
      const access = await readFile(path.join(dir, 'logs', 'access.log'), 'utf8');
      assert.match(access, /PUT \/behind-nginx/, 'the publish went through nginx');
    } finally {
      nginx?.kill('SIGTERM');
      await registry.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
