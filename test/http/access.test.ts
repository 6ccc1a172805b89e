import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createToken } from '../../src/tokens/service.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const error = (res: { json(): unknown }) => (res.json() as { error: string }).error;

for (const kind of DB_KINDS) {
  describe(`write gate, identity and dist-tags (${kind})`, () => {
    let r: TestRegistry;
    before(async () => {
      // npm adduser signs people up below; with no SMTP server, an administrator approves new accounts.
      r = await startRegistry(kind, { 'email-verification': 'admin' });
      await r.request('PUT', '/shared', {
        token: r.adminToken,
        body: body(
          publishDoc({ name: 'shared', version: '1.0.0', description: 'a shared util', keywords: ['util', 'strings'] }),
        ),
      });
    });
    after(() => r.stop());

    it('refuses writes without a token, with a bad or revoked token, a read-only token, or an unverified email', async () => {
      const doc = body(publishDoc({ name: 'gated', version: '1.0.0' }));
      let res = await r.request('PUT', '/gated', { body: doc });
      assert.equal(res.status, 401);
      assert.match(error(res), /npm login/);
      res = await r.request('PUT', '/gated', { token: 'bwk_' + 'A'.repeat(42), body: doc });
      assert.equal(res.status, 401);
      assert.match(error(res), /invalid, expired or revoked/);
      res = await r.request('PUT', '/gated', { token: 'not-even-a-token', body: doc });
      assert.equal(res.status, 401);

      const carol = await r.user('carol');
      const { token: readonly } = await createToken(r.store.db, {
        userId: carol.id,
        userName: 'carol',
        name: 'ci',
        kind: 'publish',
        readonly: true,
      });
      res = await r.request('PUT', '/gated', { token: readonly, body: doc });
      assert.equal(res.status, 403);
      assert.match(error(res), /read-only/);

      const { token: expired } = await createToken(r.store.db, {
        userId: carol.id,
        userName: 'carol',
        name: 'old',
        kind: 'publish',
        expiresAt: Date.now() - 1000,
      });
      assert.equal((await r.request('PUT', '/gated', { token: expired, body: doc })).status, 401);

      const dave = await r.user('dave', { verified: false });
      res = await r.request('PUT', '/gated', { token: dave.token, body: doc });
      assert.equal(res.status, 403);
      assert.match(error(res), /email address of "dave" is not verified/);

      res = await r.request('PUT', '/shared', {
        token: carol.token,
        body: body(publishDoc({ name: 'shared', version: '2.0.0' })),
      });
      assert.equal(res.status, 403, 'a non-maintainer cannot publish a new version');
      assert.match(error(res), /not one of its maintainers/);
      assert.equal((await r.request('GET', '/gated')).status, 404);
      const tags = (await r.request('GET', '/-/package/shared/dist-tags')).json();
      assert.deepEqual(tags, { latest: '1.0.0' });
    });

    it('manages dist-tags as npm dist-tag does, with the same gate', async () => {
      await r.request('PUT', '/shared', {
        token: r.adminToken,
        body: body(publishDoc({ name: 'shared', version: '1.1.0' }, { tag: 'next' })),
      });
      let res = await r.request('PUT', '/-/package/shared/dist-tags/stable', { token: r.adminToken, body: '1.0.0' });
      assert.equal(res.status, 201, res.text);
      assert.deepEqual((await r.request('GET', '/-/package/shared/dist-tags')).json(), {
        latest: '1.0.0',
        next: '1.1.0',
        stable: '1.0.0',
      });
      res = await r.request('DELETE', '/-/package/shared/dist-tags/stable', { token: r.adminToken });
      assert.equal(res.status, 200);
      assert.deepEqual((await r.request('GET', '/-/package/shared/dist-tags')).json(), {
        latest: '1.0.0',
        next: '1.1.0',
      });
      // The packument reflects the change at once.
      assert.deepEqual((await r.request('GET', '/shared')).json()['dist-tags' as never], {
        latest: '1.0.0',
        next: '1.1.0',
      });

      res = await r.request('PUT', '/-/package/shared/dist-tags/latest', { token: r.adminToken, body: '1.1.0' });
      assert.equal(res.status, 201);
      assert.equal(
        ((await r.request('GET', '/-/v1/search?text=shared')).json() as any).objects[0].package.version,
        '1.1.0',
      );

      const mallory = await r.user('mallory');
      assert.equal(
        (await r.request('PUT', '/-/package/shared/dist-tags/latest', { token: mallory.token, body: '1.0.0' })).status,
        403,
      );
      assert.equal(
        (await r.request('DELETE', '/-/package/shared/dist-tags/next', { token: mallory.token })).status,
        403,
      );
      assert.equal((await r.request('PUT', '/-/package/shared/dist-tags/latest', { body: '1.0.0' })).status, 401);
      res = await r.request('DELETE', '/-/package/shared/dist-tags/latest', { token: r.adminToken });
      assert.equal(res.status, 400);
      assert.match(error(res), /"latest" dist-tag cannot be removed/);
      res = await r.request('PUT', '/-/package/shared/dist-tags/beta', { token: r.adminToken, body: '9.9.9' });
      assert.equal(res.status, 404);
      res = await r.request('PUT', '/-/package/shared/dist-tags/1.x', { token: r.adminToken, body: '1.0.0' });
      assert.equal(res.status, 400);
      res = await r.request('PUT', '/-/package/shared/dist-tags/beta', {
        token: r.adminToken,
        body: { version: '1.0.0' },
      });
      assert.equal(res.status, 400);
      assert.equal(
        (await r.request('PUT', '/-/package/nope/dist-tags/beta', { token: r.adminToken, body: '1.0.0' })).status,
        404,
      );
      assert.equal(
        (await r.request('DELETE', '/-/package/shared/dist-tags/never', { token: r.adminToken })).status,
        404,
      );
    });

    it('answers ping and whoami, and logs in, signs up and logs out over the legacy user endpoint', async () => {
      assert.equal((await r.request('GET', '/-/ping?write=true')).status, 200);
      assert.deepEqual((await r.request('GET', '/-/whoami', { token: r.adminToken })).json(), { username: 'admin' });
      assert.equal((await r.request('GET', '/-/whoami')).status, 401);

      // npm adduser: a new account, not yet verified.
      let res = await r.request('PUT', '/-/user/org.couchdb.user:erin', {
        body: {
          _id: 'org.couchdb.user:erin',
          name: 'erin',
          password: 'a-long-passphrase',
          email: 'erin@example.com',
          type: 'user',
          roles: [],
        },
      });
      assert.equal(res.status, 201, res.text);
      const erinToken = (res.json() as { token: string }).token;
      assert.match(erinToken, /^bwk_/);
      assert.deepEqual((await r.request('GET', '/-/whoami', { token: erinToken })).json(), { username: 'erin' });
      res = await r.request('PUT', '/erin-pkg', {
        token: erinToken,
        body: body(publishDoc({ name: 'erin-pkg', version: '1.0.0' })),
      });
      assert.equal(res.status, 403, 'a self-registered account publishes only after verifying its email');

      // npm login: the right password gives a new token, the wrong one nothing.
      res = await r.request('PUT', '/-/user/org.couchdb.user:erin', {
        body: { name: 'erin', password: 'a-long-passphrase' },
      });
      assert.equal(res.status, 201);
      const second = (res.json() as { token: string }).token;
      assert.notEqual(second, erinToken);
      res = await r.request('PUT', '/-/user/org.couchdb.user:erin', {
        body: { name: 'erin', password: 'wrong-passphrase' },
      });
      assert.equal(res.status, 401);
      assert.equal(error(res), 'incorrect username or password');
      res = await r.request('PUT', '/-/user/org.couchdb.user:nobody', {
        body: { name: 'nobody', password: 'whatever-it-is' },
      });
      assert.equal(res.status, 401, 'login of an unknown name reveals nothing');
      assert.equal(error(res), 'incorrect username or password');
      res = await r.request('PUT', '/-/user/org.couchdb.user:erin', {
        body: { name: 'erin', password: 'a-long-passphrase', email: 'x@example.com' },
      });
      assert.equal(res.status, 201, 'adduser of an existing name with its password logs in');
      res = await r.request('PUT', '/-/user/org.couchdb.user:Bad%20Name', {
        body: { name: 'Bad Name', password: 'a-long-passphrase', email: 'b@example.com' },
      });
      assert.equal(res.status, 400);
      res = await r.request('PUT', '/-/user/org.couchdb.user:frank', {
        body: { name: 'frank', password: 'short', email: 'f@example.com' },
      });
      assert.equal(res.status, 400);
      assert.match(error(res), /at least 10 characters/);

      // npm logout
      res = await r.request('DELETE', `/-/user/token/${second}`, { token: second });
      assert.equal(res.status, 200);
      assert.equal((await r.request('GET', '/-/whoami', { token: second })).status, 401);
      assert.equal((await r.request('DELETE', `/-/user/token/${second}`, { token: second })).status, 404);
      assert.equal((await r.request('GET', '/-/whoami', { token: erinToken })).status, 200, 'other tokens stay valid');
    });

    it('searches names, descriptions and keywords with scores and paging', async () => {
      for (const [name, description, keywords] of [
        ['string-utils', 'helpers for text', ['strings']],
        ['left-pad', 'pads strings on the left', ['pad']],
        ['unrelated', 'nothing to see', []],
      ] as const) {
        await r.request('PUT', `/${name}`, {
          token: r.adminToken,
          body: body(publishDoc({ name, version: '1.0.0', description, keywords: [...keywords] })),
        });
      }
      const res = await r.request('GET', '/-/v1/search?text=string&size=20');
      assert.equal(res.status, 200);
      const out = res.json() as {
        objects: Array<{ package: any; score: any; searchScore: number }>;
        total: number;
        time: string;
      };
      const names = out.objects.map((o) => o.package.name);
      assert.deepEqual(names, ['string-utils', 'shared', 'left-pad'], 'name, then keyword, then description matches');
      assert.equal(out.total, 3);
      const first = out.objects[0]!;
      assert.equal(first.package.version, '1.0.0');
      assert.deepEqual(first.package.maintainers, [{ username: 'admin', email: 'admin@example.com' }]);
      assert.ok(first.score.final > 0 && first.score.detail.quality > 0);
      const page = (await r.request('GET', '/-/v1/search?text=string&size=1&from=1')).json() as typeof out;
      assert.deepEqual(
        page.objects.map((o) => o.package.name),
        ['shared'],
      );
      assert.equal(page.total, 3);
      assert.deepEqual(
        (await r.request('GET', '/-/v1/search?text=keywords:pad')).json().objects.map((o: any) => o.package.name),
        ['left-pad'],
      );
      assert.equal(
        (await r.request('GET', '/-/v1/search?text=%25')).json().total,
        0,
        'LIKE wildcards are matched literally',
      );
      assert.equal((await r.request('GET', '/-/v1/search?text=x&size=abc')).status, 400);
    });

    it('counts tarball downloads per day and serves them at npm download-count endpoints', async () => {
      for (let i = 0; i < 3; i++) assert.equal((await r.request('GET', '/shared/-/shared-1.0.0.tgz')).status, 200);
      await r.request('HEAD', '/shared/-/shared-1.0.0.tgz');
      const point = (await r.request('GET', '/downloads/point/last-week/shared')).json() as any;
      assert.equal(point.downloads, 3, 'HEAD is not a download');
      assert.equal(point.package, 'shared');
      const today = new Date().toISOString().slice(0, 10);
      assert.equal(point.end, today);
      const range = (await r.request('GET', `/downloads/range/${today}:${today}/shared`)).json() as any;
      assert.deepEqual(range.downloads, [{ day: today, downloads: 3 }]);
      assert.equal((await r.request('GET', '/downloads/range/last-month/shared')).json().downloads.length, 30);
      assert.equal((await r.request('GET', '/downloads/point/yesterday-ish/shared')).status, 400);
      assert.equal((await r.request('GET', '/downloads/point/2026-02-30/shared')).status, 400);
      assert.equal((await r.request('GET', '/downloads/point/last-day/never-published')).status, 404);
    });

    it('answers unknown routes and bad bodies with npm-style JSON errors, never a 500', async () => {
      let res = await r.request('GET', '/-/no/such/route');
      assert.equal(res.status, 404);
      assert.deepEqual(res.json(), { error: 'Not found', code: 'E_NOT_FOUND' });
      res = await r.request('PUT', '/-/package/shared/dist-tags/x', {
        token: r.adminToken,
        raw: 'not json',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.status, 400);
      assert.ok(error(res));
      res = await r.request('PUT', '/shared', {
        token: r.adminToken,
        raw: 'hello',
        headers: { 'content-type': 'text/plain' },
      });
      assert.equal(res.status, 400);
      assert.match(error(res), /must be a JSON package document/);
      res = await r.request('PUT', '/shared', {
        token: r.adminToken,
        raw: 'hello',
        headers: { 'content-type': 'application/x-something' },
      });
      assert.equal(res.status, 415);
      res = await r.request('PUT', '/shared', {
        token: r.adminToken,
        body: { name: 'shared', description: 'metadata only' },
      });
      assert.equal(res.status, 400);
      assert.match(error(res), /without a tarball must carry the "versions" npm read \(npm deprecate\)/);
      res = await r.request('GET', '/%E0%A4%A');
      assert.ok(res.status === 400 || res.status === 404, String(res.status));
      assert.equal((await r.request('GET', '/-/health')).status, 200);
      res = await r.request('GET', '/-/ready', { headers: { 'x-request-id': 'trace-42' } });
      assert.deepEqual(res.json(), { status: 'ok', problems: [] });
      assert.equal(res.headers.get('x-request-id'), 'trace-42');
    });
  });
}

describe('registry-wide settings', () => {
  it('with --read-access authenticated, every read needs a token and reveals nothing to anonymous clients', async () => {
    const r = await startRegistry('sqlite', { 'read-access': 'authenticated' });
    try {
      await r.request('PUT', '/private-co', {
        token: r.adminToken,
        body: body(publishDoc({ name: 'private-co', version: '1.0.0' })),
      });
      for (const path of [
        '/private-co',
        '/does-not-exist',
        '/private-co/-/private-co-1.0.0.tgz',
        '/-/v1/search?text=private',
        '/-/package/private-co/dist-tags',
        '/downloads/point/last-day/private-co',
      ]) {
        assert.equal((await r.request('GET', path)).status, 401, path);
      }
      const reader = await r.user('reader');
      assert.equal((await r.request('GET', '/private-co', { token: reader.token })).status, 200);
      assert.equal((await r.request('GET', '/private-co/-/private-co-1.0.0.tgz', { token: reader.token })).status, 200);
      assert.equal((await r.request('GET', '/-/v1/search?text=private', { token: reader.token })).json().total, 1);
    } finally {
      await r.stop();
    }
  });

  it('with --signup closed, npm adduser cannot create accounts but existing users still log in', async () => {
    const r = await startRegistry('sqlite', { signup: 'closed' });
    try {
      let res = await r.request('PUT', '/-/user/org.couchdb.user:newbie', {
        body: { name: 'newbie', password: 'a-long-passphrase', email: 'n@example.com' },
      });
      assert.equal(res.status, 403);
      assert.match(error(res), /sign-up is closed/);
      res = await r.request('PUT', '/-/user/org.couchdb.user:admin', {
        body: { name: 'admin', password: 'correct-horse-battery' },
      });
      assert.equal(res.status, 201);
    } finally {
      await r.stop();
    }
  });

  it('shows one node the writes of another node sharing the database', async () => {
    const a = await startRegistry('sqlite');
    try {
      const { openStore } = await import('../../src/store/db.ts');
      const { startApp } = await import('../../src/app.ts');
      const { FsBlobStore } = await import('../../src/store/blobs.ts');
      const { loadSettings } = await import('../../src/config.ts');
      const pino = (await import('pino')).default;
      const store = await openStore({ dataDir: a.dataDir, database: null });
      const settings = loadSettings({ flags: { port: '0', 'data-dir': a.dataDir, upstream: 'none' }, env: {} });
      const b = await startApp({
        settings,
        store,
        blobs: new FsBlobStore(`${a.dataDir}/blobs`),
        logger: pino({ level: 'silent' }),
        secretKey: Buffer.alloc(32, 7),
      });
      try {
        await a.request('PUT', '/multi', {
          token: a.adminToken,
          body: body(publishDoc({ name: 'multi', version: '1.0.0' })),
        });
        assert.equal((await fetch(`${b.url}/multi`)).status, 200);
        await a.request('PUT', '/multi', {
          token: a.adminToken,
          body: body(publishDoc({ name: 'multi', version: '1.0.1' })),
        });
        let seen = false;
        for (let i = 0; i < 40 && !seen; i++) {
          const doc = (await (await fetch(`${b.url}/multi`)).json()) as { 'dist-tags': { latest: string } };
          seen = doc['dist-tags'].latest === '1.0.1';
          if (!seen) await new Promise((res) => setTimeout(res, 100));
        }
        assert.ok(seen, 'node b saw the publish made on node a through the event stream');
      } finally {
        await b.close();
        await store.close();
      }
    } finally {
      await a.stop();
    }
  });
});
