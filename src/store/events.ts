// The domain-event stream. Every state change records its event in the same transaction as the change; consumers
// (transparency log, mail, feeds, cache invalidation) read the stream in order through durable cursors.
import { randomUUID } from 'node:crypto';
import { PostgresAdapter, sql, type Kysely, type Transaction } from 'kysely';
import type { Database, EventRow } from './schema.ts';

export const EventKind = {
  DistTagRemoved: 'package.dist-tag-removed',
  DistTagSet: 'package.dist-tag-set',
  MaintainerAdded: 'package.maintainer-added',
  MaliciousRemoved: 'package.malicious-removed',
  MaintainerRemoved: 'package.maintainer-removed',
  /** a moderator acted on a moderation-queue item; subject 'moderation-item:ID'. */
  ModerationAction: 'moderation.action',
  NameAllowed: 'name.allowed',
  NameReservationRemoved: 'name.reservation-removed',
  NameReserved: 'name.reserved',
  OrgCreated: 'org.created',
  OrgDeleted: 'org.deleted',
  OrgMemberAdded: 'org.member-added',
  OrgMemberRemoved: 'org.member-removed',
  OrgMemberRoleChanged: 'org.member-role-changed',
  PackageAccessChanged: 'package.access-changed',
  PackageCreated: 'package.created',
  PackageTransferred: 'package.transferred',
  PackageUnpublished: 'package.unpublished',
  RecoveryCodeUsed: 'user.recovery-code-used',
  RecoveryCodesRegenerated: 'user.recovery-codes-regenerated',
  /** a user reported a package; subject is the reporter's name (the receipt is emailed to them). */
  ReportReceived: 'report.received',
  /** a moderator resolved the item a report is on; subject is the reporter's name (the outcome is emailed). */
  ReportResolved: 'report.resolved',
  SecurityReportAnswered: 'security.report-answered',
  SecurityReportReceived: 'security.report-received',
  SessionCreated: 'session.created',
  SigningKeyCreated: 'registry.signing-key-created',
  SigningKeyRotated: 'registry.signing-key-rotated',
  /** a user starred a package (npm star); subject is the package, so its cached packument (`users`) is rebuilt. */
  StarAdded: 'package.starred',
  /** a user took their star back (npm unstar). */
  StarRemoved: 'package.unstarred',
  TeamCreated: 'org.team-created',
  TeamDeleted: 'org.team-deleted',
  TeamGrantAdded: 'package.team-access-granted',
  TeamGrantRemoved: 'package.team-access-revoked',
  TeamMemberAdded: 'org.team-member-added',
  TeamMemberRemoved: 'org.team-member-removed',
  TokenCreated: 'token.created',
  TokenRevoked: 'token.revoked',
  /** the upstream proxy served a version of a package not hosted here for the first time; subject is the package. */
  UpstreamVersionAdmitted: 'upstream.version-admitted',
  UserCreated: 'user.created',
  UserDeleted: 'user.deleted',
  UserDisabled: 'user.disabled',
  UserEnabled: 'user.enabled',
  UserPasswordResetForced: 'user.password-reset-forced',
  UserRecoveredByAdmin: 'user.recovered-by-admin',
  UserRecoveryCancelled: 'user.recovery-cancelled',
  UserRecoveryStarted: 'user.recovery-started',
  UserSignInLocked: 'user.sign-in-locked',
  UserEmailChanged: 'user.email-changed',
  UserEmailVerified: 'user.email-verified',
  UserMfaDisabled: 'user.mfa-disabled',
  UserMfaEnabled: 'user.mfa-enabled',
  UserMfaModeChanged: 'user.mfa-mode-changed',
  UserModeratorChanged: 'user.moderator-changed',
  UserPasswordChanged: 'user.password-changed',
  UserPasswordResetRequested: 'user.password-reset-requested',
  /** the public profile fields (npm profile set fullname, homepage, …) changed. */
  UserProfileChanged: 'user.profile-changed',
  UserVerificationRequested: 'user.verification-requested',
  VersionDeprecated: 'package.version-deprecated',
  VersionHeld: 'package.version-held',
  VersionPublished: 'package.version-published',
  VersionQuarantined: 'package.version-quarantined',
  VersionReleased: 'package.version-released',
  VersionUnpublished: 'package.version-unpublished',
  VersionsSigned: 'package.versions-signed',
} as const;
export type EventKindValue = (typeof EventKind)[keyof typeof EventKind];

