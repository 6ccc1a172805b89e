// The sign-in redirect (web/next-url.ts) never leaves the site, whatever `next` holds: checked as a browser reads a
// Location header (the WHATWG URL parser, relative to the page that redirects), over generated strings built from the
// characters redirect tricks are made of, and end to end against a running server for the known tricks.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { safeNext } from '../../src/web/next-url.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { WebClient } from '../helpers/web-client.ts';

const SITE = 'https://registry.example';
const PAGE = `${SITE}/-/web/signin`;

/** Where a browser goes when this value is the Location of a redirect from the sign-in page. */
const followed = (location: string) => new URL(location, PAGE);

// Pieces of open-redirect payloads: separators, their encodings and look-alikes, dot segments, schemes, whitespace.
const PIECES = [
  '/',
  '/',
  '/',
  '\\',
  '.',
  '..',
  '%2e',
  '%2E',
  '%2f',
  '%2F',
  '%5c',
  '%09',
  '%00',
  '@',
  ':',
  '?',
  '#',
  ';',
  'evil.example',
  'http:',
  'javascript:',
  ' ',
  '\t',
  '\n',
  '\u00a0',
  '\u3000',
  '\uff0f',
  '\uff3c',
  '\u2215',
  '\u2044',
  '\u200b',
  '\u202e',
  '\ufeff',
  'x',
];

const TRICKS = [
  '//evil.example',
  '///evil.example',
  '/\\evil.example',
  '/.//evil.example',
  '/..//evil.example',
  '/%2e%2e//evil.example',
  '/a/%2E%2E//evil.example',
  '/.%2e//evil.example',
  '/x/../../..//evil.example',
  '/\uff0f/evil.example',
  '/%5c/evil.example',
  '/\u3002/evil.example',
  '/\t/evil.example',
  '/ /evil.example',
  '/#//evil.example',
  '/?//evil.example',
  'https://evil.example',
  'javascript:alert(1)',
  '/\u2028//evil.example',
  '/%0d%0aSet-Cookie:x=1',
];

describe('the sign-in redirect target', () => {
  it('stays on this site for every generated value it accepts, and is plain ASCII (a valid Location header)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        (pieces, leadingSlash) => {
          const raw = (leadingSlash ? '/' : '') + pieces.join('');
          const next = safeNext(raw);
          if (next === null) return;
          assert.equal(followed(next).origin, SITE, `${JSON.stringify(raw)} → ${next}`);
          assert.match(next, /^\/[\x21-\x7e]*$/, `${JSON.stringify(raw)} → ${JSON.stringify(next)}`);
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('stays on this site for arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
        const next = safeNext(`/${s}`);
        if (next !== null) assert.equal(followed(next).origin, SITE);
      }),
      { numRuns: 20_000 },
    );
  });

  describe('on a running server', () => {
    let r: TestRegistry;
    before(async () => {
      r = await startRegistry('sqlite');
      await r.user('walker');
    });
    after(() => r.stop());

    it('sends a signed-in browser only to paths on this site, whatever next= it is given', async () => {
      const web = new WebClient(r.url);
      const signedIn = await web.signIn('walker', 'correct-horse-battery', '//evil.example/after-sign-in');
      assert.equal(signedIn.status, 303);
      assert.equal(signedIn.location, '/-/web/account');
      for (const trick of TRICKS) {
        const res = await web.get(`/-/web/signin?next=${encodeURIComponent(trick)}`);
        assert.equal(res.status, 303, trick);
        assert.equal(
          new URL(res.location!, r.url).origin,
          new URL(r.url).origin,
          `${JSON.stringify(trick)} redirected to ${res.location}`,
        );
      }
      const fine = await web.get(`/-/web/signin?next=${encodeURIComponent('/-/web/search?q=a b#x')}`);
      assert.equal(fine.location, '/-/web/search?q=a%20b#x');
    });
  });
});
