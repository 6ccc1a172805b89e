// A package that exists in the database but that nobody may read through the protocol — its first version held for
// security review (quarantined) — probed through the newer reads and writes (adversarial review): `npm access list
// packages`, npm star and npm stars, the version pages. Each must answer as it answers for a name that was never
// published, so none of them tells a stranger more than `npm view` does (404). An unpublished package is different:
// npm view says when it was unpublished, so lists may name it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { body, packTarball, publishDoc, type Manifest } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const SAMPLE = path.resolve(import.meta.dirname, '../fixtures/malware/samples/tuning/reverse-shell/package');

/** The inert reverse-shell sample (guarded so it never runs) under another name: the scan holds it. */
function heldDoc(name: string) {
  const manifest = {
    ...(JSON.parse(readFileSync(path.join(SAMPLE, 'package.json'), 'utf8')) as Manifest),
    name,
    version: '1.0.0',
  };
  const tarball = packTarball(manifest, { 'package/index.js': readFileSync(path.join(SAMPLE, 'index.js'), 'utf8') });
  return body(publishDoc(manifest, { tarball }));
}

describe('packages nobody may read, through lists, stars and version pages', () => {
  let r: TestRegistry;
  let mallory: { id: number; token: string };
  let bob: { id: number; token: string };
  before(async () => {
    r = await startRegistry('sqlite');
    mallory = await r.user('mallory');
    bob = await r.user('bob');
    const shown = await r.request('PUT', '/shown-lib', {
      token: mallory.token,
      body: body(publishDoc({ name: 'shown-lib', version: '1.0.0' })),
    });
    assert.equal(shown.status, 201, shown.text);
    const held = await r.request('PUT', '/held-lib', { token: mallory.token, body: heldDoc('held-lib') });
    assert.equal(held.status, 403, held.text);
    const gone = await r.request('PUT', '/gone-lib', {
      token: mallory.token,
      body: body(publishDoc({ name: 'gone-lib', version: '1.0.0' })),
    });
    assert.equal(gone.status, 201, gone.text);
    const rev = (await r.request('GET', '/gone-lib?write=true', { token: mallory.token })).json()._rev;
    const unpublished = await r.request('DELETE', `/gone-lib/-rev/${rev}`, { token: mallory.token });
    assert.equal(unpublished.status, 200, unpublished.text);
  });
  after(() => r.stop());

  it('the held package reads as missing, the unpublished one as unpublished', async () => {
    for (const name of ['held-lib', 'never-was'])
      assert.equal((await r.request('GET', `/${name}`, { token: bob.token })).status, 404, name);
    assert.ok((await r.request('GET', '/gone-lib')).json().time.unpublished);
  });

  it('npm access list packages leaves the held package out, for strangers and anonymous callers alike', async () => {
    for (const token of [bob.token, null])
      for (const p of ['/-/org/mallory/package', '/-/user/mallory/package']) {
        const res = await r.request('GET', p, { token });
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(
          res.json(),
          { 'gone-lib': 'write', 'shown-lib': 'write' },
          `${p} as ${token ? 'bob' : 'anonymous'}`,
        );
      }
  });

  it('npm star answers the held package as a name never published', async () => {
    const star = (name: string) =>
      r.request('PUT', `/${name}`, { token: bob.token, body: { _id: name, users: { bob: true } } });
    const missing = await star('never-was');
    assert.equal(missing.status, 404);
    const res = await star('held-lib');
    assert.equal(res.status, missing.status, res.text);
    assert.equal(res.text, missing.text);
    const starred = await r.request('GET', '/-/_view/starredByUser?key=%22bob%22', { token: bob.token });
    assert.deepEqual(starred.json(), { rows: [] });
  });

  it('version pages of both are the 404 of a name never published', async () => {
    const missing = await r.request('GET', '/-/web/package/never-was/v/1.0.0');
    assert.equal(missing.status, 404);
    for (const name of ['held-lib', 'gone-lib']) {
      const res = await r.request('GET', `/-/web/package/${name}/v/1.0.0`);
      assert.equal(res.status, 404, name);
    }
  });
});