type NoData = Record<string, never>;
/** Who acted, for what an administrator or moderator does to an account: their name. */
type ByStaff = { by: string };
/** What revoking an account's credentials ended. */
type Revoked = { sessions: number; tokens: number };

/**
 * What each kind of event records as its data. recordEvent accepts nothing else, and the consumers read these fields
 * (the transparency log's leaves through EventData), so a field is renamed here and at each of them, or nowhere.
 * Recorded events keep the data they were recorded with: a field is never removed or given another type, and a new one
 * is optional (older events lack it).
 */
export type EventPayloads = {
  [EventKind.DistTagRemoved]: { tag: string };
  [EventKind.DistTagSet]: { tag: string; version: string };
  [EventKind.MaintainerAdded]: { user: string };
  /** version: the one removed, or '*' for the whole package; actor: the moderator's name. */
  [EventKind.MaliciousRemoved]: { version: string; versions: string[]; reason: string; actor: string };
  [EventKind.MaintainerRemoved]: { user: string };
  [EventKind.ModerationAction]: {
    action: string;
    by: string;
    reason: string;
    source: string;
    package: string | null;
    version: string | null;
    detail?: string;
  };
  [EventKind.NameAllowed]: { reason: string };
  [EventKind.NameReservationRemoved]: NoData;
  [EventKind.NameReserved]: { org: string };
  [EventKind.OrgCreated]: { owner: string; claimedScope: boolean };
  [EventKind.OrgDeleted]: NoData;
  [EventKind.OrgMemberAdded]: { user: string; role: string };
  [EventKind.OrgMemberRemoved]: { user: string };
  [EventKind.OrgMemberRoleChanged]: { user: string; from: string; to: string };
  [EventKind.PackageAccessChanged]: { from: string; to: string };
  [EventKind.PackageCreated]: { access: string };
  /** from and to: comma-separated identities ("user:alice,user:bob"). */
  [EventKind.PackageTransferred]: { from: string; to: string; reason: string };
  /** deleted: an administrator deleted the package, for the reason given. */
  [EventKind.PackageUnpublished]: { versions: string[]; deleted?: true; reason?: string };
  [EventKind.RecoveryCodeUsed]: { remaining: number };
  [EventKind.RecoveryCodesRegenerated]: NoData;
  [EventKind.ReportReceived]: { reportId: number; package: string; version: string | null; reason: string };
  [EventKind.ReportResolved]: { reportId: number; package: string | null; version: string | null; outcome: string };
  /** Says that a report arrived or was answered, never what it says: the stream feeds public logs. */
  [EventKind.SecurityReportAnswered]: NoData;
  [EventKind.SecurityReportReceived]: NoData;
  [EventKind.SessionCreated]: { sessionId: number; ip: string; userAgent: string };
  [EventKind.SigningKeyCreated]: { keyid: string };
  [EventKind.SigningKeyRotated]: { keyid: string; expired: string[]; expiresAt: number };
  [EventKind.StarAdded]: { user: string };
  [EventKind.StarRemoved]: { user: string };
  [EventKind.TeamCreated]: { team: string };
  [EventKind.TeamDeleted]: { team: string; grants: string[] };
  /** team: "org:team". */
  [EventKind.TeamGrantAdded]: { team: string; permission: string };
  [EventKind.TeamGrantRemoved]: { team: string };
  [EventKind.TeamMemberAdded]: { team: string; user: string };
  [EventKind.TeamMemberRemoved]: { team: string; user: string };
  [EventKind.TokenCreated]: {
    tokenId: number;
    name: string;
    kind: string;
    readonly: boolean;
    scope: string;
    expiresAt: number | null;
    bypass2fa: boolean;
    ip?: string;
  };
  [EventKind.TokenRevoked]: { tokenId: number; name: string; kind: string };
  /** integrity: of the bytes checked and served; upstream: the upstream registry's base URL they came from. */
  [EventKind.UpstreamVersionAdmitted]: { version: string; integrity: string; upstream: string };
  [EventKind.UserCreated]: { admin: boolean; emailVerified: boolean };
  [EventKind.UserDeleted]: ByStaff & Revoked & { reason: string; orphaned: string[] };
  [EventKind.UserDisabled]: ByStaff & Revoked & { reason: string };
  [EventKind.UserEnabled]: ByStaff & { reason: string };
  [EventKind.UserPasswordResetForced]: ByStaff & Revoked & { reason: string; linkSent: boolean };
  [EventKind.UserRecoveredByAdmin]: ByStaff &
    Revoked & { startedSeq: number; newEmail: string | null; disableMfa: boolean };
  [EventKind.UserRecoveryCancelled]: ByStaff & { startedSeq: number; reason: string };
  [EventKind.UserRecoveryStarted]: ByStaff & {
    newEmail: string | null;
    disableMfa: boolean;
    reason: string;
    evidence: string;
    notBefore: number;
  };
  [EventKind.UserSignInLocked]: { ip: string };
  /** The user changed it, or an administrator's recovery did (the new address is then the account's). */
  [EventKind.UserEmailChanged]:
    { oldEmail: string; newEmail: string; ip: string } | (ByStaff & { oldEmail: string; recovery: true });
  /** By its owner's emailed link, or by an administrator approving the account (--email-verification admin). */
  [EventKind.UserEmailVerified]: { email: string } | ({ email: string } & ByStaff);
  /** The user turned it off, or an administrator's recovery removed it. */
  [EventKind.UserMfaDisabled]: NoData | (ByStaff & { recovery: true });
  [EventKind.UserMfaEnabled]: { mode: string };
  [EventKind.UserMfaModeChanged]: { from: string; mode: string };
  [EventKind.UserModeratorChanged]: { moderator: boolean };
  /** reset: through a reset link rather than with the old password. */
  [EventKind.UserPasswordChanged]: { reset: boolean; ip: string; sessionsRevoked: number };
  [EventKind.UserPasswordResetRequested]: { ip: string };
  /** fields: the names of the fields that changed (never their values: the stream feeds the log's consumers). */
  [EventKind.UserProfileChanged]: { fields: string[]; ip: string };
  [EventKind.UserVerificationRequested]: { email: string; ip: string };
  [EventKind.VersionDeprecated]: { version: string; message: string };
  [EventKind.VersionHeld]: { version: string; verdict: string; score: number | null };
  /**
   * Recorded by packages/visible.ts alone. tag: the dist-tag the publish moved, if any; tokenId: the token it came
   * with (null for a release); released: a held version a moderator let through. (Events recorded before both kinds
   * shared that step carry only one of tokenId and released.)
   */
  [EventKind.VersionPublished]: {
    version: string;
    integrity: string;
    tag: string | null;
    tokenId?: number | null;
    released?: boolean;
  };
  [EventKind.VersionQuarantined]: { version: string; reason: string };
  [EventKind.VersionReleased]: { version: string; reason: string };
  [EventKind.VersionUnpublished]: { version: string };
  [EventKind.VersionsSigned]: { keyid: string; versions: string[] };
};

