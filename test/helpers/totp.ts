// Codes as an authenticator app computes them (RFC 6238, SHA-1, 6 digits, 30 s), and the two-factor steps tests
// need before the part they test: turning it on for a user, signing in with the code.
import assert from 'node:assert/strict';
import { Secret, TOTP } from 'otpauth';
import { beginEnrolment, confirmEnrolment } from '../../src/accounts/totp.ts';
import { TEST_SECRET_KEY, type TestRegistry } from './registry.ts';
import { csrfIn, type WebClient } from './web-client.ts';

const PASSWORD = 'correct-horse-battery'; // what the registry helper gives its users

export const codeAt = (secret: string, t: number): string =>
  new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({ timestamp: t });

/** A code that is wrong at that time: the right one with its first digit changed. */
export const wrongCodeAt = (secret: string, t: number): string => {
  const right = codeAt(secret, t);
  return `${(Number(right[0]) + 5) % 10}${right.slice(1)}`;
};

/** Turns on two-factor authentication for a user directly; returns the seed. */
export async function enableMfa(
  r: TestRegistry,
  name: string,
  mode: 'auth-only' | 'auth-and-writes',
  now: number,
): Promise<string> {
  const user = await r.store.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirstOrThrow();
  const { secret } = await beginEnrolment(r.store.db, TEST_SECRET_KEY, user, 'test');
  await confirmEnrolment(r.store.db, TEST_SECRET_KEY, user.id, codeAt(secret, now), mode, now);
  return secret;
}

/** Signs in through both steps (password, then code); the caller must have moved the clock past the last code used. */
export async function signInWithCode(web: WebClient, name: string, secret: string, now: number, next?: string) {
  const first = await web.signIn(name, PASSWORD, next);
  assert.equal(first.status, 200, 'the code step');
  const ticket = /name="ticket" value="([^"]+)"/.exec(first.text)![1]!;
  const done = await web.post('/-/web/signin/otp', {
    _csrf: csrfIn(first.text),
    ticket,
    otp: codeAt(secret, now),
    ...(next ? { next } : {}),
  });
  assert.equal(done.status, 303, done.text);
  return done;
}
