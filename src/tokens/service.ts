// API tokens: issued once, stored only as SHA-256 hashes, resolved to a principal on every request, listed and revoked
// by their owner. What a token may do is its scope (scope.ts), stored as versioned JSON in tokens.restrictions.
import { createHash } from 'node:crypto';
import type { Principal } from '../access/principal.ts';
import type { Db } from '../store/db.ts';
import { EventKind, recordEvent } from '../store/events.ts';
import type { TokenRow } from '../store/schema.ts';
import { hashToken, isWellFormedToken, newToken } from './format.ts';
import {
  SESSION_TTL_MS,
  cidrAllows,
  parseScope,
  scopeSummary,
  serializeScope,
  type TokenPlan,
  type TokenScope,
} from './scope.ts';

/** session: `npm login` (two hours, unscoped); publish: made before scopes existed; granular: has a scope. */
export type TokenKind = 'session' | 'publish' | 'granular';
export type NewToken = {
  userId: number;
  userName: string;
  name: string;
  kind: TokenKind;
  readonly?: boolean;
  /** absent: sessions get SESSION_TTL_MS, other kinds no expiry (scope.ts planToken sets one for write tokens). */
  expiresAt?: number | null;
  scope?: TokenScope | null;
  actorId?: number | null;
  /** where the token was asked for from, for the security email. */
  ip?: string | null;
};

/**
 * A granular token as its plan says (scope.ts planToken), for its owner. by: who asked (the owner, from an address; or
 * the operator at the command line, actorId null).
 */
export function createPlannedToken(
  db: Db,
  owner: { id: number; name: string },
  plan: TokenPlan,
  by: { actorId: number | null; ip?: string },
  now: number,
): Promise<{ token: string; row: TokenRow }> {
  const { name, readonly, expiresAt, scope } = plan;
  return createToken(
    db,
    { userId: owner.id, userName: owner.name, kind: 'granular', name, readonly, expiresAt, scope, ...by },
    now,
  );
}

export async function createToken(
  db: Db,
  input: NewToken,
  now = Date.now(),
): Promise<{ token: string; row: TokenRow }> {
  const token = newToken();
  const expiresAt =
    input.expiresAt !== undefined ? input.expiresAt : input.kind === 'session' ? now + SESSION_TTL_MS : null;
  const scope = input.scope ?? null;
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
        restrictions: scope ? serializeScope(scope) : null,
        created_at: now,
        expires_at: expiresAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordEvent(
      trx,
      {
        kind: EventKind.TokenCreated,
        subject: input.userName,
        actorId: input.actorId === undefined ? input.userId : input.actorId,
        data: {
          tokenId: row.id,
          name: input.name,
          kind: input.kind,
          readonly: !!input.readonly,
          scope: scopeSummary(scope, !!input.readonly),
          expiresAt,
          bypass2fa: !!scope?.bypass2fa,
          ...(input.ip ? { ip: input.ip } : {}),
        },
      },
      now,
    );
    return row;
  });
  return { token, row };
}

const LAST_USED_GRANULARITY = 60_000;

/** Why a request's token was not accepted; the gate turns each into a 401 with its own message. */
export type TokenRefusal = 'invalid' | 'address';
export type Resolved = { principal: Principal } | { refused: TokenRefusal };

// Malformed strings take the same path as well-formed unknown ones (a lookup that cannot match), so how fast a 401
// comes back says nothing about which check failed.
const NO_MATCH = hashToken('bwk_never-a-token');

/**
 * Resolves a bearer token to its principal. Every refusal of a token someone does not hold the real secret of is the
 * same 'invalid' after the same work: one indexed lookup by SHA-256. A live token used from outside its CIDR list is
 * 'address' (only the token's holder can learn that, so saying it costs nothing and helps them).
 */
export async function resolveTokenDetailed(db: Db, token: string, ip: string, now = Date.now()): Promise<Resolved> {
  const wellFormed = isWellFormedToken(token);
  const hash = wellFormed ? hashToken(token) : NO_MATCH;
  const row = await db
    .selectFrom('tokens')
    .innerJoin('users', 'users.id', 'tokens.user_id')
    .select([
      'tokens.id as tokenId',
      'tokens.readonly',
      'tokens.restrictions',
      'tokens.expires_at',
      'tokens.revoked_at',
      'tokens.last_used_at',
      'users.id as userId',
      'users.name',
      'users.email',
      'users.is_admin',
      'users.email_verified',
    ])
    .where('tokens.token_hash', '=', hash)
    // Disabling an account revokes its tokens too; this also covers a token made in the same instant.
    .where('users.disabled_at', 'is', null)
    .executeTakeFirst();
  if (!row || !wellFormed) return { refused: 'invalid' };
  if (row.revoked_at !== null || (row.expires_at !== null && row.expires_at <= now)) return { refused: 'invalid' };
  const scope = parseScope(row.restrictions);
  if (scope && !cidrAllows(scope.cidr, ip)) return { refused: 'address' };
  if (row.last_used_at === null || now - row.last_used_at > LAST_USED_GRANULARITY) {
    // Off the request's path: a lost update only makes "last used" a minute stale.
    db.updateTable('tokens')
      .set({ last_used_at: now, last_used_ip: ip })
      .where('id', '=', row.tokenId)
      .execute()
      .catch(() => {});
  }
  return {
    principal: {
      userId: row.userId,
      name: row.name,
      email: row.email,
      isAdmin: row.is_admin === 1,
      emailVerified: row.email_verified === 1,
      tokenId: row.tokenId,
      tokenReadonly: row.readonly === 1,
      tokenScope: scope,
    },
  };
}

