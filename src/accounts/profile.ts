// npm's profile (npm-profile's get/set on /-/npm/v1/user; `npm profile get|set|enable-2fa|disable-2fa`) over the
// same account rules as the web page: the email address, the password and two-factor authentication change only
// with the current password and, while two-factor authentication is on, a one-time password; the public fields
// (fullname, homepage, …) need a one-time password in "auth-and-writes" mode, as npm documents. Every change records
// its event (and so reaches the security history and the notifier) through the functions the web page uses.
import type { Principal } from '../access/principal.ts';
import { ClientError, fail } from '../errors.ts';
import type { Db } from '../store/db.ts';
import { EventKind, recordEvent } from '../store/events.ts';
import type { UserRow } from '../store/schema.ts';
import { changeEmail, changePassword } from './account-settings.ts';
import { Rules, type Limiter } from './limits.ts';
import { confirmPassword } from './password-checks.ts';
import { isEnabledMode, setMfaMode, type EnabledMode } from './mfa-mode.ts';
import { passwordProblem } from './passwords.ts';
import { parseProfileRequest, type ProfileField, type ProfileRequest } from './profile-request.ts';
import { beginEnrolment, confirmEnrolment, disableMfa } from './totp.ts';
import { emailProblem } from './users.ts';

/** The profile as npm-profile's get() returns it and `npm profile get` prints it. */
export type NpmProfile = {
  name: string;
  email: string;
  email_verified: boolean;
  created: string;
  updated: string;
  tfa: false | { pending: boolean; mode: EnabledMode };
  fullname: string | null;
  homepage: string | null;
  freenode: string | null;
  twitter: string | null;
  github: string | null;
};

/**
 * What a change answers: the profile, except that beginning enrolment answers `tfa` with the otpauth:// URL (npm shows
 * it as a QR code) and confirming it with the recovery codes (npm prints them), as npm/cli's enable2fa expects.
 */
export type ProfileAnswer = Omit<NpmProfile, 'tfa'> & { tfa: NpmProfile['tfa'] | string | string[] };

/**
 * How the protocol asks for and checks a one-time password (the HTTP layer: npm's `npm-otp` header and the 401 with
 * `WWW-Authenticate: OTP`, under the second-factor limits).
 */
export type OtpPrompt = {
  /** whether the request carries a one-time password. */
  supplied: boolean;
  /** Refuses the request, asking for a one-time password. */
  ask(what: string): Promise<never>;
  /** Checks the one supplied; totpOnly refuses a recovery code without spending it. @throws ClientError when wrong. */
  check(what: string, opts: { totpOnly: boolean }): Promise<void>;
};

export type ProfileDeps = { db: Db; key: Buffer; limiter: Limiter; clock: () => number; issuer: () => string };

/** The kinds of change that make a profile's `updated` time, whichever way (web page, npm) they were made. */
const UPDATES = [
  EventKind.UserProfileChanged,
  EventKind.UserEmailChanged,
  EventKind.UserEmailVerified,
  EventKind.UserPasswordChanged,
  EventKind.UserMfaEnabled,
  EventKind.UserMfaDisabled,
  EventKind.UserMfaModeChanged,
];

const iso = (ms: number) => new Date(ms).toISOString();

async function userRow(db: Db, id: number): Promise<UserRow> {
  const user = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  // A token outlives nothing: its account's row is kept even when deleted, and a deleted account's tokens are revoked.
  if (!user) throw fail('E_TOKEN_INVALID', 'this token belongs to no account');
  return user;
}

function tfaOf(user: UserRow): NpmProfile['tfa'] {
  if (isEnabledMode(user.totp_mode)) return { pending: false, mode: user.totp_mode };
  if (user.totp_secret)
    return { pending: true, mode: isEnabledMode(user.totp_pending_mode) ? user.totp_pending_mode : 'auth-and-writes' };
  return false;
}

async function profileOf(db: Db, user: UserRow): Promise<NpmProfile> {
  const last = await db
    .selectFrom('events')
    .select((eb) => eb.fn.max('created_at').as('at'))
    .where('subject', '=', user.name)
    .where('kind', 'in', UPDATES)
    .where('created_at', '>=', user.created_at)
    .executeTakeFirst();
  return {
    name: user.name,
    email: user.email,
    email_verified: user.email_verified === 1,
    created: iso(user.created_at),
    updated: iso(Math.max(user.created_at, Number(last?.at ?? 0))),
    tfa: tfaOf(user),
    fullname: user.fullname,
    homepage: user.homepage,
    freenode: user.freenode,
    twitter: user.twitter,
    github: user.github,
  };
}

