// TOTP second factor (RFC 6238, as authenticator apps implement it) and single-use recovery codes. Seeds are sealed
// with the instance key; a code is accepted within one 30-second step either side, and never twice: the highest
// accepted step is stored and only later steps pass.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { open, seal } from '../crypto/secret-key.ts';
import { fail } from '../errors.ts';
import type { Db } from '../store/db.ts';
import { EventKind, recordEvent } from '../store/events.ts';

export type MfaMode = 'disabled' | 'auth-only' | 'auth-and-writes';
const PURPOSE = 'totp-seed';
const PERIOD = 30;
const RECOVERY_CODES = 10;

function totp(seedBase32: string, account: string, issuer: string): TOTP {
  return new TOTP({
    issuer,
    label: account,
    algorithm: 'SHA1',
    digits: 6,
    period: PERIOD,
    secret: Secret.fromBase32(seedBase32),
  });
}

/** The step a code matched, or null. Pure, given the time. */
export function matchStep(seedBase32: string, code: string, now: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const t = totp(seedBase32, 'x', 'x');
  const delta = t.validate({ token: code, timestamp: now, window: 1 });
  return delta === null ? null : Math.floor(now / 1000 / PERIOD) + delta;
}

export type Enrolment = { secret: string; uri: string; qrSvg: string };

/** Starts enrolment: a new seed is stored sealed but inactive until confirmed with a code from the app. */
export async function beginEnrolment(
  db: Db,
  key: Buffer,
  user: { id: number; name: string; totp_mode: string },
  issuer: string,
): Promise<Enrolment> {
  if (user.totp_mode !== 'disabled')
    throw fail('E_TFA_STATE', 'two-factor authentication is already enabled: disable it first to enrol a new device');
  const secret = new Secret({ size: 20 }).base32;
  await db
    .updateTable('users')
    .set({ totp_secret: seal(key, PURPOSE, Buffer.from(secret)), totp_last_step: 0 })
    .where('id', '=', user.id)
    .execute();
  return enrolment(secret, user.name, issuer);
}

/** The enrolment begun but not yet confirmed, shown again after a wrong code; null when there is none. */
export async function pendingEnrolment(
  key: Buffer,
  user: { name: string; totp_mode: string; totp_secret: string | null },
  issuer: string,
): Promise<Enrolment | null> {
  if (user.totp_mode !== 'disabled' || !user.totp_secret) return null;
  return enrolment(open(key, PURPOSE, user.totp_secret).toString(), user.name, issuer);
}

async function enrolment(secret: string, name: string, issuer: string): Promise<Enrolment> {
  const uri = totp(secret, name, issuer).toString();
  // Loaded on first enrolment only.
  const { default: QRCode } = await import('qrcode');
  const qrSvg = await QRCode.toString(uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
  return { secret, uri, qrSvg };
}

const hashCode = (code: string) => createHash('sha256').update(code.replace(/[\s-]/g, '').toLowerCase()).digest('hex');

function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODES }, () => {
    const hex = randomBytes(8).toString('hex');
    return `${hex.slice(0, 4)}-${hex.slice(4, 8)}-${hex.slice(8, 12)}-${hex.slice(12)}`;
  });
}

/**
 * Confirms enrolment with a current code, turns the second factor on in the chosen mode and returns ten recovery
 * codes, shown once and stored only as hashes.
 */
export async function confirmEnrolment(
  db: Db,
  key: Buffer,
  userId: number,
  code: string,
  mode: Exclude<MfaMode, 'disabled'>,
  now = Date.now(),
): Promise<string[]> {
  const codes = newRecoveryCodes();
  await db.transaction().execute(async (trx) => {
    const user = await trx
      .selectFrom('users')
      .select(['name', 'totp_secret', 'totp_mode'])
      .where('id', '=', userId)
      .executeTakeFirstOrThrow();
    if (user.totp_mode !== 'disabled') throw fail('E_TFA_STATE', 'two-factor authentication is already enabled');
    if (!user.totp_secret) throw fail('E_TFA_STATE', 'start enrolment first');
    const step = matchStep(open(key, PURPOSE, user.totp_secret).toString(), code, now);
    if (step === null)
      throw fail('E_TFA_CODE', 'that code is not right: check the time on your device and try the current code');
    await trx.updateTable('users').set({ totp_mode: mode, totp_last_step: step }).where('id', '=', userId).execute();
    await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
    await trx
      .insertInto('recovery_codes')
      .values(codes.map((c) => ({ user_id: userId, code_hash: hashCode(c), created_at: now, used_at: null })))
      .execute();
    await recordEvent(
      trx,
      { kind: EventKind.UserMfaEnabled, subject: user.name, actorId: userId, data: { mode } },
      now,
    );
  });
  return codes;
}

