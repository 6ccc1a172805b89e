// The real npm 11 and npm 10 starring packages: `npm star` and `npm unstar` (a GET of the document, then a PUT of
// { _id, _rev, users }), `npm stars` for oneself and for another user (GET /-/_view/starredByUser), and `npm view`
// showing the stars in the packument's `users`, as npm's registry does. Starring needs no right on the package.
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ok, run, sandbox, type Sandbox } from '../helpers/clients.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

for (const client of ['npm11', 'npm10'] as const) {
  describe(`${client} star, unstar and stars (sqlite)`, () => {
    let r: TestRegistry;
    let owner: Sandbox;
    let fan: Sandbox;
    const npm = (sb: Sandbox, args: string[]) => run(client, args, { cwd: sb.dir, env: sb.env });

    before(async () => {
      r = await startRegistry('sqlite');
      owner = await sandbox(r.url, (await r.user('olga')).token);
      fan = await sandbox(r.url, (await r.user('finn')).token);
      const dir = path.join(owner.dir, 'olgas-lib');
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'olgas-lib', version: '1.0.0' }));
      await ok(client, ['publish'], { cwd: dir, env: owner.env });
    });
    after(async () => {
      await r.stop();
      for (const sb of [owner, fan]) await rm(sb.dir, { recursive: true, force: true });
    });

    it('a user who maintains nothing stars a package, lists it, and unstars it', async () => {
      const starred = await npm(fan, ['star', 'olgas-lib']);
      assert.equal(starred.code, 0, starred.stderr);
      assert.match(starred.stdout, /olgas-lib/);
      assert.equal((await npm(fan, ['stars'])).stdout.trim(), 'olgas-lib');
      assert.equal((await npm(owner, ['stars', 'finn'])).stdout.trim(), 'olgas-lib', 'anyone sees whose stars');
      const view = await npm(owner, ['view', 'olgas-lib', 'users', '--json']);
      assert.deepEqual(JSON.parse(view.stdout), { finn: true });

      const unstarred = await npm(fan, ['unstar', 'olgas-lib']);
      assert.equal(unstarred.code, 0, unstarred.stderr);
      const none = await npm(fan, ['stars']);
      assert.equal(none.stdout.trim(), '');
      assert.match(none.stderr, /user has not starred any packages/);
    });

    it('a package that does not exist cannot be starred', async () => {
      const res = await npm(fan, ['star', 'no-such-lib']);
      assert.notEqual(res.code, 0);
      assert.match(res.stderr, /404/);
    });
  });
}
