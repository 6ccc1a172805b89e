// What registry administrators do to accounts: find, disable, re-enable, delete, force a password reset, and
// recover an account for someone who lost access. Every action is a domain event that names who did it and why, so
// the account's own security history and the operator audit trail show it; the emails it triggers come from those
// events (src/notify/notifications.ts), like every other security notice.
import type { Transaction } from 'kysely';
import { fail, notFound } from '../errors.ts';
import type { Db } from '../store/db.ts';
import { EventKind, recordEvent, type EventData } from '../store/events.ts';
import type { Database, UserRow } from '../store/schema.ts';
import { emailProblem, mustFindUser } from './users.ts';

/** Who acts: an administrator signed in to the web UI (id), or the operator at the command line (id null). */
export type Actor = { id: number | null; name: string };
export const OPERATOR: Actor = { id: null, name: 'operator (command line)' };

/**
 * Not a valid argon2 hash, so no password matches it: the account can only get a password again through a reset
 * link sent to a verified address.
 */
export const UNUSABLE_PASSWORD = '!reset-required';

/** How long an administrator-assisted recovery waits between being started and being completed. */
export const RECOVERY_WAIT_MS = 72 * 60 * 60 * 1000;

export type UserStatus = 'active' | 'disabled' | 'deleted';
export const userStatus = (u: Pick<UserRow, 'disabled_at' | 'deleted_at'>): UserStatus =>
  u.deleted_at !== null ? 'deleted' : u.disabled_at !== null ? 'disabled' : 'active';

export type UserSummary = Pick<
  UserRow,
  'id' | 'name' | 'email' | 'email_verified' | 'is_admin' | 'created_at' | 'totp_mode'
> & { status: UserStatus };

export type UserQuery = { text?: string; status?: UserStatus | 'admin'; limit?: number; offset?: number };

