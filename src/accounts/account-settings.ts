// What a signed-in user can change about their own account (password, email address) and the way back in for one who
// is not signed in (password reset by email). Each change and its domain event commit in one transaction; the emails
// (security notices, verification and reset links) follow from those events, never from here.
import type { Kysely } from 'kysely';
import { fail } from '../errors.ts';
import type { Db } from '../store/db.ts';
import { EventKind, recordEvent } from '../store/events.ts';
import type { Database, UserRow } from '../store/schema.ts';
import { EmailPurpose, consumeEmailToken, peekEmailToken } from './email-tokens.ts';
import { Rules, type Attempt, type Limiter } from './limits.ts';
import { confirmPassword } from './password-checks.ts';
import { hashPassword, passwordProblem } from './passwords.ts';
import { emailProblem } from './users.ts';

export { WRONG_PASSWORD } from './password-checks.ts';

type Who = { user: Pick<UserRow, 'id' | 'name'>; ip: string };

function newPasswordProblem(name: string, password: string, confirmation: string): string | null {
  if (password !== confirmation) return 'The new password and its confirmation do not match.';
  return passwordProblem(password, name);
}

export type PasswordChange = Who & {
  current: string;
  next: string;
  confirmation: string;
  keepSessionId: number | null;
};

/**
 * Changes the password after checking the current one. Every other session of the user is revoked (the one making the
 * change, keepSessionId, stays signed in); API tokens are left alone: they are separate credentials with their own
 * revocation. Returns how many sessions were revoked.
 * @throws ClientError 401 for a wrong current password, 429 while the password limits block, 400 for a bad new one.
 */
export async function changePassword(db: Db, limiter: Limiter, change: PasswordChange, now: number): Promise<number> {
  const problem = newPasswordProblem(change.user.name, change.next, change.confirmation);
  if (problem) throw fail('E_ACCOUNT_INVALID', problem);
  await confirmPassword(db, limiter, change, change.current, now);
  if (change.next === change.current)
    throw fail('E_ACCOUNT_INVALID', 'The new password must be different from the current one.');
  const password_hash = await hashPassword(change.next);
  return db.transaction().execute(async (trx) => {
    await trx.updateTable('users').set({ password_hash }).where('id', '=', change.user.id).execute();
    let others = trx
      .updateTable('sessions')
      .set({ revoked_at: now })
      .where('user_id', '=', change.user.id)
      .where('revoked_at', 'is', null);
    if (change.keepSessionId !== null) others = others.where('id', '!=', change.keepSessionId);
    const revoked = Number((await others.executeTakeFirst()).numUpdatedRows);
    await recordEvent(
      trx,
      {
        kind: EventKind.UserPasswordChanged,
        subject: change.user.name,
        actorId: change.user.id,
        data: { reset: false, ip: change.ip, sessionsRevoked: revoked },
      },
      now,
    );
    return revoked;
  });
}

export type EmailChange = Who & { email: string; password: string };

/**
 * Moves the account to a new address, which starts unverified (publishing waits until it is). Outstanding email
 * links are voided here rather than left to the address binding, so changing back to the old address cannot revive
 * them. The event makes the mail consumer send a verification link to the new address and a notice to the old one.
 */
export async function changeEmail(
  db: Db,
  limiter: Limiter,
  change: EmailChange,
  now: number,
): Promise<{ oldEmail: string; newEmail: string }> {
  const email = change.email.trim();
  const problem = email.includes('\0') ? 'a valid email address is required' : emailProblem(email);
  if (problem) throw fail('E_ACCOUNT_INVALID', problem);
  await confirmPassword(db, limiter, change, change.password, now);
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('users')
      .select('email')
      .where('id', '=', change.user.id)
      .executeTakeFirstOrThrow();
    if (row.email.toLowerCase() === email.toLowerCase())
      throw fail('E_ACCOUNT_INVALID', `${email} is already your email address.`);
    await trx.updateTable('users').set({ email, email_verified: 0 }).where('id', '=', change.user.id).execute();
    await trx
      .updateTable('email_tokens')
      .set({ used_at: now })
      .where('user_id', '=', change.user.id)
      .where('used_at', 'is', null)
      .execute();
    await recordEvent(
      trx,
      {
        kind: EventKind.UserEmailChanged,
        subject: change.user.name,
        actorId: change.user.id,
        data: { oldEmail: row.email, newEmail: email, ip: change.ip },
      },
      now,
    );
    return { oldEmail: row.email, newEmail: email };
  });
}

/** The email-sending limits, charged on every request (not only failures): each one sends mail to someone. */
async function chargeEmailRequest(limiter: Limiter, account: string, ip: string): Promise<void> {
  const attempt: Attempt = [
    [Rules.emailAccount, account],
    [Rules.emailAddress, ip],
  ];
  await limiter.check(attempt, 'email requests');
  await limiter.fail(attempt);
}

/**
 * Sends the signed-in user a new verification link (through the event), within the email limits.
 * @throws ClientError 400 when the address is already verified, 429 while the limits block.
 */
