// An account's security history: its own security events, in readable sentences. The mapping from event to sentence
// is pure and reads only a fixed set of fields from each kind's data, so nothing an event might carry beyond those
// (today: no secrets at all; tomorrow: whatever a new field holds) can reach a page. The admin pages reuse both parts.
import type { Db } from '../store/db.ts';
import { EventKind } from '../store/events.ts';
import type { EventRow } from '../store/schema.ts';
import { describeUserAgent } from './user-agent.ts';

export type SecurityEntry = { when: number; what: string; details: string[] };

type Data = Record<string, unknown>;

const text = (v: unknown): string | null =>
  typeof v === 'string' && v ? v.slice(0, 200) : typeof v === 'number' ? String(v) : null;
const from = (d: Data): string[] => (text(d.ip) ? [`from ${text(d.ip)}`] : []);

const by = (d: Data): string[] => (text(d.by) ? [`by ${text(d.by)}`] : []);
const reason = (d: Data): string[] => (text(d.reason) ? [`reason: ${text(d.reason)}`] : []);

const MODES: Record<string, string> = {
  'auth-only': 'for signing in',
  'auth-and-writes': 'for signing in and for publishing and other changes',
};

const DESCRIBE: Record<string, (d: Data) => { what: string; details: string[] }> = {
  [EventKind.UserCreated]: () => ({ what: 'Account created', details: [] }),
  [EventKind.SessionCreated]: (d) => ({
    what: 'Signed in',
    details: [...from(d), ...(typeof d.userAgent === 'string' ? [`with ${describeUserAgent(d.userAgent)}`] : [])],
  }),
  [EventKind.UserPasswordChanged]: (d) => ({
    what: d.reset ? 'Password reset with an email link' : 'Password changed',
    details: [
      ...from(d),
      ...(typeof d.sessionsRevoked === 'number' && d.sessionsRevoked > 0
        ? [`${d.sessionsRevoked} ${d.sessionsRevoked === 1 ? 'session' : 'sessions'} signed out`]
        : []),
    ],
  }),
  [EventKind.UserPasswordResetRequested]: (d) => ({ what: 'Password reset requested', details: from(d) }),
  [EventKind.UserProfileChanged]: (d) => ({
    what: 'Profile changed',
    details: [
      ...(Array.isArray(d.fields) && d.fields.every((f) => typeof f === 'string' && /^[a-z]{1,20}$/.test(f))
        ? [d.fields.join(', ')]
        : []),
      ...from(d),
    ],
  }),
  [EventKind.UserEmailChanged]: (d) => ({
    what: 'Email address changed',
    details: [
      ...(text(d.oldEmail) ? [`from ${text(d.oldEmail)}`] : []),
      ...(text(d.newEmail) ? [`to ${text(d.newEmail)}`] : []),
    ],
  }),
  [EventKind.UserVerificationRequested]: (d) => ({
    what: 'Verification email requested',
    details: text(d.email) ? [`sent to ${text(d.email)}`] : [],
  }),
  [EventKind.UserEmailVerified]: (d) => ({
    what: text(d.by) ? 'Account approved by an administrator' : 'Email address verified',
    details: [...(text(d.email) ? [text(d.email)!] : []), ...by(d)],
  }),
  [EventKind.UserMfaEnabled]: (d) => ({
    what: 'Two-factor authentication enabled',
    details: typeof d.mode === 'string' && MODES[d.mode] ? [MODES[d.mode]!] : [],
  }),
  [EventKind.UserMfaDisabled]: () => ({ what: 'Two-factor authentication disabled', details: [] }),
  [EventKind.UserMfaModeChanged]: (d) => ({
    what: 'Two-factor authentication mode changed',
    details: typeof d.mode === 'string' && MODES[d.mode] ? [`now ${MODES[d.mode]!}`] : [],
  }),
  [EventKind.RecoveryCodeUsed]: (d) => ({
    what: 'Signed in with a recovery code',
    details:
      typeof d.remaining === 'number' ? [`${d.remaining} recovery ${d.remaining === 1 ? 'code' : 'codes'} left`] : [],
  }),
  [EventKind.RecoveryCodesRegenerated]: () => ({
    what: 'New recovery codes generated',
    details: ['the previous codes no longer work'],
  }),
  [EventKind.TokenCreated]: (d) => ({
    what: 'Access token created',
    details: [
      ...(text(d.name) ? [`named “${text(d.name)}”`] : []),
      ...(d.readonly ? ['read-only'] : []),
      ...(d.kind === 'session' ? ['by npm login'] : []),
    ],
  }),
  [EventKind.UserDisabled]: (d) => ({
    what: 'Account disabled by an administrator',
    details: [...by(d), ...reason(d)],
  }),
  [EventKind.UserEnabled]: (d) => ({
    what: 'Account enabled again by an administrator',
    details: [...by(d), ...reason(d)],
  }),
  [EventKind.UserDeleted]: (d) => ({ what: 'Account deleted by an administrator', details: [...by(d), ...reason(d)] }),
  [EventKind.UserPasswordResetForced]: (d) => ({
    what: 'Password reset by an administrator; everything signed out',
    details: [...by(d), ...reason(d)],
  }),
  [EventKind.UserRecoveryStarted]: (d) => ({
    what: 'Account recovery started by an administrator',
    details: [
      ...by(d),
      ...reason(d),
      ...(text(d.newEmail) ? [`new address ${text(d.newEmail)}`] : []),
      ...(d.disableMfa ? ['removes two-factor authentication'] : []),
    ],
  }),
  [EventKind.UserRecoveredByAdmin]: (d) => ({
    what: 'Account recovered by an administrator; everything signed out',
    details: by(d),
  }),
  [EventKind.UserRecoveryCancelled]: (d) => ({ what: 'Account recovery cancelled', details: [...by(d), ...reason(d)] }),
  [EventKind.UserSignInLocked]: (d) => ({ what: 'Sign-in blocked after many wrong passwords', details: from(d) }),
  [EventKind.TokenRevoked]: (d) => ({
    what: 'Access token revoked',
    details: typeof d.tokenId === 'number' ? [`token #${d.tokenId}`] : [],
  }),
};

