// CSRF protection for every form POST of the web UI. The token is HMAC(key, binding), where the binding is the
// session id when the browser is signed in and otherwise a random pre-session cookie. A cross-site page can make the
// browser send our cookies but can read neither them nor our pages, so it cannot produce the token; the HMAC means
// nothing has to be stored server-side. SameSite=Lax cookies and the Sec-Fetch-Site check are a second layer.
// https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { fail } from '../errors.ts';
import { appendSetCookie, cookie, isHttps, setCookieLine } from './cookies.ts';
import type { WebSessions } from './session.ts';

export const CSRF_FIELD = '_csrf';
export const PRE_SESSION_COOKIE = 'bulwark_csrf';
const PRE_SESSION_VALUE = /^[A-Za-z0-9_-]{43}$/;
const PRE_SESSION_MAX_AGE = 24 * 60 * 60;

export const CSRF_REFUSED =
  'This form has expired or was not sent from this site, so it was not accepted. Go back, reload the page and try again.';

export class Csrf {
  readonly #key: Buffer;
  readonly #sessions: WebSessions;
  // A pre-session value minted during this request (its cookie is on the reply, not yet in the browser).
  readonly #minted = new WeakMap<FastifyRequest, string>();

  constructor(secretKey: Buffer, sessions: WebSessions) {
    // A key of its own, derived from the instance key, so a CSRF token can never be mistaken for another MAC.
    this.#key = createHmac('sha256', secretKey).update('bulwark/web/csrf/v1').digest();
    this.#sessions = sessions;
  }

  #mac(binding: string): string {
    return createHmac('sha256', this.#key).update(binding).digest('base64url');
  }

  async #binding(req: FastifyRequest): Promise<string | null> {
    const session = await this.#sessions.current(req);
    if (session) return `session:${session.secret}`;
    const pre = this.#minted.get(req) ?? cookie(req, PRE_SESSION_COOKIE);
    return pre && PRE_SESSION_VALUE.test(pre) ? `pre:${pre}` : null;
  }

  /** The token for the forms on the page being rendered; sets the pre-session cookie if the browser has none. */
  async token(req: FastifyRequest, reply: FastifyReply): Promise<string> {
    let binding = await this.#binding(req);
    if (!binding) {
      const pre = randomBytes(32).toString('base64url');
      this.#minted.set(req, pre);
      appendSetCookie(
        reply,
        setCookieLine(PRE_SESSION_COOKIE, pre, { maxAgeSeconds: PRE_SESSION_MAX_AGE, secure: isHttps(req) }),
      );
      binding = `pre:${pre}`;
    }
    return this.#mac(binding);
  }

  /** Refuses (403) a POST whose token is missing or wrong, or that the browser says came from another site. */
  async verify(req: FastifyRequest, submitted: unknown): Promise<void> {
    if (req.headers['sec-fetch-site'] === 'cross-site') {
      req.log.info({ cause: 'csrf-cross-site' }, 'form refused');
      throw fail('E_CSRF', CSRF_REFUSED);
    }
    const binding = await this.#binding(req);
    const given = Buffer.from(typeof submitted === 'string' ? submitted : '');
    const expected = binding ? Buffer.from(this.#mac(binding)) : null;
    if (!expected || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      req.log.info({ cause: expected ? 'csrf-token-mismatch' : 'csrf-no-binding' }, 'form refused');
      throw fail('E_CSRF', CSRF_REFUSED);
    }
  }
}
