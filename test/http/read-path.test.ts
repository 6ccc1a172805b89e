// The hot read path answers packuments and tarballs from memory without asking the gate when anyone may read them.
// These tests prove that shortcut changes nothing a client can see: the same bytes and headers as the full path,
// restricted packages still invisible, private registries still closed, downloads still counted, and quieter logs
// that still carry a request id for everything that is not a routine read.
import assert from 'node:assert/strict';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { loadSettings } from '../../src/config.ts';
import { startApp } from '../../src/app.ts';
import { FsBlobStore } from '../../src/store/blobs.ts';
import { openStore } from '../../src/store/db.ts';
import { DB_KINDS, testDatabase } from '../helpers/db.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type Response, type TestRegistry } from '../helpers/registry.ts';

const ABBREVIATED = 'application/vnd.npm.install-v1+json';

/** Everything a client sees of a response except what differs per request. */
function visible(res: Response): Record<string, unknown> {
  const headers = Object.fromEntries([...res.headers].filter(([k]) => k !== 'date' && k !== 'x-request-id'));
  return { status: res.status, headers, body: res.bytes.toString('base64') };
}

for (const kind of DB_KINDS) {
  describe(`read path from memory (${kind})`, () => {
    let r: TestRegistry;
    let alice: { id: number; token: string };
    before(async () => {
      r = await startRegistry(kind);
      alice = await r.user('alice');
      // Long enough to be compressed (bodies under 1 KiB are sent plain).
      const description = 'A package whose packument is worth compressing. '.repeat(40);
      const dependencies = Object.fromEntries(
        Array.from({ length: 40 }, (_, i) => [`dependency-number-${i}`, '^1.0.0']),
      );
      for (const version of ['1.0.0', '1.1.0']) {
        const res = await r.request('PUT', '/hot', {
          token: alice.token,
          body: body(publishDoc({ name: 'hot', version, description, dependencies, keywords: ['a', 'b', 'c'] })),
        });
        assert.equal(res.status, 201, res.text);
      }
      const open = await r.request('PUT', '/@alice%2fopen', {
        token: alice.token,
        body: body(publishDoc({ name: '@alice/open', version: '1.0.0' }, { access: 'public' })),
      });
      assert.equal(open.status, 201, open.text);
      const res = await r.request('PUT', '/@alice%2fsecret', {
        token: alice.token,
        body: body(publishDoc({ name: '@alice/secret', version: '1.0.0' })),
      });
      assert.equal(res.status, 201, res.text);
    });
    after(() => r.stop());

    it('sends the same status, headers and bytes whether the packument is built, cached, or read with a token', async () => {
      const variants: Array<[string, Record<string, string>]> = [
        ['GET', { accept: ABBREVIATED }],
        ['GET', { accept: 'application/json' }],
        ['GET', { accept: ABBREVIATED, 'accept-encoding': 'gzip, deflate' }],
        ['GET', { accept: ABBREVIATED, 'accept-encoding': 'gzip, deflate, br' }],
        ['GET', { 'accept-encoding': 'br;q=0, gzip' }],
        ['HEAD', { accept: ABBREVIATED }],
      ];
      for (const [method, headers] of variants) {
        r.app.packages.invalidate('hot');
        const built = await r.request(method, '/hot', { headers });
        const cached = await r.request(method, '/hot', { headers });
        const withToken = await r.request(method, '/hot', { headers, token: alice.token });
        assert.equal(built.status, 200);
        assert.deepEqual(visible(cached), visible(built), `${method} ${JSON.stringify(headers)}`);
        assert.deepEqual(visible(withToken), visible(built), `${method} ${JSON.stringify(headers)} with a token`);
        const etag = built.headers.get('etag')!;
        const revalidated = await r.request(method, '/hot', { headers: { ...headers, 'if-none-match': etag } });
        assert.equal(revalidated.status, 304);
        assert.equal(revalidated.headers.get('etag'), etag);
      }
      const gz = await r.request('GET', '/hot', { headers: { accept: ABBREVIATED, 'accept-encoding': 'gzip' } });
      assert.equal(gz.headers.get('content-encoding'), 'gzip');
      assert.equal(gz.headers.get('cache-control'), 'public, max-age=0, must-revalidate');
    });

    it('answers every URL form of a scoped package alike from memory and through the router, and leaves other URLs to the router', async () => {
      const forms = [
        '/@alice%2fopen',
        '/@alice%2Fopen',
        '/@alice/open',
        '/@alice/open/-/open-1.0.0.tgz',
        '/@alice%2fopen/-/open-1.0.0.tgz',
      ];
      await r.request('GET', forms[0]!, { headers: { accept: ABBREVIATED } });
      await r.request('GET', forms[3]!);
      const ids = new Set<string | null>();
      for (const url of forms) {
        const fromMemory = await r.request('GET', url, { headers: { accept: ABBREVIATED } });
        const routed = await r.request('GET', url, { headers: { accept: ABBREVIATED }, token: alice.token });
        assert.equal(fromMemory.status, 200, url);
        assert.ok(fromMemory.headers.get('x-request-id'), url);
        ids.add(fromMemory.headers.get('x-request-id')).add(routed.headers.get('x-request-id'));
        assert.deepEqual(visible(fromMemory), visible(routed), url);
      }
      assert.equal(ids.size, 2 * forms.length, 'every response has its own request id, whichever path answers');
      // A client's request id is kept when it is a sane one, whichever path answers.
      const traced = await r.request('GET', '/hot', { headers: { 'x-request-id': 'proxy-id.42' } });
      assert.equal(traced.headers.get('x-request-id'), 'proxy-id.42');
      // Near-misses of a package URL are the router's to answer, as before.
      assert.equal((await r.request('GET', '/hot/')).status, 200, 'a trailing slash is ignored');
      assert.equal((await r.request('GET', '/hot?write=true')).status, 200);
      assert.equal((await r.request('GET', '/h%6ft')).status, 200, 'an escaped letter is decoded');
      assert.equal((await r.request('GET', '/hot%00')).status, 400);
      assert.equal((await r.request('GET', '/hot/-/hot-1.1.0.tgz/extra')).status, 404);
    });

    it('answers a failure inside the fast path as any failure, a 500 with a request id, and stays up', async () => {
      await r.request('GET', '/hot');
      const packages = r.app.packages;
      const cached = packages.cached.bind(packages);
      packages.cached = () => {
        throw new Error('cache exploded');
      };
      try {
        const res = await r.request('GET', '/hot');
        assert.equal(res.status, 500);
        assert.match((res.json() as { error: string }).error, /internal server error \(request id [\w-]+\)/);
      } finally {
        packages.cached = cached;
      }
      assert.equal((await r.request('GET', '/hot')).status, 200);
    });

    it('sends the same tarball response from memory as from the blob store, and counts only GETs as downloads', async () => {
      const file = '/hot/-/hot-1.1.0.tgz';
      r.app.packages.invalidate('hot');
      const first = await r.request('GET', file);
      const second = await r.request('GET', file);
      const third = await r.request('GET', file, { token: alice.token });
      const head = await r.request('HEAD', file);
      assert.equal(first.status, 200);
      assert.deepEqual(visible(second), visible(first));
      assert.deepEqual(visible(third), visible(first));
      assert.equal(head.status, 200);
      assert.equal(first.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      const revalidated = await r.request('GET', file, { headers: { 'if-none-match': first.headers.get('etag')! } });
      assert.equal(revalidated.status, 304);
      const missing = await r.request('GET', '/hot/-/hot-9.9.9.tgz');
      assert.equal(missing.status, 404);
      const today = new Date().toISOString().slice(0, 10);
      const counts = (await r.request('GET', `/downloads/range/${today}:${today}/hot`)).json() as {
        downloads: Array<{ downloads: number }>;
      };
      assert.equal(counts.downloads[0]!.downloads, 3, 'three GETs; HEAD and 304 are not downloads');
    });

    it('keeps a restricted package invisible to others even after its maintainer has read it into memory', async () => {
      const own = await r.request('GET', '/@alice%2fsecret', { token: alice.token });
      assert.equal(own.status, 200);
      assert.equal(own.headers.get('cache-control'), 'private, no-cache');
      const tarball = await r.request('GET', '/@alice/secret/-/secret-1.0.0.tgz', { token: alice.token });
      assert.equal(tarball.status, 200);
      for (let i = 0; i < 2; i++) {
        const missing = await r.request('GET', '/absent', { headers: { accept: ABBREVIATED } });
        assert.equal(missing.status, 404);
        assert.deepEqual(missing.json(), { error: 'Not found', code: 'E_NOT_FOUND' });
      }
      const bob = await r.user('bob');
      for (const token of [null, bob.token, 'bwk_' + 'A'.repeat(42)]) {
        for (const url of ['/@alice%2fsecret', '/@alice/secret', '/@alice/secret/-/secret-1.0.0.tgz']) {
          const res = await r.request('GET', url, { token, headers: { accept: ABBREVIATED } });
          assert.equal(res.status, 404, `${url} as ${token ? token.slice(0, 8) : 'anonymous'}`);
          assert.deepEqual(res.json(), { error: 'Not found', code: 'E_NOT_FOUND' });
        }
      }
    });
  });

  describe(`read path of a private registry (${kind})`, () => {
    let r: TestRegistry;
    before(async () => {
      r = await startRegistry(kind, { 'read-access': 'authenticated' });
      const res = await r.request('PUT', '/inside', {
        token: r.adminToken,
        body: body(publishDoc({ name: 'inside', version: '1.0.0' })),
      });
      assert.equal(res.status, 201, res.text);
    });
    after(() => r.stop());

    it('asks for a token even when the package is in memory', async () => {
      for (const url of ['/inside', '/inside/-/inside-1.0.0.tgz']) {
        assert.equal((await r.request('GET', url, { token: r.adminToken })).status, 200);
        assert.equal((await r.request('GET', url, { token: r.adminToken })).status, 200);
        const anonymous = await r.request('GET', url);
        assert.equal(anonymous.status, 401, url);
      }
      // Even a name known not to exist is not confirmed to an anonymous client of a private registry.
      assert.equal((await r.request('GET', '/absent', { token: r.adminToken })).status, 404);
      assert.equal((await r.request('GET', '/absent')).status, 401);
    });
  });
}

describe('read cache budget', () => {
  it('follows --cache-size: with no room, every read is built again and still answered', async () => {
    const r = await startRegistry('sqlite', { 'cache-size': '2kb' });
    try {
      const res = await r.request('PUT', '/roomless', {
        token: r.adminToken,
        body: body(publishDoc({ name: 'roomless', version: '1.0.0', description: 'd'.repeat(3000) })),
      });
      assert.equal(res.status, 201, res.text);
      for (let i = 0; i < 2; i++) {
        assert.equal((await r.request('GET', '/roomless')).status, 200);
        assert.equal((await r.request('GET', '/roomless/-/roomless-1.0.0.tgz')).status, 200);
      }
      const stats = r.app.packages.cacheStats();
      assert.equal(stats.packuments.entries, 0, 'a packument larger than the budget is not kept');
      assert.equal(stats.packuments.misses, 4, 'each of the four reads built the entry again');
      assert.ok(stats.tarballs.entries === 0 && stats.tarballs.misses === 2, JSON.stringify(stats.tarballs));
    } finally {
      await r.stop();
    }
  });
});

describe('request logs of the read path', () => {
  it('log routine reads from memory at debug only, and everything else at info with a request id', async () => {
    const t = await testDatabase('sqlite');
    const lines: Array<{ level: number; msg: string; url?: string; status?: number; reqId?: string }> = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) });
    const store = await openStore({ dataDir: t.dataDir, database: null });
    const settings = loadSettings({ flags: { port: '0', 'data-dir': t.dataDir, upstream: 'none' }, env: {} });
    const logger = pino({ level: 'info' }, sink);
    const app = await startApp({
      settings,
      store,
      blobs: new FsBlobStore(path.join(t.dataDir, 'blobs')),
      logger,
      secretKey: Buffer.alloc(32, 7),
    });
    const requests = () => lines.filter((l) => l.msg === 'request');
    try {
      await fetch(`${app.url}/nothing-here`).then((res) => res.arrayBuffer());
      await fetch(`${app.url}/nothing-here`).then((res) => res.arrayBuffer());
      assert.equal(requests().length, 2, 'a 404 is always logged, cached or not');
      assert.ok(requests().every((l) => l.level === 30 && typeof l.reqId === 'string' && l.status === 404));

      app.packages.invalidate('nothing-here');
      const { createUser } = await import('../../src/accounts/users.ts');
      const { createToken } = await import('../../src/tokens/service.ts');
      const user = await createUser(store.db, {
        name: 'logs',
        email: 'logs@example.com',
        password: 'correct-horse-battery',
        emailVerified: true,
        isAdmin: false,
      });
      const { token } = await createToken(store.db, { userId: user.id, userName: 'logs', name: 't', kind: 'publish' });
      const put = await fetch(`${app.url}/quiet`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body(publishDoc({ name: 'quiet', version: '1.0.0' }))),
      });
      assert.equal(put.status, 201);
      lines.length = 0;
      for (let i = 0; i < 3; i++) await fetch(`${app.url}/quiet`).then((res) => res.arrayBuffer());
      assert.deepEqual(
        requests().map((l) => [l.url, l.status]),
        [['/quiet', 200]],
        'only the read that built the packument is logged at info',
      );
      assert.equal(typeof requests()[0]!.reqId, 'string');

      logger.level = 'debug';
      lines.length = 0;
      await fetch(`${app.url}/quiet`).then((res) => res.arrayBuffer());
      assert.deepEqual(
        requests().map((l) => [l.level, l.status]),
        [[20, 200]],
        'at debug level the routine reads are there too',
      );
    } finally {
      await app.close();
      await store.close();
      await t.cleanup();
    }
  });
});
