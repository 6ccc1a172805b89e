// Invariant 6 on the write routes: a package the caller may not read answers every write exactly as a package that
// does not exist — same status, same headers that matter to npm, same body bytes — whoever asks (anonymous, a bad
// token, a signed-in stranger, a stranger in the package's org), whatever the body says. Each request below is one an
// adversary used to learn that a restricted package exists, or which versions it has (issue 15, item 4).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DB_KINDS } from '../helpers/db.ts';
import { secretsAndOutsiders } from '../helpers/outsiders.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type Response, type TestRegistry } from '../helpers/registry.ts';

type Probe = { what: string; method: string; path: (enc: string) => string; body?: (name: string) => unknown };

/** Every write route npm has for a package, each with bodies that would tell versions apart if planned too early. */
const PROBES: Probe[] = [
  {
    what: 'publish a new version',
    method: 'PUT',
    path: (e) => `/${e}`,
    body: (n) => body(publishDoc({ name: n, version: '2.0.0' })),
  },
  {
    what: 'publish over an existing version',
    method: 'PUT',
    path: (e) => `/${e}`,
    body: (n) => body(publishDoc({ name: n, version: '1.0.0' })),
  },
  {
    what: 'deprecate a version it lacks',
    method: 'PUT',
    path: (e) => `/${e}`,
    body: () => ({ versions: { '2.0.0': {} } }),
  },
  {
    what: 'deprecate a version it has',
    method: 'PUT',
    path: (e) => `/${e}`,
    body: () => ({ versions: { '1.0.0': {} } }),
  },
  {
    what: 'deprecate with a message',
    method: 'PUT',
    path: (e) => `/${e}`,
    body: () => ({ versions: { '1.0.0': { deprecated: 'gone' } } }),
  },
  { what: 'a document without versions', method: 'PUT', path: (e) => `/${e}`, body: () => ({ description: 'x' }) },
  {
    what: 'unpublish by document, no versions',
    method: 'PUT',
    path: (e) => `/${e}/-rev/1`,
    body: () => ({ versions: {} }),
  },
  {
    what: 'unpublish by document, other version',
    method: 'PUT',
    path: (e) => `/${e}/-rev/1`,
    body: () => ({ versions: { '2.0.0': {} } }),
  },
  {
    what: 'unpublish by document, same version',
    method: 'PUT',
    path: (e) => `/${e}/-rev/1`,
    body: () => ({ versions: { '1.0.0': {} } }),
  },
  {
    what: 'npm owner add',
    method: 'PUT',
    path: (e) => `/${e}/-rev/1`,
    body: (n) => ({ _id: n, _rev: '1', maintainers: [{ name: 'bob' }] }),
  },
  {
    what: 'a -rev document with neither',
    method: 'PUT',
    path: (e) => `/${e}/-rev/1`,
    body: () => ({ description: 'x' }),
  },
  { what: 'unpublish the package', method: 'DELETE', path: (e) => `/${e}/-rev/1` },
  { what: 'delete a tarball it has', method: 'DELETE', path: (e) => `/${e}/-/secret-1.0.0.tgz/-rev/1` },
  { what: 'delete a tarball it lacks', method: 'DELETE', path: (e) => `/${e}/-/secret-9.9.9.tgz/-rev/1` },
  {
    what: 'dist-tag add, version it has',
    method: 'PUT',
    path: (e) => `/-/package/${e}/dist-tags/beta`,
    body: () => '1.0.0',
  },
  {
    what: 'dist-tag add, version it lacks',
    method: 'PUT',
    path: (e) => `/-/package/${e}/dist-tags/beta`,
    body: () => '2.0.0',
  },
  {
    what: 'dist-tag add, not a version',
    method: 'PUT',
    path: (e) => `/-/package/${e}/dist-tags/beta`,
    body: () => ({ version: 1 }),
  },
  { what: 'dist-tag rm latest', method: 'DELETE', path: (e) => `/-/package/${e}/dist-tags/latest` },
  { what: 'dist-tag rm, a tag it lacks', method: 'DELETE', path: (e) => `/-/package/${e}/dist-tags/beta` },
  {
    what: 'npm access set status',
    method: 'POST',
    path: (e) => `/-/package/${e}/access`,
    body: () => ({ access: 'public' }),
  },
  {
    what: 'npm access set mfa',
    method: 'POST',
    path: (e) => `/-/package/${e}/access`,
    body: () => ({ publish_requires_tfa: true }),
  },
  {
    what: 'npm access grant',
    method: 'PUT',
    path: () => '/-/team/acme/developers/package',
    body: (n) => ({ package: n, permissions: 'read-write' }),
  },
  {
    what: 'npm access revoke',
    method: 'DELETE',
    path: () => '/-/team/acme/developers/package',
    body: (n) => ({ package: n }),
  },
  { what: 'read the packument', method: 'GET', path: (e) => `/${e}` },
  { what: 'read the dist-tags', method: 'GET', path: (e) => `/-/package/${e}/dist-tags` },
  { what: 'read the collaborators', method: 'GET', path: (e) => `/-/package/${e}/collaborators` },
];