export type SecondFactorResult = { ok: true; via: 'totp' | 'recovery-code' } | { ok: false };

/**
 * Checks a second-factor code: a TOTP code (once only) or, failing that, an unused recovery code. Concurrent use
 * of one code is settled by conditional updates, so exactly one request wins.
 */
export async function checkSecondFactor(
  db: Db,
  key: Buffer,
  userId: number,
  code: string,
  now = Date.now(),
): Promise<SecondFactorResult> {
  const user = await db
    .selectFrom('users')
    .select(['name', 'totp_secret', 'totp_mode', 'totp_last_step'])
    .where('id', '=', userId)
    .executeTakeFirst();
  if (!user || user.totp_mode === 'disabled' || !user.totp_secret) return { ok: false };
  const trimmed = code.trim();
  const step = matchStep(open(key, PURPOSE, user.totp_secret).toString(), trimmed, now);
  if (step !== null) {
    if (step <= user.totp_last_step) return { ok: false };
    const res = await db
      .updateTable('users')
      .set({ totp_last_step: step })
      .where('id', '=', userId)
      .where('totp_last_step', '<', step)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1 ? { ok: true, via: 'totp' } : { ok: false };
  }
  if (!/^[0-9a-f-]{16,19}$/i.test(trimmed.replace(/\s/g, ''))) return { ok: false };
  const wanted = Buffer.from(hashCode(trimmed), 'hex');
  const rows = await db
    .selectFrom('recovery_codes')
    .select(['id', 'code_hash'])
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .execute();
  const row = rows.find((r) => timingSafeEqual(Buffer.from(r.code_hash, 'hex'), wanted));
  if (!row) return { ok: false };
  return db.transaction().execute(async (trx) => {
    const res = await trx
      .updateTable('recovery_codes')
      .set({ used_at: now })
      .where('id', '=', row.id)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return { ok: false } as const;
    await recordEvent(
      trx,
      { kind: EventKind.RecoveryCodeUsed, subject: user.name, actorId: userId, data: { remaining: rows.length - 1 } },
      now,
    );
    return { ok: true, via: 'recovery-code' } as const;
  });
}

/** Turns the second factor off; the caller must have checked a current code first. */
export async function disableMfa(db: Db, userId: number, actorId: number, now = Date.now()): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const user = await trx.selectFrom('users').select('name').where('id', '=', userId).executeTakeFirstOrThrow();
    await trx
      .updateTable('users')
      .set({ totp_mode: 'disabled', totp_secret: null, totp_last_step: 0 })
      .where('id', '=', userId)
      .execute();
    await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
    await recordEvent(trx, { kind: EventKind.UserMfaDisabled, subject: user.name, actorId, data: {} }, now);
  });
}

export async function regenerateRecoveryCodes(db: Db, userId: number, now = Date.now()): Promise<string[]> {
  const codes = newRecoveryCodes();
  await db.transaction().execute(async (trx) => {
    const user = await trx
      .selectFrom('users')
      .select(['name', 'totp_mode'])
      .where('id', '=', userId)
      .executeTakeFirstOrThrow();
    if (user.totp_mode === 'disabled')
      throw fail('E_TFA_STATE', 'recovery codes belong to two-factor authentication, which is not enabled');
    await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
    await trx
      .insertInto('recovery_codes')
      .values(codes.map((c) => ({ user_id: userId, code_hash: hashCode(c), created_at: now, used_at: null })))
      .execute();
    await recordEvent(
      trx,
      { kind: EventKind.RecoveryCodesRegenerated, subject: user.name, actorId: userId, data: {} },
      now,
    );
  });
  return codes;
}
