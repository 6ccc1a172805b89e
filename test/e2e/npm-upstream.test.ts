// The real npm 11 installs the express@4 tree through Bulwark's upstream proxy from a fresh registry that hosts none
// of it (the upstream is a local stand-in replaying the committed closure, test/helpers/upstream.ts): the lockfile
// points at Bulwark and carries the public registry's integrity values, and express runs. Then the upstream stops,
// and a second install with an empty npm cache still succeeds from what Bulwark cached.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { npmLockIntegrities, ok, sandbox } from '../helpers/clients.ts';
import { loadExpressClosure } from '../helpers/fixtures.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { closurePackages, startFakeUpstream, type FakeUpstream } from '../helpers/upstream.ts';

const closure = loadExpressClosure();
const publicIntegrity = new Map(closure.packages.map((p) => [`${p.name}@${p.version}`, p.integrity]));

async function installExpress(registry: string): Promise<Map<string, string>> {
  const sb = await sandbox(registry);
  try {
    await writeFile(
      path.join(sb.dir, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: { express: closure.rootVersion } }),
    );
    await ok('npm11', ['install', '--no-audit', '--no-fund'], { cwd: sb.dir, env: sb.env, timeoutMs: 240_000 });
    const script =
      "const app = require('express')(); app.get('/', (q, s) => s.send('ok')); const srv = app.listen(0, async () => { const r = await fetch('http://127.0.0.1:' + srv.address().port + '/'); console.log(await r.text()); srv.close(); });";
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { cwd: sb.dir });
    assert.equal(stdout.trim(), 'ok');
    return await npmLockIntegrities(sb.dir, registry);
  } finally {
    await rm(sb.dir, { recursive: true, force: true });
  }
}

describe('npm 11 installs express through the upstream proxy', () => {
  let up: FakeUpstream;
  let r: TestRegistry;
  before(async () => {
    up = await startFakeUpstream(closurePackages(closure));
    r = await startRegistry('sqlite', { upstream: up.url, 'upstream-max-age': '1s', 'upstream-timeout': '2s' });
  });
  after(async () => {
    await r.stop();
    await up.stop();
  });

  it('installs the whole tree from a registry that hosts none of it, with the public integrity values', async () => {
    const locked = await installExpress(r.url);
    assert.equal(locked.size, closure.packages.length);
    for (const [id, integrity] of locked) assert.equal(integrity, publicIntegrity.get(id), id);
    const tarballs = up.requests.filter((q) => q.path.includes('/-/') && !q.path.startsWith('/-/'));
    assert.equal(tarballs.length, closure.packages.length, 'each tarball fetched from the upstream once');
  });

  it('installs it again from the cache once the upstream is stopped', async () => {
    await up.stop();
    await sleep(1100); // past the max age: every packument now asks the (dead) upstream first
    const locked = await installExpress(r.url);
    assert.equal(locked.size, closure.packages.length);
  });
});
