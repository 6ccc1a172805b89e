import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCookies, setCookieLine } from '../../src/web/cookies.ts';

describe('cookies', () => {
  it('parses a Cookie header, first value winning, malformed values skipped', () => {
    const c = parseCookies('a=1; bulwark_session=abc; a=2; bad=%E0%A4%A; q="quoted"; noequals');
    assert.equal(c.get('a'), '1');
    assert.equal(c.get('bulwark_session'), 'abc');
    assert.equal(c.has('bad'), false);
    assert.equal(c.get('q'), 'quoted');
    assert.equal(parseCookies(undefined).size, 0);
  });
  it('always sets HttpOnly, SameSite=Lax and Path=/, and Secure only when asked', () => {
    assert.equal(
      setCookieLine('n', 'v', { maxAgeSeconds: 60, secure: false }),
      'n=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax',
    );
    assert.equal(
      setCookieLine('n', 'v', { maxAgeSeconds: 0, secure: true }),
      'n=v; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure',
    );
  });
});
