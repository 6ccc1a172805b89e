// The request side of the second factor: the code npm sends in its `npm-otp` header (from --otp or npm's prompt), and
// npm's web OTP flow (see web-login.ts) when it sends none. The policy (which writes ask, what a refusal says) is
// access/second-factor.ts; checking a code is accounts/second-factor.ts.
import type { FastifyRequest } from 'fastify';
import type { WriteCheck } from '../access/gate.ts';
import { requireSecondFactor, secondFactorWriteCheck, type SentSecondFactor } from '../access/second-factor.ts';
import { codeVerifier, type CodeCheckDeps } from '../accounts/second-factor.ts';

export { OtpRequired } from '../access/second-factor.ts';

export type SecondFactorDeps = CodeCheckDeps & {
  /** Starts npm's web OTP flow (see http/web-login.ts): a page where the user enters the code, and a URL npm polls. */
  offerWebOtp?: (req: FastifyRequest, userId: number, what: string) => Promise<{ authUrl: string; doneUrl: string }>;
};

/** What the request carries toward a second factor. */
function sentWith(deps: SecondFactorDeps, req: FastifyRequest): SentSecondFactor {
  const otp = req.headers['npm-otp'];
  const { offerWebOtp } = deps;
  return {
    otp: typeof otp === 'string' ? otp : undefined,
    ...(offerWebOtp ? { offerWebOtp: (userId: number, what: string) => offerWebOtp(req, userId, what) } : {}),
  };
}

/** Asks for and checks the one-time password of a user who has a second factor (sign-in, token creation, profile). */
export async function requireOtp(
  deps: SecondFactorDeps,
  req: FastifyRequest,
  userId: number,
  what: string,
): Promise<void> {
  await requireSecondFactor(sentWith(deps, req), userId, what, codeVerifier(deps));
}

/** The gate's second-factor check, fed from the request. */
export function secondFactorCheck(deps: SecondFactorDeps): WriteCheck<FastifyRequest> {
  const check = secondFactorWriteCheck(deps.db, codeVerifier(deps));
  return (req, principal, action, facts) => check(sentWith(deps, req), principal, action, facts);
}
