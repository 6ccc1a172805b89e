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
  TeamCreated: 'org.team-created',
  TeamDeleted: 'org.team-deleted',
  TeamGrantAdded: 'package.team-access-granted',
  TeamGrantRemoved: 'package.team-access-revoked',
  TeamMemberAdded: 'org.team-member-added',
  TeamMemberRemoved: 'org.team-member-removed',
  TokenCreated: 'token.created',
  TokenRevoked: 'token.revoked',
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

export type NewEvent = { kind: EventKindValue; subject: string; actorId: number | null; data?: Record<string, unknown> };

/** Records an event. Callers MUST pass the transaction that makes the change the event describes. */
export async function recordEvent(trx: Transaction<Database>, event: NewEvent, now: number): Promise<void> {
  await trx
    .insertInto('events')
    .values({ kind: event.kind, subject: event.subject, actor_id: event.actorId, data: JSON.stringify(event.data ?? {}), created_at: now })
    .execute();
}

export async function latestSeq(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('events').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
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

export async function eventsAfter(db: Kysely<Database>, seq: number, limit: number): Promise<EventRow[]> {
  return db.selectFrom('events').selectAll().where('seq', '>', seq).orderBy('seq').limit(limit).execute();
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
      .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '=', this.owner), eb('lease_until', '<', now)]))
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Processes what is pending; returns how many events were handled (0 when another node holds the lease). */
  async runOnce(): Promise<number> {
    if (!(await this.#acquire())) return 0;
    const { name, batch, handle } = this.#opts;
    // Nothing new: done without taking the horizon's lock. Otherwise read only up to the horizon (see eventHorizon).
    const start = await this.#db.selectFrom('consumer_cursors').select('position').where('name', '=', name).executeTakeFirstOrThrow();
    if ((await latestSeq(this.#db)) <= start.position) return 0;
    const horizon = await eventHorizon(this.#db);
    let handled = 0;
    for (;;) {
      const done = await this.#db.transaction().execute(async (trx) => {
        const cursor = await trx.selectFrom('consumer_cursors').select(['position', 'lease_owner']).where('name', '=', name).executeTakeFirstOrThrow();
        if (cursor.lease_owner !== this.owner) return -1;
        const events = await trx.selectFrom('events').selectAll().where('seq', '>', cursor.position).where('seq', '<=', horizon).orderBy('seq').limit(batch).execute();
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
    await this.#db.updateTable('consumer_cursors').set({ lease_owner: null, lease_until: 0 }).where('name', '=', this.#opts.name).where('lease_owner', '=', this.owner).execute();
  }
}
