// Password hashes brought from another registry (an htpasswd file: bcrypt, unsalted SHA-1, DES crypt), kept only until
// their owner's next sign-in. They are stored marked, never mistaken for argon2id: "{legacy}" + the original hash, or
// "{reset-required}" + why, for an account that must set a new password by email first. Verifying a legacy hash is
// the one place Bulwark reads these formats; the sign-in that succeeds replaces it with argon2id (users.ts).
import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import unixCrypt from 'unix-crypt-td-js';

export const LEGACY_PREFIX = '{legacy}';
export const RESET_PREFIX = '{reset-required}';

/** The formats Verdaccio's htpasswd plugin writes; md5 ($apr1$) and plain are recognised only to be refused. */
export type LegacyKind = 'bcrypt' | 'sha1' | 'crypt' | 'md5' | 'plain';

/** Which format a htpasswd hash is in, or null when it is none Verdaccio writes. Pure. */
export function legacyKind(hash: string): LegacyKind | null {
  if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) return 'bcrypt';
  if (/^\{SHA\}[A-Za-z0-9+/]{27}=$/.test(hash)) return 'sha1';
  if (/^\$apr1\$/.test(hash)) return 'md5';
  if (hash.startsWith('{PLAIN}')) return 'plain';
  if (/^[./A-Za-z0-9]{13}$/.test(hash)) return 'crypt';
  return null;
}

/**
 * Weak formats: unsalted SHA-1 and DES crypt (which reads only the first 8 characters of a password) fall to an
 * offline guess in seconds; accepting one for a sign-in is the operator's explicit choice (`--accept-weak-hashes`).
 */
export const WEAK_KINDS: readonly LegacyKind[] = ['sha1', 'crypt'];

export const isLegacyHash = (stored: string): boolean => stored.startsWith(LEGACY_PREFIX);
export const needsReset = (stored: string): boolean => stored.startsWith(RESET_PREFIX);

const same = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** Checks a password against a stored "{legacy}" hash; false for anything else. */
export async function verifyLegacy(stored: string, password: string): Promise<boolean> {
  if (!isLegacyHash(stored)) return false;
  const hash = stored.slice(LEGACY_PREFIX.length);
  switch (legacyKind(hash)) {
    case 'bcrypt':
      return bcrypt.compare(password, hash);
    case 'sha1':
      return same(`{SHA}${createHash('sha1').update(password, 'utf8').digest('base64')}`, hash);
    case 'crypt':
      return same(unixCrypt(password, hash), hash);
    default:
      return false;
  }
}
