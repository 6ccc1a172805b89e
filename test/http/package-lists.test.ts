// `npm access list packages NAME` over HTTP, on both databases: npm asks GET /-/org/NAME/package whether NAME is an org
// or a user, and falls back to /-/user/NAME/package only on a 404. A list is a read of each package in it: it needs no
// right in an org (a token without org rights lists too), and a restricted package the reader cannot read is left
// out, exactly as a package that does not exist.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOrg } from '../../src/access/orgs.ts';
import { planToken } from '../../src/tokens/scope.ts';
import { createToken } from '../../src/tokens/service.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

for (const kind of DB_KINDS) {
  describe(`package lists of npm access (${kind})`, () => {
    let r: TestRegistry;
    let alice: { id: number; token: string };
    let olga: { id: number; token: string };
    let stranger: { id: number; token: string };
    /** A token as `bulwark admin token create` makes it: read-write on all packages, no org rights. */
    let aliceScoped: string;
    let aliceOnlyOther: string;
    const list = async (path: string, token: string | null) => {
      const res = await r.request('GET', path, { token });
      return { status: res.status, body: res.status === 200 ? res.json() : res.text };
    };
    const publish = async (name: string, token: string, access: 'public' | 'restricted' = 'public') => {
      const res = await r.request('PUT', `/${name.replace('/', '%2f')}`, {
        token,
        body: body(publishDoc({ name, version: '1.0.0' }, { access })),
      });
      assert.equal(res.status, 201, res.text);
    };
    const scoped = async (userId: number, request: Parameters<typeof planToken>[0]) => {
      const plan = planToken(request, Date.now());
      const made = await createToken(r.store.db, {
        userId,
        userName: 'alice',
        name: 'scoped',
        kind: 'granular',
        readonly: plan.readonly,
        expiresAt: plan.expiresAt,
        scope: plan.scope,
        actorId: null,
      });
      return made.token;
    };

    before(async () => {
      r = await startRegistry(kind);
      alice = await r.user('alice');
      olga = await r.user('olga');
      stranger = await r.user('stranger');
      await publish('alices-lib', alice.token);
      await publish('@alice/private', alice.token, 'restricted');
      await createOrg(r.store.db, 'acme', 'olga', null, Date.now());
      await publish('@acme/open', olga.token);
      await publish('@acme/secret', olga.token, 'restricted');
      aliceScoped = await scoped(alice.id, { permission: 'read-write', packagesAll: true });
      aliceOnlyOther = await scoped(alice.id, { permission: 'read-write', packages: ['alices-lib'] });
    });
    after(() => r.stop());

    it('the org address lists a user’s packages, with a token that has no org rights', async () => {
      const mine = { '@alice/private': 'write', 'alices-lib': 'write' };
      assert.deepEqual(await list('/-/org/alice/package', aliceScoped), { status: 200, body: mine });
      assert.deepEqual(await list('/-/user/alice/package', aliceScoped), { status: 200, body: mine });
      // Everyone else sees the public one only; the restricted one is as absent as a package that never existed.
      for (const token of [null, stranger.token, olga.token]) {
        assert.deepEqual(await list('/-/org/alice/package', token), { status: 200, body: { 'alices-lib': 'write' } });
        assert.deepEqual(await list('/-/user/alice/package', token), { status: 200, body: { 'alices-lib': 'write' } });
      }
      // A token limited to other packages does not reach the restricted one either.
      assert.deepEqual(await list('/-/org/alice/package', aliceOnlyOther), {
        status: 200,
        body: { 'alices-lib': 'write' },
      });
    });

    it('an org’s list needs no org right, and shows what the reader may read', async () => {
      assert.deepEqual(await list('/-/org/acme/package', olga.token), {
        status: 200,
        body: { '@acme/open': 'write', '@acme/secret': 'write' },
      });
      for (const token of [null, stranger.token, aliceScoped])
        assert.deepEqual(await list('/-/org/acme/package', token), { status: 200, body: { '@acme/open': 'read' } });
      assert.deepEqual(await list('/-/org/acme/package', r.adminToken), {
        status: 200,
        body: { '@acme/open': 'read', '@acme/secret': 'read' },
      });
    });

    it('a name that is neither an org nor a user is a 404, so npm tries the user address, which lists nothing', async () => {
      assert.equal((await list('/-/org/nobody/package', aliceScoped)).status, 404);
      assert.deepEqual(await list('/-/user/nobody/package', aliceScoped), { status: 200, body: {} });
      assert.deepEqual(await list('/-/org/stranger/package', null), { status: 200, body: {} });
    });

    it('needs a token where every read does', async () => {
      const locked = await startRegistry(kind, { 'read-access': 'authenticated' });
      try {
        assert.equal((await locked.request('GET', '/-/org/admin/package')).status, 401);
        assert.equal((await locked.request('GET', '/-/user/admin/package')).status, 401);
        const ok = await locked.request('GET', '/-/org/admin/package', { token: locked.adminToken });
        assert.deepEqual(ok.json(), {});
      } finally {
        await locked.stop();
      }
    });
  });
}
