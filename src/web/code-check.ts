// One way for every web form that asks for a second-factor code (two-factor settings, npm's web login and web OTP
// pages): under the same per-account limit as npm's `npm-otp` and the sign-in step, so no page is a cheaper place
// to guess codes.
import type { FastifyReply } from 'fastify';
import { Rules } from '../accounts/limits.ts';
import { checkSecondFactor } from '../accounts/totp.ts';
import { ClientError } from '../errors.ts';
import type { SecondFactorDeps } from '../http/second-factor.ts';

export type CodeCheck = { ok: true; via: 'totp' | 'recovery-code' } | { ok: false; status: 401 | 429; message: string };

export const WRONG_CODE =
  'That code is not right, has expired or was already used. Wait for the next code and try again.';

/**
 * Checks a code for the account. totpOnly refuses recovery codes without spending them (changing the mode or the
 * recovery codes themselves wants the authenticator). A 429 keeps its Retry-After header on the reply.
 */
export async function checkCode(
  deps: SecondFactorDeps,
  reply: FastifyReply,
  userId: number,
  code: string,
  opts: { totpOnly?: boolean } = {},
): Promise<CodeCheck> {
  const attempt: Array<[typeof Rules.secondFactor, string]> = [[Rules.secondFactor, String(userId)]];
  try {
    await deps.limiter.check(attempt, 'one-time passwords');
  } catch (err) {
    if (!(err instanceof ClientError) || err.code !== 'E_RATE_LIMITED') throw err;
    for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
    return { ok: false, status: 429, message: err.message.replace(/^./, (c) => c.toUpperCase()) + '.' };
  }
  const trimmed = code.trim();
  const result =
    opts.totpOnly && !/^\d{6}$/.test(trimmed)
      ? { ok: false as const }
      : await checkSecondFactor(deps.db, deps.key, userId, trimmed, deps.clock());
  if (!result.ok) {
    await deps.limiter.fail(attempt);
    return {
      ok: false,
      status: 401,
      message: opts.totpOnly
        ? 'That code is not right, has expired or was already used. Enter the current 6-digit code from your authenticator app.'
        : WRONG_CODE,
    };
  }
  await deps.limiter.reset(attempt);
  return result;
}
