// Routes declare the shape of their params, query and body (src/http/schemas.ts): a request of another shape is a
// 400 with the registry's E_INVALID_REQUEST and a sentence naming the field, never a 500, and it is refused before
// anything stored is looked at, so a missing package and one the caller cannot read answer it byte for byte alike.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { validationSentence } from '../../src/http/schemas.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type Response, type TestRegistry } from '../helpers/registry.ts';

const invalid = (res: Response, field: RegExp) => {
  assert.equal(res.status, 400, res.text);
  const b = res.json();
  assert.equal(b.code, 'E_INVALID_REQUEST');
  assert.match(b.error, field);
};

describe('the sentence of a failed schema check', () => {
  it('names the field and where it is', () => {
    assert.equal(
      validationSentence([{ keyword: 'required', instancePath: '', params: { missingProperty: 'user' } }], 'body'),
      'the request body must have "user"',
    );
    assert.equal(
      validationSentence([{ keyword: 'type', instancePath: '/users', params: { type: 'object' } }], 'body'),
      '"users" in the request body must be a JSON object',
    );
    assert.equal(
      validationSentence(
        [
          {
            keyword: 'pattern',
            instancePath: '/size',
            params: {},
            parentSchema: { description: 'a whole number' },
          },
        ],
        'querystring',
      ),
      '"size" in the query must be a whole number',
    );
    assert.equal(
      validationSentence([{ keyword: 'maxLength', instancePath: '/a~1b', params: { limit: 3 } }], 'params'),
      '"a/b" in the URL must be at most 3 characters',
    );
  });
});

describe('schema-validated npm routes', () => {
  let r: TestRegistry;
  let other: { token: string };
  before(async () => {
    r = await startRegistry('sqlite');
    assert.equal(
      (
        await r.request('PUT', '/open-pkg', {
          token: r.adminToken,
          body: body(publishDoc({ name: 'open-pkg', version: '1.0.0' })),
        })
      ).status,
      201,
    );
    const doc = publishDoc({ name: '@hush/hidden', version: '1.0.0' });
    assert.equal(
      (
        await r.request('PUT', '/@hush%2fhidden', {
          token: r.adminToken,
          body: { ...body(doc), access: 'restricted' },
        })
      ).status,
      201,
    );
    other = await r.user('mallory');
  });
  after(() => r.stop());

  it('refuses a query of the wrong shape, naming the parameter', async () => {
    invalid(await r.request('GET', '/-/v1/search?text=a&size=ten'), /"size" in the query must be a whole number/);
    invalid(await r.request('GET', '/-/v1/search?text=a&text=b'), /"text" in the query must be a string/);
    // An empty count is npm's default, as before.
    assert.equal((await r.request('GET', '/-/v1/search?text=a&size=&from=')).status, 200);
    invalid(await r.request('GET', '/-/_view/starredByUser?key=' + 'x'.repeat(300)), /"key" in the query/);
  });

  it('refuses a package document that is not a JSON object, or whose envelope has the wrong types', async () => {
    invalid(
      await r.request('PUT', '/open-pkg', { token: r.adminToken, body: ['not', 'a', 'document'] }),
      /the request body must be a JSON package document/,
    );
    invalid(
      await r.request('PUT', '/open-pkg', { token: r.adminToken, body: { name: 'open-pkg', _attachments: 'x' } }),
      /"_attachments" in the request body must be a JSON object/,
    );
    invalid(
      await r.request('PUT', '/open-pkg', { token: r.adminToken, body: { _id: 'open-pkg', users: ['me'] } }),
      /"users" in the request body must be a JSON object/,
    );
    invalid(
      await r.request('PUT', '/open-pkg/-rev/1-abc', { token: r.adminToken, body: { versions: 'none' } }),
      /"versions" in the request body/,
    );
    invalid(
      await r.request('PUT', '/-/package/open-pkg/dist-tags/beta', { token: r.adminToken, body: { v: '1.0.0' } }),
      /the request body must be a JSON string holding a version/,
    );
  });

  it('answers a malformed write on a package the caller cannot read exactly as on a missing one', async () => {
    for (const [method, path, doc] of [
      ['PUT', '/-/package/@hush%2fhidden/dist-tags/beta', { v: 1 }],
      ['PUT', '/@hush%2fhidden', ['x']],
      ['PUT', '/@hush%2fhidden/-rev/1-abc', { versions: 3 }],
    ] as const) {
      const hidden = await r.request(method, path, { token: other.token, body: doc });
      const missing = await r.request(method, path.replace('hidden', 'absent'), { token: other.token, body: doc });
      assert.equal(hidden.status, 400, path);
      assert.equal(hidden.text, missing.text, path);
    }
  });

  it('refuses org, team and access bodies without their names, naming the field', async () => {
    invalid(
      await r.request('PUT', '/-/org/acme/user', { token: r.adminToken, body: { role: 'developer' } }),
      /the request body must have "user"/,
    );
    invalid(
      await r.request('PUT', '/-/org/acme/user', { token: r.adminToken, body: { user: 5 } }),
      /"user" in the request body must be a string/,
    );
    invalid(
      await r.request('PUT', '/-/org/acme/team', { token: r.adminToken, body: { name: '' } }),
      /"name" in the request body must not be empty/,
    );
    invalid(
      await r.request('PUT', '/-/team/acme/devs/package', { token: r.adminToken, body: { package: ['a'] } }),
      /"package" in the request body must be a string/,
    );
    invalid(
      await r.request('POST', '/-/package/open-pkg/access', { token: r.adminToken, body: 'public' }),
      /the request body must be a JSON object/,
    );
  });

  it('never answers a body of the wrong JSON type with a 500, on any route that takes one', async () => {
    const routes: Array<[string, string]> = [
      ['PUT', '/open-pkg'],
      ['PUT', '/open-pkg/-rev/1-abc'],
      ['PUT', '/-/package/open-pkg/dist-tags/beta'],
      ['POST', '/-/package/open-pkg/access'],
      ['PUT', '/-/org/acme/user'],
      ['DELETE', '/-/org/acme/user'],
      ['PUT', '/-/org/acme/team'],
      ['PUT', '/-/team/acme/devs/user'],
      ['PUT', '/-/team/acme/devs/package'],
      ['DELETE', '/-/team/acme/devs/package'],
      ['POST', '/-/npm/v1/tokens'],
      ['POST', '/-/npm/v1/user'],
      ['POST', '/-/bulwark/v1/reports'],
      ['POST', '/-/log/proof/inclusion'],
      ['PUT', '/-/user/org.couchdb.user:someone'],
      ['POST', '/-/v1/login'],
    ];
    for (const [method, path] of routes)
      for (const raw of [
        'null',
        '[1,2]',
        '"text"',
        '42',
        'true',
        '{"user":{"a":1},"name":[],"package":7,"versions":"x"}',
      ]) {
        const res = await r.request(method, path, {
          token: r.adminToken,
          raw,
          headers: { 'content-type': 'application/json' },
        });
        assert.ok(res.status < 500, `${method} ${path} ${raw}: ${res.status} ${res.text.slice(0, 200)}`);
        if (res.status === 400) assert.equal(typeof res.json().code, 'string', `${method} ${path} ${raw}`);
      }
  });

  it('still refuses an anonymous write before reading its body at all', async () => {
    const res = await r.request('PUT', '/open-pkg', { body: ['not', 'a', 'document'] });
    assert.equal(res.status, 401);
    assert.equal(res.json().code, 'E_AUTH_REQUIRED');
  });
});
