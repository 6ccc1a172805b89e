// The queue of accounts waiting for an administrator: with --email-verification admin, a self-registered account's
// email address is verified by an administrator's approval instead of an emailed link. Approving verifies it (the
// account may then publish); rejecting deletes the account (its name stays reserved, as for every deleted account).
// Both are recorded events naming the administrator, shown in the account's security history like every other
// administrator action. Until approved, an account can do exactly what any unverified account can: sign in, install,
// make tokens that cannot publish.
import { notFound } from '../errors.ts';
import type { Db } from '../store/db.ts';
import { EventKind, recordEvent } from '../store/events.ts';
import { deleteUser, type Actor } from './admin.ts';

export type PendingAccount = { id: number; name: string; email: string; createdAt: number };

/** Live accounts whose email address nobody has verified yet, oldest first (the first to have waited). */
export async function pendingAccounts(db: Db, limit = 200): Promise<{ accounts: PendingAccount[]; total: number }> {
  const waiting = db
    .selectFrom('users')
    .where('email_verified', '=', 0)
    .where('disabled_at', 'is', null)
    .where('deleted_at', 'is', null);
  const [rows, count] = await Promise.all([
    waiting
      .select(['id', 'name', 'email', 'created_at'])
      .orderBy('created_at')
      .orderBy('id')
      .limit(Math.min(Math.max(limit, 1), 500))
      .execute(),
    waiting.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return {
    accounts: rows.map((r) => ({ id: r.id, name: r.name, email: r.email, createdAt: r.created_at })),
    total: Number(count.n),
  };
}

const notWaiting = (name: string) => notFound(`no account named ${name} is waiting for approval`);

/**
 * Approves a waiting account: its email address counts as verified from now on, so it may publish.
 * @throws ClientError 404 when no live, unverified account has that name (already approved, rejected, disabled).
 */
export async function approveAccount(db: Db, name: string, actor: Actor, now = Date.now()): Promise<PendingAccount> {
  return db.transaction().execute(async (trx) => {
    const user = await trx
      .selectFrom('users')
      .select(['id', 'name', 'email', 'created_at'])
      .where('name', '=', name)
      .where('email_verified', '=', 0)
      .where('disabled_at', 'is', null)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (!user) throw notWaiting(name);
    // Guarded by the state read above, so two administrators approving at once record one approval.
    const done = await trx
      .updateTable('users')
      .set({ email_verified: 1 })
      .where('id', '=', user.id)
      .where('email_verified', '=', 0)
      .executeTakeFirst();
    if (Number(done.numUpdatedRows) !== 1) throw notWaiting(name);
    await recordEvent(
      trx,
      {
        kind: EventKind.UserEmailVerified,
        subject: user.name,
        actorId: actor.id,
        data: { email: user.email, by: actor.name },
      },
      now,
    );
    return { id: user.id, name: user.name, email: user.email, createdAt: user.created_at };
  });
}

/**
 * Rejects a waiting account: it is deleted (admin.ts deleteUser) with the reason recorded.
 * @throws ClientError 404 when no live, unverified account has that name; 400 without a reason.
 */
export async function rejectAccount(
  db: Db,
  name: string,
  actor: Actor,
  reason: string,
  now = Date.now(),
): Promise<void> {
  const waiting = await db
    .selectFrom('users')
    .select('id')
    .where('name', '=', name)
    .where('email_verified', '=', 0)
    .where('disabled_at', 'is', null)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!waiting) throw notWaiting(name);
  await deleteUser(db, name, actor, reason, now);
}
