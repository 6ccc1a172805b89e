// Switching an enabled second factor between npm's two modes: "auth-only" (asked at sign-in) and "auth-and-writes"
// (also asked for every write through the npm protocol). The caller must have checked a current code first.
import { fail } from '../errors.ts';
import type { Db } from '../store/db.ts';
import { EventKind, recordEvent } from '../store/events.ts';
import type { MfaMode } from './totp.ts';

export type EnabledMode = Exclude<MfaMode, 'disabled'>;

export const isEnabledMode = (value: unknown): value is EnabledMode =>
  value === 'auth-only' || value === 'auth-and-writes';

/** Sets the mode; records user.mfa-mode-changed (which emails the user) only when it actually changes. */
export async function setMfaMode(db: Db, userId: number, mode: EnabledMode, now: number): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const user = await trx
      .selectFrom('users')
      .select(['name', 'totp_mode'])
      .where('id', '=', userId)
      .executeTakeFirstOrThrow();
    if (user.totp_mode === 'disabled') throw fail('E_TFA_STATE', 'two-factor authentication is not enabled');
    if (user.totp_mode === mode) return false;
    await trx.updateTable('users').set({ totp_mode: mode }).where('id', '=', userId).execute();
    await recordEvent(
      trx,
      { kind: EventKind.UserMfaModeChanged, subject: user.name, actorId: userId, data: { from: user.totp_mode, mode } },
      now,
    );
    return true;
  });
}
