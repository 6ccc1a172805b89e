import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import path from 'node:path';
import { sql } from 'kysely';
import pino from 'pino';
import { after, before, describe, it } from 'node:test';
import { loadSettings } from '../../src/config.ts';
import { startApp } from '../../src/app.ts';
import { FsBlobStore } from '../../src/store/blobs.ts';
import { openStore } from '../../src/store/db.ts';
import { DB_KINDS, testDatabase } from '../helpers/db.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

for (const kind of DB_KINDS) {
  describe(`failure and hostile input (${kind})`, () => {
    let r: TestRegistry;
    before(async () => {
      r = await startRegistry(kind);
    });
    after(() => r.stop());

    it('leaves no half-published version when the metadata transaction fails, and the retry succeeds', async () => {
      const db = r.store.db;
      if (r.store.dialect === 'sqlite') {
        await sql`CREATE TRIGGER fail_tags BEFORE INSERT ON dist_tags BEGIN SELECT RAISE(ABORT, 'injected failure'); END`.execute(
          db,
        );
      } else {
        await sql`CREATE FUNCTION fail_tags() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql`.execute(
          db,
        );
        await sql`CREATE TRIGGER fail_tags BEFORE INSERT ON dist_tags FOR EACH ROW EXECUTE FUNCTION fail_tags()`.execute(
          db,
        );
      }
      const doc = body(publishDoc({ name: 'atomic', version: '1.0.0' }));
      const failed = await r.request('PUT', '/atomic', { token: r.adminToken, body: doc });
      assert.equal(failed.status, 500);
      assert.doesNotMatch(failed.text, /injected|at \w+ \(/, 'no internals or stack trace reach the client');
      for (const table of ['packages', 'versions', 'published_versions'] as const) {
        const rows = await db.selectFrom(table).selectAll().execute();
        assert.equal(rows.length, 0, `${table} is untouched`);
      }
      assert.equal(
        (await db.selectFrom('events').selectAll().where('subject', '=', 'atomic').execute()).length,
        0,
        'no event without its change',
      );
      await sql`DROP TRIGGER fail_tags${r.store.dialect === 'postgres' ? sql` ON dist_tags` : sql``}`.execute(db);
      const retried = await r.request('PUT', '/atomic', { token: r.adminToken, body: doc });
      assert.equal(retried.status, 201, 'the version number was not burnt by the failed attempt');
    });

    it('never answers 500 to malformed requests', async () => {
      const token = r.adminToken;
      const probes: Array<[string, string, Parameters<TestRegistry['request']>[2]]> = [
        ['GET', '/%', {}],
        ['GET', '/%2e%2e%2f%2e%2e%2fetc%2fpasswd', {}],
        ['GET', '/@', {}],
        ['GET', '/@scope%2f', {}],
        ['GET', `/${'a'.repeat(600)}`, {}],
        ['GET', '/x/-/..%2f..%2fsecret.key', {}],
        ['GET', '/-/package/%00/dist-tags', {}],
        ['GET', '/-/v1/search?size=-1&from=abc', {}],
        ['GET', '/downloads/point/9999-99-99:0000-00-00/x', {}],
        ['PUT', '/x', { token, raw: '[]', headers: { 'content-type': 'application/json' } }],
        ['PUT', '/x', { token, raw: 'null', headers: { 'content-type': 'application/json' } }],
        ['PUT', '/x', { token, body: { name: 'x', versions: [], _attachments: [] } }],
        ['PUT', '/x', { token, body: { name: 'x', versions: { '1.0.0': null }, _attachments: {} } }],
        [
          'PUT',
          '/x',
          {
            token,
            body: {
              name: 'x',
              'dist-tags': 'latest',
              versions: { '1.0.0': { name: 'x', version: '1.0.0' } },
              _attachments: { 'x-1.0.0.tgz': { data: 12 } },
            },
          },
        ],
        [
          'PUT',
          '/x',
          {
            token,
            body: {
              name: 'x',
              versions: { '1.0.0': { name: 'x', version: '1.0.0' } },
              _attachments: { 'x-1.0.0.tgz': { data: 'H4sIAAAAAAAAAw==' } },
            },
          },
        ],
        [
          'PUT',
          '/-/user/org.couchdb.user:x',
          { raw: '"just a string"', headers: { 'content-type': 'application/json' } },
        ],
        ['PUT', '/-/user/org.couchdb.user:x', { body: { name: 'x', password: 12 } }],
        ['PUT', '/-/package/x/dist-tags/y', { token, raw: '', headers: { 'content-type': 'application/json' } }],
        ['DELETE', '/-/user/token/garbage', {}],
        ['GET', '/-/whoami', { headers: { authorization: 'Bearer' } }],
        ['GET', '/-/whoami', { headers: { authorization: 'Basic ' + Buffer.from('a:b').toString('base64') } }],
        ['GET', '/x', { headers: { 'accept-encoding': 'br;q=abc, gzip;q=' } }],
      ];
      const odd = await r.request('GET', '/-/v1/search?text=' + encodeURIComponent('\u0001\uffff%_\\'));
      assert.equal(odd.status, 200);
      assert.equal(odd.json().total, 0, 'wildcards and control characters match nothing');
      for (const [method, url, opts] of probes) {
        const res = await r.request(method, url, opts);
        assert.ok(
          res.status >= 400 && res.status < 500,
          `${method} ${url.slice(0, 60)} → ${res.status} ${res.text.slice(0, 200)}`,
        );
        if (method !== 'HEAD' && res.text)
          assert.equal(typeof res.json().error, 'string', `${method} ${url.slice(0, 60)} has an error message`);
      }
    });
  });
}

describe('logs', () => {
  it('never contain a token, password or authorization header', async () => {
    const t = await testDatabase('sqlite');
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    const store = await openStore({ dataDir: t.dataDir, database: null });
    const settings = loadSettings({
      flags: { port: '0', 'data-dir': t.dataDir, 'email-verification': 'admin', upstream: 'none' },
      env: {},
    });
    const app = await startApp({
      settings,
      store,
      blobs: new FsBlobStore(path.join(t.dataDir, 'blobs')),
      logger: pino({ level: 'trace' }, sink),
      secretKey: Buffer.alloc(32, 7),
    });
    try {
      const password = 'a-very-secret-passphrase';
      const signup = await fetch(`${app.url}/-/user/org.couchdb.user:logger`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'logger', password, email: 'l@example.com' }),
      });
      const { token } = (await signup.json()) as { token: string };
      await fetch(`${app.url}/-/whoami`, { headers: { authorization: `Bearer ${token}`, 'npm-otp': '123456' } });
      await fetch(`${app.url}/-/whoami?token=${token}`);
      await fetch(`${app.url}/-/user/token/${token}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      });
      const all = lines.join('');
      assert.ok(lines.length >= 4, 'requests were logged');
      assert.ok(all.includes('/-/user/token/[redacted]'));
      for (const secret of [token, token.slice(4), password, '123456'])
        assert.equal(all.includes(secret), false, `log contains ${secret.slice(0, 8)}…`);
      assert.ok(
        lines.every((l) => JSON.parse(l).reqId !== undefined || !JSON.parse(l).url),
        'request lines carry a request id',
      );
    } finally {
      await app.close();
      await store.close();
      await t.cleanup();
    }
  });
});
