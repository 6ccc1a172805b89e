// npm's profile endpoints (npm-profile's get/set; `npm profile get|set|enable-2fa|disable-2fa`):
//   GET  /-/npm/v1/user   the caller's own profile
//   POST /-/npm/v1/user   a change: fields, email, password {old,new}, tfa {mode,password} or tfa [code]
// The rules are in accounts/profile.ts; this file reads the request and answers npm's way, asking for a one-time
// password as every other write does (401 + WWW-Authenticate: OTP, npm's web OTP URLs in the body; `npm-otp` back).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { changeProfile, readProfile, type OtpPrompt } from '../accounts/profile.ts';
import { looksLikeGrant } from '../accounts/web-logins.ts';
import { fail, unauthorized } from '../errors.ts';
import type { Gate } from './gate.ts';
import { requireOtp, type SecondFactorDeps } from './second-factor.ts';
import { AnyObject, schema, type RouteTypes } from './schemas.ts';

const ChangeRoute = schema({ body: AnyObject });

export type ProfileRouteDeps = { gate: Gate; secondFactor: SecondFactorDeps; publicUrl: () => string };

/** A profile change is a few short fields. */
const PROFILE_BODY_LIMIT = 16 * 1024;

/** The name authenticator apps show for this registry's entry: the web page's enrolment uses the same. */
function issuer(publicUrl: () => string): string {
  try {
    return `Bulwark (${new URL(publicUrl()).host})`;
  } catch {
    return 'Bulwark';
  }
}

function otpPrompt(deps: SecondFactorDeps, req: FastifyRequest, userId: number): OtpPrompt {
  const header = req.headers['npm-otp'];
  const code = typeof header === 'string' ? header.trim() : '';
  return {
    supplied: code !== '',
    // Asked only when the request has no code, so requireOtp answers with the request for one.
    ask: async (what) => {
      await requireOtp(deps, req, userId, what);
      throw fail('E_OTP_REQUIRED', `${what} requires a one-time password`, { 'www-authenticate': 'OTP' });
    },
    check: async (what, { totpOnly }) => {
      if (totpOnly && !/^\d{6}$/.test(code) && !looksLikeGrant(code))
        throw fail(
          'E_OTP_INVALID',
          `${what} needs the current 6-digit code from your authenticator app, not a recovery code`,
          { 'www-authenticate': 'OTP' },
        );
      await requireOtp(deps, req, userId, what);
    },
  };
}

export function register(app: FastifyInstance, { gate, secondFactor, publicUrl }: ProfileRouteDeps): void {
  const { db, key, limiter, clock } = secondFactor;
  // Only a signed-in caller has a profile: without a valid token the answer is 401 before any body is read.
  const signedIn = { preParsing: gate.signedIn() };

  app.get('/-/npm/v1/user', signedIn, async (req) => {
    const principal = await gate.principal(req);
    if (!principal) throw unauthorized();
    return readProfile(db, principal);
  });

  // npm-profile's documents differ by what they change; their fields are accounts/profile.ts's to check.
  app.post<RouteTypes<typeof ChangeRoute>>(
    '/-/npm/v1/user',
    { ...signedIn, bodyLimit: PROFILE_BODY_LIMIT, schema: ChangeRoute },
    async (req) => {
      const principal = await gate.principal(req);
      if (!principal) throw unauthorized();
      return changeProfile(
        { db, key, limiter, clock, issuer: () => issuer(publicUrl) },
        principal,
        req.ip,
        req.body,
        otpPrompt(secondFactor, req, principal.userId),
      );
    },
  );
}
