// API tokens: issued once, stored only as SHA-256 hashes, resolved to a principal on every request.
import type { Principal } from '../access/principal.ts';
import type { Db } from '../store/db.ts';
import { EventKind, recordEvent } from '../store/events.ts';
import type { TokenRow } from '../store/schema.ts';
import { hashToken, isWellFormedToken, newToken } from './format.ts';

export type TokenKind = 'session' | 'publish';
export type NewToken = { userId: number; userName: string; name: string; kind: TokenKind; readonly?: boolean; expiresAt?: number | null; actorId?: number | null };

export async function createToken(db: Db, input: NewToken, now = Date.now()): Promise<{ token: string; row: TokenRow }> {
  const token = newToken();
  const row = await db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('tokens')
      .values({
        user_id: input.userId,
        token_hash: hashToken(token),
        display: token.slice(0, 10),
        name: input.name,
        kind: input.kind,
        readonly: input.readonly ? 1 : 0,
        restrictions: null,
        created_at: now,
        expires_at: input.expiresAt ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordEvent(trx, { kind: EventKind.TokenCreated, subject: input.userName, actorId: input.actorId ?? input.userId, data: { tokenId: row.id, name: input.name, kind: input.kind, readonly: !!input.readonly } }, now);
    return row;
  });
  return { token, row };
}

const LAST_USED_GRANULARITY = 60_000;

/**
 * Resolves a bearer token to its principal, or null for anything that is not a live token. Malformed strings are
 * refused before any database work; lookup is by SHA-256, so timing does not depend on how much of a token matches.
 */
export async function resolveToken(db: Db, token: string, ip: string, now = Date.now()): Promise<Principal | null> {
  if (!isWellFormedToken(token)) return null;
  const hash = hashToken(token);
  const row = await db
    .selectFrom('tokens')
    .innerJoin('users', 'users.id', 'tokens.user_id')
    .select(['tokens.id as tokenId', 'tokens.readonly', 'tokens.expires_at', 'tokens.revoked_at', 'tokens.last_used_at', 'users.id as userId', 'users.name', 'users.email', 'users.is_admin', 'users.email_verified'])
    .where('tokens.token_hash', '=', hash)
    // Disabling an account revokes its tokens too; this also covers a token made in the same instant.
    .where('users.disabled_at', 'is', null)
    .executeTakeFirst();
  if (!row) return null;
  if (row.revoked_at !== null || (row.expires_at !== null && row.expires_at <= now)) return null;
  if (row.last_used_at === null || now - row.last_used_at > LAST_USED_GRANULARITY) {
    // Off the request's path: a lost update only makes "last used" a minute stale.
    db.updateTable('tokens').set({ last_used_at: now, last_used_ip: ip }).where('id', '=', row.tokenId).execute().catch(() => {});
  }
  return {
    userId: row.userId,
    name: row.name,
    email: row.email,
    isAdmin: row.is_admin === 1,
    emailVerified: row.email_verified === 1,
    tokenId: row.tokenId,
    tokenReadonly: row.readonly === 1,
  };
}

/** Revokes a token by its secret value. Returns false when it is unknown or already revoked. */
export async function revokeTokenBySecret(db: Db, token: string, actor: Principal | null, now = Date.now()): Promise<boolean> {
  if (!isWellFormedToken(token)) return false;
  return db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('tokens').innerJoin('users', 'users.id', 'tokens.user_id').select(['tokens.id', 'users.name']).where('token_hash', '=', hashToken(token)).where('revoked_at', 'is', null).executeTakeFirst();
    if (!row) return false;
    await trx.updateTable('tokens').set({ revoked_at: now }).where('id', '=', row.id).execute();
    await recordEvent(trx, { kind: EventKind.TokenRevoked, subject: row.name, actorId: actor?.userId ?? null, data: { tokenId: row.id } }, now);
    return true;
  });
}
