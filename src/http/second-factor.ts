// The second-factor rule of the write gate: accounts in "auth-and-writes" mode must send a current one-time password
// (npm's `npm-otp` header, from --otp or npm's prompt) with every write. npm retries a 401 carrying
// `WWW-Authenticate: OTP` after asking the user for the code.
import type { FastifyRequest } from 'fastify';
import { checkSecondFactor } from '../accounts/totp.ts';
import { ClientError } from '../errors.ts';
import type { Db } from '../store/db.ts';
import type { WriteCheck } from './gate.ts';

const OTP = { 'www-authenticate': 'OTP' };

/** Asks for and checks the one-time password of a user who has a second factor. */
export async function requireOtp(db: Db, key: Buffer, req: FastifyRequest, userId: number, what: string, now: number): Promise<void> {
  const otp = req.headers['npm-otp'];
  if (typeof otp !== 'string' || otp.trim() === '') {
    throw new ClientError(401, `${what} requires a one-time password from your authenticator app: run the command again with --otp=CODE`, OTP);
  }
  const result = await checkSecondFactor(db, key, userId, otp, now);
  if (!result.ok) throw new ClientError(401, 'the one-time password is wrong, expired or was already used: wait for the next code and try again', OTP);
}

export function secondFactorCheck(db: Db, key: Buffer, clock: () => number): WriteCheck {
  return async (req, principal) => {
    const user = await db.selectFrom('users').select('totp_mode').where('id', '=', principal.userId).executeTakeFirst();
    if (user?.totp_mode !== 'auth-and-writes') return;
    await requireOtp(db, key, req, principal.userId, 'this change', clock());
  };
}
