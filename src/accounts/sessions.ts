// Web sessions: a random id in a cookie, stored only as its SHA-256, with a sliding idle expiry under an absolute
// limit. A session is valid only while its row is unrevoked and unexpired and its user is not disabled, so disabling
// an account or signing out ends it everywhere at once.
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../store/db.ts';
import { EventKind, recordEvent } from '../store/events.ts';
import type { SessionRow, UserRow } from '../store/schema.ts';

/** Signed out after this long without a request… */
export const SESSION_IDLE_MS = 12 * 60 * 60 * 1000;
/** …and after this long in any case, however active. */
export const SESSION_MAX_MS = 30 * 24 * 60 * 60 * 1000;
/** last_seen_at (and with it the sliding expiry) is written at most this often, not on every request. */
const TOUCH_GRANULARITY_MS = 60_000;

// 32 random bytes in base64url: 43 characters, no padding.
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export const newSessionId = (): string => randomBytes(32).toString('base64url');
export const hashSessionId = (id: string): string => createHash('sha256').update(id).digest('hex');
export const isWellFormedSessionId = (id: string): boolean => SESSION_ID.test(id);

const slidingExpiry = (createdAt: number, now: number) => Math.min(now + SESSION_IDLE_MS, createdAt + SESSION_MAX_MS);

export type NewSession = { user: Pick<UserRow, 'id' | 'name'>; ip: string; userAgent: string };

/**
 * Starts a session and records session.created (which the "new sign-in" email consumes) in the same transaction.
 * Returns the secret id for the cookie; it is not kept anywhere else.
 */
export async function createSession(
  db: Db,
  input: NewSession,
  now = Date.now(),
): Promise<{ sessionId: string; row: SessionRow }> {
  const sessionId = newSessionId();
  const userAgent = input.userAgent.slice(0, 512);
  const row = await db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('sessions')
      .values({
        user_id: input.user.id,
        session_hash: hashSessionId(sessionId),
        created_at: now,
        last_seen_at: now,
        expires_at: slidingExpiry(now, now),
        ip: input.ip,
        user_agent: userAgent,
        revoked_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    // sessionId here is the row id, never the secret.
    await recordEvent(
      trx,
      {
        kind: EventKind.SessionCreated,
        subject: input.user.name,
        actorId: input.user.id,
        data: { sessionId: row.id, ip: input.ip, userAgent },
      },
      now,
    );
    return row;
  });
  return { sessionId, row };
}

export type LiveSession = { session: SessionRow; user: UserRow };

/**
 * The live session and its user for a cookie value, or null. Malformed values are refused before any database work;
 * lookup is by hash, so timing does not depend on how much of an id matches.
 */
export async function resolveSession(db: Db, sessionId: string, now = Date.now()): Promise<LiveSession | null> {
  if (!isWellFormedSessionId(sessionId)) return null;
  const session = await db
    .selectFrom('sessions')
    .selectAll()
    .where('session_hash', '=', hashSessionId(sessionId))
    .executeTakeFirst();
  if (
    !session ||
    session.revoked_at !== null ||
    session.expires_at <= now ||
    session.created_at + SESSION_MAX_MS <= now
  )
    return null;
  const user = await db.selectFrom('users').selectAll().where('id', '=', session.user_id).executeTakeFirst();
  if (!user || user.disabled_at !== null) return null;
  if (now - session.last_seen_at >= TOUCH_GRANULARITY_MS) {
    const expires = slidingExpiry(session.created_at, now);
    // Conditional on the row still being live, so a touch can never revive a session revoked meanwhile.
    await db
      .updateTable('sessions')
      .set({ last_seen_at: now, expires_at: expires })
      .where('id', '=', session.id)
      .where('revoked_at', 'is', null)
      .execute();
    return { session: { ...session, last_seen_at: now, expires_at: expires }, user };
  }
  return { session, user };
}

/** The user's sessions that are still live, most recently used first. */
export async function listSessions(db: Db, userId: number, now = Date.now()): Promise<SessionRow[]> {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .where('created_at', '>', now - SESSION_MAX_MS)
    .orderBy('last_seen_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
}

/** Revokes one of the user's sessions (sign-out, or "revoke" on the account page). False when there was none to revoke. */
export async function revokeSession(db: Db, userId: number, sessionRowId: number, now = Date.now()): Promise<boolean> {
  const res = await db
    .updateTable('sessions')
    .set({ revoked_at: now })
    .where('id', '=', sessionRowId)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/** Revokes every live session of a user (a later password reset or an operator disabling the account uses this). */
export async function revokeAllSessions(db: Db, userId: number, now = Date.now()): Promise<number> {
  const res = await db
    .updateTable('sessions')
    .set({ revoked_at: now })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}
