// npm's org, team, access and owner endpoints at the protocol level (the bodies libnpmorg, libnpmteam, libnpmaccess and
// `npm owner` send), on both databases: the happy paths, every change's domain event, and the refusals.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOrg } from '../../src/access/orgs.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const error = (res: { json(): unknown }) => (res.json() as { error: string }).error;

for (const kind of DB_KINDS) {
  describe(`organisations, teams, grants and owners over npm's protocol (${kind})`, () => {
    let r: TestRegistry;
    let owner: { id: number; token: string };
    let adm: { id: number; token: string };
    let dev: { id: number; token: string };
    let outsider: { id: number; token: string };
    const events = async (prefix: string) =>
      (
        await r.store.db
          .selectFrom('events')
          .select(['kind', 'subject', 'data'])
          .where('kind', 'like', `${prefix}%`)
          .orderBy('seq')
          .execute()
      ).map((e) => `${e.kind} ${e.subject} ${e.data}`);

    before(async () => {
      r = await startRegistry(kind);
      owner = await r.user('olivia');
      adm = await r.user('adam');
      dev = await r.user('dora');
      outsider = await r.user('oscar');
      await createOrg(r.store.db, 'acme', 'olivia', null, Date.now());
    });
    after(() => r.stop());

    it('npm org set/ls/rm: owners and admins manage members, developers and strangers cannot', async () => {
      let res = await r.request('PUT', '/-/org/acme/user', {
        token: owner.token,
        body: { user: 'adam', role: 'admin' },
      });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json(), { org: { name: 'acme', size: 2 }, user: 'adam', role: 'admin' });
      res = await r.request('PUT', '/-/org/acme/user', { token: adm.token, body: { user: 'dora' } });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json().role, 'developer', 'developer is the default role, as in npm');
      res = await r.request('GET', '/-/org/acme/user', { token: dev.token });
      assert.deepEqual(res.json(), { adam: 'admin', dora: 'developer', olivia: 'owner' });

      res = await r.request('PUT', '/-/org/acme/user', { token: dev.token, body: { user: 'oscar' } });
      assert.equal(res.status, 403, 'a developer cannot add members');
      res = await r.request('PUT', '/-/org/acme/user', { token: adm.token, body: { user: 'dora', role: 'owner' } });
      assert.equal(res.status, 403, 'an admin cannot make owners');
      assert.match(error(res), /only an owner/);
      res = await r.request('DELETE', '/-/org/acme/user', { token: adm.token, body: { user: 'olivia' } });
      assert.equal(res.status, 403, 'an admin cannot remove an owner');
      res = await r.request('DELETE', '/-/org/acme/user', { token: owner.token, body: { user: 'olivia' } });
      assert.equal(res.status, 403, 'the last owner cannot leave');
      assert.match(error(res), /at least one owner/);
      res = await r.request('GET', '/-/org/acme/user', { token: outsider.token });
      assert.equal(res.status, 404, 'a stranger does not see the roster');
      assert.equal((await r.request('GET', '/-/org/acme/user')).status, 401);
      res = await r.request('PUT', '/-/org/acme/user', { token: owner.token, body: { user: 'nobody-here' } });
      assert.equal(res.status, 404);
      res = await r.request('PUT', '/-/org/acme/user', {
        token: owner.token,
        body: { user: 'oscar', role: 'emperor' },
      });
      assert.equal(res.status, 400);

      res = await r.request('PUT', '/-/org/acme/user', { token: owner.token, body: { user: 'oscar' } });
      assert.equal(res.status, 200);
      res = await r.request('DELETE', '/-/org/acme/user', { token: adm.token, body: { user: 'oscar' } });
      assert.equal(res.status, 204);
      assert.deepEqual(await events('org.member'), [
        'org.member-added acme {"user":"adam","role":"admin"}',
        'org.member-added acme {"user":"dora","role":"developer"}',
        'org.member-added acme {"user":"oscar","role":"developer"}',
        'org.member-removed acme {"user":"oscar"}',
      ]);
    });

    it('npm team create/add/ls/rm/destroy', async () => {
      let res = await r.request('PUT', '/-/org/acme/team', { token: adm.token, body: { name: 'core' } });
      assert.equal(res.status, 201, res.text);
      res = await r.request('PUT', '/-/org/acme/team', { token: dev.token, body: { name: 'rogue' } });
      assert.equal(res.status, 403);
      res = await r.request('PUT', '/-/org/acme/team', { token: adm.token, body: { name: 'core' } });
      assert.equal(res.status, 409);
      res = await r.request('PUT', '/-/org/acme/team', { token: adm.token, body: { name: 'Bad Name' } });
      assert.equal(res.status, 400);
      res = await r.request('PUT', '/-/team/acme/core/user', { token: adm.token, body: { user: 'dora' } });
      assert.equal(res.status, 201, res.text);
      res = await r.request('PUT', '/-/team/acme/core/user', { token: adm.token, body: { user: 'oscar' } });
      assert.equal(res.status, 400, 'only org members join teams');
      res = await r.request('GET', '/-/org/acme/team?format=cli', { token: dev.token });
      assert.deepEqual(res.json(), ['acme:core', 'acme:developers']);
      res = await r.request('GET', '/-/team/acme/core/user?format=cli', { token: dev.token });
      assert.deepEqual(res.json(), ['dora']);
      assert.equal(
        (await r.request('PUT', '/-/org/acme/team', { token: owner.token, body: { name: 'temp' } })).status,
        201,
      );
      res = await r.request('DELETE', '/-/team/acme/temp', { token: dev.token });
      assert.equal(res.status, 403);
      res = await r.request('DELETE', '/-/team/acme/temp', { token: owner.token });
      assert.equal(res.status, 204);
      res = await r.request('DELETE', '/-/team/acme/temp', { token: owner.token });
      assert.equal(res.status, 404);
      assert.deepEqual(await events('org.team'), [
        'org.team-created acme {"team":"core"}',
        'org.team-member-added acme {"team":"core","user":"dora"}',
        'org.team-created acme {"team":"temp"}',
        'org.team-deleted acme {"team":"temp","grants":[]}',
      ]);
    });

    it('publishing comes from grants: an org admin on no writing team cannot publish; a read-write team member can', async () => {
      // Olivia (a developer-team member) creates the package and becomes its maintainer.
      let res = await r.request('PUT', '/@acme%2fwidget', {
        token: owner.token,
        body: body(publishDoc({ name: '@acme/widget', version: '1.0.0' }, { access: 'restricted' })),
      });
      assert.equal(res.status, 201, res.text);
      // Adam is an admin; take him off the developers team so he has no publishing grant at all.
      res = await r.request('DELETE', '/-/team/acme/developers/user', { token: adm.token, body: { user: 'adam' } });
      assert.equal(res.status, 204);
      const hidden = await r.request('PUT', '/@acme%2fwidget', {
        token: adm.token,
        body: body(publishDoc({ name: '@acme/widget', version: '1.1.0' })),
      });
      res = await r.request('PUT', '/@acme%2fgadget', {
        token: adm.token,
        body: body(publishDoc({ name: '@acme/gadget', version: '1.0.0' })),
      });
      assert.equal(res.status, 403, 'an admin off the developers team cannot create packages in the org');
      assert.deepEqual(
        [hidden.status, hidden.text],
        [res.status, res.text],
        'without a grant the restricted package is invisible, even to an org admin: publishing to it answers as to a free name',
      );

      // Dora is on core; core gets read-only, then read-write.
      res = await r.request('PUT', '/-/team/acme/core/package', {
        token: dev.token,
        body: { package: '@acme/widget', permissions: 'read-write' },
      });
      assert.equal(res.status, 404, 'a developer cannot grant access (and does not see the package)');
      res = await r.request('PUT', '/-/team/acme/core/package', {
        token: adm.token,
        body: { package: '@acme/widget', permissions: 'read-only' },
      });
      assert.equal(res.status, 201, res.text);
      assert.equal(
        (await r.request('GET', '/@acme%2fwidget', { token: dev.token })).status,
        200,
        'read-only grant reads',
      );
      const found = (token: string) =>
        r
          .request('GET', '/-/v1/search?text=widget', { token })
          .then((x) => x.json().objects.map((o: { package: { name: string } }) => o.package.name));
      assert.deepEqual(await found(dev.token), ['@acme/widget'], 'a team grant shows the restricted package in search');
      assert.deepEqual(await found(adm.token), [], 'an org role does not');
      res = await r.request('PUT', '/@acme%2fwidget', {
        token: dev.token,
        body: body(publishDoc({ name: '@acme/widget', version: '1.1.0' })),
      });
      assert.equal(res.status, 403, 'read-only grant cannot publish');
      res = await r.request('PUT', '/-/team/acme/core/package', {
        token: adm.token,
        body: { package: '@acme/widget', permissions: 'read-write' },
      });
      assert.equal(res.status, 201);
      res = await r.request('PUT', '/@acme%2fwidget', {
        token: dev.token,
        body: body(publishDoc({ name: '@acme/widget', version: '1.1.0' })),
      });
      assert.equal(res.status, 201, res.text);

      res = await r.request('GET', '/-/team/acme/core/package', { token: dev.token });
      assert.deepEqual(res.json(), { '@acme/widget': 'write' });
      res = await r.request('GET', '/-/package/@acme%2fwidget/collaborators', { token: dev.token });
      assert.deepEqual(res.json(), { dora: 'write', olivia: 'write' });
      res = await r.request('GET', '/-/org/acme/package', { token: adm.token });
      assert.deepEqual(res.json(), {}, 'an admin without grants does not even list the restricted package');
      res = await r.request('PUT', '/-/team/acme/core/package', {
        token: adm.token,
        body: { package: '@acme/widget', permissions: 'admin' },
      });
      assert.equal(res.status, 400);

      res = await r.request('DELETE', '/-/team/acme/core/package', {
        token: adm.token,
        body: { package: '@acme/widget' },
      });
      assert.equal(res.status, 204);
      assert.equal(
        (await r.request('GET', '/@acme%2fwidget', { token: dev.token })).status,
        404,
        'after the revoke the package is invisible to her again',
      );
      res = await r.request('PUT', '/@acme%2fwidget', {
        token: dev.token,
        body: body(publishDoc({ name: '@acme/widget', version: '1.2.0' })),
      });
      // She may create packages in @acme, so that the name is taken cannot be hidden from her: that is all she learns.
      assert.equal(res.status, 403);
      assert.equal(res.json().error, 'the name "@acme/widget" is taken: publish under another name');
      assert.deepEqual(await events('package.team'), [
        'package.team-access-granted @acme/widget {"team":"acme:core","permission":"read-only"}',
        'package.team-access-granted @acme/widget {"team":"acme:core","permission":"read-write"}',
        'package.team-access-revoked @acme/widget {"team":"acme:core"}',
      ]);
    });

    it('npm owner add/rm rewrites the maintainers at the read revision', async () => {
      await r.request('PUT', '/solo', {
        token: outsider.token,
        body: body(publishDoc({ name: 'solo', version: '1.0.0' })),
      });
      let doc = (await r.request('GET', '/solo')).json();
      const put = (token: string, rev: string, maintainers: unknown) =>
        r.request('PUT', `/solo/-rev/${encodeURIComponent(rev)}`, {
          token,
          body: { _id: 'solo', _rev: rev, maintainers },
        });
      let res = await put(dev.token, doc._rev, [...doc.maintainers, { name: 'dora', email: 'dora@example.com' }]);
      assert.equal(res.status, 403, 'a non-maintainer cannot add herself');
      res = await put(outsider.token, doc._rev, [...doc.maintainers, { name: 'dora', email: 'dora@example.com' }]);
      assert.equal(res.status, 200, res.text);
      doc = (await r.request('GET', '/solo')).json();
      assert.deepEqual(
        doc.maintainers.map((m: { name: string }) => m.name),
        ['dora', 'oscar'],
      );
      res = await put(outsider.token, '1-stale', [{ name: 'oscar' }]);
      assert.equal(res.status, 409, 'a stale revision is refused');
      res = await put(outsider.token, doc._rev, []);
      assert.equal(res.status, 400, 'the last maintainer cannot be removed');
      res = await put(dev.token, doc._rev, [{ name: 'dora' }]);
      assert.equal(res.status, 200);
      doc = (await r.request('GET', '/solo')).json();
      assert.deepEqual(
        doc.maintainers.map((m: { name: string }) => m.name),
        ['dora'],
      );
      res = await r.request('PUT', `/solo/-rev/${encodeURIComponent(doc._rev)}`, {
        token: dev.token,
        body: { _id: 'solo', versions: {} },
      });
      assert.equal(res.status, 400, 'an unpublish-shaped document is not taken for an owner change');
      assert.deepEqual(await events('package.maintainer'), [
        'package.maintainer-added solo {"user":"dora"}',
        'package.maintainer-removed solo {"user":"oscar"}',
      ]);

      // npm access set status: only a scoped package can be restricted; mfa settings are not offered.
      res = await r.request('POST', '/-/package/solo/access', { token: dev.token, body: { access: 'restricted' } });
      assert.equal(res.status, 400);
      assert.match(error(res), /unscoped packages cannot be restricted/);
      res = await r.request('POST', '/-/package/solo/access', {
        token: dev.token,
        body: { publish_requires_tfa: true },
      });
      assert.equal(res.status, 400);
      res = await r.request('POST', '/-/package/@acme%2fwidget/access', {
        token: owner.token,
        body: { access: 'public' },
      });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual((await r.request('GET', '/-/package/@acme%2fwidget/visibility')).json(), { public: true });
      assert.deepEqual(await events('package.access'), [
        'package.access-changed @acme/widget {"from":"restricted","to":"public"}',
      ]);
    });
  });
}
