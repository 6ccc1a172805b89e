import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { safeNext } from '../../src/web/next-url.ts';

describe('redirect targets after sign-in', () => {
  it('accepts paths on this site', () => {
    assert.equal(safeNext('/-/web/account'), '/-/web/account');
    assert.equal(safeNext('/-/web/search?q=a%20b#x'), '/-/web/search?q=a%20b#x');
    assert.equal(safeNext('/-/web/package/@scope/name'), '/-/web/package/@scope/name');
  });
  it('refuses other origins, schemes and tricks', () => {
    for (const bad of [
      '',
      'https://evil.example/',
      '//evil.example',
      '///evil.example',
      '/\\evil.example',
      '\\\\evil.example',
      'javascript:alert(1)',
      '/\t/evil.example',
      '/\n/evil',
      'evil',
      ' /x',
      '/.//evil.example',
      '/..//evil.example',
      '/%2e//evil.example',
      '/a/..//evil.example',
      '/a/../..//evil.example',
      '/./\\evil.example',
      '/%2e%2e//evil.example',
      '/x'.padEnd(3000, 'x'),
      42,
      null,
      undefined,
    ]) {
      assert.equal(safeNext(bad), null, JSON.stringify(bad));
    }
  });
});
