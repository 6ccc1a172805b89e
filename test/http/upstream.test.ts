// The upstream proxy (docs/upstream.md) against a local stand-in for registry.npmjs.org (test/helpers/upstream.ts)
// that serves the real express@4 closure's tarballs with packuments in npmjs.com's shape and records every request:
// what is proxied and how it is served, one upstream request for many concurrent misses, revalidation, the minimum
// release age, malware and integrity refusals, names that must never be resolved upstream (dependency confusion),
// and a slow or stopped upstream.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createOrg } from '../../src/access/orgs.ts';
import { withModeration } from '../../src/safety/moderation-tables.ts';
import { withUpstream } from '../../src/upstream/tables.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { loadExpressClosure } from '../helpers/fixtures.ts';
import { body, packTarball, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { closurePackages, integrityOf, startFakeUpstream, type FakeUpstream } from '../helpers/upstream.ts';

const closure = loadExpressClosure();
const ABBREVIATED = 'application/vnd.npm.install-v1+json';
const DAY = 86_400_000;
const SAMPLE = path.resolve(import.meta.dirname, '../fixtures/malware/samples/tuning/reverse-shell/package');
const accepts = closure.packages.find((p) => p.name === 'accepts')!;

/** The inert reverse-shell sample (guarded so it never runs) under the name evil-pkg. */
function evilTarball(): Buffer {
  const manifest = {
    ...JSON.parse(readFileSync(path.join(SAMPLE, 'package.json'), 'utf8')),
    name: 'evil-pkg',
    version: '1.0.0',
  };
  return packTarball(manifest, { 'package/index.js': readFileSync(path.join(SAMPLE, 'index.js'), 'utf8') });
}

const plain = (name: string, version: string) => packTarball({ name, version, description: `${name} here` });

for (const kind of DB_KINDS) {
  describe(`the upstream proxy (${kind})`, () => {
    let up: FakeUpstream;
    let hanging: FakeUpstream;
    let r: TestRegistry;
    const now = Date.now();
    before(async () => {
      up = await startFakeUpstream(closurePackages(closure, now));
      hanging = await startFakeUpstream([]);
      hanging.behaviour.hang = true;
      for (const name of ['internal-tool', '@acme/secret', '@admin/priv'])
        up.add({ name, versions: [{ version: '9.9.9', tarball: plain(name, '9.9.9'), publishedAt: now - 30 * DAY }] });
      up.add({
        name: 'tampered-pkg',
        versions: [
          {
            version: '1.0.0',
            tarball: plain('tampered-pkg', '1.0.0'),
            publishedAt: now - 30 * DAY,
            integrity: integrityOf(plain('tampered-pkg', '1.0.1')),
          },
        ],
      });
      up.add({
        name: 'fresh-pkg',
        versions: [
          { version: '1.0.0', tarball: plain('fresh-pkg', '1.0.0'), publishedAt: now - 10 * DAY },
          { version: '2.0.0-beta.1', tarball: plain('fresh-pkg', '2.0.0-beta.1'), publishedAt: now - 9 * DAY },
          { version: '1.1.0', tarball: plain('fresh-pkg', '1.1.0'), publishedAt: now - 3600_000 },
        ],
      });
      up.add({
        name: 'evil-pkg',
        versions: [{ version: '1.0.0', tarball: evilTarball(), publishedAt: now - 10 * DAY }],
      });
      r = await startRegistry(kind, {
        upstream: `slow-*=${hanging.url},${up.url}`,
        'upstream-max-age': '2s',
        'upstream-timeout': '1s',
        'reserved-names': 'internal-*=acme',
      });
      await createOrg(r.store.db, 'acme', 'admin', null, now);
    });
    after(async () => {
      await r.stop();
      await up.stop();
      await hanging.stop();
    });

    it('serves a package it does not host from the upstream: both packument forms, tarball links here, integrity checked', async () => {
      const abbr = await r.request('GET', '/accepts', { headers: { accept: ABBREVIATED } });
      assert.equal(abbr.status, 200, abbr.text);
      assert.equal(abbr.headers.get('content-type'), ABBREVIATED);
      assert.equal(abbr.headers.get('x-bulwark-upstream'), 'fresh');
      const v = abbr.json().versions[accepts.version];
      assert.equal(v.dist.tarball, `${r.url}/accepts/-/accepts-${accepts.version}.tgz`);
      assert.equal(v.dist.integrity, accepts.integrity);
      assert.equal(v.dist.signatures, undefined, "npmjs.com's signatures are not passed on as this registry's");
      assert.ok(v.dependencies['mime-types']);
      assert.equal(abbr.json().time, undefined);

      const full = (await r.request('GET', '/accepts')).json();
      assert.equal(full['dist-tags'].latest, accepts.version);
      assert.ok(full.time[accepts.version]);
      assert.equal(full.readme, '# accepts');
      assert.equal(full.users, undefined);
      assert.equal(full._rev, undefined);

      const tgz = await r.request('GET', `/accepts/-/accepts-${accepts.version}.tgz`);
      assert.equal(tgz.status, 200);
      assert.equal(integrityOf(tgz.bytes), accepts.integrity);
      const row = await withUpstream(r.store.db)
        .selectFrom('upstream_tarballs')
        .selectAll()
        .where('name', '=', 'accepts')
        .executeTakeFirstOrThrow();
      assert.equal(row.integrity, accepts.integrity);
      assert.notEqual(row.verdict, 'malicious');
      assert.equal(createHash('sha512').update(tgz.bytes).digest('hex'), row.blob);
      // A second read is answered from the cache: no new upstream request for the tarball.
      await r.request('GET', `/accepts/-/accepts-${accepts.version}.tgz`);
      assert.equal(up.requestsFor(`/accepts/-/accepts-${accepts.version}.tgz`).length, 1);
    });

    it('makes one upstream request for 50 concurrent cold requests of one packument, and one for its tarball', async () => {
      up.behaviour.delayMs = 300;
      try {
        const answers = await Promise.all(
          Array.from({ length: 50 }, () => r.request('GET', '/array-flatten', { headers: { accept: ABBREVIATED } })),
        );
        assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
        assert.equal(new Set(answers.map((a) => a.text)).size, 1);
        assert.equal(up.requestsFor('/array-flatten').length, 1);
        const file = '/array-flatten/-/array-flatten-1.1.1.tgz';
        const tarballs = await Promise.all(Array.from({ length: 20 }, () => r.request('GET', file)));
        assert.deepEqual(new Set(tarballs.map((a) => a.status)), new Set([200]));
        assert.equal(up.requestsFor(file).length, 1);
      } finally {
        up.behaviour.delayMs = 0;
      }
    });

    it('revalidates a packument after its max age with the ETag the upstream gave', async () => {
      const first = await r.request('GET', '/content-type');
      await sleep(2100);
      const again = await r.request('GET', '/content-type');
      assert.equal(again.status, 200);
      assert.equal(again.headers.get('etag'), first.headers.get('etag'));
      const requests = up.requestsFor('/content-type');
      assert.equal(requests.length, 2);
      assert.equal(requests[0]!.headers['if-none-match'], undefined);
      assert.match(String(requests.at(-1)!.headers['if-none-match']), /^"[0-9a-f]{32}"$/);
      assert.ok(requests.at(-1)!.headers['if-modified-since']);
    });

    it('hides versions younger than the minimum release age, falls latest back, and refuses their tarballs saying when', async () => {
      const doc = (await r.request('GET', '/fresh-pkg')).json();
      assert.deepEqual(Object.keys(doc.versions).sort(), ['1.0.0', '2.0.0-beta.1']);
      assert.equal(doc['dist-tags'].latest, '1.0.0', 'latest falls back to the newest old-enough release');
      assert.equal(doc.time['1.1.0'], undefined);
      const abbr = (await r.request('GET', '/fresh-pkg', { headers: { accept: ABBREVIATED } })).json();
      assert.deepEqual(Object.keys(abbr.versions).sort(), ['1.0.0', '2.0.0-beta.1']);
      const young = await r.request('GET', '/fresh-pkg/-/fresh-pkg-1.1.0.tgz');
      assert.equal(young.status, 403);
      assert.equal(young.json().code, 'E_UPSTREAM_TOO_NEW');
      const published = now - 3600_000;
      assert.ok(
        young.json().error.includes(`becomes available at ${new Date(published + 3 * DAY).toISOString()}`),
        young.json().error,
      );
      assert.equal(up.requestsFor('/fresh-pkg/-/fresh-pkg-1.1.0.tgz').length, 0, 'not even fetched');
      assert.equal((await r.request('GET', '/fresh-pkg/-/fresh-pkg-1.0.0.tgz')).status, 200);
    });

    it('refuses a malicious version with the reason, keeps no bytes of it, and queues it for moderators', async () => {
      assert.equal((await r.request('GET', '/evil-pkg')).status, 200);
      const res = await r.request('GET', '/evil-pkg/-/evil-pkg-1.0.0.tgz');
      assert.equal(res.status, 403, res.text);
      assert.equal(res.json().code, 'E_UPSTREAM_REFUSED');
      assert.match(res.json().error, /evil-pkg@1\.0\.0 is refused: the malware scan found signs of malicious code/);
      const row = await withUpstream(r.store.db)
        .selectFrom('upstream_tarballs')
        .selectAll()
        .where('name', '=', 'evil-pkg')
        .executeTakeFirstOrThrow();
      assert.equal(row.verdict, 'malicious');
      assert.equal(row.blob, null);
      const item = await withModeration(r.store.db)
        .selectFrom('moderation_items')
        .selectAll()
        .where('package', '=', 'evil-pkg')
        .executeTakeFirstOrThrow();
      assert.equal(item.status, 'open');
      assert.equal(item.version, '1.0.0');
      const again = await r.request('GET', '/evil-pkg/-/evil-pkg-1.0.0.tgz');
      assert.equal(again.status, 403);
      assert.equal(up.requestsFor('/evil-pkg/-/evil-pkg-1.0.0.tgz').length, 1, 'the verdict is remembered');
    });

    it('refuses a tarball that does not match its integrity, and caches nothing of it', async () => {
      const file = '/tampered-pkg/-/tampered-pkg-1.0.0.tgz';
      const res = await r.request('GET', file);
      assert.equal(res.status, 502, res.text);
      assert.equal(res.json().code, 'E_UPSTREAM_INTEGRITY');
      assert.match(res.json().error, /tampered-pkg@1\.0\.0 from the upstream is refused: its bytes hash to sha512/);
      const rows = await withUpstream(r.store.db)
        .selectFrom('upstream_tarballs')
        .select('version')
        .where('name', '=', 'tampered-pkg')
        .execute();
      assert.deepEqual(rows, []);
      assert.equal((await r.request('GET', file)).status, 502);
      assert.equal(up.requestsFor(file).length, 2, 'asked again: a refusal is not cached');
    });

    it('never resolves upstream a reserved name, a name in an organisation’s scope, or a hosted one, visible or not', async () => {
      const alice = await r.user('alice');
      const pub = body(publishDoc({ name: 'hosted-pkg', version: '1.0.0' }));
      assert.equal((await r.request('PUT', '/hosted-pkg', { token: alice.token, body: pub })).status, 201);
      // The upstream has the name only once it is hosted here (a dependency-confusion attempt): asked once, by the
      // publish, whether it had it (a name it serves cannot be published here: test/upstream/hostile-upstream.test.ts).
      const askedByPublish = up.requestsFor('/hosted-pkg').length;
      assert.equal(askedByPublish, 1);
      up.add({
        name: 'hosted-pkg',
        versions: [{ version: '9.9.9', tarball: plain('hosted-pkg', '9.9.9'), publishedAt: now - 30 * DAY }],
      });
      const priv = body(publishDoc({ name: '@admin/priv', version: '1.0.0' }, { access: 'restricted' }));
      assert.equal((await r.request('PUT', '/@admin%2fpriv', { token: r.adminToken, body: priv })).status, 201);

      const missing = await r.request('GET', '/internal-tool');
      assert.equal(missing.status, 404);
      assert.equal(missing.json().code, 'E_NOT_FOUND');
      for (const p of ['/@acme%2fsecret', '/@admin%2fpriv', '/internal-tool/-/internal-tool-9.9.9.tgz']) {
        const res = await r.request('GET', p);
        assert.equal(res.status, 404, p);
        assert.equal(res.text, missing.text, `${p} answers as a missing name`);
      }
      const hosted = (await r.request('GET', '/hosted-pkg')).json();
      assert.deepEqual(Object.keys(hosted.versions), ['1.0.0']);
      for (const p of ['/internal-tool', '/@acme%2fsecret', '/@admin%2fpriv'])
        assert.equal(up.requestsFor(p).length, 0, `${p} was never asked of the upstream`);
      assert.equal(up.requestsFor('/hosted-pkg').length, askedByPublish, 'a hosted name is never asked upstream');
      assert.equal(up.requests.filter((q) => q.path.startsWith('/internal-tool')).length, 0);
    });

    it('answers 504 within the timeout when the upstream hangs, and routes names by pattern', async () => {
      const started = Date.now();
      const res = await r.request('GET', '/slow-thing');
      assert.equal(res.status, 504, res.text);
      assert.equal(res.json().code, 'E_UPSTREAM_TIMEOUT');
      assert.ok(Date.now() - started < 3000, 'bounded by --upstream-timeout');
      assert.equal(hanging.requestsFor('/slow-thing').length, 1);
      assert.equal(up.requestsFor('/slow-thing').length, 0);
    });

    it('serves what it cached, marked stale, when the upstream is down; a miss is a 502', async () => {
      await up.stop();
      await sleep(2100);
      const res = await r.request('GET', '/accepts', { headers: { accept: ABBREVIATED } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-bulwark-upstream'), 'stale');
      assert.match(res.headers.get('warning') ?? '', /^110 /);
      // A version whose tarball this registry checked carries this registry's signature (npm audit signatures).
      const [key] = (await r.request('GET', '/-/npm/v1/keys')).json().keys;
      const sigs = res.json().versions[accepts.version].dist.signatures;
      assert.deepEqual(
        sigs.map((x: { keyid: string }) => x.keyid),
        [key.keyid],
      );
      const tgz = await r.request('GET', `/accepts/-/accepts-${accepts.version}.tgz`);
      assert.equal(tgz.status, 200);
      assert.equal(integrityOf(tgz.bytes), accepts.integrity);
      const miss = await r.request('GET', '/depd');
      assert.equal(miss.status, 502);
      assert.equal(miss.json().code, 'E_UPSTREAM_UNAVAILABLE');
    });
  });
}