/** The data an event of kind K records. */
export type EventData<K extends EventKindValue> = EventPayloads[K];

type EventOfKind<K extends EventKindValue> = {
  kind: K;
  subject: string;
  actorId: number | null;
} & (NoData extends EventPayloads[K] ? { data?: EventPayloads[K] } : { data: EventPayloads[K] });

/** An event to record: its kind decides the data it must carry (optional only for kinds with nothing to say). */
export type NewEvent = { [K in EventKindValue]: EventOfKind<K> }[EventKindValue];

/** Records an event. Callers MUST pass the transaction that makes the change the event describes. */
export async function recordEvent(trx: Transaction<Database>, event: NewEvent, now: number): Promise<void> {
  await trx
    .insertInto('events')
    .values({
      kind: event.kind,
      subject: event.subject,
      actor_id: event.actorId,
      data: JSON.stringify(event.data ?? {}),
      created_at: now,
    })
    .execute();
}

export async function latestSeq(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('events')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .executeTakeFirst();
  return Number(row?.seq ?? 0);
}

/**
 * The highest sequence number below which no transaction can still commit an event. PostgreSQL hands out sequence
 * numbers before commit, so a later number can become visible before an earlier one, and a cursor that moved past
 * the gap would skip the late event for ever. Taking the events table in EXCLUSIVE mode waits for every transaction
 * that is inserting an event (they hold ROW EXCLUSIVE until they end) and is released at once; numbers handed out
 * after it are all higher. SQLite has one writer at a time, so there is no gap to close.
 */
export async function eventHorizon(db: Kysely<Database>): Promise<number> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return latestSeq(db);
  return db.transaction().execute(async (trx) => {
    await sql`set local lock_timeout = '10s'`.execute(trx);
    await sql`lock table events in exclusive mode`.execute(trx);
    return latestSeq(trx);
  });
}

