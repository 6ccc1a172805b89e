// Token strings: "bwk_" + 36 random base62 characters + 6 base62 characters of CRC32 over the random part, so a
// secret scanner can match them with one regular expression and discard look-alikes offline (as GitHub's tokens do).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const TOKEN_PREFIX = 'bwk_';
export const TOKEN_PATTERN = /\bbwk_[0-9A-Za-z]{42}\b/;
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BODY = 36;

function base62(n: number, width: number): string {
  let out = '';
  for (let i = 0; i < width; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

export function newToken(): string {
  let body = '';
  // Rejection sampling keeps every character uniformly distributed.
  while (body.length < BODY) {
    for (const byte of randomBytes(48)) {
      if (byte < 248 && body.length < BODY) body += ALPHABET[byte % 62];
    }
  }
  return TOKEN_PREFIX + body + base62(crc32(body), 6);
}

/** True when the string has the shape and checksum of a Bulwark token (it may still be unknown or revoked). */
export function isWellFormedToken(token: string): boolean {
  if (!/^bwk_[0-9A-Za-z]{42}$/.test(token)) return false;
  const body = token.slice(TOKEN_PREFIX.length, TOKEN_PREFIX.length + BODY);
  const sum = Buffer.from(base62(crc32(body), 6));
  return timingSafeEqual(sum, Buffer.from(token.slice(-6)));
}

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');
