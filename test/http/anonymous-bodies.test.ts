// Bodies that anyone may send are bounded to what their routes need (adversarial review of issue 15, item 5): web
// pages take forms only (any other body is refused before it is read, ahead of the CSRF check), the log's batch
// proof takes what its batch needs, npm logout takes none. A 1 MiB document of '[' cost ~190 ms of the event loop
// each, and eight at once slowed /-/ping to 700 ms.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

describe('bodies anyone may send (sqlite)', () => {
  let r: TestRegistry;
  before(async () => {
    r = await startRegistry('sqlite');
  });
  after(() => r.stop());

  const big = '['.repeat(1024 * 1024 - 1);

  it('web pages refuse anything but a form, before reading it', async () => {
    for (const path of ['/-/web/signin', '/-/web/signup', '/-/web/security/report', '/-/web/account/tokens']) {
      for (const type of ['application/json', 'text/plain']) {
        const res = await r.request('POST', path, { raw: big, headers: { 'content-type': type } });
        assert.equal(res.status, 415, `${path} ${type}: ${res.status} ${res.text.slice(0, 200)}`);
      }
    }
    // A form is still read (and then refused for its missing CSRF token, as before).
    const form = await r.request('POST', '/-/web/signin', {
      raw: 'name=a&password=b',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(form.status, 403);
  });

  it('the batch inclusion proof and npm logout refuse bodies larger than they need', async () => {
    const proof = await r.request('POST', '/-/log/proof/inclusion', {
      raw: big,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(proof.status, 413);
    const small = await r.request('POST', '/-/log/proof/inclusion', { body: { versions: ['a@1.0.0'] } });
    assert.notEqual(small.status, 413, 'a real batch is read');
    const logout = await r.request('DELETE', '/-/user/token/bwk_x', {
      raw: '{"a":"' + 'x'.repeat(100_000) + '"}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(logout.status, 413);
  });
});