/** The caller's own profile: any valid token reads it, whatever its scope (a profile is never anyone else's). */
export async function readProfile(db: Db, principal: Principal): Promise<NpmProfile> {
  return profileOf(db, await userRow(db, principal.userId));
}

/**
 * Why this principal may not change its profile, or null. A token limited by a scope or to reading stands for less
 * than its owner: like token management, the profile (and with it the email address, the password and the second
 * factor) stays with the account's own credentials. Pure.
 */
export function profileWriteRefusal(principal: Principal): string | null {
  if (principal.tokenReadonly) return 'a read-only token cannot change the profile';
  if (principal.tokenScope)
    return 'a token limited by a scope cannot change the profile: run `npm login` and try again with that token';
  return null;
}

/**
 * Applies a change npm sent and answers what npm expects. Checks run in this order, so nothing is learnt or spent
 * early: the token's right to change the profile, the shape of the request (400), the one-time password's presence
 * (401 asking for one), the current password (401, counted against the sign-in limits), the one-time password
 * (401, counted against the second-factor limit), then the change.
 */
export async function changeProfile(
  deps: ProfileDeps,
  principal: Principal,
  ip: string,
  body: unknown,
  otp: OtpPrompt,
): Promise<ProfileAnswer> {
  const refusal = profileWriteRefusal(principal);
  if (refusal) throw fail(principal.tokenReadonly ? 'E_TOKEN_READONLY' : 'E_TOKEN_SCOPE', refusal);
  const request = parseProfileRequest(body, principal.name);
  const user = await userRow(deps.db, principal.userId);
  switch (request.kind) {
    case 'tfa-enable':
      return enableTfa(deps, user, ip, request, otp);
    case 'tfa-disable':
      return disableTfa(deps, user, ip, request.password, otp);
    case 'tfa-confirm':
      return confirmTfa(deps, user, request.code);
    case 'update':
      return update(deps, user, ip, request, otp);
  }
}

const fresh = async (deps: ProfileDeps, user: UserRow) => profileOf(deps.db, await userRow(deps.db, user.id));

async function enableTfa(
  deps: ProfileDeps,
  user: UserRow,
  ip: string,
  { mode, password }: { mode: EnabledMode; password: string },
  otp: OtpPrompt,
): Promise<ProfileAnswer> {
  if (isEnabledMode(user.totp_mode)) {
    // Already on: this only switches the mode (npm answers "mode changed"). A second device is never enrolled this
    // way; that takes turning it off first, with a code from the first.
    if (!otp.supplied) await otp.ask('changing the two-factor mode');
    await confirmPassword(deps.db, deps.limiter, { user, ip }, password, deps.clock());
    await otp.check('changing the two-factor mode', { totpOnly: true });
    await setMfaMode(deps.db, user.id, mode, deps.clock());
    return fresh(deps, user);
  }
  await confirmPassword(deps.db, deps.limiter, { user, ip }, password, deps.clock());
  // A new seed each time: a pending enrolment begun earlier (here or on the web page) is replaced.
  const { uri } = await beginEnrolment(deps.db, deps.key, user, deps.issuer());
  await deps.db.updateTable('users').set({ totp_pending_mode: mode }).where('id', '=', user.id).execute();
  return { ...(await fresh(deps, user)), tfa: uri };
}

async function disableTfa(
  deps: ProfileDeps,
  user: UserRow,
  ip: string,
  password: string,
  otp: OtpPrompt,
): Promise<ProfileAnswer> {
  if (isEnabledMode(user.totp_mode)) {
    if (!otp.supplied) await otp.ask('turning off two-factor authentication');
    await confirmPassword(deps.db, deps.limiter, { user, ip }, password, deps.clock());
    // As on the web page, a recovery code also works here: it is how someone who lost the device gets out.
    await otp.check('turning off two-factor authentication', { totpOnly: false });
    await disableMfa(deps.db, user.id, user.id, deps.clock());
    await deps.db.updateTable('users').set({ totp_pending_mode: null }).where('id', '=', user.id).execute();
    return fresh(deps, user);
  }
  if (!user.totp_secret) throw fail('E_TFA_STATE', 'two-factor authentication is not enabled');
  // An enrolment never confirmed protects nothing yet: dropping it needs the password only (npm sends it first when
  // `npm profile enable-2fa` finds one pending).
  await confirmPassword(deps.db, deps.limiter, { user, ip }, password, deps.clock());
  await deps.db
    .updateTable('users')
    .set({ totp_secret: null, totp_pending_mode: null, totp_last_step: 0 })
    .where('id', '=', user.id)
    .where('totp_mode', '=', 'disabled')
    .execute();
  return fresh(deps, user);
}