export async function requestVerificationEmail(
  db: Db,
  limiter: Limiter,
  { user, ip }: Who,
  now: number,
): Promise<void> {
  const row = await db
    .selectFrom('users')
    .select(['email', 'email_verified'])
    .where('id', '=', user.id)
    .executeTakeFirstOrThrow();
  if (row.email_verified === 1) throw fail('E_ACCOUNT_INVALID', 'Your email address is already verified.');
  await chargeEmailRequest(limiter, `user:${user.name}`, ip);
  await db.transaction().execute((trx) =>
    recordEvent(
      trx,
      {
        kind: EventKind.UserVerificationRequested,
        subject: user.name,
        actorId: user.id,
        data: { email: row.email, ip },
      },
      now,
    ),
  );
}

/** How long a forgot-password answer takes at least, whatever was found, so its timing says nothing either. */
export const FORGOT_PASSWORD_FLOOR_MS = 400;

/**
 * Asks for a password-reset link by username or email address. The caller MUST answer the same whatever happens here
 * (except a 429): whether an account matched, and whether its address is verified, stays unsaid. The limits are keyed
 * by what was typed, not by the account found, so they too behave the same for accounts that do not exist. Disabled
 * accounts get nothing; unverified addresses get nothing either (the mail consumer refuses them), but the request is
 * recorded so the account's owner sees it in the security history.
 * @throws ClientError 429 while the email limits block.
 */
export async function requestPasswordReset(
  db: Db,
  limiter: Limiter,
  { identifier, ip }: { identifier: string; ip: string },
  now: number,
): Promise<void> {
  const wanted = identifier.trim().toLowerCase().slice(0, 254);
  if (!wanted) throw fail('E_ACCOUNT_INVALID', 'Enter your username or email address.');
  // No account has one, and PostgreSQL refuses NUL in text: answer as for any other bad input, not with a 500.
  if (wanted.includes('\0'))
    throw fail('E_ACCOUNT_INVALID', 'Enter your username or email address, without control characters.');
  await chargeEmailRequest(limiter, `reset:${wanted}`, ip);
  const byEmail = wanted.includes('@');
  const users = await db
    .selectFrom('users')
    .select(['id', 'name', 'email'])
    .where((eb) => (byEmail ? eb(eb.fn('lower', ['email']), '=', wanted) : eb('name', '=', wanted)))
    .where('disabled_at', 'is', null)
    .orderBy('id')
    .limit(5)
    .execute();
  if (!users.length) return;
  await db.transaction().execute(async (trx) => {
    for (const u of users)
      await recordEvent(
        trx,
        { kind: EventKind.UserPasswordResetRequested, subject: u.name, actorId: null, data: { ip } },
        now,
      );
  });
}

/** Who a reset link is for, without using it (to draw the form). @throws ClientError 400 for an unusable link. */
export async function resetLinkUser(db: Db, token: string, now: number): Promise<{ id: number; name: string }> {
  const user = await peekEmailToken(db, token, EmailPurpose.ResetPassword, now);
  await usableForReset(db, user.id);
  return user;
}

async function usableForReset(db: Kysely<Database>, userId: number): Promise<void> {
  const row = await db
    .selectFrom('users')
    .select(['email_verified', 'disabled_at'])
    .where('id', '=', userId)
    .executeTakeFirst();
  // Links go only to verified addresses; this is the second lock, should one be issued some other way.
  if (!row || row.disabled_at !== null || row.email_verified !== 1)
    throw fail(
      'E_ACCOUNT_INVALID',
      'This account cannot be recovered by email. Contact the registry’s administrators.',
    );
}

export type PasswordReset = { token: string; password: string; confirmation: string; ip: string };

/**
 * Sets a new password with a reset link: the link is used up, every session of the user is revoked (an attacker
 * signed in elsewhere is thrown out), other outstanding reset links die, and user.password-changed {reset:true} is
 * recorded, all in one transaction. The new password is checked before the link is used, so a typo does not waste it.
 * @throws ClientError 400 for an unusable link or an unacceptable password.
 */
export async function resetPassword(
  db: Db,
  reset: PasswordReset,
  now: number,
): Promise<{ name: string; sessionsRevoked: number }> {
  const user = await resetLinkUser(db, reset.token, now);
  const problem = newPasswordProblem(user.name, reset.password, reset.confirmation);
  if (problem) throw fail('E_ACCOUNT_INVALID', problem);
  const password_hash = await hashPassword(reset.password);
  return consumeEmailToken(db, reset.token, EmailPurpose.ResetPassword, now, async (trx, owner) => {
    await usableForReset(trx, owner.id);
    await trx.updateTable('users').set({ password_hash }).where('id', '=', owner.id).execute();
    const revoked = Number(
      (
        await trx
          .updateTable('sessions')
          .set({ revoked_at: now })
          .where('user_id', '=', owner.id)
          .where('revoked_at', 'is', null)
          .executeTakeFirst()
      ).numUpdatedRows,
    );
    await trx
      .updateTable('email_tokens')
      .set({ used_at: now })
      .where('user_id', '=', owner.id)
      .where('purpose', '=', EmailPurpose.ResetPassword)
      .where('used_at', 'is', null)
      .execute();
    await recordEvent(
      trx,
      {
        kind: EventKind.UserPasswordChanged,
        subject: owner.name,
        actorId: owner.id,
        data: { reset: true, ip: reset.ip, sessionsRevoked: revoked },
      },
      now,
    );
    return { name: owner.name, sessionsRevoked: revoked };
  });
}
