// The web UI's side of sessions: which session a request carries (looked up once per request), starting one at
// sign-in with a fresh id (so an id planted before sign-in is worthless), and ending one at sign-out.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../access/principal.ts';
import {
  SESSION_MAX_MS,
  createSession,
  resolveSession,
  revokeSession,
  type LiveSession,
} from '../accounts/sessions.ts';
import type { Db } from '../store/db.ts';
import type { UserRow } from '../store/schema.ts';
import { appendSetCookie, cookie, isHttps, setCookieLine } from './cookies.ts';

export const SESSION_COOKIE = 'bulwark_session';

/** A live session together with the cookie value that named it (the CSRF token is bound to that value). */
export type WebSession = LiveSession & { secret: string };

/**
 * The principal a web session stands for. It carries no token: tokenId 0 names "signed in through the browser", and it
 * is never read-only, because what it may do is still decided by the gate (and, for writes, by gate.write's checks).
 */
export function sessionPrincipal({ user }: LiveSession): Principal {
  return {
    userId: user.id,
    name: user.name,
    email: user.email,
    isAdmin: user.is_admin === 1,
    isModerator: user.is_moderator === 1,
    emailVerified: user.email_verified === 1,
    tokenId: 0,
    tokenReadonly: false,
  };
}

export class WebSessions {
  readonly #db: Db;
  readonly #clock: () => number;
  readonly #pending = new WeakMap<FastifyRequest, Promise<WebSession | null>>();
  readonly #settled = new WeakMap<FastifyRequest, WebSession | null>();

  constructor(db: Db, clock: () => number) {
    this.#db = db;
    this.#clock = clock;
  }

  /** The request's live session, or null. Resolved once per request however often it is asked. */
  current(req: FastifyRequest): Promise<WebSession | null> {
    let p = this.#pending.get(req);
    if (!p) {
      p = this.#lookup(req).then((s) => {
        this.#settled.set(req, s);
        return s;
      });
      this.#pending.set(req, p);
    }
    return p;
  }

  /** The session if this request already looked it up, without touching the database (for error pages). */
  known(req: FastifyRequest): WebSession | null {
    return this.#settled.get(req) ?? null;
  }

  async #lookup(req: FastifyRequest): Promise<WebSession | null> {
    const secret = cookie(req, SESSION_COOKIE);
    if (!secret) return null;
    const live = await resolveSession(this.#db, secret, this.#clock());
    return live ? { ...live, secret } : null;
  }

  /** Signs the user in: any session the browser held is revoked, a new one is created and its cookie set. */
  async start(req: FastifyRequest, reply: FastifyReply, user: Pick<UserRow, 'id' | 'name'>): Promise<void> {
    const previous = await this.current(req);
    if (previous) await revokeSession(this.#db, previous.user.id, previous.session.id, this.#clock());
    const { sessionId } = await createSession(
      this.#db,
      { user, ip: req.ip, userAgent: String(req.headers['user-agent'] ?? '') },
      this.#clock(),
    );
    appendSetCookie(
      reply,
      setCookieLine(SESSION_COOKIE, sessionId, { maxAgeSeconds: SESSION_MAX_MS / 1000, secure: isHttps(req) }),
    );
  }

  /** Signs out: the row is revoked (so a copied cookie stops working too) and the browser told to forget the cookie. */
  async end(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const current = await this.current(req);
    if (current) await revokeSession(this.#db, current.user.id, current.session.id, this.#clock());
    appendSetCookie(reply, setCookieLine(SESSION_COOKIE, '', { maxAgeSeconds: 0, secure: isHttps(req) }));
  }
}
