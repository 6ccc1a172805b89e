// Bulwark is also a package users install: `npm pack` must ship compiled JavaScript that runs from a clean folder.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ok, sandbox } from '../helpers/clients.ts';
import { bulwark, serve } from '../helpers/bulwark-process.ts';
import { body, publishDoc } from '../helpers/packages.ts';

const root = path.resolve(import.meta.dirname, '../..');
// Reused between runs (and kept out of git) so the install does not download every dependency each time.
const cache = path.join(root, '.cache', 'npm');

describe('the packed package', () => {
  it('installs into a clean folder and runs `bulwark --help` and `bulwark serve`', async () => {
    const sb = await sandbox('https://registry.npmjs.org');
    const out = await mkdtemp(path.join(os.tmpdir(), 'bulwark-pack-'));
    try {
      const packed = await ok('npm11', ['pack', '--pack-destination', out, '--json'], {
        cwd: root,
        env: sb.env,
        timeoutMs: 300_000,
      });
      const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
      const files = info!.files.map((f) => f.path);
      assert.ok(files.includes('dist/cli/main.js'), 'ships compiled JavaScript');
      assert.ok(files.includes('bin/bulwark.js'));
      assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/')), 'ships neither sources nor tests');

      const app = path.join(out, 'app');
      await mkdir(app);
      await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'uses-bulwark', private: true }));
      await ok(
        'npm11',
        ['install', path.join(out, info!.filename), '--cache', cache, '--prefer-offline', '--no-audit', '--no-fund'],
        { cwd: app, env: sb.env, timeoutMs: 600_000 },
      );
      const bin = path.join(app, 'node_modules', 'bulwark', 'bin', 'bulwark.js');
      assert.deepEqual((await readdir(path.join(app, 'node_modules', 'bulwark'))).includes('src'), false);
      const help = await bulwark(['--help'], { bin, cwd: app });
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, /bulwark <command>/);
      const env = { BULWARK_SECRET_KEY: 'y'.repeat(40) };
      const data = ['--data-dir', path.join(app, 'data')];
      assert.equal(
        (
          await bulwark(
            ['admin', 'user', 'create', 'ops', '--email', 'ops@example.com', '--admin', '--password-stdin', ...data],
            { bin, cwd: app, env, input: 'a-long-enough-password\n' },
          )
        ).code,
        0,
      );
      const token = /^bwk_\S+$/m.exec(
        (await bulwark(['admin', 'token', 'create', 'ops', ...data], { bin, cwd: app, env })).stdout,
      )?.[0];
      assert.ok(token, 'the admin command prints a token');
      const server = await serve(data, { bin, cwd: app, env });
      try {
        assert.equal((await fetch(`${server.url}/-/ping`)).status, 200);
        // A publish runs the parts that read files from beside the compiled code: the malware scanner's worker and
        // signature database, the protected-name list. A missing one would hold or refuse this ordinary package.
        const put = await fetch(`${server.url}/packed-smoke`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body(publishDoc({ name: 'packed-smoke', version: '1.0.0' }))),
        });
        assert.equal(put.status, 201, await put.text());
        assert.deepEqual(
          Object.keys(((await (await fetch(`${server.url}/packed-smoke`)).json()) as { versions: object }).versions),
          ['1.0.0'],
        );
      } finally {
        await server.stop();
      }
    } finally {
      await rm(out, { recursive: true, force: true });
      await rm(sb.dir, { recursive: true, force: true });
    }
  });
});
