// What a POST to npm's /-/npm/v1/user asks for, read from the JSON npm-profile's set() sends. npm/cli's
// lib/commands/profile.js sends one of: every writable field with one of them changed (`npm profile set`), that plus
// `password: {old, new}` (`npm profile set password`), `tfa: {mode, password}` to begin two-factor enrolment, change
// its mode or (mode "disable") turn it off, and `tfa: [code]` to confirm an enrolment. Pure: the rules about who may
// change what, and with which proof, are in profile.ts.
import { fail } from '../errors.ts';
import type { EnabledMode } from './mfa-mode.ts';
import { isEnabledMode } from './mfa-mode.ts';
import { PASSWORD_MAX } from './passwords.ts';

/** The public fields `npm profile set` writes besides email and password. */
export const PROFILE_FIELDS = ['fullname', 'homepage', 'freenode', 'twitter', 'github'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

export type ProfileRequest =
  | { kind: 'tfa-enable'; mode: EnabledMode; password: string }
  | { kind: 'tfa-disable'; password: string }
  | { kind: 'tfa-confirm'; code: string }
  | {
      kind: 'update';
      /** the fields sent, null to clear one (npm-profile sends '' as null). */
      fields: Partial<Record<ProfileField, string | null>>;
      email?: string;
      /** the current password, sent beside a new email address. */
      currentPassword?: string;
      password?: { old: string; new: string };
    };

const invalid = (message: string) => fail('E_INVALID_REQUEST', message);

const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

// Letters may be anything a name is written in; control characters never are.
const CONTROL = /\p{Cc}/u;
const HANDLE = /^@?[\p{L}\p{N}._-]{1,64}$/u;

/** Why a field's value is refused, or null. Pure. */
export function fieldProblem(field: ProfileField, value: string): string | null {
  if (CONTROL.test(value)) return `${field} must not contain control characters`;
  switch (field) {
    case 'fullname':
      return value.length > 128 ? 'fullname must be at most 128 characters' : null;
    case 'homepage': {
      if (value.length > 512) return 'homepage must be at most 512 characters';
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        return 'homepage must be an http:// or https:// address';
      }
      // Shown as a link on pages: nothing but the web's own schemes.
      return url.protocol === 'http:' || url.protocol === 'https:'
        ? null
        : 'homepage must be an http:// or https:// address';
    }
    default:
      return HANDLE.test(value)
        ? null
        : `${field} must be a handle: up to 64 letters, digits, ".", "_" or "-", optionally after "@"`;
  }
}

const secret = (v: unknown, what: string): string => {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw invalid(`${what} must be a string`);
  if (v.length > PASSWORD_MAX) throw invalid(`${what} is too long`);
  return v;
};

function parseTfa(tfa: unknown): ProfileRequest {
  if (Array.isArray(tfa)) {
    if (tfa.length !== 1 || typeof tfa[0] !== 'string')
      throw invalid('to confirm two-factor enrolment send tfa as a list holding the one code from your app');
    return { kind: 'tfa-confirm', code: tfa[0].replace(/\s+/g, '').slice(0, 64) };
  }
  if (!isRecord(tfa)) throw invalid('tfa must be {"mode", "password"} or a list holding one code');
  const password = secret(tfa.password, 'tfa.password');
  if (tfa.mode === 'disable') return { kind: 'tfa-disable', password };
  if (!isEnabledMode(tfa.mode)) throw invalid('tfa.mode must be "auth-only", "auth-and-writes" or "disable"');
  return { kind: 'tfa-enable', mode: tfa.mode, password };
}

/**
 * Reads a profile change. `name` may be sent only as the caller's own (a username never changes here); any other
 * field is refused by name, so a typo is not silently ignored.
 * @throws ClientError 400 naming what is wrong.
 */
export function parseProfileRequest(body: unknown, ownName: string): ProfileRequest {
  if (!isRecord(body)) throw invalid('send the profile change as a JSON object');
  const { tfa, name, email, password, ...rest } = body;
  if (name !== undefined && name !== null && name !== ownName)
    throw invalid('the username cannot be changed, and only your own profile can be');
  if (tfa !== undefined && tfa !== null) {
    const others = Object.entries({ email, password, ...rest }).filter(([, v]) => v !== undefined && v !== null);
    if (others.length)
      throw invalid(`send two-factor changes on their own, without ${others.map(([k]) => k).join(', ')}`);
    return parseTfa(tfa);
  }
  const fields: Partial<Record<ProfileField, string | null>> = {};
  for (const [key, value] of Object.entries(rest)) {
    if (!(PROFILE_FIELDS as readonly string[]).includes(key))
      throw invalid(
        `"${key.slice(0, 40)}" is not a profile field: the fields are email, password, ${PROFILE_FIELDS.join(', ')}`,
      );
    const field = key as ProfileField;
    if (value === null || value === '') fields[field] = null;
    else if (typeof value !== 'string') throw invalid(`${field} must be a string or null`);
    else {
      const trimmed = value.trim();
      const problem = fieldProblem(field, trimmed);
      if (problem) throw invalid(problem);
      fields[field] = trimmed || null;
    }
  }
  const request: ProfileRequest = { kind: 'update', fields };
  if (email !== undefined) {
    if (typeof email !== 'string' || email.trim() === '')
      throw invalid('email must be an address: it cannot be removed');
    request.email = email.trim();
  }
  if (isRecord(password)) {
    request.password = { old: secret(password.old, 'password.old'), new: secret(password.new, 'password.new') };
  } else if (password !== undefined && password !== null) {
    // Beside a new email address, the current password (what the web form asks for too).
    request.currentPassword = secret(password, 'password');
  }
  return request;
}