/** Users whose name or email contains the text, newest first. */
export async function listUsers(db: Db, q: UserQuery = {}): Promise<{ users: UserSummary[]; total: number }> {
  let query = db.selectFrom('users');
  const text = (q.text ?? '').trim().toLowerCase();
  if (text) {
    // LIKE's wildcards in the search text are matched literally.
    const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where((eb) =>
      eb.or([
        eb(eb.fn('lower', ['name']), 'like', eb.val(pattern)),
        eb(eb.fn('lower', ['email']), 'like', eb.val(pattern)),
      ]),
    );
  }
  if (q.status === 'active') query = query.where('disabled_at', 'is', null);
  if (q.status === 'disabled') query = query.where('disabled_at', 'is not', null).where('deleted_at', 'is', null);
  if (q.status === 'deleted') query = query.where('deleted_at', 'is not', null);
  if (q.status === 'admin') query = query.where('is_admin', '=', 1);
  const [rows, count] = await Promise.all([
    query
      .select([
        'id',
        'name',
        'email',
        'email_verified',
        'is_admin',
        'created_at',
        'totp_mode',
        'disabled_at',
        'deleted_at',
      ])
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(Math.min(Math.max(q.limit ?? 50, 1), 500))
      .offset(Math.max(q.offset ?? 0, 0))
      .execute(),
    query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return {
    users: rows.map(({ disabled_at, deleted_at, ...u }) => ({ ...u, status: userStatus({ disabled_at, deleted_at }) })),
    total: Number(count.n),
  };
}

export type UserDetail = {
  user: UserRow;
  status: UserStatus;
  liveSessions: number;
  liveTokens: number;
  packages: string[];
  pendingRecovery: PendingRecovery | null;
};

export async function userDetail(db: Db, name: string, now = Date.now()): Promise<UserDetail> {
  const user = await mustFindUser(db, name);
  const [sessions, tokens, packages, pendingRecovery] = await Promise.all([
    db
      .selectFrom('sessions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', user.id)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('tokens')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', user.id)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('maintainers')
      .innerJoin('packages', 'packages.id', 'maintainers.package_id')
      .select('packages.name')
      .where('maintainers.user_id', '=', user.id)
      .orderBy('packages.name')
      .execute(),
    pendingRecoveryOf(db, user.name),
  ]);
  const status = userStatus(user);
  return {
    user,
    status,
    liveSessions: Number(sessions.n),
    liveTokens: Number(tokens.n),
    packages: packages.map((p) => p.name),
    pendingRecovery: status === 'deleted' ? null : pendingRecovery,
  };
}

function needReason(reason: string): string {
  const r = reason.trim();
  if (r.length < 3)
    throw fail('E_USAGE', 'give a reason: it is recorded with the action and shown in the account’s security history');
  return r.slice(0, 500);
}

/** Ends every way the account is signed in: web sessions and API tokens. */
async function revokeCredentials(
  trx: Transaction<Database>,
  userId: number,
  now: number,
): Promise<{ sessions: number; tokens: number }> {
  const s = await trx
    .updateTable('sessions')
    .set({ revoked_at: now })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  const t = await trx
    .updateTable('tokens')
    .set({ revoked_at: now })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return { sessions: Number(s.numUpdatedRows), tokens: Number(t.numUpdatedRows) };
}

/** The events an administrator's action on an account records, each with its data (which names them: `by`). */
type ActionKind =
  | typeof EventKind.UserDisabled
  | typeof EventKind.UserEnabled
  | typeof EventKind.UserDeleted
  | typeof EventKind.UserPasswordResetForced
  | typeof EventKind.UserRecoveryStarted
  | typeof EventKind.UserRecoveredByAdmin
  | typeof EventKind.UserRecoveryCancelled;
type Outcome<T> = { [K in ActionKind]: { kind: K; data: EventData<K>; result: T } }[ActionKind];

async function act<T>(
  db: Db,
  name: string,
  fn: (trx: Transaction<Database>, user: UserRow) => Promise<Outcome<T>>,
  actor: Actor,
  now: number,
): Promise<T> {
  return db.transaction().execute(async (trx) => {
    const user = await mustFindUser(trx, name);
    if (user.deleted_at !== null)
      throw fail('E_ACCOUNT_STATE', `${name} was deleted; nothing more can be done to the account`);
    const { result, ...event } = await fn(trx, user);
    await recordEvent(trx, { ...event, subject: user.name, actorId: actor.id }, now);
    return result;
  });
}

/** Disables an account: every session and token stops working at once, and no sign-in succeeds until re-enabled. */
export async function disableUser(
  db: Db,
  name: string,
  actor: Actor,
  reason: string,
  now = Date.now(),
): Promise<{ sessions: number; tokens: number }> {
  const why = needReason(reason);
  return act(
    db,
    name,
    async (trx, user) => {
      if (user.disabled_at !== null) throw fail('E_ALREADY_DONE', `${name} is already disabled`);
      if (actor.id === user.id) throw fail('E_ACCOUNT_INVALID', 'you cannot disable your own account');
      await trx.updateTable('users').set({ disabled_at: now }).where('id', '=', user.id).execute();
      const revoked = await revokeCredentials(trx, user.id, now);
      return { kind: EventKind.UserDisabled, data: { by: actor.name, reason: why, ...revoked }, result: revoked };
    },
    actor,
    now,
  );
}

/** Re-enables a disabled account. Its old sessions and tokens stay revoked: the user signs in afresh. */
export async function enableUser(db: Db, name: string, actor: Actor, reason: string, now = Date.now()): Promise<void> {
  const why = needReason(reason);
  await act(
    db,
    name,
    async (trx, user) => {
      if (user.disabled_at === null) throw fail('E_ALREADY_DONE', `${name} is not disabled`);
      await trx.updateTable('users').set({ disabled_at: null }).where('id', '=', user.id).execute();
      return { kind: EventKind.UserEnabled, data: { by: actor.name, reason: why }, result: undefined };
    },
    actor,
    now,
  );
}

/**
 * Deletes an account. The row stays, scrubbed (no email, password, second factor or credentials), because published
 * versions and events refer to it and because its name must never be taken by someone else. Returns the packages the
 * user maintained alone, which now need an administrator to assign a maintainer.
 */
export async function deleteUser(
  db: Db,
  name: string,
  actor: Actor,
  reason: string,
  now = Date.now(),
): Promise<{ orphaned: string[] }> {
  const why = needReason(reason);
  return act(
    db,
    name,
    async (trx, user) => {
      if (actor.id === user.id) throw fail('E_ACCOUNT_INVALID', 'you cannot delete your own account');
      const maintained = await trx
        .selectFrom('maintainers')
        .select('package_id')
        .where('user_id', '=', user.id)
        .execute();
      const orphaned: string[] = [];
      for (const { package_id } of maintained) {
        const others = await trx
          .selectFrom('maintainers')
          .select('user_id')
          .where('package_id', '=', package_id)
          .where('user_id', '!=', user.id)
          .executeTakeFirst();
        if (!others)
          orphaned.push(
            (await trx.selectFrom('packages').select('name').where('id', '=', package_id).executeTakeFirstOrThrow())
              .name,
          );
      }
      await trx
        .updateTable('users')
        .set({
          deleted_at: now,
          disabled_at: user.disabled_at ?? now,
          email: '',
          email_verified: 0,
          password_hash: UNUSABLE_PASSWORD,
          totp_secret: null,
          totp_mode: 'disabled',
          totp_pending_mode: null,
          // What the user wrote about themselves (npm profile set) goes with the address.
          fullname: null,
          homepage: null,
          freenode: null,
          twitter: null,
          github: null,
          is_admin: 0,
        })
        .where('id', '=', user.id)
        .execute();
      await trx.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
      await trx.deleteFrom('email_tokens').where('user_id', '=', user.id).execute();
      const revoked = await revokeCredentials(trx, user.id, now);
      return {
        kind: EventKind.UserDeleted,
        data: { by: actor.name, reason: why, orphaned, ...revoked },
        result: { orphaned: orphaned.sort() },
      };
    },
    actor,
    now,
  );
}

/**
 * For an account that may be compromised: the password stops working, every session and token is revoked, and a
 * reset link goes to the verified address (from the event). An account without a verified address needs recovery.
 */
export async function forcePasswordReset(
  db: Db,
  name: string,
  actor: Actor,
  reason: string,
  now = Date.now(),
): Promise<{ sessions: number; tokens: number; linkSent: boolean }> {
  const why = needReason(reason);
  return act(
    db,
    name,
    async (trx, user) => {
      await trx.updateTable('users').set({ password_hash: UNUSABLE_PASSWORD }).where('id', '=', user.id).execute();
      const revoked = await revokeCredentials(trx, user.id, now);
      const linkSent = user.email_verified === 1 && user.disabled_at === null;
      return {
        kind: EventKind.UserPasswordResetForced,
        data: { by: actor.name, reason: why, linkSent, ...revoked },
        result: { ...revoked, linkSent },
      };
    },
    actor,
    now,
  );
}

// --- administrator-assisted recovery ---------------------------------------------------------------------------
// For someone who lost both their second factor (and its recovery codes) or their email address. It has two steps
// with a waiting period between them, during which the account's current address is told, so that someone who
// talks an operator into a "recovery" of an account that is not theirs is noticed by its real owner in time.

export type RecoveryPlan = { newEmail: string | null; disableMfa: boolean; reason: string; evidence: string };
export type PendingRecovery = RecoveryPlan & { seq: number; startedAt: number; notBefore: number; by: string };

/** The recovery started for this account that was neither completed nor cancelled since, if any. */
export async function pendingRecoveryOf(db: Db | Transaction<Database>, name: string): Promise<PendingRecovery | null> {
  const last = await db
    .selectFrom('events')
    .select(['seq', 'kind', 'data', 'created_at'])
    .where('subject', '=', name)
    .where('kind', 'in', [
      EventKind.UserRecoveryStarted,
      EventKind.UserRecoveredByAdmin,
      EventKind.UserRecoveryCancelled,
    ])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!last || last.kind !== EventKind.UserRecoveryStarted) return null;
  const d = JSON.parse(last.data) as PendingRecovery;
  return {
    newEmail: d.newEmail,
    disableMfa: d.disableMfa,
    reason: d.reason,
    evidence: d.evidence,
    notBefore: d.notBefore,
    by: d.by,
    seq: Number(last.seq),
    startedAt: last.created_at,
  };
}

/** Step one: records what will be done and why, and tells the account (its current address) that it was asked for. */
export async function startRecovery(
  db: Db,
  name: string,
  actor: Actor,
  plan: RecoveryPlan,
  now = Date.now(),
  waitMs = RECOVERY_WAIT_MS,
): Promise<PendingRecovery> {
  const reason = needReason(plan.reason);
  const evidence = plan.evidence.trim().slice(0, 1000);
  if (!evidence)
    throw fail('E_USAGE', 'record the evidence of identity that was checked (see docs/security/account-recovery.md)');
  const newEmail = plan.newEmail?.trim() || null;
  if (newEmail) {
    const problem = emailProblem(newEmail);
    if (problem) throw fail('E_ACCOUNT_INVALID', problem);
  }
  return act(
    db,
    name,
    async (trx, user) => {
      if (await pendingRecoveryOf(trx, user.name))
        throw fail('E_ACCOUNT_STATE', `a recovery of ${name} is already pending: complete or cancel it first`);
      if (!newEmail && !plan.disableMfa)
        throw fail('E_ACCOUNT_INVALID', 'a recovery changes the email address, removes the second factor, or both');
      if (plan.disableMfa && user.totp_mode === 'disabled')
        throw fail('E_ACCOUNT_INVALID', `${name} has no second factor to remove`);
      const data = { newEmail, disableMfa: plan.disableMfa, reason, evidence, notBefore: now + waitMs };
      return {
        kind: EventKind.UserRecoveryStarted,
        data: { by: actor.name, ...data },
        result: { ...data, seq: 0, startedAt: now, by: actor.name },
      };
    },
    actor,
    now,
  );
}

/** Step two, after the waiting period: applies the plan; the password must then be set through a reset link. */
export async function completeRecovery(db: Db, name: string, actor: Actor, now = Date.now()): Promise<PendingRecovery> {
  return act(
    db,
    name,
    async (trx, user) => {
      const pending = await pendingRecoveryOf(trx, user.name);
      if (!pending) throw notFound(`no recovery of ${name} is pending: start one first`);
      if (now < pending.notBefore)
        throw fail(
          'E_ACCOUNT_STATE',
          `the waiting period of this recovery ends at ${new Date(pending.notBefore).toISOString()}; it cannot be completed before then`,
        );
      const revoked = await revokeCredentials(trx, user.id, now);
      await trx.updateTable('users').set({ password_hash: UNUSABLE_PASSWORD }).where('id', '=', user.id).execute();
      if (pending.disableMfa) {
        await trx
          .updateTable('users')
          .set({ totp_secret: null, totp_mode: 'disabled', totp_last_step: 0 })
          .where('id', '=', user.id)
          .execute();
        await trx.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
        await recordEvent(
          trx,
          {
            kind: EventKind.UserMfaDisabled,
            subject: user.name,
            actorId: actor.id,
            data: { by: actor.name, recovery: true },
          },
          now,
        );
      }
      if (pending.newEmail && pending.newEmail !== user.email) {
        await trx
          .updateTable('users')
          .set({ email: pending.newEmail, email_verified: 0 })
          .where('id', '=', user.id)
          .execute();
        // The usual email-change event: the new address gets a verification link, the old one a notice.
        await recordEvent(
          trx,
          {
            kind: EventKind.UserEmailChanged,
            subject: user.name,
            actorId: actor.id,
            data: { by: actor.name, oldEmail: user.email, recovery: true },
          },
          now,
        );
      }
      return {
        kind: EventKind.UserRecoveredByAdmin,
        data: {
          by: actor.name,
          startedSeq: pending.seq,
          newEmail: pending.newEmail,
          disableMfa: pending.disableMfa,
          ...revoked,
        },
        result: pending,
      };
    },
    actor,
    now,
  );
}

export async function cancelRecovery(
  db: Db,
  name: string,
  actor: Actor,
  reason: string,
  now = Date.now(),
): Promise<void> {
  const why = needReason(reason);
  await act(
    db,
    name,
    async (trx, user) => {
      const pending = await pendingRecoveryOf(trx, user.name);
      if (!pending) throw notFound(`no recovery of ${name} is pending`);
      return {
        kind: EventKind.UserRecoveryCancelled,
        data: { by: actor.name, startedSeq: pending.seq, reason: why },
        result: undefined,
      };
    },
    actor,
    now,
  );
}
