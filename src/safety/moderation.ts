// The moderation queue (GEN-2b, GEN-2c): users' reports, the publish scanner's findings and the security form's
// reports in one list ordered by risk, each with what a moderator needs to decide (the reports, the scanner's
// evidence, the publisher's recent activity) and one-click actions: dismiss, quarantine, release, remove as
// malicious, lock the publisher's account. The package actions are the lifecycle's own (packages/lifecycle.ts), the
// account lock is the administrators' audited disable (accounts/admin.ts), so each change records its own event
// there; this module adds the queue's decision as a 'moderation.action' event and tells every reporter the outcome
// ('report.resolved', emailed) in one transaction with the item's resolution. What happens outside the queue (security
// form reports, removals elsewhere) reaches it through its event consumer (moderation-consumer.ts), never a page view.
import type { Transaction } from 'kysely';
import { disableUser } from '../accounts/admin.ts';
import type { RegistryFacts } from '../access/decide.ts';
import { ClientError, fail, notFound } from '../errors.ts';
import type { SecurityReportsTable } from '../names/tables.ts';
import type { Lifecycle } from '../packages/lifecycle.ts';
import type { Db } from '../store/db.ts';
import { EventKind, recordEvent } from '../store/events.ts';
import type { Database } from '../store/schema.ts';
import { Source, insertOpenItem, trxWithModeration, withModeration, type SourceValue } from './moderation-tables.ts';

/** The lifecycle actions the queue calls (a Lifecycle, or a stand-in in tests). */
export type ModerationLifecycle = Pick<Lifecycle, 'removeMalicious' | 'quarantine' | 'release'>;

/**
 * A moderator or administrator acting through the queue, as the gate let them in. seesSecurityForm: decide() lets them
 * see the security form's items (administrators: those reports are about the registry itself).
 */
export type Moderator = { id: number; name: string; seesSecurityForm: boolean };

export type QueueItem = {
  id: number;
  source: SourceValue;
  package: string | null;
  version: string | null;
  risk: number;
  status: 'open' | 'resolved';
  resolution: string | null;
  summary: string;
  evidence: unknown;
  publisher: string | null;
  reports: number;
  createdAt: number;
  resolvedAt: number | null;
  /** for a security-form item: the security report's number. */
  refId: number | null;
};

const withQueue = (db: Db) => withModeration(db).withTables<{ security_reports: SecurityReportsTable }>();

const parseEvidence = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
};

/**
 * Records a finding of the publish scanner on the queue, in the publish's transaction, so a held or suspicious version
 * is never without its item. A second finding for the same name@version while the first is open updates that item.
 */
export async function queueScanFinding(
  trx: Transaction<Database>,
  f: { package: string; version: string; risk: number; summary: string; evidence: unknown; publisherId: number | null },
  now: number,
): Promise<number> {
  const t = trxWithModeration(trx);
  const risk = Math.max(0, Math.min(100, Math.round(f.risk)));
  const openKey = `${Source.Scan}:${f.package}@${f.version}`;
  const evidence = JSON.stringify(f.evidence ?? {});
  const found = await t
    .selectFrom('moderation_items')
    .select(['id', 'risk'])
    .where('open_key', '=', openKey)
    .executeTakeFirst();
  if (found) {
    await t
      .updateTable('moderation_items')
      .set({ risk: Math.max(risk, found.risk), summary: f.summary, evidence, updated_at: now })
      .where('id', '=', found.id)
      .execute();
    return Number(found.id);
  }
  return insertOpenItem(
    t,
    {
      source: Source.Scan,
      package: f.package,
      version: f.version,
      risk,
      summary: f.summary,
      evidence,
      publisherId: f.publisherId,
      openKey,
    },
    now,
  );
}

function itemQuery(db: Db) {
  return withQueue(db)
    .selectFrom('moderation_items')
    .leftJoin('users', 'users.id', 'moderation_items.publisher_id')
    .select((eb) => [
      'moderation_items.id',
      'moderation_items.source',
      'moderation_items.package',
      'moderation_items.version',
      'moderation_items.risk',
      'moderation_items.status',
      'moderation_items.resolution',
      'moderation_items.summary',
      'moderation_items.evidence',
      'moderation_items.ref_id',
      'moderation_items.created_at',
      'moderation_items.resolved_at',
      'moderation_items.publisher_id',
      'users.name as publisher',
      eb
        .selectFrom('reports')
        .select((r) => r.fn.countAll<number>().as('n'))
        .whereRef('reports.item_id', '=', 'moderation_items.id')
        .as('reports'),
    ]);
}

type ItemRow = Awaited<ReturnType<ReturnType<typeof itemQuery>['executeTakeFirstOrThrow']>>;

