// The second-factor rule of the write gate: accounts in "auth-and-writes" mode must send a current one-time password
// (npm's `npm-otp` header, from --otp or npm's prompt) with every write. npm retries a 401 carrying
// `WWW-Authenticate: OTP` after asking the user for the code; on a terminal npm 11 instead opens the authUrl the 401's
// body names (web OTP, see web-login.ts) and retries with the grant it then collects. Wrong codes count against the
// account's limit.
import type { FastifyRequest } from 'fastify';
import { secondFactorApplies } from '../access/decide.ts';
import { Rules, type Limiter } from '../accounts/limits.ts';
import { checkSecondFactor } from '../accounts/totp.ts';
import { consumeGrant, looksLikeGrant } from '../accounts/web-logins.ts';
import { ClientError } from '../errors.ts';
import type { Db } from '../store/db.ts';
import type { WriteCheck } from './gate.ts';

const OTP = { 'www-authenticate': 'OTP' };

export type SecondFactorDeps = {
  db: Db;
  key: Buffer;
  limiter: Limiter;
  clock: () => number;
  /** Starts npm's web OTP flow (see http/web-login.ts): a page where the user enters the code, and a URL npm polls. */
  offerWebOtp?: (req: FastifyRequest, userId: number, what: string) => Promise<{ authUrl: string; doneUrl: string }>;
};

/** The 401 asking for a one-time password, with npm's web OTP URLs in the body (npm 11 opens authUrl on a terminal). */
export class OtpRequired extends ClientError {
  readonly body: { authUrl: string; doneUrl: string };
  constructor(message: string, body: { authUrl: string; doneUrl: string }) {
    super('E_OTP_REQUIRED', message, OTP);
    this.body = body;
  }
}

/** Asks for and checks the one-time password of a user who has a second factor. */
export async function requireOtp(
  { db, key, limiter, clock, offerWebOtp }: SecondFactorDeps,
  req: FastifyRequest,
  userId: number,
  what: string,
): Promise<void> {
  const otp = req.headers['npm-otp'];
  if (typeof otp !== 'string' || otp.trim() === '') {
    const message = `${what} requires a one-time password from your authenticator app: run the command again with --otp=CODE`;
    if (offerWebOtp) throw new OtpRequired(message, await offerWebOtp(req, userId, what));
    throw new ClientError('E_OTP_REQUIRED', message, OTP);
  }
  const attempt: Array<[typeof Rules.secondFactor, string]> = [[Rules.secondFactor, String(userId)]];
  await limiter.check(attempt, 'one-time passwords');
  // A grant from the web OTP flow stands for a code the user already entered in the browser; it works once.
  const result = looksLikeGrant(otp.trim())
    ? { ok: await consumeGrant(db, userId, otp.trim(), clock()) }
    : await checkSecondFactor(db, key, userId, otp, clock());
  if (!result.ok) {
    await limiter.fail(attempt);
    throw new ClientError(
      'E_OTP_INVALID',
      'the one-time password is wrong, expired or was already used: wait for the next code and try again',
      OTP,
    );
  }
  await limiter.reset(attempt);
}

export function secondFactorCheck(deps: SecondFactorDeps): WriteCheck {
  return async (req, principal, action) => {
    if (!secondFactorApplies(action)) return;
    // An automation token (bypass2fa: limited to listed packages, expiring; see tokens/scope.ts) publishes from CI
    // without a code. It skips this check only, and only for package changes: every other rule still applies.
    if (principal.tokenScope?.bypass2fa && action.startsWith('package:')) return;
    const user = await deps.db
      .selectFrom('users')
      .select('totp_mode')
      .where('id', '=', principal.userId)
      .executeTakeFirst();
    if (user?.totp_mode !== 'auth-and-writes') return;
    await requireOtp(deps, req, principal.userId, 'this change');
  };
}
