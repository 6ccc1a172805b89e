// `bulwark import verdaccio` against storage written by a real Verdaccio 6.8: the test starts it, adds two users the
// way npm's legacy adduser does, publishes into it with the real npm (scoped and unscoped packages, several versions,
// a dist-tag, a readme), lets it cache a package from its uplink, corrupts one tarball on disk, then imports into a
// fresh Bulwark twice and checks the result with the real npm: view, install, and a login with an old password.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import unixCrypt from 'unix-crypt-td-js';
import { bulwark, serve, type Served } from '../helpers/bulwark-process.ts';
import { interact, ok, run, sandbox } from '../helpers/clients.ts';
import { loadExpressClosure } from '../helpers/fixtures.ts';
import { closurePackages, startFakeUpstream, type FakeUpstream } from '../helpers/upstream.ts';

const VERDACCIO = path.resolve(import.meta.dirname, '../../node_modules/verdaccio/bin/verdaccio');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

async function startVerdaccio(config: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [VERDACCIO, '--config', config, '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d));
  child.stderr!.on('data', (d: Buffer) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`${url}/-/ping`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { url, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error(`verdaccio did not start:\n${log}`);
}

/** npm's legacy adduser request (npm-profile's loginCouch), which Verdaccio answers with a token. */
async function addUser(url: string, name: string, password: string): Promise<string> {
  const res = await fetch(`${url}/-/user/org.couchdb.user:${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password, email: `${name}@example.com` }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return ((await res.json()) as { token: string }).token;
}

const CONFIG = (uplink: string) => `storage: ./storage
auth:
  htpasswd:
    file: ./htpasswd
uplinks:
  up:
    url: ${uplink}/
packages:
  '@acme/*':
    access: $all
    publish: alice bob
    unpublish: alice
  'ms':
    access: $all
    proxy: up
  '**':
    access: $all
    publish: $authenticated
log: { type: stdout, format: pretty, level: warn }
`;

type Report = {
  packages: { imported: number; unchanged: number; cached: string[]; failed: unknown[] };
  versions: { imported: number; present: number; corrupt: Array<{ item: string; reason: string }>; held: unknown[] };
  users: { created: number; present: number; legacy: Record<string, number>; mustReset: Array<{ item: string }> };
  access: { unmapped: string[] };
};

describe('bulwark import verdaccio (a real Verdaccio 6.8, the real npm)', { timeout: 120_000 }, () => {
  let dir: string;
  let upstream: FakeUpstream;
  let dataDir: string;
  let storage: string;
  let config: string;
  let first: Report;
  let server: Served | undefined;

  const counts = () => {
    const db = new DatabaseSync(path.join(dataDir, 'bulwark.sqlite'), { readOnly: true });
    try {
      const n = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      return Object.fromEntries(
        ['users', 'packages', 'versions', 'published_versions', 'dist_tags', 'maintainers', 'events'].map((t) => [
          t,
          n(t),
        ]),
      );
    } finally {
      db.close();
    }
  };
  const importOnce = () =>
    bulwark(['import', 'verdaccio', storage, '--config', config, '--owner', 'bob', '--data-dir', dataDir, '--json']);

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'bulwark-verdaccio-'));
    const ms = closurePackages(loadExpressClosure()).find((p) => p.name === 'ms')!;
    upstream = await startFakeUpstream([{ name: 'ms', versions: ms.versions.slice(0, 1) }]);
    config = path.join(dir, 'config.yaml');
    storage = path.join(dir, 'storage');
    await writeFile(config, CONFIG(upstream.url));
    const verdaccio = await startVerdaccio(config);
    try {
      const tokens = {
        alice: await addUser(verdaccio.url, 'alice', 'alice-old-password'),
        bob: await addUser(verdaccio.url, 'bob', 'bob-old-password'),
      };
      const publish = async (who: 'alice' | 'bob', pkg: Record<string, unknown>, args: string[] = []) => {
        const sb = await sandbox(verdaccio.url, tokens[who]);
        const work = path.join(sb.dir, 'pkg');
        await mkdir(work);
        await writeFile(path.join(work, 'package.json'), JSON.stringify({ license: 'MIT', main: 'index.js', ...pkg }));
        await writeFile(path.join(work, 'index.js'), `module.exports = ${JSON.stringify(pkg.version)};\n`);
        await writeFile(path.join(work, 'README.md'), `# ${String(pkg.name)}\n\nVersion ${String(pkg.version)}.\n`);
        await ok('npm11', ['publish', ...args], { cwd: work, env: sb.env });
        return sb;
      };
      await publish('alice', { name: '@acme/widget', version: '1.0.0', description: 'the acme widget' });
      await publish('alice', { name: '@acme/widget', version: '1.1.0', description: 'the acme widget' });
      const sb = await publish('alice', { name: '@acme/widget', version: '2.0.0-beta.1' }, ['--tag', 'beta']);
      await ok('npm11', ['dist-tag', 'add', '@acme/widget@1.0.0', 'stable'], { cwd: sb.dir, env: sb.env });
      await publish('bob', { name: 'vd-util', version: '1.0.0', dependencies: { '@acme/widget': '^1.0.0' } });
      await publish('bob', { name: 'vd-util', version: '1.0.1' });
      // A package Verdaccio only proxies: installed through it, so its storage holds an uplink copy.
      const installer = await sandbox(verdaccio.url);
      await writeFile(path.join(installer.dir, 'package.json'), '{"name":"x","version":"1.0.0"}');
      await ok('npm11', ['install', 'ms'], { cwd: installer.dir, env: installer.env });
    } finally {
      verdaccio.child.kill();
    }
    // Accounts in the other formats Verdaccio's htpasswd plugin writes (algorithm: sha1, crypt).
    const sha1 = createHash('sha1').update('carol-old-password').digest('base64');
    await appendFile(
      path.join(dir, 'htpasswd'),
      `carol:{SHA}${sha1}:autocreated\ndave:${unixCrypt('davepass', 'ab')}\n`,
    );
    // One tarball damaged on disk after the publish.
    const damaged = path.join(storage, 'vd-util', 'vd-util-1.0.1.tgz');
    const bytes = await readFile(damaged);
    bytes[bytes.length - 5]! ^= 0xff;
    await writeFile(damaged, bytes);
    dataDir = path.join(dir, 'bulwark');
    const res = await importOnce();
    assert.equal(res.code, 1, `a corrupt tarball makes the exit code 1\n${res.stderr}`);
    first = JSON.parse(res.stdout) as Report;
  });

  after(async () => {
    await server?.stop();
    await upstream?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('imports every locally published package and version, and skips the uplink cache and the corrupt tarball', () => {
    assert.equal(first.packages.imported, 2);
    assert.deepEqual(first.packages.cached, ['ms']);
    assert.equal(first.versions.imported, 4);
    assert.deepEqual(
      first.versions.corrupt.map((c) => c.item),
      ['vd-util@1.0.1'],
    );
    assert.match(first.versions.corrupt[0]!.reason, /corrupt: its sha512 is/);
    assert.equal(first.users.created, 4);
    assert.deepEqual(first.users.legacy, { bcrypt: 2 });
    // Unsalted SHA-1 and DES crypt are not accepted silently: those accounts must reset by email.
    assert.deepEqual(first.users.mustReset.map((u) => u.item).sort(), ['carol', 'dave']);
    assert.ok(first.access.unmapped.some((u) => u.includes('vd-util') && u.includes('publish $authenticated')));
    const c = counts();
    assert.equal(c.versions, 4);
    assert.equal(c.published_versions, 4);
  });

  it('a second run finds everything present and changes nothing: no row, no event', async () => {
    const before = counts();
    const res = await importOnce();
    const again = JSON.parse(res.stdout) as Report;
    assert.equal(again.packages.imported, 0);
    assert.equal(again.packages.unchanged, 2);
    assert.equal(again.versions.imported, 0);
    assert.equal(again.versions.present, 4);
    assert.equal(again.users.created, 0);
    assert.equal(again.users.present, 4);
    assert.deepEqual(counts(), before);
  });

  it('serves the import to the real npm: dist-tags, original times, readme, owners, install', async () => {
    server = await serve(['--data-dir', dataDir]);
    const sb = await sandbox(server.url);
    const view = async (spec: string, field: string) =>
      JSON.parse((await ok('npm11', ['view', spec, field, '--json'], { cwd: sb.dir, env: sb.env })).stdout) as unknown;
    assert.deepEqual(await view('@acme/widget', 'dist-tags'), {
      latest: '1.1.0',
      beta: '2.0.0-beta.1',
      stable: '1.0.0',
    });
    const stored = JSON.parse(await readFile(path.join(storage, '@acme', 'widget', 'package.json'), 'utf8')) as {
      time: Record<string, string>;
    };
    const time = (await view('@acme/widget', 'time')) as Record<string, string>;
    assert.equal(time['1.0.0'], stored.time['1.0.0'], 'the original publish time is kept');
    assert.match(String(await view('@acme/widget', 'readme')), /# @acme\/widget/);
    const owners = await run('npm11', ['owner', 'ls', '@acme/widget'], { cwd: sb.dir, env: sb.env });
    assert.match(owners.stdout, /alice/);
    assert.match(owners.stdout, /bob/);
    assert.deepEqual(await view('vd-util', 'versions'), ['1.0.0']);
    await writeFile(path.join(sb.dir, 'package.json'), '{"name":"app","version":"1.0.0"}');
    await ok('npm11', ['install', 'vd-util@1.0.0'], { cwd: sb.dir, env: sb.env });
    const lock = JSON.parse(await readFile(path.join(sb.dir, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version: string; integrity: string }>;
    };
    assert.equal(lock.packages['node_modules/@acme/widget']?.version, '1.1.0');
    const original = JSON.parse(await readFile(path.join(storage, 'vd-util', 'package.json'), 'utf8')) as {
      versions: Record<string, { dist: { integrity: string } }>;
    };
    assert.equal(lock.packages['node_modules/vd-util']?.integrity, original.versions['1.0.0']!.dist.integrity);
    // Imported versions carry the registry's signature.
    const manifest = (await view('vd-util@1.0.0', 'dist')) as { signatures?: unknown[] };
    assert.equal(manifest.signatures?.length, 1);
  });

  it('npm login with a Verdaccio password works once and upgrades the hash to argon2id; weak ones are refused', async () => {
    const hashOf = (name: string) => {
      const db = new DatabaseSync(path.join(dataDir, 'bulwark.sqlite'), { readOnly: true });
      try {
        return (db.prepare('SELECT password_hash FROM users WHERE name = ?').get(name) as { password_hash: string })
          .password_hash;
      } finally {
        db.close();
      }
    };
    assert.match(hashOf('alice'), /^\{legacy\}\$2a\$/);
    const login = async (user: string, password: string) => {
      const sb = await sandbox(server!.url);
      return interact(
        'npm11',
        ['login', '--auth-type=legacy'],
        [
          [/Username: $/, `${user}\n`],
          [/Password: $/, `${password}\n`],
        ],
        { cwd: sb.dir, env: sb.env },
      );
    };
    const wrong = await login('alice', 'not-her-password');
    assert.notEqual(wrong.code, 0);
    assert.match(hashOf('alice'), /^\{legacy\}/, 'a wrong password changes nothing');
    const right = await login('alice', 'alice-old-password');
    assert.equal(right.code, 0, right.stderr);
    assert.match(hashOf('alice'), /^\$argon2id\$/);
    // The new hash still takes the same password.
    assert.equal((await login('alice', 'alice-old-password')).code, 0);
    const carol = await login('carol', 'carol-old-password');
    assert.notEqual(carol.code, 0, 'an unsalted SHA-1 hash is not accepted without --accept-weak-hashes');
    assert.match(hashOf('carol'), /^\{reset-required\}sha1$/);
  });
});
