// The state between the two steps of signing in with a second factor: "this browser gave the right password for
// user N", carried in the one-time-password form as a MAC'd ticket instead of a server-side row. It expires in five
// minutes and is bound to the browser's CSRF token, so a ticket copied out of one browser is useless in another;
// and it proves only the password, so the one-time password is still checked (and rate-limited) on every attempt.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const TICKET_TTL_MS = 5 * 60 * 1000;

export class SignInTickets {
  readonly #key: Buffer;
  constructor(secretKey: Buffer) {
    this.#key = createHmac('sha256', secretKey).update('bulwark/web/signin-ticket/v1').digest();
  }

  #mac(userId: number, expires: number, csrfToken: string): string {
    return createHmac('sha256', this.#key).update(`${userId}|${expires}|${csrfToken}`).digest('base64url');
  }

  issue(userId: number, csrfToken: string, now: number): string {
    const expires = now + TICKET_TTL_MS;
    return `${userId}.${expires}.${this.#mac(userId, expires, csrfToken)}`;
  }

  /** The user id the ticket vouches for, or null when it is malformed, forged, expired or from another browser. */
  verify(ticket: string, csrfToken: string, now: number): number | null {
    const m = /^(\d{1,15})\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(ticket);
    if (!m) return null;
    const userId = Number(m[1]);
    const expires = Number(m[2]);
    const given = Buffer.from(m[3]!);
    const expected = Buffer.from(this.#mac(userId, expires, csrfToken));
    if (!timingSafeEqual(given, expected) || expires <= now) return null;
    return userId;
  }
}
