// The second-factor policy of the write gate: which writes need one, who may skip it, and what each refusal says. An
// account in "auth-and-writes" mode sends a current one-time password with every write (npm's `npm-otp` header, from
// --otp or npm's prompt). npm retries a 401 carrying `WWW-Authenticate: OTP` after asking the user for the code; on a
// terminal npm 11 instead opens the authUrl the 401's body names (web OTP) and retries with the grant it collects.
// Checking a code is the accounts' business (accounts/second-factor.ts); reading it from a request, the entry point's.
import { ClientError, fail } from '../errors.ts';
import type { Db } from '../store/db.ts';
import { secondFactorApplies, type ActionValue } from './decide.ts';
import type { WriteCheck } from './gate.ts';
import type { Principal } from './principal.ts';

const OTP = { 'www-authenticate': 'OTP' };

/**
 * Whether this write asks for the one-time password of an account in "auth-and-writes" mode: every write but a report
 * (decide.ts secondFactorApplies). An automation token (bypass2fa: limited to listed packages, expiring; see
 * tokens/scope.ts) publishes from CI without a code: it skips this rule only, and only for package changes; every
 * other rule still applies.
 */
export function writeAsksSecondFactor(principal: Principal, action: ActionValue): boolean {
  if (!secondFactorApplies(action)) return false;
  return !(principal.tokenScope?.bypass2fa && action.startsWith('package:'));
}

/** What a request carries toward a second factor: the code, and how to start npm's web OTP flow when it has none. */
export type SentSecondFactor = {
  otp: string | undefined;
  offerWebOtp?: (userId: number, what: string) => Promise<{ authUrl: string; doneUrl: string }>;
};

/** Whether a code (or a web OTP grant) is this user's current one; counts a wrong one against the account's limit. */
export type CodeVerifier = (userId: number, code: string) => Promise<boolean>;

/** The 401 asking for a one-time password, with npm's web OTP URLs in the body (npm 11 opens authUrl on a terminal). */
export class OtpRequired extends ClientError {
  readonly body: { authUrl: string; doneUrl: string };
  constructor(message: string, body: { authUrl: string; doneUrl: string }) {
    super('E_OTP_REQUIRED', message, OTP);
    this.body = body;
  }
}

/** Asks for and checks the one-time password of a user who has a second factor; `what` names the action asked for. */
export async function requireSecondFactor(
  sent: SentSecondFactor,
  userId: number,
  what: string,
  verify: CodeVerifier,
): Promise<void> {
  const { otp } = sent;
  if (otp === undefined || otp.trim() === '') {
    const message = `${what} requires a one-time password from your authenticator app: run the command again with --otp=CODE`;
    if (sent.offerWebOtp) throw new OtpRequired(message, await sent.offerWebOtp(userId, what));
    throw fail('E_OTP_REQUIRED', message, OTP);
  }
  if (!(await verify(userId, otp)))
    throw fail(
      'E_OTP_INVALID',
      'the one-time password is wrong, expired or was already used: wait for the next code and try again',
      OTP,
    );
}

/** The write check that applies the policy to every write the gate lets through. */
export function secondFactorWriteCheck(db: Db, verify: CodeVerifier): WriteCheck<SentSecondFactor> {
  return async (sent, principal, action) => {
    if (!writeAsksSecondFactor(principal, action)) return;
    const user = await db.selectFrom('users').select('totp_mode').where('id', '=', principal.userId).executeTakeFirst();
    if (user?.totp_mode !== 'auth-and-writes') return;
    await requireSecondFactor(sent, principal.userId, 'this change', verify);
  };
}
