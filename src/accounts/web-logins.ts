// Requests a browser answers for npm: web login (`npm login`/`npm adduser` with auth-type=web, approved on a page and
// answered with a new token) and web OTP (a write that needs a second factor, approved on a page with a code and
// answered with a single-use grant that npm sends back as its `npm-otp` header).
//
// Each request has two unguessable ids: the page id (in the URL the user opens) and the done id (in the URL npm polls).
// Only their SHA-256 is stored, and the hash covers what the id is for ("login-page", "otp-done", …), so one kind of
// id never opens another kind of request. The page id also carries, readable, what the page shows about the client
// (its hostname, address and user agent); the hash covers that too, so editing it makes the id unknown.
import { createHash, randomBytes } from 'node:crypto';
import { open, seal } from '../crypto/secret-key.ts';
import type { Db } from '../store/db.ts';
import { EventKind } from '../store/events.ts';
import type { SessionRow, UserRow, WebLoginsTable } from '../store/schema.ts';
import type { Selectable } from 'kysely';
import { createToken } from '../tokens/service.ts';

export type Purpose = 'login' | 'otp';

/** How long the user has to approve a request. */
export const REQUEST_TTL_MS = 10 * 60_000;
/** How long a delivered web-OTP grant stays usable: long enough for npm to retry the write. */
export const GRANT_TTL_MS = 5 * 60_000;
/** What npm is told to wait between polls (Retry-After); npm polls again at once when it is missing. */
export const POLL_SECONDS = 2;
// Rows are kept this long after expiry so a late poll learns "expired or used" (410) rather than "unknown" (404).
const KEEP_AFTER_EXPIRY_MS = 60 * 60_000;

const GRANT_PREFIX = 'web-otp.';
const RANDOM = /^[A-Za-z0-9_-]{43}$/;
const PAGE_ID = /^([A-Za-z0-9_-]{1,440})\.([A-Za-z0-9_-]{43})$/;

const hashId = (use: string, id: string): string => createHash('sha256').update(`${use}:${id}`).digest('hex');
const random = (): string => randomBytes(32).toString('base64url');

/** What the approval page tells the user about the client that asked. Display only: it is whatever the client sent. */
export type ClientInfo = { hostname: string | null; ip: string; agent: string; what?: string };

export type WebLoginRow = Selectable<WebLoginsTable>;

function clip(value: unknown, max: number): string {
  // eslint-disable-next-line no-control-regex -- control characters never belong on the page
  return typeof value === 'string' ? value.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, max) : '';
}

/** A hostname as npm (or a script) might send it: letters, digits, dots, dashes; anything else is dropped. */
export function cleanHostname(value: unknown): string | null {
  const s = clip(value, 64).trim();
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(s) ? s : null;
}