/** What a client could tell two answers apart by. */
const visible = (res: Response) => ({
  status: res.status,
  body: res.text,
  'www-authenticate': res.headers.get('www-authenticate'),
  'retry-after': res.headers.get('retry-after'),
});

for (const kind of DB_KINDS) {
  describe(`writes to a package the caller cannot read answer as for a missing one (${kind})`, () => {
    let r: TestRegistry;
    const callers: Record<string, string | null> = {};

    before(async () => {
      r = await startRegistry(kind);
      Object.assign(callers, (await secretsAndOutsiders(r)).callers);
    });
    after(() => r.stop());

    for (const scope of ['alice', 'acme']) {
      it(`in @${scope}: every write answers the same for @${scope}/secret (restricted) and @${scope}/absent (missing)`, async () => {
        const differences: string[] = [];
        for (const [who, token] of Object.entries(callers)) {
          for (const p of PROBES) {
            const answers = [];
            for (const name of [`@${scope}/secret`, `@${scope}/absent`]) {
              const payload = p.body?.(name);
              answers.push(
                visible(
                  await r.request(p.method, p.path(name.replace('/', '%2f')), {
                    token,
                    ...(payload !== undefined ? { body: payload } : {}),
                  }),
                ),
              );
            }
            const [hidden, missing] = answers;
            if (JSON.stringify(hidden) !== JSON.stringify(missing))
              differences.push(
                `${who}, ${p.what}: restricted ${JSON.stringify(hidden)} but missing ${JSON.stringify(missing)}`,
              );
          }
        }
        assert.deepEqual(differences, []);
      });
    }

    it('an anonymous or bad-token write is asked to log in (401), whether the package is public, restricted or missing', async () => {
      const alice = await r.user('alice2');
      assert.equal(
        (
          await r.request('PUT', '/open-pkg', {
            token: alice.token,
            body: body(publishDoc({ name: 'open-pkg', version: '1.0.0' })),
          })
        ).status,
        201,
      );
      for (const token of [null, 'bwk_' + 'A'.repeat(42)]) {
        for (const name of ['open-pkg', '@alice%2fsecret', '@alice%2fabsent']) {
          for (const [method, path, payload] of [
            ['PUT', `/${name}`, { versions: { '9.0.0': {} } }],
            ['PUT', `/-/package/${name}/dist-tags/x`, '1.0.0'],
            ['DELETE', `/${name}/-rev/1`, undefined],
          ] as const) {
            const res = await r.request(method, path, { token, ...(payload !== undefined ? { body: payload } : {}) });
            assert.equal(res.status, 401, `${token ? 'bad token' : 'anonymous'} ${method} ${path}: ${res.text}`);
            assert.match(res.json().error, /npm login/);
          }
        }
      }
    });

    it('a reader who may not write is refused plainly (403): hiding is only for those who cannot see the package', async () => {
      const dave = await r.user('dave');
      const res = await r.request('PUT', '/-/package/open-pkg/dist-tags/x', { token: dave.token, body: '1.0.0' });
      assert.equal(res.status, 403);
      assert.equal(
        (await r.request('PUT', '/open-pkg', { token: dave.token, body: { versions: { '9.0.0': {} } } })).status,
        403,
      );
    });

    it('nothing the probes sent changed anything', async () => {
      const db = r.store.db;
      assert.deepEqual(
        (
          await db
            .selectFrom('packages')
            .select(['name', 'access'])
            .where('name', 'like', '%secret')
            .orderBy('name')
            .execute()
        ).map((p) => [p.name, p.access]),
        [
          ['@acme/secret', 'restricted'],
          ['@alice/secret', 'restricted'],
        ],
      );
      assert.equal(
        await db.selectFrom('packages').select('id').where('name', 'like', '%absent').executeTakeFirst(),
        undefined,
      );
      const maintainers = await db
        .selectFrom('maintainers')
        .innerJoin('users', 'users.id', 'maintainers.user_id')
        .innerJoin('packages', 'packages.id', 'maintainers.package_id')
        .select('users.name')
        .where('packages.name', 'like', '%secret')
        .execute();
      assert.deepEqual([...new Set(maintainers.map((m) => m.name))], ['alice']);
      const alice = await r.user('alice3', { admin: true });
      const doc = (await r.request('GET', '/@alice%2fsecret', { token: alice.token })).json();
      assert.deepEqual(Object.keys(doc.versions), ['1.0.0']);
      assert.deepEqual(doc['dist-tags'], { latest: '1.0.0' });
      assert.equal(doc.versions['1.0.0'].deprecated, undefined);
    });
  });
}
