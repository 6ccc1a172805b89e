// The real npm 11 CLI managing an organisation: npm org, npm team, npm access and npm owner, on both databases. The
// point of AUTHZ-2 is shown the way a user would see it: an org admin adds a member but cannot publish; a member of a
// team with read-write access publishes; revoking the grant stops them; owners are added and removed.
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createOrg } from '../../src/access/orgs.ts';
import { ok, run, sandbox, type Sandbox } from '../helpers/clients.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { codeAt, enableMfa } from '../helpers/totp.ts';

async function makePackage(dir: string, name: string, version: string) {
  await mkdir(dir, { recursive: true });
  await writeFile(
    path.join(dir, 'package.json'),
    JSON.stringify({ name, version, main: 'index.js', license: 'MIT' }, null, 2),
  );
  await writeFile(path.join(dir, 'index.js'), 'module.exports = 1;\n');
}

for (const kind of DB_KINDS) {
  describe(`npm 11 org, team, access and owner commands (${kind})`, () => {
    let r: TestRegistry;
    let now = Date.now();
    const sb: Record<string, Sandbox> = {};
    const npm = (who: string, args: string[], cwd?: string) =>
      run('npm11', args, { cwd: cwd ?? sb[who]!.dir, env: sb[who]!.env });
    const npmOk = (who: string, args: string[], cwd?: string) =>
      ok('npm11', args, { cwd: cwd ?? sb[who]!.dir, env: sb[who]!.env });
    const publishAs = async (who: string, name: string, version: string) => {
      const dir = path.join(sb[who]!.dir, `${name.replace('/', '-')}-${version}`);
      await makePackage(dir, name, version);
      return npm(who, ['publish'], dir);
    };

    before(async () => {
      r = await startRegistry(kind, {}, { clock: () => now });
      for (const name of ['olivia', 'adam', 'dora', 'eve']) sb[name] = await sandbox(r.url, (await r.user(name)).token);
      await createOrg(r.store.db, 'acme', 'olivia', null, now);
    });
    after(async () => {
      await r.stop();
      for (const s of Object.values(sb)) await rm(s.dir, { recursive: true, force: true });
    });

    it('an org admin adds a member but cannot publish', async () => {
      let out = await npmOk('olivia', ['org', 'set', 'acme', 'adam', 'admin']);
      assert.match(out.stdout, /Added adam as admin to acme\. You now have 2 members in this org\./);
      out = await npmOk('adam', ['org', 'set', 'acme', 'dora']);
      assert.match(out.stdout, /Added dora as developer to acme\. You now have 3 members/);
      out = await npmOk('dora', ['org', 'ls', 'acme', '--json']);
      assert.deepEqual(JSON.parse(out.stdout), { adam: 'admin', dora: 'developer', olivia: 'owner' });
      const refused = await npm('dora', ['org', 'set', 'acme', 'eve']);
      assert.notEqual(refused.code, 0, 'a developer cannot add members');
      assert.match(refused.stderr, /403/);

      // Adam manages people; take him off the developers team and he holds no publishing grant at all.
      await npmOk('adam', ['team', 'rm', '@acme:developers', 'adam']);
      const created = await publishAs('adam', '@acme/admins-own', '1.0.0');
      assert.notEqual(created.code, 0);
      assert.match(created.stderr, /403|developers team/);
      assert.equal((await publishAs('olivia', '@acme/widget', '1.0.0')).code, 0, 'olivia is on the developers team');
      const pub = await publishAs('adam', '@acme/widget', '1.1.0');
      assert.notEqual(pub.code, 0, 'the admin cannot publish the org package');
      // He cannot see the restricted package either: he is told what he was told for a free name, nothing more.
      assert.match(
        pub.stderr,
        /E403[\s\S]*publishing a new package in @acme needs membership of the @acme:developers team/,
      );
    });

    it('a member of a team with read-write access publishes; revoking the grant stops her', async () => {
      assert.match((await npmOk('adam', ['team', 'create', '@acme:core'])).stdout, /\+@acme:core/);
      assert.match((await npmOk('adam', ['team', 'add', '@acme:core', 'dora'])).stdout, /dora added to @acme:core/);
      assert.deepEqual(JSON.parse((await npmOk('dora', ['team', 'ls', '@acme', '--json'])).stdout), [
        'acme:core',
        'acme:developers',
      ]);
      assert.deepEqual(JSON.parse((await npmOk('dora', ['team', 'ls', '@acme:core', '--json'])).stdout), ['dora']);

      // Dora, though in the org, is not on developers (npm org set put her there; take her off to isolate the grant).
      await npmOk('adam', ['team', 'rm', '@acme:developers', 'dora']);
      assert.notEqual((await publishAs('dora', '@acme/widget', '1.1.0')).code, 0);
      await npmOk('adam', ['access', 'grant', 'read-write', '@acme:core', '@acme/widget']);
      assert.deepEqual(
        JSON.parse((await npmOk('dora', ['access', 'list', 'packages', '@acme:core', '--json'])).stdout),
        { '@acme/widget': 'read-write' },
      );
      assert.deepEqual(
        JSON.parse((await npmOk('dora', ['access', 'list', 'collaborators', '@acme/widget', '--json'])).stdout),
        { dora: 'read-write', olivia: 'read-write' },
      );
      const pub = await publishAs('dora', '@acme/widget', '1.1.0');
      assert.equal(pub.code, 0, pub.stderr);
      assert.equal(
        (await r.request('GET', '/@acme%2fwidget', { token: null })).status,
        404,
        'still restricted to outsiders',
      );

      await npmOk('adam', ['access', 'revoke', '@acme:core', '@acme/widget']);
      const after = await publishAs('dora', '@acme/widget', '1.2.0');
      assert.notEqual(after.code, 0, 'without the grant she cannot publish');
      const denied = await npm('dora', ['access', 'grant', 'read-write', '@acme:core', '@acme/widget']);
      assert.notEqual(denied.code, 0, 'a developer cannot grant access');
      // Who may install it is the maintainers' call (npm access set status), not the org admin's.
      assert.notEqual((await npm('adam', ['access', 'set', 'status=public', '@acme/widget'])).code, 0);
      assert.match(
        (await npmOk('olivia', ['access', 'set', 'status=public', '@acme/widget'])).stdout,
        /@acme\/widget: public/,
      );
      assert.equal((await r.request('GET', '/@acme%2fwidget', { token: null })).status, 200, 'public now');
      assert.match((await npmOk('dora', ['access', 'get', 'status', '@acme/widget'])).stdout, /@acme\/widget: public/);
      await npmOk('olivia', ['access', 'set', 'status=private', '@acme/widget']);
      assert.equal((await r.request('GET', '/@acme%2fwidget', { token: null })).status, 404, 'restricted again');
      await npmOk('adam', ['team', 'destroy', '@acme:core']);
      assert.deepEqual(JSON.parse((await npmOk('adam', ['team', 'ls', '@acme', '--json'])).stdout), [
        'acme:developers',
      ]);
    });

    it('npm owner ls/add/rm', async () => {
      assert.equal((await publishAs('eve', 'eves-tool', '1.0.0')).code, 0);
      assert.match((await npmOk('eve', ['owner', 'add', 'dora', 'eves-tool'])).stdout, /\+ dora \(eves-tool\)/);
      const ls = await npmOk('dora', ['owner', 'ls', 'eves-tool']);
      assert.match(ls.stdout, /dora <dora@example\.com>/);
      assert.match(ls.stdout, /eve <eve@example\.com>/);
      assert.equal((await publishAs('dora', 'eves-tool', '1.1.0')).code, 0, 'a new maintainer publishes');
      const stranger = await npm('adam', ['owner', 'add', 'adam', 'eves-tool']);
      assert.notEqual(stranger.code, 0, 'a non-maintainer cannot make himself an owner');
      assert.match((await npmOk('dora', ['owner', 'rm', 'eve', 'eves-tool'])).stdout, /- eve \(eves-tool\)/);
      assert.doesNotMatch((await npmOk('dora', ['owner', 'ls', 'eves-tool'])).stdout, /eve </);
      assert.notEqual((await publishAs('eve', 'eves-tool', '1.2.0')).code, 0, 'a removed owner cannot publish');
    });

    it('writes ask for the one-time password of an account that protects writes', async () => {
      const secret = await enableMfa(r, 'olivia', 'auth-and-writes', now);
      now += 30_000;
      const noCode = await npm('olivia', ['org', 'set', 'acme', 'eve']);
      assert.notEqual(noCode.code, 0);
      assert.match(noCode.stderr, /EOTP|one-time password/);
      assert.equal((await r.request('GET', '/-/org/acme/user', { token: null })).status, 401);
      const withCode = await npmOk('olivia', ['org', 'set', 'acme', 'eve', '--otp', codeAt(secret, now)]);
      assert.match(withCode.stdout, /Added eve as developer/);
      now += 30_000;
      assert.notEqual(
        (await npm('olivia', ['access', 'grant', 'read-only', '@acme:developers', '@acme/widget'])).code,
        0,
      );
      await npmOk('olivia', [
        'access',
        'grant',
        'read-only',
        '@acme:developers',
        '@acme/widget',
        '--otp',
        codeAt(secret, now),
      ]);
    });
  });
}
