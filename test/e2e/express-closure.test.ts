// A real dependency tree: the express@4 closure's real tarballs are published over HTTP, then express is installed
// from Bulwark by npm 11, npm 10, pnpm 10, yarn 4 and bun, and must run. Lockfiles must point at Bulwark and carry
// exactly the integrity values the public registry has for the same tarballs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { npmLockIntegrities, ok, sandbox, type ClientName } from '../helpers/clients.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { closurePublishDocs, loadExpressClosure } from '../helpers/fixtures.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const closure = loadExpressClosure();
const publicIntegrity = new Map(closure.packages.map((p) => [`${p.name}@${p.version}`, p.integrity]));

async function expressWorks(cwd: string): Promise<void> {
  const script =
    "const app = require('express')(); app.get('/', (q, s) => s.send('ok')); const srv = app.listen(0, async () => { const r = await fetch('http://127.0.0.1:' + srv.address().port + '/'); console.log(await r.text()); srv.close(); });";
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { cwd });
  assert.equal(stdout.trim(), 'ok');
}

async function project(dir: string): Promise<void> {
  await writeFile(
    path.join(dir, 'package.json'),
    JSON.stringify({
      name: 'express-app',
      version: '1.0.0',
      private: true,
      dependencies: { express: closure.rootVersion },
    }),
  );
}

/** Every name@version installed and its integrity, as each client's lockfile records it. */
const LOCKFILES: Record<ClientName, (dir: string, registry: string) => Promise<Map<string, string>>> = {
  npm11: (dir, registry) => npmLockIntegrities(dir, registry),
  npm10: (dir, registry) => LOCKFILES.npm11(dir, registry),
  async pnpm(dir) {
    const text = await readFile(path.join(dir, 'pnpm-lock.yaml'), 'utf8');
    const out = new Map<string, string>();
    // packages:\n  name@version:\n    resolution: {integrity: sha512-…}
    for (const m of text.matchAll(
      /^ {2}'?((?:@[^/\s]+\/)?[^@\s']+)@([^:'\s]+)'?:\n {4}resolution: \{integrity: ([^}]+)\}/gm,
    ))
      out.set(`${m[1]}@${m[2]}`, m[3]!);
    return out;
  },
  async yarn(dir) {
    const text = await readFile(path.join(dir, 'yarn.lock'), 'utf8');
    const out = new Map<string, string>();
    // yarn's checksum is of its own archive format, so only the resolutions are compared; integrity comes from the
    // server's download counts below.
    for (const m of text.matchAll(/^ {2}resolution: "((?:@[^/"]+\/)?[^@"]+)@npm:([^"]+)"/gm))
      out.set(`${m[1]}@${m[2]}`, publicIntegrity.get(`${m[1]}@${m[2]}`) ?? 'missing');
    return out;
  },
  async bun(dir) {
    const text = await readFile(path.join(dir, 'bun.lock'), 'utf8');
    const out = new Map<string, string>();
    for (const m of text.matchAll(/\["((?:@[^/"]+\/)?[^@"]+)@([^"]+)", "([^"]*)", \{[^\n]*\}, "(sha512-[^"]+)"\]/g))
      out.set(`${m[1]}@${m[2]}`, m[4]!);
    return out;
  },
};

const INSTALL: Record<ClientName, (registry: string, dir: string) => Promise<string[]>> = {
  npm11: async () => ['install', '--no-audit', '--no-fund'],
  npm10: async () => ['install', '--no-audit', '--no-fund'],
  pnpm: async (registry, dir) => [
    'install',
    `--registry=${registry}/`,
    `--store-dir=${path.join(dir, '.pnpm-store')}`,
    '--config.confirmModulesPurge=false',
  ],
  async yarn(registry, dir) {
    const host = new URL(registry).hostname;
    await writeFile(
      path.join(dir, '.yarnrc.yml'),
      [
        `npmRegistryServer: "${registry}"`,
        `unsafeHttpWhitelist: ["${host}"]`,
        'nodeLinker: node-modules',
        'npmMinimalAgeGate: 0',
        'enableGlobalCache: false',
        'enableTelemetry: false',
        '',
      ].join('\n'),
    );
    await writeFile(path.join(dir, 'yarn.lock'), '');
    return ['install'];
  },
  async bun(registry, dir) {
    await writeFile(path.join(dir, 'bunfig.toml'), `[install]\nregistry = "${registry}/"\n`);
    return ['install', '--save-text-lockfile'];
  },
};

// The full client matrix on SQLite; on PostgreSQL one smoke run with npm 11.
for (const kind of DB_KINDS)
  describe(`the express@${closure.rootVersion} closure through Bulwark (${kind})`, () => {
    let r: TestRegistry;
    before(async () => {
      r = await startRegistry(kind);
      for (const { name, version, doc } of await closurePublishDocs(closure)) {
        const res = await r.request('PUT', `/${name.replace('/', '%2f')}`, { token: r.adminToken, body: doc });
        assert.equal(res.status, 201, `${name}@${version}: ${res.text}`);
      }
    });
    after(() => r.stop());

    const clients: ClientName[] = kind === 'postgres' ? ['npm11'] : ['npm11', 'npm10', 'pnpm', 'yarn', 'bun'];
    for (const client of clients) {
      it(`installs with ${client}, and express serves a request`, async () => {
        const sb = await sandbox(r.url);
        try {
          await project(sb.dir);
          const before = (await r.request('GET', `/downloads/point/last-day/express`)).json().downloads as number;
          await ok(client, await INSTALL[client](r.url, sb.dir), { cwd: sb.dir, env: sb.env, timeoutMs: 300_000 });
          await expressWorks(sb.dir);
          const locked = await LOCKFILES[client](sb.dir, r.url);
          assert.equal(locked.size, closure.packages.length, `${client} installed the whole closure`);
          for (const [id, integrity] of locked)
            assert.equal(integrity, publicIntegrity.get(id), `${client}: ${id} integrity equals the public registry's`);
          const afterCount = (await r.request('GET', `/downloads/point/last-day/express`)).json().downloads as number;
          assert.equal(afterCount, before + 1, `${client} downloaded express from Bulwark`);
        } finally {
          await rm(sb.dir, { recursive: true, force: true });
        }
      });
    }
  });
