// User accounts: creation, lookup and password sign-in.
import { fail, notFound } from '../errors.ts';
import { isUniqueViolation, type Db } from '../store/db.ts';
import { EventKind, recordEvent } from '../store/events.ts';
import type { UserRow } from '../store/schema.ts';
import { isLegacyHash } from './legacy-passwords.ts';
import { hashPassword, passwordProblem, verifyPassword } from './passwords.ts';

const USERNAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const EMAIL = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]{2,}$/;

export function usernameProblem(name: string): string | null {
  if (!USERNAME.test(name))
    return 'username must be 1-64 lowercase letters, digits, ".", "-" or "_", starting with a letter or digit';
  return null;
}

export function emailProblem(email: string): string | null {
  if (email.length > 254 || !EMAIL.test(email)) return 'a valid email address is required';
  return null;
}

export type NewUser = {
  name: string;
  email: string;
  password: string;
  isAdmin?: boolean;
  emailVerified?: boolean;
  actorId?: number | null;
};

export async function createUser(db: Db, input: NewUser, now = Date.now()): Promise<UserRow> {
  const problem =
    usernameProblem(input.name) ?? emailProblem(input.email) ?? passwordProblem(input.password, input.name);
  if (problem) throw fail('E_ACCOUNT_INVALID', problem);
  const password_hash = await hashPassword(input.password);
  try {
    return await db.transaction().execute(async (trx) => {
      const user = await trx
        .insertInto('users')
        .values({
          name: input.name,
          email: input.email,
          password_hash,
          email_verified: input.emailVerified ? 1 : 0,
          is_admin: input.isAdmin ? 1 : 0,
          created_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await recordEvent(
        trx,
        {
          kind: EventKind.UserCreated,
          subject: user.name,
          actorId: input.actorId ?? user.id,
          data: { admin: !!input.isAdmin, emailVerified: !!input.emailVerified },
        },
        now,
      );
      return user;
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw fail('E_USERNAME_TAKEN', `the username "${input.name}" is already taken`);
    throw err;
  }
}

export async function findUser(db: Db, name: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
}

/** The user of this name (deleted ones too, whose names stay reserved), or a 404 that names it. */
export async function mustFindUser(db: Db, name: string): Promise<UserRow> {
  const user = await findUser(db, name);
  if (!user) throw notFound(`no user named ${name}`);
  return user;
}

/** Returns the user when the password is right. Takes as long for unknown users as for known ones. */
export async function checkPassword(db: Db, name: string, password: string): Promise<UserRow | null> {
  const user = await findUser(db, name);
  const ok = await verifyPassword(user?.password_hash ?? null, password);
  if (!ok || !user) return null;
  if (isLegacyHash(user.password_hash)) await upgradeLegacyHash(db, user, password);
  return user;
}

/**
 * An imported hash (bcrypt, SHA-1, crypt) is used for one sign-in only: it becomes argon2id now. The update is
 * conditional on the old hash, so two sign-ins at once both succeed and the hash is written once.
 */
async function upgradeLegacyHash(db: Db, user: UserRow, password: string): Promise<void> {
  const password_hash = await hashPassword(password);
  await db
    .updateTable('users')
    .set({ password_hash })
    .where('id', '=', user.id)
    .where('password_hash', '=', user.password_hash)
    .execute();
  user.password_hash = password_hash;
}

export async function markEmailVerified(
  db: Db,
  user: UserRow,
  actorId: number | null,
  now = Date.now(),
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('users').set({ email_verified: 1 }).where('id', '=', user.id).execute();
    await recordEvent(
      trx,
      { kind: EventKind.UserEmailVerified, subject: user.name, actorId, data: { email: user.email } },
      now,
    );
  });
}

/**
 * Records that sign-in to an account was blocked after many wrong passwords (its owner is emailed). Names that are
 * not accounts record nothing, so guessing names cannot fill the event log.
 */
export async function recordSignInLocked(db: Db, name: string, ip: string, now = Date.now()): Promise<void> {
  const user = await findUser(db, name);
  if (!user || user.deleted_at !== null) return;
  await db
    .transaction()
    .execute((trx) =>
      recordEvent(trx, { kind: EventKind.UserSignInLocked, subject: user.name, actorId: null, data: { ip } }, now),
    );
}
