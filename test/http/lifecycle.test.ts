// GEN-2a over HTTP, with the documents npm itself sends (lib/commands/deprecate.js, libnpmpublish/lib/unpublish.js):
// deprecation, unpublish within the window and only without dependents, the name hold, and the administrator's
// transfer and deletion, which never make a published name@version publishable again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DB_KINDS } from '../helpers/db.ts';
import { body, publishDoc, type Manifest } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { eventAbout, eventsAbout } from '../helpers/events.ts';

const HOUR = 3600_000;
const ABBREVIATED = { accept: 'application/vnd.npm.install-v1+json' };

for (const kind of DB_KINDS) {
  describe(`package lifecycle (${kind})`, () => {
    let r: TestRegistry;
    let now = Date.now();
    let alice: { id: number; token: string };
    let bob: { id: number; token: string };
    before(async () => {
      r = await startRegistry(kind, { 'name-hold': '30d' }, { clock: () => now });
      alice = await r.user('alice');
      bob = await r.user('bob');
    });
    after(() => r.stop());

    const publish = async (manifest: Manifest, token = alice.token, tag?: string) =>
      r.request('PUT', `/${manifest.name.replace('/', '%2f')}`, {
        token,
        body: body(publishDoc(manifest, tag ? { tag } : {})),
      });
    const packument = async (name: string, token?: string) =>
      (await r.request('GET', `/${name}`, { token: token ?? null })).json() as Record<string, any>;
    /** What npm unpublish name@version sends: the document it read, without that version, at its revision. */
    async function unpublishVersion(name: string, version: string, token = alice.token) {
      const doc = await packument(name, token);
      delete doc.versions[version];
      for (const [tag, v] of Object.entries(doc['dist-tags'])) if (v === version) delete doc['dist-tags'][tag];
      return r.request('PUT', `/${name}/-rev/${doc._rev}`, { token, body: doc });
    }
    async function unpublishAll(name: string, token = alice.token) {
      const doc = await packument(name, token);
      return r.request('DELETE', `/${name}/-rev/${doc._rev}`, { token });
    }
    async function deprecate(name: string, versions: string[], message: string, token = alice.token) {
      const doc = await packument(name, token);
      for (const v of versions) doc.versions[v].deprecated = message;
      return r.request('PUT', `/${name}`, { token, body: doc });
    }

    it('deprecates and un-deprecates versions with the document npm deprecate sends', async () => {
      for (const version of ['1.0.0', '1.1.0', '2.0.0'])
        assert.equal((await publish({ name: 'old-api', version })).status, 201);
      const res = await deprecate('old-api', ['1.0.0', '1.1.0'], 'use 2.x: 1.x leaks memory');
      assert.equal(res.status, 200, res.text);
      const full = await packument('old-api');
      assert.equal(full.versions['1.0.0'].deprecated, 'use 2.x: 1.x leaks memory');
      assert.equal(full.versions['1.1.0'].deprecated, 'use 2.x: 1.x leaks memory');
      assert.equal(full.versions['2.0.0'].deprecated, undefined);
      const corgi = (await r.request('GET', '/old-api', { headers: ABBREVIATED })).json();
      assert.equal(corgi.versions['1.1.0'].deprecated, 'use 2.x: 1.x leaks memory', 'installers see the warning');

      assert.equal((await deprecate('old-api', ['1.1.0'], '')).status, 200);
      const after = await packument('old-api');
      assert.equal(after.versions['1.1.0'].deprecated, undefined, 'an empty message removes the deprecation');
      assert.equal(after.versions['1.0.0'].deprecated, 'use 2.x: 1.x leaks memory');
      const events = await r.store.db
        .selectFrom('events')
        .select(['kind', 'data'])
        .where('subject', '=', 'old-api')
        .where('kind', '=', 'package.version-deprecated')
        .orderBy('seq')
        .execute();
      assert.deepEqual(
        events.map((e) => JSON.parse(e.data)),
        [
          { version: '1.0.0', message: 'use 2.x: 1.x leaks memory' },
          { version: '1.1.0', message: 'use 2.x: 1.x leaks memory' },
          { version: '1.1.0', message: '' },
        ],
      );
    });

    it('refuses deprecation by strangers, without a token, and of versions that do not exist', async () => {
      assert.equal((await deprecate('old-api', ['2.0.0'], 'mine now', bob.token)).status, 403);
      const doc = await packument('old-api');
      doc.versions['2.0.0'].deprecated = 'anonymous';
      assert.equal((await r.request('PUT', '/old-api', { body: doc })).status, 401);
      doc.versions['9.9.9'] = { deprecated: 'ghost' };
      const res = await r.request('PUT', '/old-api', { token: alice.token, body: doc });
      assert.equal(res.status, 400);
      assert.match(res.json().error, /9\.9\.9 is not a published version/);
      assert.equal((await packument('old-api')).versions['2.0.0'].deprecated, undefined);
    });

    it('unpublishes one version as npm does: gone from versions and tarballs, kept in time, never publishable again', async () => {
      for (const version of ['1.0.0', '1.0.1']) assert.equal((await publish({ name: 'oops', version })).status, 201);
      const res = await unpublishVersion('oops', '1.0.1');
      assert.equal(res.status, 200, res.text);
      // npm then deletes the tarball at the new revision; the version is already gone, and npm ignores the 404.
      const doc = await packument('oops');
      assert.equal(
        (await r.request('DELETE', `/oops/-/oops-1.0.1.tgz/-rev/${doc._rev}`, { token: alice.token })).status,
        404,
      );
      assert.deepEqual(Object.keys(doc.versions), ['1.0.0']);
      assert.equal(doc['dist-tags'].latest, '1.0.0', 'latest moves back to the highest remaining version');
      assert.ok(doc.time['1.0.1'], 'time keeps the unpublished version, as on npmjs.com');
      assert.equal((await r.request('GET', '/oops/-/oops-1.0.1.tgz')).status, 404);
      const again = await publish({ name: 'oops', version: '1.0.1' });
      assert.equal(again.status, 403);
      assert.match(again.json().error, /cannot publish over the previously published versions: 1\.0\.1/);
      const events = await eventsAbout(r.store.db, 'oops', 'package.version-unpublished');
      assert.equal(events.length, 1);
    });

    it('refuses to unpublish after the window, and tells the maintainer to deprecate', async () => {
      assert.equal((await publish({ name: 'settled', version: '1.0.0' })).status, 201);
      assert.equal((await publish({ name: 'settled', version: '1.0.1' })).status, 201);
      now += 73 * HOUR;
      try {
        const res = await unpublishVersion('settled', '1.0.1');
        assert.equal(res.status, 403);
        assert.match(
          res.json().error,
          /settled@1\.0\.1 can no longer be unpublished: versions can only be unpublished within 72 hours/,
        );
        assert.match(res.json().error, /npm deprecate settled@1\.0\.1/);
        assert.equal((await unpublishAll('settled')).status, 403);
        assert.deepEqual(Object.keys((await packument('settled')).versions), ['1.0.0', '1.0.1']);
      } finally {
        now -= 73 * HOUR;
      }
    });

    it('refuses to unpublish a version another package depends on, but not one no range admits', async () => {
      for (const version of ['1.0.0', '2.0.0'])
        assert.equal((await publish({ name: 'leftpad-ish', version })).status, 201);
      assert.equal(
        (await publish({ name: 'needs-pad', version: '1.0.0', dependencies: { 'leftpad-ish': '^1.0.0' } }, bob.token))
          .status,
        201,
      );
      const res = await unpublishVersion('leftpad-ish', '1.0.0');
      assert.equal(res.status, 403);
      assert.match(res.json().error, /other packages depend on it: needs-pad@1\.0\.0 \(\^1\.0\.0\)/);
      assert.equal((await unpublishAll('leftpad-ish')).status, 403, 'the whole package has a dependent too');
      assert.equal((await unpublishVersion('leftpad-ish', '2.0.0')).status, 200, 'nothing depends on 2.0.0');
    });

    it('refuses strangers and stale revisions', async () => {
      assert.equal((await publish({ name: 'contested', version: '1.0.0' })).status, 201);
      assert.equal((await publish({ name: 'contested', version: '1.0.1' })).status, 201);
      assert.equal((await unpublishVersion('contested', '1.0.1', bob.token)).status, 403);
      assert.equal((await unpublishAll('contested', bob.token)).status, 403);
      const doc = await packument('contested');
      delete doc.versions['1.0.1'];
      assert.equal((await r.request('PUT', `/contested/-rev/${doc._rev}`, { body: doc })).status, 401);
      const stale = await r.request('PUT', `/contested/-rev/1-0000`, { token: alice.token, body: doc });
      assert.equal(stale.status, 409);
      assert.equal(Object.keys((await packument('contested')).versions).length, 2);
    });

    it('unpublishes a whole package: npm view sees time.unpublished, installers a 404, and the name is held for its maintainers', async () => {
      for (const version of ['1.0.0', '1.1.0'])
        assert.equal((await publish({ name: 'gone-pkg', version })).status, 201);
      const res = await unpublishAll('gone-pkg');
      assert.equal(res.status, 200, res.text);
      const doc = await packument('gone-pkg');
      // Empty rather than absent: yarn 4 reads `versions` of every packument and stops with a TypeError without it.
      assert.deepEqual(doc.versions, {});
      assert.deepEqual(doc['dist-tags'], {});
      assert.deepEqual(doc.time.unpublished.versions, ['1.0.0', '1.1.0']);
      assert.ok(Date.parse(doc.time.unpublished.time) > 0);
      const corgi = await r.request('GET', '/gone-pkg', { headers: ABBREVIATED });
      assert.equal(corgi.status, 404);
      assert.match(corgi.json().error, /gone-pkg was unpublished/);
      assert.equal((await r.request('GET', '/gone-pkg/-/gone-pkg-1.0.0.tgz')).status, 404);
      assert.equal((await r.request('GET', '/-/v1/search?text=gone-pkg')).json().objects.length, 0);

      const webPage = await r.request('GET', '/-/web/package/gone-pkg', { headers: { accept: 'text/html' } });
      assert.equal(webPage.status, 404);
      assert.match(webPage.text, /<h1>gone-pkg<\/h1>\s*<p>This package was unpublished on \d{4}-\d\d-\d\d/);
      const policy = await r.request('GET', '/-/web/policies/unpublish', { headers: { accept: 'text/html' } });
      assert.equal(policy.status, 200);
      assert.match(
        policy.text,
        /<h2[^>]*>2\. Unpublish by maintainers<\/h2>/,
        'the policy page is the shipped policy document',
      );

      const stranger = await publish({ name: 'gone-pkg', version: '3.0.0' }, bob.token);
      assert.equal(stranger.status, 403);
      assert.match(
        stranger.json().error,
        /"gone-pkg" was unpublished on .*; its name is held for its previous maintainers until/,
      );
      assert.equal(
        (await publish({ name: 'gone-pkg', version: '1.1.0' })).status,
        403,
        'old versions stay burnt for the owner too',
      );
      const back = await publish({ name: 'gone-pkg', version: '2.0.0' }, alice.token, 'next');
      assert.equal(back.status, 201, back.text);
      const revived = await packument('gone-pkg');
      assert.deepEqual(revived['dist-tags'], { latest: '2.0.0', next: '2.0.0' });
      assert.equal(revived.time.unpublished, undefined);
    });

    it('after the hold only an administrator gives the name out again', async () => {
      assert.equal((await publish({ name: 'abandoned', version: '1.0.0' })).status, 201);
      assert.equal((await unpublishAll('abandoned')).status, 200);
      now += 31 * 24 * HOUR;
      try {
        const late = await publish({ name: 'abandoned', version: '2.0.0' });
        assert.equal(late.status, 403);
        assert.match(
          late.json().error,
          /the hold for its previous maintainers ended on .*only a registry administrator/,
        );
        const lifecycle = r.app.lifecycle;
        await lifecycle.transfer({ id: null, name: 'operator' }, 'abandoned', 'bob', 'asked on the forum');
        assert.equal(
          (await publish({ name: 'abandoned', version: '1.0.0' }, bob.token)).status,
          403,
          'the new owner cannot reuse old versions',
        );
        assert.equal((await publish({ name: 'abandoned', version: '2.0.0' }, bob.token)).status, 201);
        assert.equal((await publish({ name: 'abandoned', version: '2.0.1' })).status, 403, 'the old owner lost it');
        const event = await eventAbout(r.store.db, 'abandoned', 'package.transferred');
        assert.deepEqual(JSON.parse(event.data), { from: 'user:alice', to: 'user:bob', reason: 'asked on the forum' });
      } finally {
        now -= 31 * 24 * HOUR;
      }
    });

    it('keeps every name@version burnt after an administrator deletes the package, and after removal as malicious', async () => {
      assert.equal((await publish({ name: 'deleted-pkg', version: '1.0.0' })).status, 201);
      const lifecycle = r.app.lifecycle;
      assert.deepEqual(await lifecycle.deletePackage({ id: null, name: 'operator' }, 'deleted-pkg', 'spam'), ['1.0.0']);
      assert.equal((await r.request('GET', '/deleted-pkg')).status, 404);
      const reuse = await publish({ name: 'deleted-pkg', version: '1.0.0' }, bob.token);
      assert.equal(reuse.status, 403, 'the ledger outlives the package');
      assert.equal(
        (await publish({ name: 'deleted-pkg', version: '1.0.1' }, bob.token)).status,
        201,
        'the name itself is free again',
      );

      for (const version of ['1.0.0', '1.0.1'])
        assert.equal((await publish({ name: 'evil-pkg', version })).status, 201);
      const one = await lifecycle.removeMalicious({ id: null, name: 'moderator' }, 'evil-pkg', '1.0.1', {
        reason: 'steals tokens',
      });
      assert.deepEqual(one.versions, ['1.0.1']);
      assert.deepEqual(Object.keys((await packument('evil-pkg')).versions), ['1.0.0']);
      assert.equal((await r.request('GET', '/evil-pkg/-/evil-pkg-1.0.1.tgz')).status, 404);
      await lifecycle.removeMalicious({ id: null, name: 'moderator' }, 'evil-pkg', null, {
        reason: 'the account was taken over',
      });
      assert.ok((await packument('evil-pkg')).time.unpublished);
      assert.equal(
        (await publish({ name: 'evil-pkg', version: '9.0.0' })).status,
        403,
        'the maintainers lost the name',
      );
      assert.equal(
        (await publish({ name: 'evil-pkg', version: '9.0.0' }, bob.token)).status,
        403,
        'and nobody else gets it',
      );
      const kinds = await r.store.db
        .selectFrom('events')
        .select(['data'])
        .where('subject', '=', 'evil-pkg')
        .where('kind', '=', 'package.malicious-removed')
        .orderBy('seq')
        .execute();
      assert.deepEqual(
        kinds.map((k) => JSON.parse(k.data).version),
        ['1.0.1', '*'],
      );
    });
  });
}
