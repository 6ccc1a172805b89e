// npm 11's `npm trust` and `npm stage`, and npm 10's `npm hook`, ask for npmjs.com features this registry does not
// offer. Each of their requests is refused with 405 E_NOT_SUPPORTED and a sentence naming the command and what to do
// instead, the same for a stranger as for the owner and for a missing package as for an existing one, and before any
// body is read: a `npm stage publish` that declares a large tarball is answered at once.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

describe('npm trust, npm stage and npm hook (sqlite)', () => {
  let r: TestRegistry;
  before(async () => {
    r = await startRegistry('sqlite');
    const res = await r.request('PUT', '/trusty', {
      token: r.adminToken,
      body: body(publishDoc({ name: 'trusty', version: '1.0.0' })),
    });
    assert.equal(res.status, 201, res.text);
  });
  after(() => r.stop());

  const requests: Array<[string, string, RegExp]> = [
    ['GET', '/-/package/trusty/trust', /npm trust/],
    ['POST', '/-/package/trusty/trust', /npm trust/],
    ['DELETE', '/-/package/trusty/trust/3f2a', /npm trust/],
    ['GET', '/-/package/@some%2fthing/trust', /npm trust/],
    ['GET', '/-/stage?page=0&perPage=100&package=trusty', /npm stage/],
    ['GET', '/-/stage/abc', /npm stage/],
    ['DELETE', '/-/stage/abc', /npm stage/],
    ['POST', '/-/stage/abc/approve', /npm stage/],
    ['GET', '/-/stage/abc/tarball', /npm stage/],
    ['POST', '/-/stage/package/trusty', /npm stage/],
    ['GET', '/-/npm/v1/hooks?package=trusty', /npm hook/],
    ['POST', '/-/npm/v1/hooks/hook', /npm hook/],
    ['GET', '/-/npm/v1/hooks/hook/abc', /npm hook/],
    ['PUT', '/-/npm/v1/hooks/hook/abc', /npm hook/],
    ['DELETE', '/-/npm/v1/hooks/hook/abc', /npm hook/],
  ];

  it('refuses each request with 405 and what to do instead, for anyone', async () => {
    for (const [method, url, names] of requests)
      for (const token of [null, r.adminToken]) {
        const res = await r.request(method, url, {
          token,
          ...(method === 'POST' ? { body: { name: 'trusty' } } : {}),
        });
        assert.equal(res.status, 405, `${method} ${url}: ${res.text}`);
        assert.equal(res.headers.get('allow'), '');
        const { error, code } = res.json();
        assert.equal(code, 'E_NOT_SUPPORTED');
        assert.match(error, names);
        assert.match(error, /not available on this registry/);
        assert.match(error, /`npm (token create|publish)|changes feed/, 'says what to do instead');
      }
  });

  it('answers before reading the body: a declared 100 MB stage upload is refused at once', async () => {
    const { port } = new URL(r.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => {
        socket.write(
          'POST /-/stage/package/trusty HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
            `Content-Length: ${100 * 1024 * 1024}\r\n\r\n{"name":`,
        );
      });
      let got = '';
      socket.on('data', (d: Buffer) => {
        got += d;
        if (got.includes('\r\n\r\n')) {
          socket.destroy();
          resolve(got);
        }
      });
      socket.on('error', reject);
      setTimeout(() => reject(new Error(`no answer while the body was still coming: ${got}`)), 5000);
    });
    assert.match(answer, /^HTTP\/1\.1 405 /);
  });

  it('leaves the package routes beside them alone', async () => {
    assert.equal((await r.request('GET', '/-/package/trusty/dist-tags')).status, 200);
    assert.equal((await r.request('GET', '/-/package/trusty/collaborators', { token: r.adminToken })).status, 200);
  });
});