const toItem = (r: ItemRow): QueueItem => ({
  id: Number(r.id),
  source: r.source as SourceValue,
  package: r.package,
  version: r.version,
  risk: r.risk,
  status: r.status === 'open' ? 'open' : 'resolved',
  resolution: r.resolution,
  summary: r.summary,
  evidence: parseEvidence(r.evidence),
  publisher: r.publisher ?? null,
  reports: Number(r.reports ?? 0),
  createdAt: r.created_at,
  resolvedAt: r.resolved_at,
  refId: r.ref_id === null ? null : Number(r.ref_id),
});

/** The queue: open items by risk (highest first, oldest first among equals), or the latest resolved ones. */
export async function listQueue(
  db: Db,
  opts: { status: 'open' | 'resolved'; viewer: Moderator; limit?: number },
): Promise<QueueItem[]> {
  let q = itemQuery(db).where('moderation_items.status', '=', opts.status);
  // Security-form reports are about the registry itself: administrators only, as on the security-reports page.
  if (!opts.viewer.seesSecurityForm) q = q.where('moderation_items.source', '!=', Source.SecurityForm);
  q =
    opts.status === 'open'
      ? q.orderBy('moderation_items.risk', 'desc').orderBy('moderation_items.created_at').orderBy('moderation_items.id')
      : q.orderBy('moderation_items.resolved_at', 'desc').orderBy('moderation_items.id', 'desc');
  return (await q.limit(opts.limit ?? 200).execute()).map(toItem);
}

export type ItemReport = { id: number; reporter: string; reason: string; details: string; createdAt: number };
export type Publish = { package: string; version: string; publishedAt: number; state: string };
export type PublisherActivity = {
  name: string;
  isAdmin: boolean;
  disabled: boolean;
  createdAt: number;
  /** the publisher's latest versions across every package, newest first. */
  publishes: Publish[];
  last24h: number;
  last7d: number;
  /** their latest package changes other than publishes (tags, maintainers, access). */
  changes: Array<{ kind: string; subject: string; at: number }>;
};
export type ItemHistory = { action: string; by: string; reason: string; at: number };
export type ItemDetail = {
  item: QueueItem;
  reports: ItemReport[];
  /** the version's state now ('visible', 'quarantined', 'removed', …), or null for a package-level item. */
  versionState: string | null;
  publisher: PublisherActivity | null;
  history: ItemHistory[];
  securityReport: { id: number; email: string; body: string; status: string } | null;
};

const DAY = 86_400_000;

