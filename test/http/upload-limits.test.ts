// Large bodies against a real listening server (issue 15, item 5): an anonymous client could make the server read and
// parse a publish-sized JSON document (~74 MB) before it answered 401, and 64 of them at once took gigabytes and made
// /-/ping take 25 s. Now the principal is found from the headers first, a request without one is refused before its
// body is read, and signed-in principals get a few concurrent large uploads each, and the server a few in all.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_UPLOAD_LIMITS } from '../../src/http/uploads.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { body, packTarball, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { CHUNK, ping, upload } from '../helpers/uploads.ts';

/**
 * The body the attacker sent: a JSON document just under the publish route's body limit at the default
 * --max-tarball-size (50 MiB × 1.4 + 1 MiB, about 74 MB), so that the limit alone does not refuse it.
 */
const HUGE = 70 * 1024 * 1024;
const until = async (what: string, ok: () => boolean) => {
  for (let i = 0; i < 500 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(ok(), what);
};

for (const kind of DB_KINDS) {
  describe(`large request bodies (${kind})`, () => {
    let r: TestRegistry;
    before(async () => {
      r = await startRegistry(kind);
    });
    after(() => r.stop());

    it('refuses an anonymous publish-sized PUT with the usual 401 before reading its body, and closes the connection', async () => {
      const small = await r.request('PUT', '/x', { body: { name: 'x', versions: {}, _attachments: {} } });
      assert.equal(small.status, 401);
      const up = upload(r.url, '/x', { length: HUGE, upTo: HUGE });
      const res = await up.response;
      assert.equal(res.status, 401);
      assert.equal(res.text, small.text, 'the same answer as for a small body');
      assert.equal(res.headers.connection, 'close');
      await up.closed;
      // The kernel's socket buffers take a few megabytes at most; the server never asked for the rest.
      assert.ok(up.sent() < 16 * 1024 * 1024, `the client got to send only ${up.sent()} of ${HUGE} bytes`);
      assert.equal(r.app.uploads.inProgress, 0);
    });

    it('refuses a bad token and an anonymous chunked body the same way, and every write route does', async () => {
      const bad = upload(r.url, '/x', { token: 'bwk_' + 'A'.repeat(42), length: HUGE, upTo: HUGE });
      const res = await bad.response;
      assert.equal(res.status, 401);
      assert.match(res.text, /invalid, expired or revoked/);
      await bad.closed;
      for (const path of [
        '/@scope%2fx/-rev/1',
        '/-/package/x/dist-tags/latest',
        '/-/org/acme/user',
        '/-/team/acme/t/package',
        '/-/npm/v1/tokens',
        '/-/no/such/route',
      ]) {
        for (const method of ['PUT', 'POST', 'DELETE']) {
          const url = new URL(path, r.url);
          const answer = await new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
            const req = http.request({
              host: url.hostname,
              port: url.port,
              path: url.pathname,
              method,
              headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
              agent: false,
            });
            req.on('response', (res) => {
              resolve({ status: res.statusCode!, connection: res.headers.connection });
              req.destroy();
            });
            req.on('error', reject);
            req.write(CHUNK);
          });
          // A route that exists answers 401; the others are simply not found, also without reading the body.
          assert.deepEqual(
            answer,
            { status: answer.status === 404 ? 404 : 401, connection: 'close' },
            `${method} ${path}`,
          );
        }
      }
    });

    it('64 anonymous publish-sized PUTs at once: the server reads none of them, its memory stays put and it keeps answering', async () => {
      const rssBefore = process.memoryUsage().rss;
      const uploads = Array.from({ length: 64 }, () => upload(r.url, '/x', { length: HUGE, upTo: HUGE }));
      // The server keeps answering meanwhile (how fast is a measurement: bench/checks.ts, "anonymous flood").
      for (let i = 0; i < 3; i++) await ping(r.url);
      const answers = await Promise.all(uploads.map((u) => u.response));
      await Promise.all(uploads.map((u) => u.closed));
      const rssAfter = process.memoryUsage().rss;
      assert.deepEqual([...new Set(answers.map((a) => a.status))], [401]);
      // What each client got to send is what the sockets' kernel buffers took before the server closed them.
      const most = Math.max(...uploads.map((u) => u.sent()));
      assert.ok(most < 16 * 1024 * 1024, `a client got to send ${most} of the ${HUGE} bytes it declared`);
      // Server and clients share this process: together they may not grow by more than a fraction of one body.
      assert.ok(rssAfter - rssBefore < HUGE, `RSS grew by ${Math.round((rssAfter - rssBefore) / 1e6)} MB`);
    });

    it('limits large uploads in progress per principal (429) and in total (503), with Retry-After, and gives the slots back', async () => {
      const { perPrincipal, total, largeBytes } = DEFAULT_UPLOAD_LIMITS;
      const users = await Promise.all(
        Array.from({ length: Math.ceil(total / perPrincipal) + 1 }, (_, i) => r.user(`uploader${i}`)),
      );
      const big = { length: 4 * largeBytes, upTo: largeBytes };
      const open = [];
      // The first user takes their share; one more of theirs is refused, though the server has room.
      for (let i = 0; i < perPrincipal; i++) open.push(upload(r.url, '/big', { token: users[0]!.token, ...big }));
      await until('the first uploads are in progress', () => r.app.uploads.inProgress === perPrincipal);
      let res = await upload(r.url, '/big', { token: users[0]!.token, ...big }).response;
      assert.equal(res.status, 429);
      assert.equal(res.headers['retry-after'], String(DEFAULT_UPLOAD_LIMITS.retryAfterSeconds));
      assert.match(JSON.parse(res.text).error, /already have 2 large uploads in progress/);
      // A small publish by the same user is not a large upload and goes through.
      const doc = body(publishDoc({ name: 'small-one', version: '1.0.0' }));
      assert.equal((await r.request('PUT', '/small-one', { token: users[0]!.token, body: doc })).status, 201);

      // Others fill the server; then everyone is refused with 503, whoever they are.
      for (const u of users.slice(1, -1))
        for (let i = 0; i < perPrincipal; i++) open.push(upload(r.url, '/big', { token: u.token, ...big }));
      await until('the server is full', () => r.app.uploads.inProgress === total);
      res = await upload(r.url, '/big', { token: users.at(-1)!.token, ...big }).response;
      assert.equal(res.status, 503);
      assert.equal(res.headers['retry-after'], String(DEFAULT_UPLOAD_LIMITS.retryAfterSeconds));
      assert.match(JSON.parse(res.text).error, /as many large uploads as it takes at once/);
      assert.ok((await ping(r.url)) < 1000);

      // Clients that go away give their slots back.
      for (const u of open) u.abort();
      await until('the slots are free again', () => r.app.uploads.inProgress === 0);

      // A real large publish goes through, and its slot is free once it is answered.
      const manifest = { name: 'large-one', version: '1.0.0' };
      const tarball = packTarball(manifest, { 'package/blob.bin': randomBytes(2 * largeBytes).toString('base64') });
      res = await new Promise((resolve, reject) => {
        const text = JSON.stringify(body(publishDoc(manifest, { tarball })));
        assert.ok(text.length > largeBytes);
        const url = new URL('/large-one', r.url);
        const req = http.request(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: 'PUT',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${users.at(-1)!.token}` },
          },
          (res) => {
            const parts: Buffer[] = [];
            res.on('data', (b: Buffer) => parts.push(b));
            res.on('end', () =>
              resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(parts).toString('utf8') }),
            );
          },
        );
        req.on('error', reject);
        req.end(text);
      });
      assert.equal(res.status, 201, res.text);
      await until('the publish gave its slot back', () => r.app.uploads.inProgress === 0);
    });

    it('limits uploads of any size in progress per principal (429), so one account cannot queue publishes ahead of everyone', async () => {
      const { perPrincipalAny, largeBytes } = DEFAULT_UPLOAD_LIMITS;
      const flooder = await r.user('flooder');
      const other = await r.user('bystander');
      const small = { length: largeBytes / 4, upTo: 1024 };
      const open = Array.from({ length: perPrincipalAny }, () =>
        upload(r.url, '/flood', { token: flooder.token, ...small }),
      );
      await until(
        'the small uploads are in progress',
        () => r.app.uploads.inProgressOf(flooder.id) === perPrincipalAny,
      );
      const res = await upload(r.url, '/flood', { token: flooder.token, ...small }).response;
      assert.equal(res.status, 429);
      assert.equal(JSON.parse(res.text).code, 'E_UPLOADS_PER_ACCOUNT');
      assert.equal(res.headers['retry-after'], String(DEFAULT_UPLOAD_LIMITS.retryAfterSeconds));
      // Someone else publishes as usual meanwhile.
      const doc = body(publishDoc({ name: 'unhindered', version: '1.0.0' }));
      assert.equal((await r.request('PUT', '/unhindered', { token: other.token, body: doc })).status, 201);
      for (const u of open) u.abort();
      await until('the slots are free again', () => r.app.uploads.inProgressOf(flooder.id) === 0);
      const mine = body(publishDoc({ name: 'flood', version: '1.0.0' }));
      assert.equal((await r.request('PUT', '/flood', { token: flooder.token, body: mine })).status, 201);
    });
  });
}

describe('a large upload that goes silent (sqlite)', () => {
  let r: TestRegistry;
  before(async () => {
    r = await startRegistry('sqlite');
  });
  after(() => r.stop());

  it('is cut off once idle for idleMs, and gives its slot back (a trickle cannot hold slots until the request timeout)', async () => {
    const { token } = await r.user('trickler');
    const { largeBytes, idleMs } = DEFAULT_UPLOAD_LIMITS;
    const started = performance.now();
    const stalled = upload(r.url, '/big', { token, length: 4 * largeBytes, upTo: largeBytes });
    await until('the upload holds a slot', () => r.app.uploads.inProgress === 1);
    await stalled.closed;
    const held = performance.now() - started;
    assert.ok(held >= idleMs - 500 && held < idleMs + 5000, `cut off after ${held.toFixed(0)} ms`);
    await until('the slot is free again', () => r.app.uploads.inProgress === 0);
  });
});
