// The upstream proxy against an upstream that lies, and against callers who try to make it resolve internal names
// outside (adversarial review of the upstream proxy, docs/upstream.md). A hostile stand-in registry answers each path
// with whatever the test scripts (redirects, packuments whose fields disagree, tarball links to other hosts), and a
// second server stands for an address inside the network (127.0.0.1 here, 169.254.169.254 in a cloud): it records
// every request, and none may ever reach it.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createOrg } from '../../src/access/orgs.ts';
import { body, packTarball, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { integrityOf } from '../helpers/upstream.ts';

const DAY = 86_400_000;
const ABBREVIATED = 'application/vnd.npm.install-v1+json';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
type Scripted = { url: string; hits: string[]; on: Map<string, Handler>; stop(): Promise<void> };

/** A server that answers each path as the test says (404 otherwise) and records every path asked. */
async function scriptedServer(): Promise<Scripted> {
  const hits: string[] = [];
  const on = new Map<string, Handler>();
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const handler = on.get(decodeURIComponent(req.url ?? ''));
    if (handler) handler(req, res);
    else res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Not found"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    on,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const json =
  (value: unknown): Handler =>
  (_req, res) =>
    void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
const bytes =
  (b: Buffer): Handler =>
  (_req, res) =>
    void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(b);
const redirect =
  (location: string): Handler =>
  (_req, res) =>
    void res.writeHead(302, { location }).end();

/** A packument in npmjs.com's shape for the given versions (each published `age` ms ago unless time says else). */
function packument(
  name: string,
  versions: Array<{ version: string; tarball: Buffer; tarballUrl: string; time?: string | null }>,
  extra: Record<string, unknown> = {},
) {
  const doc: Record<string, any> = { _id: name, name, 'dist-tags': {}, versions: {}, time: {}, ...extra };
  for (const v of versions) {
    doc.versions[v.version] = {
      name,
      version: v.version,
      dist: { integrity: integrityOf(v.tarball), tarball: v.tarballUrl },
    };
    if (v.time !== null) doc.time[v.version] = v.time ?? new Date(Date.now() - 30 * DAY).toISOString();
    doc['dist-tags'].latest = v.version;
  }
  return doc;
}

describe('the upstream proxy against a hostile upstream and dependency-confusion probes', () => {
  let up: Scripted;
  let inside: Scripted;
  let r: TestRegistry;
  const tgz = (name: string, version: string) => packTarball({ name, version, description: 'x' });

  before(async () => {
    up = await scriptedServer();
    inside = await scriptedServer();
    r = await startRegistry('sqlite', {
      upstream: up.url,
      'upstream-timeout': '2s',
      'upstream-max-age': '1s',
      'reserved-names': 'acme-fork=acme',
      // This stand-in signs nothing and publishes no keys (as a private Verdaccio does): what it tests is what the
      // proxy does with the rest of what it says. Signatures are tested in signatures.test.ts.
      'upstream-unsigned-allowed': up.url,
    });
    await createOrg(r.store.db, 'acme', 'admin', null, Date.now());
  });
  after(async () => {
    await r.stop();
    await up.stop();
    await inside.stop();
  });

  it('does not follow an upstream redirect of a packument to another host (an address inside the network)', async () => {
    const t = tgz('redir-doc', '1.0.0');
    inside.on.set('/redir-doc', json(packument('redir-doc', [{ version: '1.0.0', tarball: t, tarballUrl: '' }])));
    up.on.set('/redir-doc', redirect(`${inside.url}/redir-doc`));
    const res = await r.request('GET', '/redir-doc');
    assert.equal(res.status, 502, res.text);
    assert.equal(res.json().code, 'E_UPSTREAM_UNAVAILABLE');
    assert.deepEqual(inside.hits, [], 'the internal address was never asked');
  });

  it('does not follow an upstream redirect of a tarball to another host, even to bytes that match the integrity', async () => {
    const t = tgz('redir-tgz', '1.0.0');
    up.on.set(
      '/redir-tgz',
      json(
        packument('redir-tgz', [
          { version: '1.0.0', tarball: t, tarballUrl: `${up.url}/redir-tgz/-/redir-tgz-1.0.0.tgz` },
        ]),
      ),
    );
    up.on.set('/redir-tgz/-/redir-tgz-1.0.0.tgz', redirect(`${inside.url}/latest/meta-data/iam`));
    inside.on.set('/latest/meta-data/iam', bytes(t));
    const res = await r.request('GET', '/redir-tgz/-/redir-tgz-1.0.0.tgz');
    assert.equal(res.status, 502, res.text);
    assert.deepEqual(inside.hits, [], 'the internal address was never asked');
  });

  it('still follows a redirect that stays on the upstream’s own origin', async () => {
    const t = tgz('moved-tgz', '1.0.0');
    up.on.set(
      '/moved-tgz',
      json(
        packument('moved-tgz', [
          { version: '1.0.0', tarball: t, tarballUrl: `${up.url}/moved-tgz/-/moved-tgz-1.0.0.tgz` },
        ]),
      ),
    );
    up.on.set('/moved-tgz/-/moved-tgz-1.0.0.tgz', redirect('/blobs/moved-tgz-1.0.0.tgz'));
    up.on.set('/blobs/moved-tgz-1.0.0.tgz', bytes(t));
    const res = await r.request('GET', '/moved-tgz/-/moved-tgz-1.0.0.tgz');
    assert.equal(res.status, 200, res.text);
    assert.equal(integrityOf(res.bytes), integrityOf(t));
  });

  it('fetches a tarball only from the upstream’s host, whatever dist.tarball says', async () => {
    const t = tgz('elsewhere', '1.0.0');
    up.on.set(
      '/elsewhere',
      json(
        packument('elsewhere', [
          { version: '1.0.0', tarball: t, tarballUrl: `${inside.url}/elsewhere/-/elsewhere-1.0.0.tgz` },
        ]),
      ),
    );
    up.on.set('/elsewhere/-/elsewhere-1.0.0.tgz', bytes(t));
    const res = await r.request('GET', '/elsewhere/-/elsewhere-1.0.0.tgz');
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(
      inside.hits.filter((h) => h.includes('elsewhere')),
      [],
    );
    const doc = (await r.request('GET', '/elsewhere')).json();
    assert.equal(doc.versions['1.0.0'].dist.tarball, `${r.url}/elsewhere/-/elsewhere-1.0.0.tgz`);
  });

  it('never asks the upstream about a name in an organisation’s scope, whatever case or encoding it arrives in', async () => {
    const t = tgz('@acme/secret', '1.0.0');
    for (const spelled of ['@acme/secret', '@ACME/secret', '@Acme/Secret'])
      up.on.set(`/${spelled}`, json(packument(spelled, [{ version: '1.0.0', tarball: t, tarballUrl: '' }])));
    const missing = await r.request('GET', '/no-such-name-anywhere');
    for (const p of ['/@acme%2fsecret', '/%40acme%2fsecret', '/@acme/secret', '/@ACME%2fsecret', '/@Acme%2FSecret']) {
      const res = await r.request('GET', p);
      assert.equal(res.status, 404, `${p}: ${res.text}`);
      assert.equal(res.text, missing.text, `${p} answers as a missing name`);
    }
    assert.deepEqual(
      up.hits.filter((h) => /secret/i.test(decodeURIComponent(h))),
      [],
      'no spelling of an internal name reached the upstream',
    );
  });

  it('never asks the upstream about another case of a hosted name', async () => {
    const alice = await r.user('alice');
    const pub = body(publishDoc({ name: 'internal-utils', version: '1.0.0' }));
    assert.equal((await r.request('PUT', '/internal-utils', { token: alice.token, body: pub })).status, 201);
    const t = tgz('Internal-Utils', '6.6.6');
    up.on.set('/Internal-Utils', json(packument('Internal-Utils', [{ version: '6.6.6', tarball: t, tarballUrl: '' }])));
    const res = await r.request('GET', '/Internal-Utils');
    assert.equal(res.status, 404, res.text);
    assert.deepEqual(
      up.hits.filter((h) => h.includes('Internal-Utils') || h.includes('internal-utils/-/')),
      [],
    );
  });

  it('keeps only versions whose manifest agrees with its key, and survives __proto__ keys', async () => {
    const good = tgz('liar', '1.0.0');
    const doc = packument('liar', [{ version: '1.0.0', tarball: good, tarballUrl: '' }]);
    doc.versions['2.0.0'] = { name: 'liar', version: '1.0.0', dist: { integrity: integrityOf(good) } };
    doc.versions['3.0.0'] = { name: 'other', version: '3.0.0', dist: { integrity: integrityOf(good) } };
    doc.time['2.0.0'] = doc.time['3.0.0'] = new Date(Date.now() - 30 * DAY).toISOString();
    doc['dist-tags'] = { latest: '2.0.0', next: '3.0.0' };
    const text = JSON.stringify(doc).replace(
      '"versions":{',
      '"__proto__":{"polluted":true},"versions":{"__proto__":{"name":"liar","version":"__proto__","dist":{}},',
    );
    up.on.set('/liar', (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(text));
    const res = await r.request('GET', '/liar');
    assert.equal(res.status, 200, res.text);
    const served = res.json();
    assert.deepEqual(Object.keys(served.versions), ['1.0.0']);
    assert.equal(served['dist-tags'].latest, '1.0.0', 'a latest pointing at a dropped version falls back');
    assert.equal(served['dist-tags'].next, undefined);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((await r.request('GET', '/liar/-/liar-2.0.0.tgz')).status, 404);
  });

  it('answers a name the upstream does not have with a 404 every time, asking the upstream once per max age', async () => {
    for (let i = 0; i < 3; i++) {
      for (const accept of [ABBREVIATED, 'application/json']) {
        const res = await r.request('GET', '/nowhere-at-all', { headers: { accept } });
        assert.equal(res.status, 404, `request ${i}: ${res.text}`);
        assert.equal(res.json().code, 'E_NOT_FOUND');
      }
      assert.equal((await r.request('GET', '/nowhere-at-all/-/nowhere-at-all-1.0.0.tgz')).status, 404);
    }
    // Nine requests within about a max age (1 s here): one upstream request, two on a slow machine.
    assert.ok(up.hits.filter((h) => h === '/nowhere-at-all').length <= 2);
  });

  it('keeps the integrity and bytes it first checked when the upstream later claims other bytes for a version', async () => {
    const first = tgz('swapped', '1.0.0');
    const second = packTarball({
      name: 'swapped',
      version: '1.0.0',
      description: 'x',
      scripts: { install: 'curl evil' },
    });
    const url = `${up.url}/swapped/-/swapped-1.0.0.tgz`;
    up.on.set('/swapped', json(packument('swapped', [{ version: '1.0.0', tarball: first, tarballUrl: url }])));
    up.on.set('/swapped/-/swapped-1.0.0.tgz', bytes(first));
    const got = await r.request('GET', '/swapped/-/swapped-1.0.0.tgz');
    assert.equal(integrityOf(got.bytes), integrityOf(first));
    up.on.set('/swapped', json(packument('swapped', [{ version: '1.0.0', tarball: second, tarballUrl: url }])));
    up.on.set('/swapped/-/swapped-1.0.0.tgz', bytes(second));
    await sleep(1100);
    const doc = (await r.request('GET', '/swapped', { headers: { accept: ABBREVIATED } })).json();
    assert.equal(doc.versions['1.0.0'].dist.integrity, integrityOf(first), 'the first integrity is served');
    const again = await r.request('GET', '/swapped/-/swapped-1.0.0.tgz');
    assert.equal(integrityOf(again.bytes), integrityOf(first), 'and the first bytes');
    assert.equal(up.hits.filter((h) => h === '/swapped').length, 2, 'the packument was fetched again');
  });

  it('lets no account take over a name the upstream serves by publishing it here first', async () => {
    const mallory = await r.user('mallory');
    const real = tgz('popular-lib', '4.17.21');
    up.on.set('/popular-lib', json(packument('popular-lib', [{ version: '4.17.21', tarball: real, tarballUrl: '' }])));
    const hijack = body(
      publishDoc({ name: 'popular-lib', version: '4.17.22', scripts: { postinstall: 'node collect.js' } }),
    );
    const res = await r.request('PUT', '/popular-lib', { token: mallory.token, body: hijack });
    assert.equal(res.status, 403, res.text);
    assert.equal(res.json().code, 'E_NAME_TAKEN');
    assert.match(res.json().error, /is a package on the upstream registry this one proxies/);
    const served = (await r.request('GET', '/popular-lib')).json();
    assert.deepEqual(Object.keys(served.versions), ['4.17.21'], 'the upstream’s package is still the one served');

    // An upstream that cannot be asked decides nothing: the publish waits for it.
    up.on.set('/flaky-lib', (_req, res) => void res.writeHead(503).end());
    const flaky = await r.request('PUT', '/flaky-lib', {
      token: mallory.token,
      body: body(publishDoc({ name: 'flaky-lib', version: '1.0.0' })),
    });
    assert.equal(flaky.status, 502, flaky.text);
    // A name the upstream does not have, the account's own scope, and a name reserved for an organisation (hosted
    // here on purpose) are published as always; the last two are never asked upstream.
    for (const [name, token] of [
      ['brand-new-lib', mallory.token],
      ['@mallory/popular-lib', mallory.token],
      ['acme-fork', r.adminToken],
    ] as const) {
      const ok = await r.request('PUT', `/${name.replace('/', '%2f')}`, {
        token,
        body: body(publishDoc({ name, version: '1.0.0' })),
      });
      assert.equal(ok.status, 201, `${name}: ${ok.text}`);
    }
    assert.deepEqual(
      up.hits.filter((h) => /mallory|acme-fork/.test(decodeURIComponent(h))),
      [],
    );
  });

  it('holds back versions with no publication time or one in the future, and their tarballs, by any route', async () => {
    const a = tgz('timeless', '1.0.0');
    const b = tgz('timeless', '1.1.0');
    const c = tgz('timeless', '1.2.0');
    const doc = packument('timeless', [
      { version: '1.0.0', tarball: a, tarballUrl: '' },
      { version: '1.1.0', tarball: b, tarballUrl: '', time: null },
      { version: '1.2.0', tarball: c, tarballUrl: '', time: new Date(Date.now() + 365 * DAY).toISOString() },
    ]);
    doc['dist-tags'] = { latest: '1.2.0', beta: '1.1.0' };
    up.on.set('/timeless', json(doc));
    for (const v of ['1.0.0', '1.1.0', '1.2.0']) up.on.set(`/timeless/-/timeless-${v}.tgz`, bytes(tgz('timeless', v)));
    for (const accept of [ABBREVIATED, 'application/json']) {
      const served = (await r.request('GET', '/timeless', { headers: { accept } })).json();
      assert.deepEqual(Object.keys(served.versions), ['1.0.0'], accept);
      assert.deepEqual(served['dist-tags'], { latest: '1.0.0' }, accept);
    }
    for (const v of ['1.1.0', '1.2.0']) {
      const res = await r.request('GET', `/timeless/-/timeless-${v}.tgz`);
      assert.equal(res.status, 403, res.text);
      assert.equal(res.json().code, 'E_UPSTREAM_TOO_NEW');
      // Another spelling of the same file, decoded by the router, is the same refusal.
      const encoded = await r.request('GET', `/timeless/-/timeless-${v.replace(/\./g, '%2E')}.tgz`);
      assert.equal(encoded.status, 403, encoded.text);
    }
    assert.equal(up.hits.filter((h) => /timeless-1\.[12]\.0/.test(decodeURIComponent(h))).length, 0);
  });
});