export async function publisherActivity(db: Db, userId: number, now: number): Promise<PublisherActivity | null> {
  const user = await db
    .selectFrom('users')
    .select(['name', 'is_admin', 'disabled_at', 'created_at'])
    .where('id', '=', userId)
    .executeTakeFirst();
  if (!user) return null;
  const [publishes, day, week, changes] = await Promise.all([
    db
      .selectFrom('versions')
      .innerJoin('packages', 'packages.id', 'versions.package_id')
      .select(['packages.name as package', 'versions.version', 'versions.published_at', 'versions.state'])
      .where('versions.publisher_id', '=', userId)
      .orderBy('versions.published_at', 'desc')
      .orderBy('versions.id', 'desc')
      .limit(20)
      .execute(),
    db
      .selectFrom('versions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('publisher_id', '=', userId)
      .where('published_at', '>', now - DAY)
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('versions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('publisher_id', '=', userId)
      .where('published_at', '>', now - 7 * DAY)
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('events')
      .select(['kind', 'subject', 'created_at'])
      .where('actor_id', '=', userId)
      .where('kind', 'like', 'package.%')
      .where('kind', '!=', EventKind.VersionPublished)
      .orderBy('seq', 'desc')
      .limit(10)
      .execute(),
  ]);
  return {
    name: user.name,
    isAdmin: user.is_admin === 1,
    disabled: user.disabled_at !== null,
    createdAt: user.created_at,
    publishes: publishes.map((p) => ({
      package: p.package,
      version: p.version,
      publishedAt: p.published_at,
      state: p.state,
    })),
    last24h: Number(day.n),
    last7d: Number(week.n),
    changes: changes.map((c) => ({ kind: c.kind, subject: c.subject, at: c.created_at })),
  };
}

/** The subject of an item's 'moderation.action' events. */
export const itemSubject = (id: number) => `moderation-item:${id}`;

async function mustFindItem(
  db: Db,
  id: number,
  viewer: Moderator,
): Promise<QueueItem & { publisherId: number | null }> {
  const row = await itemQuery(db).where('moderation_items.id', '=', id).executeTakeFirst();
  // A moderator who is not an administrator gets the 404 of a missing item for a security-form one.
  if (!row || (row.source === Source.SecurityForm && !viewer.seesSecurityForm))
    throw notFound(`no moderation item ${id}`);
  return { ...toItem(row), publisherId: row.publisher_id === null ? null : Number(row.publisher_id) };
}

/**
 * What decide() needs to know about an item before anyone acts on it or reads it (access/decide.ts RegistryFacts):
 * whether it is a security-form item, and whether its publisher is an administrator. null when there is no such item.
 */
export async function itemFacts(db: Db, id: number): Promise<NonNullable<RegistryFacts['item']> | null> {
  const row = await withModeration(db)
    .selectFrom('moderation_items')
    .leftJoin('users', 'users.id', 'moderation_items.publisher_id')
    .select(['moderation_items.source', 'users.is_admin'])
    .where('moderation_items.id', '=', id)
    .executeTakeFirst();
  return row ? { securityForm: row.source === Source.SecurityForm, publisherIsAdmin: row.is_admin === 1 } : null;
}

export async function itemDetail(db: Db, id: number, viewer: Moderator, now: number): Promise<ItemDetail> {
  const item = await mustFindItem(db, id, viewer);
  const q = withQueue(db);
  const [reports, version, publisher, events, security] = await Promise.all([
    q
      .selectFrom('reports')
      .innerJoin('users', 'users.id', 'reports.reporter_id')
      .select(['reports.id', 'users.name as reporter', 'reports.reason', 'reports.details', 'reports.created_at'])
      .where('reports.item_id', '=', id)
      .orderBy('reports.id')
      .execute(),
    item.package && item.version
      ? db
          .selectFrom('versions')
          .innerJoin('packages', 'packages.id', 'versions.package_id')
          .select('versions.state')
          .where('packages.name', '=', item.package)
          .where('versions.version', '=', item.version)
          .executeTakeFirst()
      : Promise.resolve(undefined),
    item.publisherId === null ? Promise.resolve(null) : publisherActivity(db, item.publisherId, now),
    db
      .selectFrom('events')
      .leftJoin('users', 'users.id', 'events.actor_id')
      .select(['events.data', 'events.created_at', 'users.name'])
      .where('events.kind', '=', EventKind.ModerationAction)
      .where('events.subject', '=', itemSubject(id))
      .orderBy('events.seq')
      .execute(),
    item.source === Source.SecurityForm && item.refId !== null
      ? q
          .selectFrom('security_reports')
          .select(['id', 'reporter_email', 'body', 'status'])
          .where('id', '=', item.refId)
          .executeTakeFirst()
      : Promise.resolve(undefined),
  ]);
  return {
    item,
    reports: reports.map((r) => ({
      id: Number(r.id),
      reporter: r.reporter,
      reason: r.reason,
      details: r.details,
      createdAt: r.created_at,
    })),
    versionState: version?.state ?? null,
    publisher,
    history: events.map((e) => {
      const d = JSON.parse(e.data) as Record<string, unknown>;
      return {
        action: String(d.action),
        by: e.name ?? String(d.by ?? ''),
        reason: typeof d.reason === 'string' ? d.reason : '',
        at: e.created_at,
      };
    }),
    securityReport: security
      ? { id: Number(security.id), email: security.reporter_email, body: security.body, status: security.status }
      : null,
  };
}

export const ACTIONS = ['dismiss', 'quarantine', 'release', 'remove', 'lock'] as const;
export type ModerationActionName = (typeof ACTIONS)[number];

/** What each action leaves the item as; lock changes the publisher's account, not the item. */
const RESOLUTION: Record<ModerationActionName, string | null> = {
  dismiss: 'dismissed',
  quarantine: 'quarantined',
  release: 'released',
  remove: 'removed',
  lock: null,
};

export type ModerationDeps = { db: Db; lifecycle: ModerationLifecycle; clock: () => number };

/**
 * Applies one moderator action to an item. The package and account changes are the lifecycle's and the account
 * administration's (each records its own event); then the item's resolution, the 'moderation.action' audit event and
 * one 'report.resolved' event per reporter commit together. Refuses with 409 what no longer applies. Callers MUST have
 * passed the gate for the action with the item's facts (itemFacts): Action.ModerationLock for 'lock', else
 * Action.ModerationAct.
 */
export async function moderate(
  deps: ModerationDeps,
  id: number,
  action: ModerationActionName,
  actor: Moderator,
  reasonGiven: string,
): Promise<{ resolution: string | null; detail: string }> {
  const { db, lifecycle, clock } = deps;
  const item = await mustFindItem(db, id, actor);
  const reason = reasonGiven.trim().slice(0, 500) || `moderation item #${id}${item.summary ? `: ${item.summary}` : ''}`;
  const who = { id: actor.id, name: actor.name };
  const needVersion = () => {
    if (!item.package || !item.version) throw fail('E_USAGE', 'this item is not about one version');
    return { name: item.package, version: item.version };
  };
  const apply = async (): Promise<string> => {
    switch (action) {
      case 'dismiss':
        if (item.status !== 'open') throw fail('E_MODERATION_STATE', 'this item is already resolved');
        return 'dismissed';
      case 'quarantine': {
        const { name, version } = needVersion();
        await lifecycle.quarantine(who, name, version, reason);
        return `${name}@${version} is quarantined`;
      }
      case 'release': {
        const { name, version } = needVersion();
        await lifecycle.release(who, name, version, reason);
        return `${name}@${version} is installable again`;
      }
      case 'remove': {
        if (!item.package) throw fail('E_USAGE', 'this item is not about a package');
        const reporters = await reporterNames(db, id);
        const evidence = item.source === Source.Scan ? JSON.stringify(item.evidence).slice(0, 4000) : item.summary;
        const removed = await lifecycle.removeMalicious(who, item.package, item.version, {
          reason,
          evidence,
          reporters,
        });
        return `removed ${removed.versions.length} version(s) of ${item.package}${removed.advisory ? `; advisory ${removed.advisory}` : ''}`;
      }
      case 'lock': {
        if (item.publisherId === null) throw fail('E_USAGE', 'this item has no publisher to lock');
        // Who may lock whom (only an administrator locks an administrator) was decided before: Action.ModerationLock.
        const target = await db
          .selectFrom('users')
          .select(['name', 'disabled_at'])
          .where('id', '=', item.publisherId)
          .executeTakeFirstOrThrow();
        if (target.disabled_at !== null) throw fail('E_MODERATION_STATE', `${target.name}'s account is already locked`);
        const revoked = await disableUser(db, target.name, who, reason, clock());
        return `${target.name}'s account is locked; ${revoked.tokens} token(s) and ${revoked.sessions} session(s) revoked`;
      }
    }
  };
  let detail: string;
  try {
    detail = await apply();
  } catch (err) {
    // The item exists; what it is about changed meanwhile (already removed, no longer quarantined…).
    if (err instanceof ClientError && err.code === 'E_NOT_FOUND') throw fail('E_MODERATION_STATE', err.message);
    throw err;
  }
  const resolution = RESOLUTION[action];
  const now = clock();
  let told = false;
  await db.transaction().execute(async (trx) => {
    const t = trxWithModeration(trx);
    if (resolution) {
      let update = t
        .updateTable('moderation_items')
        .set({
          status: 'resolved',
          resolution,
          open_key: null,
          resolved_by: actor.id,
          resolved_at: now,
          updated_at: now,
        })
        .where('id', '=', id);
      // Two moderators dismissing at once: the second is told, and reporters are told once.
      if (action === 'dismiss') update = update.where('status', '=', 'open');
      // The removal's own event can reach the moderation consumer before this transaction, which then resolved the
      // item as removed and told its reporters already: the action is still recorded, the reporters are not told twice.
      if (action === 'remove')
        update = update.where((eb) => eb.or([eb('status', '=', 'open'), eb('resolution', '!=', 'removed')]));
      const res = await update.executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0 && action !== 'remove')
        throw fail('E_MODERATION_STATE', 'this item is already resolved');
      told = Number(res.numUpdatedRows) === 0;
    }
    await recordEvent(
      trx,
      {
        kind: EventKind.ModerationAction,
        subject: itemSubject(id),
        actorId: actor.id,
        data: {
          action,
          by: actor.name,
          reason,
          source: item.source,
          package: item.package,
          version: item.version,
          detail,
        },
      },
      now,
    );
    if (resolution && !told) await tellReporters(trx, id, item, resolution, now);
  });
  return { resolution, detail };
}

async function reporterNames(db: Db, itemId: number): Promise<string[]> {
  const rows = await withModeration(db)
    .selectFrom('reports')
    .innerJoin('users', 'users.id', 'reports.reporter_id')
    .select('users.name')
    .where('reports.item_id', '=', itemId)
    .orderBy('reports.id')
    .execute();
  return rows.map((r) => r.name);
}

/** One 'report.resolved' event per reporter of the item (each is emailed the outcome), in the resolution's transaction. */
export async function tellReporters(
  trx: Transaction<Database>,
  itemId: number,
  item: Pick<QueueItem, 'package' | 'version'>,
  outcome: string,
  now: number,
): Promise<void> {
  const rows = await trxWithModeration(trx)
    .selectFrom('reports')
    .innerJoin('users', 'users.id', 'reports.reporter_id')
    .select(['reports.id', 'reports.reporter_id', 'users.name'])
    .where('reports.item_id', '=', itemId)
    .execute();
  for (const r of rows) {
    await recordEvent(
      trx,
      {
        kind: EventKind.ReportResolved,
        subject: r.name,
        actorId: null,
        data: { reportId: Number(r.id), package: item.package, version: item.version, outcome },
      },
      now,
    );
  }
}