/** The principal of a live token usable from ip, or null. */
export async function resolveToken(db: Db, token: string, ip: string, now = Date.now()): Promise<Principal | null> {
  const r = await resolveTokenDetailed(db, token, ip, now);
  return 'principal' in r ? r.principal : null;
}

/** Revokes a token by its secret value. Returns false when it is unknown or already revoked. */
export async function revokeTokenBySecret(
  db: Db,
  token: string,
  actor: Principal | null,
  now = Date.now(),
): Promise<boolean> {
  if (!isWellFormedToken(token)) return false;
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('tokens')
      .innerJoin('users', 'users.id', 'tokens.user_id')
      .select(['tokens.id', 'tokens.name', 'tokens.kind', 'users.name as userName'])
      .where('token_hash', '=', hashToken(token))
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (!row) return false;
    await trx.updateTable('tokens').set({ revoked_at: now }).where('id', '=', row.id).execute();
    await recordEvent(
      trx,
      {
        kind: EventKind.TokenRevoked,
        subject: row.userName,
        actorId: actor?.userId ?? null,
        data: { tokenId: row.id, name: row.name, kind: row.kind },
      },
      now,
    );
    return true;
  });
}

/**
 * A token's public id ("key" in npm's token list): derived from its hash, so it names the token without being usable
 * as one, and long enough that npm's shortest-unique-prefix ids never collide by accident.
 */
export const tokenKey = (tokenHash: string): string =>
  createHash('sha256').update(`bulwark-token-key:${tokenHash}`).digest('hex');

export type TokenInfo = {
  id: number;
  key: string;
  /** the first characters of the secret, to recognise it by. */
  display: string;
  name: string;
  kind: TokenKind;
  readonly: boolean;
  scope: TokenScope | null;
  summary: string;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  lastUsedIp: string | null;
};

function info(row: TokenRow): TokenInfo {
  const scope = parseScope(row.restrictions);
  return {
    id: row.id,
    key: tokenKey(row.token_hash),
    display: row.display,
    name: row.name,
    kind: row.kind as TokenKind,
    readonly: row.readonly === 1,
    scope,
    summary: scopeSummary(scope, row.readonly === 1),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    lastUsedIp: row.last_used_ip,
  };
}

/** A user's live tokens, newest first. Sessions (`npm login`) are left out unless asked for, as npmjs.com does. */
export async function listTokens(
  db: Db,
  userId: number,
  now: number,
  opts: { sessions?: boolean } = {},
): Promise<TokenInfo[]> {
  let q = db
    .selectFrom('tokens')
    .selectAll()
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]));
  if (!opts.sessions) q = q.where('kind', '!=', 'session');
  const rows = await q.orderBy('id', 'desc').execute();
  return rows.map(info);
}

/**
 * Revokes one of the user's live tokens named by its key (or a prefix of at least 6 characters that names exactly one
 * token), or by its secret. Returns the revoked token, or null when nothing of the user's matched.
 */
export async function revokeOwnToken(
  db: Db,
  user: { id: number; name: string },
  ref: string,
  actorId: number | null,
  now: number,
): Promise<TokenInfo | null> {
  return db.transaction().execute(async (trx) => {
    const rows = await trx
      .selectFrom('tokens')
      .selectAll()
      .where('user_id', '=', user.id)
      .where('revoked_at', 'is', null)
      .execute();
    const bySecret = isWellFormedToken(ref) ? hashToken(ref) : null;
    const matches = rows.filter((r) =>
      bySecret !== null
        ? r.token_hash === bySecret
        : ref.length >= 6 && /^[0-9a-f]+$/.test(ref) && tokenKey(r.token_hash).startsWith(ref),
    );
    if (matches.length !== 1) return null;
    const row = matches[0]!;
    await trx.updateTable('tokens').set({ revoked_at: now }).where('id', '=', row.id).execute();
    await recordEvent(
      trx,
      {
        kind: EventKind.TokenRevoked,
        subject: user.name,
        actorId,
        data: { tokenId: row.id, name: row.name, kind: row.kind },
      },
      now,
    );
    return info(row);
  });
}
