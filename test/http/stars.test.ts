// Stars over HTTP, on both databases, as npm star / unstar / stars send them: a PUT of { _id, _rev, users } with the
// caller added or removed, and GET /-/_view/starredByUser?key="user". A star needs no right on the package (a
// stranger stars a public package), is the caller's own (other users' entries change nothing), is refused with any
// other field (so a star request cannot carry a change to the package), and a restricted package the caller cannot
// read answers as a missing one. The packument's `users` shows the stars, and so does the package page.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOrg } from '../../src/access/orgs.ts';
import { planToken } from '../../src/tokens/scope.ts';
import { createToken } from '../../src/tokens/service.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

for (const kind of DB_KINDS) {
  describe(`stars (${kind})`, () => {
    let r: TestRegistry;
    let mia: { id: number; token: string };
    let sam: { id: number; token: string };
    let ola: { id: number; token: string };
    const packument = async (name: string, token: string | null = null) =>
      (await r.request('GET', `/${name.replace('/', '%2f')}`, { token })).json();
    /** What npm star sends: the users it read, with the caller added (or removed, for unstar). */
    const star = async (name: string, token: string, user: string, on = true, extra: object = {}) => {
      const doc = await r.request('GET', `/${name.replace('/', '%2f')}?write=true`, { token });
      const read = doc.status === 200 ? doc.json() : { _id: name, _rev: '1-x' };
      const users = { ...read.users };
      if (on) users[user] = true;
      else delete users[user];
      return r.request('PUT', `/${name.replace('/', '%2f')}`, {
        token,
        body: { _id: read._id, _rev: read._rev, users, ...extra },
      });
    };
    const stars = async (user: string, token: string | null = null) => {
      const res = await r.request('GET', `/-/_view/starredByUser?key=${encodeURIComponent(JSON.stringify(user))}`, {
        token,
      });
      assert.equal(res.status, 200, res.text);
      return (res.json().rows as Array<{ value: string }>).map((row) => row.value);
    };

    before(async () => {
      r = await startRegistry(kind);
      mia = await r.user('mia');
      sam = await r.user('sam');
      ola = await r.user('ola');
      for (const name of ['mias-lib', 'other-lib'])
        assert.equal(
          (await r.request('PUT', `/${name}`, { token: mia.token, body: body(publishDoc({ name, version: '1.0.0' })) }))
            .status,
          201,
        );
      await createOrg(r.store.db, 'acme', 'mia', null, Date.now());
      const secret = publishDoc({ name: '@acme/secret', version: '1.0.0' }, { access: 'restricted' });
      assert.equal((await r.request('PUT', '/@acme%2fsecret', { token: mia.token, body: body(secret) })).status, 201);
    });
    after(() => r.stop());

    it('anyone signed in stars and unstars a public package; the packument shows it as npm does', async () => {
      assert.equal((await packument('mias-lib')).users, undefined, 'no stars, no users field');
      let res = await star('mias-lib', sam.token, 'sam');
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json(), { ok: true, id: 'mias-lib' });
      assert.equal((await star('mias-lib', ola.token, 'ola')).status, 200);
      assert.equal((await star('mias-lib', ola.token, 'ola')).status, 200, 'starring twice is harmless');
      assert.deepEqual((await packument('mias-lib')).users, { ola: true, sam: true });
      assert.deepEqual(await stars('sam'), ['mias-lib']);
      const page = await r.request('GET', '/-/web/package/mias-lib', { headers: { accept: 'text/html' } });
      assert.match(page.text, /<dt>Stars<\/dt><dd class="stars"[^>]*>2<\/dd>/);

      res = await star('mias-lib', sam.token, 'sam', false);
      assert.equal(res.status, 200);
      assert.deepEqual((await packument('mias-lib')).users, { ola: true });
      assert.deepEqual(await stars('sam'), []);
      assert.deepEqual(await stars('nobody-by-that-name'), []);

      // One event per change, none for a star that was already there.
      const events = await r.store.db
        .selectFrom('events')
        .select(['kind', 'subject'])
        .where('kind', 'in', ['package.starred', 'package.unstarred'])
        .orderBy('seq')
        .execute();
      assert.deepEqual(
        events.map((e) => `${e.kind} ${e.subject}`),
        ['package.starred mias-lib', 'package.starred mias-lib', 'package.unstarred mias-lib'],
      );
    });

    it('a star is the caller’s own: other names in users change nothing', async () => {
      // Sam sends Ola's star removed and Mia's added alongside his own.
      const res = await r.request('PUT', '/mias-lib', {
        token: sam.token,
        body: { _id: 'mias-lib', users: { sam: true, mia: true } },
      });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual((await packument('mias-lib')).users, { ola: true, sam: true });
    });

    it('a star request cannot carry any other change to the package', async () => {
      const before = await packument('mias-lib');
      for (const extra of [
        { 'dist-tags': { latest: '0.0.1' } },
        { maintainers: [{ name: 'sam' }] },
        { description: 'pwned' },
        { readme: 'pwned' },
        { access: 'restricted' },
      ]) {
        const res = await star('mias-lib', sam.token, 'sam', true, extra);
        assert.equal(res.status, 400, `${JSON.stringify(extra)}: ${res.text}`);
        assert.match(res.json().error, /changes only "users"/);
      }
      // With versions it is not a star at all but npm deprecate's document: only a maintainer may send it.
      const deprecate = await star('mias-lib', sam.token, 'sam', true, {
        versions: { '1.0.0': { deprecated: 'pwned' } },
      });
      assert.equal(deprecate.status, 403, deprecate.text);
      const after = await packument('mias-lib');
      assert.deepEqual({ ...after, users: undefined }, { ...before, users: undefined });
      for (const bad of [{ users: [] }, { users: { sam: 'yes' } }, { _id: 'other-lib', users: {} }]) {
        const res = await r.request('PUT', '/mias-lib', { token: sam.token, body: bad });
        assert.equal(res.status, 400, JSON.stringify(bad));
      }
    });

    it('needs an account, and a restricted package it cannot read is a missing one', async () => {
      const anonymous = await r.request('PUT', '/mias-lib', { body: { _id: 'mias-lib', users: { x: true } } });
      assert.equal(anonymous.status, 401);
      const hidden = await r.request('PUT', '/@acme%2fsecret', {
        token: sam.token,
        body: { _id: '@acme/secret', users: { sam: true } },
      });
      const missing = await r.request('PUT', '/@acme%2fghost', {
        token: sam.token,
        body: { _id: '@acme/ghost', users: { sam: true } },
      });
      assert.equal(hidden.status, 404);
      assert.equal(hidden.text, missing.text);
      // Its maintainer stars it; nobody else learns of it from npm stars.
      assert.equal((await star('@acme/secret', mia.token, 'mia')).status, 200);
      assert.deepEqual((await packument('@acme/secret', mia.token)).users, { mia: true });
      assert.deepEqual(await stars('mia', mia.token), ['@acme/secret']);
      assert.deepEqual(await stars('mia', sam.token), []);
      assert.deepEqual(await stars('mia'), []);
    });

    it('a read-only token cannot star, and a token for other packages cannot star this one', async () => {
      const make = async (request: Parameters<typeof planToken>[0]) => {
        const plan = planToken(request, Date.now());
        return (
          await createToken(r.store.db, {
            userId: ola.id,
            userName: 'ola',
            name: 't',
            kind: 'granular',
            readonly: plan.readonly,
            expiresAt: plan.expiresAt,
            scope: plan.scope,
            actorId: null,
          })
        ).token;
      };
      const ro = await make({ permission: 'read-only', packagesAll: true });
      assert.equal((await star('other-lib', ro, 'ola')).status, 403);
      const forOther = await make({ permission: 'read-write', packages: ['mias-lib'] });
      assert.equal((await star('other-lib', forOther, 'ola')).status, 403);
      assert.equal((await star('mias-lib', forOther, 'ola')).status, 200);
    });

    it('npm stars refuses a key it cannot read', async () => {
      for (const key of ['', '"unterminated', '"' + 'x'.repeat(300) + '"']) {
        const res = await r.request('GET', `/-/_view/starredByUser?key=${encodeURIComponent(key)}`);
        assert.equal(res.status, 400, key);
      }
    });
  });
}
