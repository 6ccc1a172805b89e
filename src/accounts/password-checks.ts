// A password asked for anywhere (npm login, the sign-in page, creating a token, changing a profile) is checked as
// sign-in checks it: under the brute-force limits (limits.ts), and the account's owner is told when the account-wide
// limit first blocks (users.ts recordSignInLocked).
import { fail } from '../errors.ts';
import type { Db } from '../store/db.ts';
import type { UserRow } from '../store/schema.ts';
import { limitedPasswordCheck, type Limiter } from './limits.ts';
import { verifyPassword } from './passwords.ts';
import { checkPassword, recordSignInLocked } from './users.ts';

/** The account, when name and password are right; null otherwise (as long for unknown names as for known ones). */
export function signInPassword(
  db: Db,
  limiter: Limiter,
  who: { name: string; ip: string },
  password: string,
  now: number,
): Promise<UserRow | null> {
  return limitedPasswordCheck(
    limiter,
    who.name,
    who.ip,
    () => checkPassword(db, who.name, password),
    () => recordSignInLocked(db, who.name, who.ip, now),
  );
}

/** The refusal of a wrong current password, so a page can say so without a generic 400. */
export const WRONG_PASSWORD = 'Your current password is not right.';

/**
 * A signed-in user's current password, read fresh (another tab may just have changed it), checked under the sign-in
 * limits. An empty one is refused without counting.
 * @throws ClientError E_BAD_CREDENTIALS when it is wrong; the limiter's 429 while blocked.
 */
export async function confirmPassword(
  db: Db,
  limiter: Limiter,
  who: { user: { id: number; name: string }; ip: string },
  password: string,
  now: number,
): Promise<void> {
  const { user, ip } = who;
  if (!password) throw fail('E_BAD_CREDENTIALS', WRONG_PASSWORD);
  const check = async () => {
    const row = await db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirst();
    return (await verifyPassword(row?.password_hash ?? null, password)) ? true : null;
  };
  const ok = await limitedPasswordCheck(limiter, user.name, ip, check, () =>
    recordSignInLocked(db, user.name, ip, now),
  );
  if (!ok) throw fail('E_BAD_CREDENTIALS', WRONG_PASSWORD);
}