async function confirmTfa(deps: ProfileDeps, user: UserRow, code: string): Promise<ProfileAnswer> {
  if (isEnabledMode(user.totp_mode)) throw fail('E_TFA_STATE', 'two-factor authentication is already enabled');
  if (!user.totp_secret)
    throw fail('E_TFA_STATE', 'no two-factor enrolment is waiting: begin one with {"tfa": {"mode", "password"}}');
  const attempt: Array<[typeof Rules.secondFactor, string]> = [[Rules.secondFactor, String(user.id)]];
  await deps.limiter.check(attempt, 'one-time passwords');
  const mode = isEnabledMode(user.totp_pending_mode) ? user.totp_pending_mode : 'auth-and-writes';
  let codes: string[];
  try {
    codes = await confirmEnrolment(deps.db, deps.key, user.id, code, mode, deps.clock());
  } catch (err) {
    if (err instanceof ClientError) await deps.limiter.fail(attempt);
    throw err;
  }
  await deps.limiter.reset(attempt);
  await deps.db.updateTable('users').set({ totp_pending_mode: null }).where('id', '=', user.id).execute();
  return { ...(await fresh(deps, user)), tfa: codes };
}

const NEEDS_PASSWORD_FOR_EMAIL =
  'changing your email address needs your current password, which `npm profile set email` does not send: change it ' +
  'on the account page of this registry’s website, or send {"email": …, "password": "<current password>"}';

async function update(
  deps: ProfileDeps,
  user: UserRow,
  ip: string,
  request: Extract<ProfileRequest, { kind: 'update' }>,
  otp: OtpPrompt,
): Promise<ProfileAnswer> {
  // npm sends every writable field each time, most of them unchanged: only differences count.
  const changed = (Object.keys(request.fields) as ProfileField[]).filter(
    (f) => (request.fields[f] ?? null) !== (user[f] ?? null),
  );
  const email = request.email !== undefined && request.email.toLowerCase() !== user.email.toLowerCase();
  const password = request.password !== undefined;
  if (email && password) throw fail('E_INVALID_REQUEST', 'change the email address and the password one at a time');
  if (!email && !password && !changed.length) return profileOf(deps.db, user);

  // Bad input is answered before any credential is checked, so a typo costs no attempt.
  if (email) {
    const problem = request.email!.includes('\0') ? 'a valid email address is required' : emailProblem(request.email!);
    if (problem) throw fail('E_ACCOUNT_INVALID', problem);
    if (!request.currentPassword) throw fail('E_BAD_CREDENTIALS', NEEDS_PASSWORD_FOR_EMAIL);
  }
  if (password) {
    const problem = passwordProblem(request.password!.new, user.name);
    if (problem) throw fail('E_ACCOUNT_INVALID', problem);
    if (request.password!.new === request.password!.old)
      throw fail('E_ACCOUNT_INVALID', 'the new password must be different from the current one');
  }
  const tfaOn = isEnabledMode(user.totp_mode);
  const needsOtp = tfaOn && (email || password || user.totp_mode === 'auth-and-writes');
  const what = password ? 'changing your password' : email ? 'changing your email address' : 'changing your profile';
  if (needsOtp && !otp.supplied) await otp.ask(what);
  const current = password ? request.password!.old : email ? request.currentPassword! : null;
  if (current !== null) await confirmPassword(deps.db, deps.limiter, { user, ip }, current, deps.clock());
  if (needsOtp) await otp.check(what, { totpOnly: false });

  const now = deps.clock();
  // The web page's own functions: the same event, the same emails, the same sessions signed out.
  if (password)
    await changePassword(
      deps.db,
      deps.limiter,
      {
        user,
        ip,
        current: request.password!.old,
        next: request.password!.new,
        confirmation: request.password!.new,
        // Every browser session ends: the change came from npm, which has none to keep.
        keepSessionId: null,
      },
      now,
    );
  if (email) await changeEmail(deps.db, deps.limiter, { user, ip, email: request.email!, password: current! }, now);
  if (changed.length) {
    const values = Object.fromEntries(changed.map((f) => [f, request.fields[f] ?? null]));
    await deps.db.transaction().execute(async (trx) => {
      await trx.updateTable('users').set(values).where('id', '=', user.id).execute();
      await recordEvent(
        trx,
        { kind: EventKind.UserProfileChanged, subject: user.name, actorId: user.id, data: { fields: changed, ip } },
        now,
      );
    });
  }
  return fresh(deps, user);
}
