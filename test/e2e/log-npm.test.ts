// The transparency log with the real npm 11: what npm publishes is logged so that `bulwark log verify` recomputes
// each entry from the packument, and the lockfile npm writes verifies against the log.
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bulwark } from '../helpers/bulwark-process.ts';
import { ok, sandbox, type Sandbox } from '../helpers/clients.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

async function makePackage(dir: string, manifest: Record<string, unknown>) {
  await mkdir(dir, { recursive: true });
  await writeFile(
    path.join(dir, 'package.json'),
    JSON.stringify({ main: 'index.js', license: 'MIT', ...manifest }, null, 2),
  );
  await writeFile(path.join(dir, 'index.js'), `module.exports = ${JSON.stringify(manifest.name)};\n`);
}

describe('transparency log with the real npm 11 (sqlite)', () => {
  let r: TestRegistry;
  let sb: Sandbox;
  before(async () => {
    r = await startRegistry('sqlite');
    sb = await sandbox(r.url, r.adminToken);
  });
  after(async () => {
    await r.stop();
    await rm(sb.dir, { recursive: true, force: true });
  });

  it('logs what npm publishes, and the lockfile npm installs verifies against the log', async () => {
    await makePackage(path.join(sb.dir, 'base'), { name: 'log-base', version: '1.0.0' });
    await ok('npm11', ['publish'], { cwd: path.join(sb.dir, 'base'), env: sb.env });
    await makePackage(path.join(sb.dir, 'top'), {
      name: '@admin/log-top',
      version: '2.0.0',
      dependencies: { 'log-base': '^1.0.0' },
    });
    await ok('npm11', ['publish'], { cwd: path.join(sb.dir, 'top'), env: sb.env });
    await ok('npm11', ['dist-tag', 'add', 'log-base@1.0.0', 'stable'], { cwd: sb.dir, env: sb.env });
    const app = path.join(sb.dir, 'app');
    await mkdir(app, { recursive: true });
    await writeFile(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: { '@admin/log-top': '2.0.0' } }),
    );
    await ok('npm11', ['install'], { cwd: app, env: sb.env });

    // The log integrates within a second; don't race it.
    const started = Date.now();
    while (Number((await r.request('GET', '/-/log/checkpoint')).text.split('\n')[1]) < 7) {
      if (Date.now() - started > 5000) assert.fail('the log did not catch up');
      await new Promise((res) => setTimeout(res, 25));
    }
    const state = path.join(sb.dir, 'log-state.json');
    const verify = await bulwark(['log', 'verify', '--registry', r.url, '--state', state, '--token', r.adminToken]);
    assert.equal(verify.code, 0, verify.stderr + verify.stdout);
    // package-created, version and tag for each package, then the stable tag; the scoped one is restricted, so sealed.
    assert.match(verify.stdout, /verified: 7 entries, root \S+, 1 versions match their packuments, 3 sealed entries/);
    const lockfile = await bulwark([
      'log',
      'verify-lockfile',
      path.join(app, 'package-lock.json'),
      '--registry',
      r.url,
      '--state',
      state,
      '--token',
      r.adminToken,
    ]);
    assert.equal(lockfile.code, 0, lockfile.stderr);
    assert.match(lockfile.stdout, /verified: 2 packages are in the signed log/);
    const prove = await bulwark(['log', 'prove', 'log-base@1.0.0', '--registry', r.url, '--state', state]);
    assert.equal(prove.code, 0, prove.stderr);
    assert.match(prove.stdout, /"publisher":"user:admin"/);
  });
});
