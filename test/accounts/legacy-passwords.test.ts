// Imported htpasswd hashes: each format Verdaccio writes verifies its own password and no other, and nothing that
// is not marked "{legacy}" is ever read as one.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import unixCrypt from 'unix-crypt-td-js';
import { LEGACY_PREFIX, RESET_PREFIX, legacyKind, verifyLegacy } from '../../src/accounts/legacy-passwords.ts';
import { verifyPassword } from '../../src/accounts/passwords.ts';

const sha1 = (pw: string) => `{SHA}${createHash('sha1').update(pw).digest('base64')}`;

describe('legacy password hashes', () => {
  it('recognises the formats of Verdaccio’s htpasswd plugin', () => {
    assert.equal(legacyKind(bcrypt.hashSync('x', 4)), 'bcrypt');
    assert.equal(legacyKind(bcrypt.hashSync('x', 4).replace(/^\$2b\$/, '$2y$')), 'bcrypt');
    assert.equal(legacyKind(sha1('x')), 'sha1');
    assert.equal(legacyKind(unixCrypt('x', 'ab')), 'crypt');
    assert.equal(legacyKind('$apr1$abc$def'), 'md5');
    assert.equal(legacyKind('{PLAIN}secret'), 'plain');
    assert.equal(legacyKind('$argon2id$v=19$m=7168,t=5,p=1$abc'), null);
    assert.equal(legacyKind(''), null);
  });

  for (const [kind, make] of [
    ['bcrypt ($2y$, as Apache writes it)', (pw: string) => bcrypt.hashSync(pw, 4).replace(/^\$2b\$/, '$2y$')],
    ['SHA-1', sha1],
    ['DES crypt', (pw: string) => unixCrypt(pw, 'q7')],
  ] as const) {
    it(`${kind}: the right password verifies, a wrong one does not`, async () => {
      const stored = LEGACY_PREFIX + make('correct horse');
      assert.equal(await verifyLegacy(stored, 'correct horse'), true);
      assert.equal(await verifyLegacy(stored, 'Correct horse'), false);
      assert.equal(await verifyLegacy(stored, ''), false);
      assert.equal(await verifyPassword(stored, 'correct horse'), true, 'the one password check accepts it');
      assert.equal(await verifyPassword(stored, 'wrong'), false);
    });
  }

  it('DES crypt reads only 8 characters: why it is accepted only with --accept-weak-hashes', async () => {
    assert.equal(await verifyLegacy(LEGACY_PREFIX + unixCrypt('correct horse', 'q7'), 'correct anything'), true);
  });

  it('an unmarked legacy hash is never verified as one, nor is an account that must reset', async () => {
    assert.equal(await verifyLegacy(sha1('pw'), 'pw'), false);
    assert.equal(await verifyPassword(sha1('pw'), 'pw'), false);
    assert.equal(await verifyPassword(`${RESET_PREFIX}sha1`, 'sha1'), false);
    assert.equal(await verifyPassword(`${RESET_PREFIX}sha1`, ''), false);
    assert.equal(await verifyLegacy(`${LEGACY_PREFIX}{PLAIN}pw`, 'pw'), false, 'plain text is never accepted');
    assert.equal(await verifyLegacy(`${LEGACY_PREFIX}$apr1$x$y`, 'pw'), false);
  });
});