// Printable ASCII without quotes or backslashes, so the id stays well inside the router's 512-character limit.
const ascii = (value: string, max: number): string => value.replace(/[^\x20-\x7e]|["\\]/g, '').slice(0, max);

function encodeInfo(info: ClientInfo): string {
  const compact = {
    h: info.hostname,
    i: ascii(info.ip, 45),
    a: ascii(info.agent, 60),
    ...(info.what ? { w: ascii(info.what, 40) } : {}),
  };
  return Buffer.from(JSON.stringify(compact)).toString('base64url');
}

function decodeInfo(encoded: string): ClientInfo | null {
  try {
    const v = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as {
      h?: unknown;
      i?: unknown;
      a?: unknown;
      w?: unknown;
    };
    return {
      hostname: cleanHostname(v.h),
      ip: clip(v.i, 45),
      agent: clip(v.a, 60),
      ...(typeof v.w === 'string' ? { what: clip(v.w, 40) } : {}),
    };
  } catch {
    return null;
  }
}

export type NewRequest = {
  purpose: Purpose;
  info: ClientInfo;
  createAccount?: boolean;
  /** the account a web-OTP request is for. */ userId?: number;
};

/** Stores a new pending request and returns its two ids (only their hashes are kept). */
export async function startRequest(db: Db, req: NewRequest, now: number): Promise<{ pageId: string; doneId: string }> {
  const pageId = `${encodeInfo(req.info)}.${random()}`;
  const doneId = random();
  await db
    .insertInto('web_logins')
    .values({
      login_hash: hashId(`${req.purpose}-page`, pageId),
      done_hash: hashId(`${req.purpose}-done`, doneId),
      create_account: req.createAccount ? 1 : 0,
      created_at: now,
      expires_at: now + REQUEST_TTL_MS,
      user_id: req.userId ?? null,
      token_sealed: null,
      delivered_at: null,
    })
    .execute();
  return { pageId, doneId };
}

/** The request a page id names, while it still waits for an answer; null when unknown, answered or expired. */
export async function findPending(
  db: Db,
  purpose: Purpose,
  pageId: string,
  now: number,
): Promise<{ row: WebLoginRow; info: ClientInfo } | null> {
  const m = PAGE_ID.exec(pageId);
  if (!m) return null;
  const row = await db
    .selectFrom('web_logins')
    .selectAll()
    .where('login_hash', '=', hashId(`${purpose}-page`, pageId))
    .executeTakeFirst();
  if (!row || row.token_sealed !== null || row.delivered_at !== null || row.expires_at <= now) return null;
  // A login is pending until someone approves it; a web-OTP request belongs to its account from the start.
  if (purpose === 'login' ? row.user_id !== null : row.user_id === null) return null;
  const info = decodeInfo(m[1]!);
  return info ? { row, info } : null;
}

/**
 * Approves a pending login for the user: the row is claimed first (so two approvals cannot both succeed), then the
 * token is created (recording token.created, which emails the user) and kept sealed until npm collects it.
 */
export async function approveLogin(
  db: Db,
  key: Buffer,
  rowId: number,
  user: Pick<UserRow, 'id' | 'name'>,
  info: ClientInfo,
  now: number,
): Promise<boolean> {
  const claimed = await db
    .updateTable('web_logins')
    .set({ user_id: user.id })
    .where('id', '=', rowId)
    .where('user_id', 'is', null)
    .where('token_sealed', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  if (Number(claimed.numUpdatedRows) !== 1) return false;
  const { token } = await createToken(
    db,
    {
      userId: user.id,
      userName: user.name,
      name: `npm login${info.hostname ? ` on ${info.hostname}` : ''} (web)`,
      kind: 'session',
    },
    now,
  );
  await db
    .updateTable('web_logins')
    .set({ token_sealed: seal(key, 'web-login-token', Buffer.from(token)) })
    .where('id', '=', rowId)
    .execute();
  return true;
}

/**
 * Approves a pending web-OTP request after the page checked a code: a fresh grant replaces the page id (so the page
 * cannot be answered twice) and waits sealed for npm's poll. Returns false if the request was answered meanwhile.
 */
export async function approveOtp(db: Db, key: Buffer, row: WebLoginRow, now: number): Promise<boolean> {
  const grant = `${GRANT_PREFIX}${random()}`;
  const res = await db
    .updateTable('web_logins')
    .set({
      login_hash: hashId('otp-grant', grant),
      token_sealed: seal(key, 'web-otp-grant', Buffer.from(grant)),
      expires_at: now + GRANT_TTL_MS,
    })
    .where('id', '=', row.id)
    .where('login_hash', '=', row.login_hash)
    .where('token_sealed', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/** The user said no: the request is gone, and npm's next poll fails. */
export async function cancelRequest(db: Db, rowId: number): Promise<void> {
  await db.deleteFrom('web_logins').where('id', '=', rowId).where('token_sealed', 'is', null).execute();
}

export type Poll =
  { state: 'pending' } | { state: 'done'; token: string } | { state: 'gone'; status: 404 | 410; reason: string };

/** What npm's poll of a done id gets. The answer is handed out exactly once, settled by a conditional update. */
export async function poll(db: Db, key: Buffer, purpose: Purpose, doneId: string, now: number): Promise<Poll> {
  if (!RANDOM.test(doneId)) return { state: 'gone', status: 404, reason: 'unknown' };
  const row = await db
    .selectFrom('web_logins')
    .selectAll()
    .where('done_hash', '=', hashId(`${purpose}-done`, doneId))
    .executeTakeFirst();
  if (!row) return { state: 'gone', status: 404, reason: 'unknown' };
  if (row.delivered_at !== null) return { state: 'gone', status: 410, reason: 'used' };
  if (row.token_sealed !== null) {
    const res = await db
      .updateTable('web_logins')
      .set({ delivered_at: now, token_sealed: null })
      .where('id', '=', row.id)
      .where('delivered_at', 'is', null)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return { state: 'gone', status: 410, reason: 'used' };
    return {
      state: 'done',
      token: open(key, purpose === 'login' ? 'web-login-token' : 'web-otp-grant', row.token_sealed).toString(),
    };
  }
  if (row.expires_at <= now) return { state: 'gone', status: 410, reason: 'expired' };
  return { state: 'pending' };
}

export const looksLikeGrant = (otp: string): boolean => otp.startsWith(GRANT_PREFIX);

/** Spends a delivered web-OTP grant of this user, once. False for anything else. */
export async function consumeGrant(db: Db, userId: number, grant: string, now: number): Promise<boolean> {
  if (!looksLikeGrant(grant) || !RANDOM.test(grant.slice(GRANT_PREFIX.length))) return false;
  const res = await db
    .deleteFrom('web_logins')
    .where('login_hash', '=', hashId('otp-grant', grant))
    .where('user_id', '=', userId)
    .where('delivered_at', 'is not', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return Number(res.numDeletedRows) === 1;
}

/** Deletes requests long past their expiry. */
export async function sweep(db: Db, now: number): Promise<void> {
  await db
    .deleteFrom('web_logins')
    .where('expires_at', '<', now - KEEP_AFTER_EXPIRY_MS)
    .execute();
}

/**
 * Whether this session was signed in with the account's second factor. The web sign-in always asks for it once
 * two-factor authentication is on, so a session proves it when it was created after the latest enrolment; a session
 * from before (such as the one the user enrolled in) does not. Compared by event order, not by time, so two things
 * in the same millisecond are still told apart.
 */
export async function sessionUsedSecondFactor(db: Db, session: SessionRow, user: UserRow): Promise<boolean> {
  if (user.totp_mode === 'disabled') return false;
  const enrolled = await db
    .selectFrom('events')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .where('kind', '=', EventKind.UserMfaEnabled)
    .where('subject', '=', user.name)
    .executeTakeFirst();
  const since = Number(enrolled?.seq ?? 0);
  const created = await db
    .selectFrom('events')
    .select('data')
    .where('kind', '=', EventKind.SessionCreated)
    .where('subject', '=', user.name)
    .where('seq', '>', since)
    .where('created_at', '=', session.created_at)
    .execute();
  return created.some((e) => Number((JSON.parse(e.data) as { sessionId?: unknown }).sessionId) === Number(session.id));
}