/** The next events after seq, in order; a consumer passes the horizon it may read up to (see eventHorizon). */
export async function eventsAfter<DB extends Database>(
  db: Kysely<DB>,
  seq: number,
  limit: number,
  horizon = Number.MAX_SAFE_INTEGER,
): Promise<EventRow[]> {
  // A database (or transaction) with a capability's tables besides reads the same events table.
  return (db as unknown as Kysely<Database>)
    .selectFrom('events')
    .selectAll()
    .where('seq', '>', seq)
    .where('seq', '<=', horizon)
    .orderBy('seq')
    .limit(limit)
    .execute();
}

export type ConsumerOptions = {
  name: string;
  /** Applies one event. Database writes go through trx, which also advances the cursor: both commit or neither does. */
  handle: (event: EventRow, trx: Transaction<Database>) => Promise<void>;
  leaseMs?: number;
  batch?: number;
  clock?: () => number;
};

/**
 * A durable consumer. Only the node holding the consumer's lease processes events, and the cursor moves in the same
 * transaction as the handler's writes, so with any number of nodes each event's effect happens once.
 */
export class Consumer {
  readonly owner = randomUUID();
  readonly #db: Kysely<Database>;
  readonly #opts: Required<Omit<ConsumerOptions, 'clock'>> & { clock: () => number };
  constructor(db: Kysely<Database>, opts: ConsumerOptions) {
    this.#db = db;
    this.#opts = { leaseMs: 30_000, batch: 100, clock: Date.now, ...opts };
  }

  async #acquire(): Promise<boolean> {
    const { name, leaseMs, clock } = this.#opts;
    const now = clock();
    await this.#db
      .insertInto('consumer_cursors')
      .values({ name, position: 0, lease_owner: null, lease_until: 0 })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const res = await this.#db
      .updateTable('consumer_cursors')
      .set({ lease_owner: this.owner, lease_until: now + leaseMs })
      .where('name', '=', name)
      .where((eb) =>
        eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '=', this.owner), eb('lease_until', '<', now)]),
      )
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Processes what is pending; returns how many events were handled (0 when another node holds the lease). */
  async runOnce(): Promise<number> {
    if (!(await this.#acquire())) return 0;
    const { name, batch, handle } = this.#opts;
    // Nothing new: done without taking the horizon's lock. Otherwise read only up to the horizon (see eventHorizon).
    const start = await this.#db
      .selectFrom('consumer_cursors')
      .select('position')
      .where('name', '=', name)
      .executeTakeFirstOrThrow();
    if ((await latestSeq(this.#db)) <= start.position) return 0;
    const horizon = await eventHorizon(this.#db);
    let handled = 0;
    for (;;) {
      const done = await this.#db.transaction().execute(async (trx) => {
        const cursor = await trx
          .selectFrom('consumer_cursors')
          .select(['position', 'lease_owner'])
          .where('name', '=', name)
          .executeTakeFirstOrThrow();
        if (cursor.lease_owner !== this.owner) return -1;
        const events = await eventsAfter(trx, cursor.position, batch, horizon);
        for (const event of events) await handle(event, trx);
        if (events.length) {
          // Conditional on still owning the lease: a node that lost it mid-batch rolls its work back.
          const res = await trx
            .updateTable('consumer_cursors')
            .set({ position: events.at(-1)!.seq })
            .where('name', '=', name)
            .where('lease_owner', '=', this.owner)
            .where('position', '=', cursor.position)
            .executeTakeFirst();
          if (Number(res.numUpdatedRows) !== 1) throw new Error(`consumer ${name} lost its lease`);
        }
        return events.length;
      });
      if (done <= 0) break;
      handled += done;
      if (done < batch) break;
    }
    return handled;
  }

  async release(): Promise<void> {
    await this.#db
      .updateTable('consumer_cursors')
      .set({ lease_owner: null, lease_until: 0 })
      .where('name', '=', this.#opts.name)
      .where('lease_owner', '=', this.owner)
      .execute();
  }
}

/**
 * Runs a consumer's work every interval until stopped: one run at a time, a failed run reported and retried at the
 * next tick, and on stop the run in progress awaited and the lease released.
 */
export function runEvery<T>(
  consumer: Consumer,
  runOnce: () => Promise<T>,
  intervalMs: number,
  onError: (err: unknown) => void,
): { runOnce: () => Promise<T>; stop(): Promise<void> } {
  let running: Promise<unknown> | null = null;
  const tick = () => {
    running ??= runOnce()
      .catch(onError)
      .finally(() => (running = null));
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    runOnce,
    async stop() {
      clearInterval(timer);
      await running;
      await consumer.release().catch(() => {});
    },
  };
}