/** The event kinds that belong in a security history (their subject is the user's name). */
export const SECURITY_EVENT_KINDS: readonly string[] = Object.keys(DESCRIBE);

/** An event as a sentence for its account's owner, or null when the kind is not part of a security history. Pure. */
export function describeSecurityEvent(event: EventRow): SecurityEntry | null {
  const describe = DESCRIBE[event.kind];
  if (!describe) return null;
  let data: Data = {};
  try {
    const parsed: unknown = JSON.parse(event.data);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) data = parsed as Data;
  } catch {
    // An unreadable payload still tells what happened and when.
  }
  return { when: event.created_at, ...describe(data) };
}

export type HistoryPage = { entries: Array<SecurityEntry & { seq: number }>; next: number | null };

/**
 * A page of the user's security history, newest first. `before` is the seq to continue from (the previous page's
 * `next`). Events are matched by the user's name and kind, and only from the account's creation on, so a package or an
 * earlier account that had the same name contributes nothing.
 */
export async function securityHistory(
  db: Db,
  user: number | string,
  { limit = 20, before = null }: { limit?: number; before?: number | null } = {},
): Promise<HistoryPage> {
  const owner = await db
    .selectFrom('users')
    .select(['name', 'created_at'])
    .where(typeof user === 'number' ? 'id' : 'name', '=', user)
    .executeTakeFirst();
  if (!owner) return { entries: [], next: null };
  const size = Math.max(1, Math.min(100, Math.floor(limit)));
  let q = db
    .selectFrom('events')
    .selectAll()
    .where('subject', '=', owner.name)
    .where('kind', 'in', SECURITY_EVENT_KINDS)
    .where('created_at', '>=', owner.created_at);
  if (before !== null) q = q.where('seq', '<', before);
  const rows = await q
    .orderBy('seq', 'desc')
    .limit(size + 1)
    .execute();
  const entries = rows.slice(0, size).flatMap((row) => {
    const entry = describeSecurityEvent(row);
    return entry ? [{ ...entry, seq: row.seq }] : [];
  });
  return { entries, next: rows.length > size ? rows[size - 1]!.seq : null };
}
