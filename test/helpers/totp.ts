// Codes as an authenticator app computes them (RFC 6238, SHA-1, 6 digits, 30 s), for tests that sign in or approve.
import { Secret, TOTP } from 'otpauth';

export const codeAt = (secret: string, t: number): string => new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({ timestamp: t });

/** A code that is wrong at that time: the right one with its first digit changed. */
export const wrongCodeAt = (secret: string, t: number): string => {
  const right = codeAt(secret, t);
  return `${(Number(right[0]) + 5) % 10}${right.slice(1)}`;
};
