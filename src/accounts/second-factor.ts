// Checking a second factor sent with a write or a sign-in (the policy of when one is asked for is access/
// second-factor.ts): a TOTP code or recovery code, or a grant from npm's web OTP flow, which stands for a code the
// user already entered in the browser and works once. Wrong codes count against the account's limit.
import type { CodeVerifier } from '../access/second-factor.ts';
import type { Db } from '../store/db.ts';
import { Rules, type Limiter } from './limits.ts';
import { checkSecondFactor } from './totp.ts';
import { consumeGrant, looksLikeGrant } from './web-logins.ts';

export type CodeCheckDeps = { db: Db; key: Buffer; limiter: Limiter; clock: () => number };

export function codeVerifier({ db, key, limiter, clock }: CodeCheckDeps): CodeVerifier {
  return async (userId, otp) => {
    const attempt: Array<[typeof Rules.secondFactor, string]> = [[Rules.secondFactor, String(userId)]];
    await limiter.check(attempt, 'one-time passwords');
    const result = looksLikeGrant(otp.trim())
      ? { ok: await consumeGrant(db, userId, otp.trim(), clock()) }
      : await checkSecondFactor(db, key, userId, otp, clock());
    if (!result.ok) {
      await limiter.fail(attempt);
      return false;
    }
    await limiter.reset(attempt);
    return true;
  };
}
