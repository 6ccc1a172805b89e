// Single-use links sent by email: verifying an address, resetting a password. Each is random, stored only as its
// SHA-256, expires, and is bound to the address it was sent to, so a link sent to an old address stops working once
// the account's address changes.
import { createHash, randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import { ClientError } from '../errors.ts';
import type { Db } from '../store/db.ts';
import type { Database } from '../store/schema.ts';

export const EmailPurpose = { VerifyEmail: 'verify-email', ResetPassword: 'reset-password' } as const;
export type EmailPurposeValue = (typeof EmailPurpose)[keyof typeof EmailPurpose];

const LIFETIME: Record<EmailPurposeValue, number> = { 'verify-email': 24 * 3600_000, 'reset-password': 3600_000 };

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

export async function issueEmailToken(
  trx: Transaction<Database>,
  userId: number,
  email: string,
  purpose: EmailPurposeValue,
  now: number,
): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await trx
    .insertInto('email_tokens')
    .values({
      user_id: userId,
      purpose,
      token_hash: hash(token),
      email,
      created_at: now,
      expires_at: now + LIFETIME[purpose],
      used_at: null,
    })
    .execute();
  return token;
}

type TokenState = { used_at: number | null; expires_at: number; sentTo: string; email: string };

/** Throws the 400 that says why a link cannot be used: unknown, used, expired, or sent to a previous address. */
function refuseUnusable<T extends TokenState>(row: T | undefined, now: number): asserts row is T {
  if (!row) throw new ClientError('E_LINK_INVALID', 'This link is not valid. Request a new one.');
  // The address first: a link voided by an address change says why, not merely that it was used.
  if (row.sentTo !== row.email)
    throw new ClientError('E_LINK_INVALID', 'This link was sent to an address that is no longer on the account.');
  if (row.used_at !== null)
    throw new ClientError('E_LINK_INVALID', 'This link has already been used. Request a new one if you need to.');
  if (row.expires_at <= now) throw new ClientError('E_LINK_INVALID', 'This link has expired. Request a new one.');
}

/**
 * Who a token belongs to, if it could be used now, without using it (a page shows its form before the link is spent).
 * Throws the same 400s as consumeEmailToken.
 */
export async function peekEmailToken(
  db: Db,
  token: string,
  purpose: EmailPurposeValue,
  now: number,
): Promise<{ id: number; name: string; email: string }> {
  if (!/^[\w-]{43}$/.test(token)) throw new ClientError('E_LINK_INVALID', 'This link is not valid. Request a new one.');
  const row = await db
    .selectFrom('email_tokens')
    .innerJoin('users', 'users.id', 'email_tokens.user_id')
    .select([
      'email_tokens.email as sentTo',
      'email_tokens.expires_at',
      'email_tokens.used_at',
      'users.id as userId',
      'users.name',
      'users.email',
    ])
    .where('token_hash', '=', hash(token))
    .where('purpose', '=', purpose)
    .executeTakeFirst();
  refuseUnusable(row, now);
  return { id: row.userId, name: row.name, email: row.email };
}

/**
 * Uses a token once: returns the user it belongs to, or throws a 400 that says why (unknown, used, expired, or sent
 * to an address the account no longer has). `apply` runs in the same transaction, so use and effect commit together.
 */
export async function consumeEmailToken<T>(
  db: Db,
  token: string,
  purpose: EmailPurposeValue,
  now: number,
  apply: (trx: Transaction<Database>, user: { id: number; name: string; email: string }) => Promise<T>,
): Promise<T> {
  if (!/^[\w-]{43}$/.test(token)) throw new ClientError('E_LINK_INVALID', 'This link is not valid. Request a new one.');
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('email_tokens')
      .innerJoin('users', 'users.id', 'email_tokens.user_id')
      .select([
        'email_tokens.id',
        'email_tokens.email as sentTo',
        'email_tokens.expires_at',
        'email_tokens.used_at',
        'users.id as userId',
        'users.name',
        'users.email',
      ])
      .where('token_hash', '=', hash(token))
      .where('purpose', '=', purpose)
      .executeTakeFirst();
    refuseUnusable(row, now);
    // Conditional update: two clicks racing each other cannot both use the link.
    const used = await trx
      .updateTable('email_tokens')
      .set({ used_at: now })
      .where('id', '=', row.id)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    if (Number(used.numUpdatedRows) !== 1) throw new ClientError('E_LINK_INVALID', 'This link has already been used.');
    return apply(trx, { id: row.userId, name: row.name, email: row.email });
  });
}
