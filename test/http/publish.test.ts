import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DB_KINDS } from '../helpers/db.ts';
import { body, packTarball, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

for (const kind of DB_KINDS) {
  describe(`publish and read packuments (${kind})`, () => {
    let r: TestRegistry;
    before(async () => {
      r = await startRegistry(kind);
    });
    after(() => r.stop());

    it('publishes a version and serves full and abbreviated packuments and the tarball', async () => {
      const doc = publishDoc({
        name: 'alpha',
        version: '1.0.0',
        description: 'first letter',
        keywords: ['greek'],
        license: 'MIT',
        dependencies: { beta: '^1.0.0' },
        scripts: { postinstall: 'node x.js' },
      });
      const res = await r.request('PUT', '/alpha', { token: r.adminToken, body: body(doc) });
      assert.equal(res.status, 201, res.text);

      const full = await r.request('GET', '/alpha');
      assert.equal(full.status, 200);
      assert.match(full.headers.get('content-type')!, /^application\/json/);
      const p = full.json() as Record<string, any>;
      assert.equal(p.name, 'alpha');
      assert.equal(p._id, 'alpha');
      assert.match(p._rev, /^1-[0-9a-f]{32}$/);
      assert.deepEqual(p['dist-tags'], { latest: '1.0.0' });
      assert.equal(p.description, 'first letter');
      assert.equal(p.license, 'MIT');
      assert.deepEqual(p.maintainers, [{ name: 'admin', email: 'admin@example.com' }]);
      assert.ok(p.time.created && p.time.modified && p.time['1.0.0']);
      assert.equal(p.readme, '# alpha\n');
      const v = p.versions['1.0.0'];
      assert.equal(v.dist.integrity, doc.integrity);
      assert.equal(v.dist.shasum, doc.shasum);
      assert.equal(v.dist.tarball, `${r.url}/alpha/-/alpha-1.0.0.tgz`);
      assert.equal(v.dist.fileCount, 2);
      assert.equal(v._npmUser.name, 'admin');
      assert.equal(v.hasInstallScript, true);
      assert.equal(v.readme, undefined, 'readme is stored once, at the top');

      const abbr = await r.request('GET', '/alpha', {
        headers: { accept: 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*' },
      });
      assert.equal(abbr.headers.get('content-type'), 'application/vnd.npm.install-v1+json');
      const a = abbr.json() as Record<string, any>;
      assert.deepEqual(Object.keys(a).sort(), ['dist-tags', 'modified', 'name', 'versions']);
      assert.deepEqual(a.versions['1.0.0'].dependencies, { beta: '^1.0.0' });
      assert.equal(a.versions['1.0.0'].description, undefined);
      assert.equal(a.versions['1.0.0'].hasInstallScript, true);

      const tgz = await r.request('GET', '/alpha/-/alpha-1.0.0.tgz');
      assert.equal(tgz.status, 200);
      assert.equal(tgz.headers.get('content-type'), 'application/octet-stream');
      assert.equal(`sha512-${createHash('sha512').update(tgz.bytes).digest('base64')}`, doc.integrity);
      assert.equal((await r.request('GET', '/alpha/-/alpha-9.9.9.tgz')).status, 404);
    });

    it('serves scoped packages at both URL forms and keeps restricted ones invisible', async () => {
      const alice = await r.user('alice');
      const bob = await r.user('bob');
      const doc = publishDoc({ name: '@alice/secret', version: '0.1.0', description: 'hidden thing' });
      assert.equal((await r.request('PUT', '/@alice%2fsecret', { token: alice.token, body: body(doc) })).status, 201);
      const pub = publishDoc({ name: '@alice/open', version: '0.1.0' }, { access: 'public' });
      assert.equal((await r.request('PUT', '/@alice%2fopen', { token: alice.token, body: body(pub) })).status, 201);

      for (const path of [
        '/@alice%2fsecret',
        '/@alice/secret',
        '/@alice/secret/-/secret-0.1.0.tgz',
        '/-/package/@alice%2fsecret/dist-tags',
      ]) {
        assert.equal((await r.request('GET', path)).status, 404, `anonymous ${path}`);
        assert.equal((await r.request('GET', path, { token: bob.token })).status, 404, `bob ${path}`);
        assert.equal((await r.request('GET', path, { token: alice.token })).status, 200, `alice ${path}`);
        assert.equal((await r.request('GET', path, { token: r.adminToken })).status, 200, `admin ${path}`);
      }
      const search = (await r.request('GET', '/-/v1/search?text=secret', { token: bob.token })).json() as {
        total: number;
      };
      assert.equal(search.total, 0, 'search must not reveal restricted packages');
      const own = (await r.request('GET', '/-/v1/search?text=secret', { token: alice.token })).json() as {
        objects: Array<{ package: { name: string } }>;
      };
      assert.deepEqual(
        own.objects.map((o) => o.package.name),
        ['@alice/secret'],
      );
      // A write by someone who cannot see the package gets what a publish of a free name would, nothing that confirms
      // the package exists.
      const push = publishDoc({ name: '@alice/secret', version: '0.2.0' });
      const hidden = await r.request('PUT', '/@alice%2fsecret', { token: bob.token, body: body(push) });
      const free = await r.request('PUT', '/@alice%2fsecrex', {
        token: bob.token,
        body: body(publishDoc({ name: '@alice/secrex', version: '0.2.0' })),
      });
      assert.deepEqual([hidden.status, hidden.text], [free.status, free.text]);
      assert.equal(hidden.status, 403);

      assert.equal((await r.request('GET', '/@alice%2fopen')).status, 200);
      assert.equal((await r.request('GET', '/@alice/open/-/open-0.1.0.tgz')).status, 200);
      // bob cannot publish into alice's scope.
      const squat = publishDoc({ name: '@alice/bobs', version: '1.0.0' }, { access: 'public' });
      const res = await r.request('PUT', '/@alice%2fbobs', { token: bob.token, body: body(squat) });
      assert.equal(res.status, 403);
      assert.match((res.json() as { error: string }).error, /scope @alice belongs to another account/);
    });

    it('refuses to publish over an existing version, even after a new tag or different bytes', async () => {
      const doc = publishDoc({ name: 'immutable', version: '1.0.0' });
      assert.equal((await r.request('PUT', '/immutable', { token: r.adminToken, body: body(doc) })).status, 201);
      const again = publishDoc(
        { name: 'immutable', version: '1.0.0', description: 'different bytes' },
        { tag: 'next' },
      );
      const res = await r.request('PUT', '/immutable', { token: r.adminToken, body: body(again) });
      assert.equal(res.status, 403);
      assert.equal(
        (res.json() as { error: string }).error,
        'You cannot publish over the previously published versions: 1.0.0.',
      );
      const tgz = await r.request('GET', '/immutable/-/immutable-1.0.0.tgz');
      assert.equal(
        `sha512-${createHash('sha512').update(tgz.bytes).digest('base64')}`,
        doc.integrity,
        'the original bytes are still served',
      );
    });

    it('moves latest only when publishing with the latest tag, and sets latest on the first publish', async () => {
      const first = publishDoc({ name: 'tagged', version: '2.0.0-beta.1' }, { tag: 'beta' });
      assert.equal((await r.request('PUT', '/tagged', { token: r.adminToken, body: body(first) })).status, 201);
      let tags = (await r.request('GET', '/-/package/tagged/dist-tags')).json();
      assert.deepEqual(tags, { beta: '2.0.0-beta.1', latest: '2.0.0-beta.1' });
      assert.equal(
        (
          await r.request('PUT', '/tagged', {
            token: r.adminToken,
            body: body(publishDoc({ name: 'tagged', version: '1.0.0' })),
          })
        ).status,
        201,
      );
      assert.equal(
        (
          await r.request('PUT', '/tagged', {
            token: r.adminToken,
            body: body(publishDoc({ name: 'tagged', version: '2.0.0-beta.2' }, { tag: 'beta' })),
          })
        ).status,
        201,
      );
      tags = (await r.request('GET', '/-/package/tagged/dist-tags')).json();
      assert.deepEqual(tags, { beta: '2.0.0-beta.2', latest: '1.0.0' });
      const p = (await r.request('GET', '/tagged')).json() as { versions: object };
      assert.deepEqual(Object.keys(p.versions), ['2.0.0-beta.1', '1.0.0', '2.0.0-beta.2']);
    });

    it('rejects malformed publish documents with a clear 4xx and stores nothing', async () => {
      const m = { name: 'bad', version: '1.0.0' };
      const good = body(publishDoc(m));
      const att = good._attachments['bad-1.0.0.tgz']!;
      const cases: Array<[string, unknown, number, RegExp]> = [
        ['name mismatch', { ...good, name: 'other' }, 400, /does not match the package name in the URL/],
        [
          'two versions',
          { ...good, versions: { ...good.versions, '1.0.1': { ...m, version: '1.0.1' } } },
          400,
          /exactly one version/,
        ],
        ['invalid semver', { ...body(publishDoc({ name: 'bad', version: 'one' })) }, 400, /invalid version/],
        ['no attachment', { ...good, _attachments: {} }, 400, /exactly one attachment/],
        [
          'two attachments',
          { ...good, _attachments: { ...good._attachments, 'x.tgz': att } },
          400,
          /exactly one attachment/,
        ],
        [
          'bad base64',
          { ...good, _attachments: { 'bad-1.0.0.tgz': { ...att, data: '!!!notbase64' } } },
          400,
          /not valid base64/,
        ],
        [
          'length mismatch',
          { ...good, _attachments: { 'bad-1.0.0.tgz': { ...att, length: att.length + 1 } } },
          400,
          /declares length/,
        ],
        [
          'integrity mismatch',
          {
            ...good,
            versions: {
              '1.0.0': { ...good.versions['1.0.0'], dist: { integrity: 'sha512-AAAA', shasum: publishDoc(m).shasum } },
            },
          },
          400,
          /dist.integrity does not match/,
        ],
        [
          'shasum mismatch',
          { ...good, versions: { '1.0.0': { ...good.versions['1.0.0'], dist: { shasum: '0'.repeat(40) } } } },
          400,
          /dist.shasum does not match/,
        ],
        ['tag is a range', { ...good, 'dist-tags': { '1.x': '1.0.0' } }, 400, /must not be a valid semver range/],
        [
          'tag points elsewhere',
          { ...good, 'dist-tags': { latest: '2.0.0' } },
          400,
          /must point at the published version/,
        ],
        ['unscoped restricted', { ...good, access: 'restricted' }, 400, /unscoped packages cannot be restricted/],
        [
          'tarball is not gzip',
          body(publishDoc(m, { tarball: Buffer.from('plain text, not a tarball') })),
          400,
          /not a gzip stream/,
        ],
        [
          'tarball names another package',
          body(publishDoc(m, { tarball: packTarball({ name: 'evil', version: '1.0.0' }) })),
          400,
          /inside the tarball names "evil"/,
        ],
        [
          'tarball has another version',
          body(publishDoc(m, { tarball: packTarball({ name: 'bad', version: '6.6.6' }) })),
          400,
          /inside the tarball has version "6.6.6"/,
        ],
        [
          'manifest confusion',
          body(
            publishDoc(
              { ...m, dependencies: { safe: '1.0.0' } },
              { tarball: packTarball({ ...m, dependencies: { malware: '1.0.0' } }) },
            ),
          ),
          400,
          /differs from package.json inside the tarball/,
        ],
      ];
      for (const [label, doc, status, message] of cases) {
        const res = await r.request('PUT', '/bad', { token: r.adminToken, body: doc });
        assert.equal(res.status, status, `${label}: ${res.text}`);
        assert.match((res.json() as { error: string }).error, message, label);
      }
      const invalidName = await r.request('PUT', '/Bad%20Name', { token: r.adminToken, body: good });
      assert.equal(invalidName.status, 400);
      assert.match(invalidName.text, /invalid package name/);
      const notJson = await r.request('PUT', '/bad', {
        token: r.adminToken,
        raw: '{"name": ',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(notJson.status, 400);
      assert.ok((notJson.json() as { error: string }).error);
      assert.equal((await r.request('GET', '/bad')).status, 404, 'no failed publish leaves a package behind');
    });

    it('answers conditional requests, HEAD and compressed encodings from the precomputed bytes', async () => {
      await r.request('PUT', '/cached', {
        token: r.adminToken,
        body: body(publishDoc({ name: 'cached', version: '1.0.0', description: 'x'.repeat(3000) })),
      });
      const first = await r.request('GET', '/cached', { headers: { 'accept-encoding': 'identity' } });
      const etag = first.headers.get('etag')!;
      assert.match(etag, /^"[\w-]+"$/);
      assert.match(first.headers.get('vary')!, /Accept-Encoding/);
      assert.equal(
        (await r.request('GET', '/cached', { headers: { 'if-none-match': etag, 'accept-encoding': 'identity' } }))
          .status,
        304,
      );
      assert.equal(
        (
          await r.request('GET', '/cached', {
            headers: { 'if-none-match': `W/${etag}`, 'accept-encoding': 'identity' },
          })
        ).status,
        304,
      );
      const head = await r.request('HEAD', '/cached');
      assert.equal(head.status, 200);
      assert.equal(head.text, '');
      const raw = await import('node:http');
      for (const enc of ['gzip', 'br'] as const) {
        const res = await new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
          raw
            .get(`${r.url}/cached`, { headers: { 'accept-encoding': enc } }, (m) => {
              const chunks: Buffer[] = [];
              m.on('data', (c: Buffer) => chunks.push(c)).on('end', () =>
                resolve({ headers: m.headers, body: Buffer.concat(chunks) }),
              );
            })
            .on('error', reject);
        });
        assert.equal(res.headers['content-encoding'], enc);
        assert.notEqual(res.headers.etag, etag, 'each encoding has its own strong ETag');
        const zlib = await import('node:zlib');
        const plain = enc === 'gzip' ? zlib.gunzipSync(res.body) : zlib.brotliDecompressSync(res.body);
        assert.deepEqual(plain, first.bytes);
      }
      // A new publish changes the bytes and the ETag.
      await r.request('PUT', '/cached', {
        token: r.adminToken,
        body: body(publishDoc({ name: 'cached', version: '1.0.1' })),
      });
      const after = await r.request('GET', '/cached', { headers: { 'if-none-match': etag } });
      assert.equal(after.status, 200);
      assert.ok(Object.hasOwn((after.json() as { versions: object }).versions, '1.0.1'));
    });

    it('records a domain event in the same transaction as each change', async () => {
      await r.request('PUT', '/evented', {
        token: r.adminToken,
        body: body(publishDoc({ name: 'evented', version: '1.0.0' })),
      });
      await r.request('PUT', '/-/package/evented/dist-tags/stable', { token: r.adminToken, body: '1.0.0' });
      const events = await r.store.db
        .selectFrom('events')
        .select(['kind', 'data'])
        .where('subject', '=', 'evented')
        .orderBy('seq')
        .execute();
      assert.deepEqual(
        events.map((e) => e.kind),
        ['package.created', 'package.version-published', 'package.dist-tag-set'],
      );
      assert.equal(JSON.parse(events[1]!.data).version, '1.0.0');
    });
  });
}

describe('publish size limit', () => {
  it('answers 413 for a tarball over --max-tarball-size', async () => {
    const r = await startRegistry('sqlite', { 'max-tarball-size': '4kb' });
    try {
      const big = publishDoc(
        { name: 'big', version: '1.0.0' },
        {
          tarball: packTarball(
            { name: 'big', version: '1.0.0' },
            { 'package/blob.bin': randomBytes(8000).toString('base64') },
          ),
        },
      );
      assert.ok(big.tarball.length > 4096);
      const res = await r.request('PUT', '/big', { token: r.adminToken, body: body(big) });
      assert.equal(res.status, 413, res.text);
      assert.match((res.json() as { error: string }).error, /at most 4096|too large/);
    } finally {
      await r.stop();
    }
  });
});
