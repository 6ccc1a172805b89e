// The moderation queue's event consumer: what happens elsewhere reaches the queue through the domain-event stream, as
// the transparency log and email do, with its own durable, leased cursor (store/events.ts Consumer). A security-form
// report becomes an item, an answered one resolves it, and a version removed as malicious outside its items (the
// administrators' `bulwark admin package remove-malicious`, another item about the same version) resolves the items
// about it and tells their reporters. Each change commits with the cursor, so it happens once however many nodes run,
// and no page a moderator opens writes anything.
import type { Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../store/db.ts';
import { Consumer, EventKind, recordEvent, runEvery } from '../store/events.ts';
import type { Database, EventRow } from '../store/schema.ts';
import type { SecurityReportsTable } from '../names/tables.ts';
import { itemSubject, tellReporters } from './moderation.ts';
import { Source, openItemRow, trxWithModeration } from './moderation-tables.ts';

/** The consumer's cursor name in consumer_cursors. */
export const MODERATION_CURSOR = 'moderation';

type Trx = Transaction<Database>;

const withQueue = (trx: Trx) => trxWithModeration(trx).withTables<{ security_reports: SecurityReportsTable }>();

/** 'security-report:ID' → ID. */
const securityReportId = (subject: string): number | null => {
  const m = /^security-report:(\d{1,15})$/.exec(subject);
  return m ? Number(m[1]) : null;
};

/** A security-form report becomes an item (administrators only see those: they are about the registry itself). */
async function queueSecurityReport(trx: Trx, id: number, now: number): Promise<void> {
  const q = withQueue(trx);
  const report = await q
    .selectFrom('security_reports')
    .select(['id', 'subject', 'created_at'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!report) return;
  await q
    .insertInto('moderation_items')
    .values(
      openItemRow(
        {
          source: Source.SecurityForm,
          package: null,
          version: null,
          risk: 50,
          summary: report.subject,
          evidence: '{}',
          publisherId: null,
          refId: id,
          openKey: `${Source.SecurityForm}:${id}`,
        },
        now,
        report.created_at,
      ),
    )
    .onConflict((oc) => oc.columns(['source', 'ref_id']).doNothing())
    .execute();
}

/** An answer on the security-reports page resolves the report's item. */
async function resolveAnswered(trx: Trx, id: number, now: number): Promise<void> {
  await trxWithModeration(trx)
    .updateTable('moderation_items')
    .set({ status: 'resolved', resolution: 'answered', open_key: null, resolved_at: now, updated_at: now })
    .where('source', '=', Source.SecurityForm)
    .where('ref_id', '=', id)
    .where('status', '=', 'open')
    .execute();
}

/**
 * Resolves the open items about a package's versions that are removed as malicious (a whole-package item once no
 * version of it is left), and tells their reporters. Asked on a removal and on a report: whichever of the two commits
 * last is handled last, and by then both are visible, so a report racing a removal is resolved too.
 */
async function resolveRemoved(trx: Trx, name: string, now: number): Promise<void> {
  const t = trxWithModeration(trx);
  const open = await t
    .selectFrom('moderation_items')
    .select(['id', 'package', 'version', 'source'])
    .where('status', '=', 'open')
    .where('package', '=', name)
    .where('source', '!=', Source.SecurityForm)
    .execute();
  if (!open.length) return;
  const versions = await trx
    .selectFrom('versions')
    .innerJoin('packages', 'packages.id', 'versions.package_id')
    .select(['versions.version', 'versions.state'])
    .where('packages.name', '=', name)
    .execute();
  for (const i of open) {
    const gone =
      i.version === null
        ? versions.some((v) => v.state === 'removed') &&
          versions.every((v) => v.state === 'removed' || v.state === 'unpublished')
        : versions.some((v) => v.version === i.version && v.state === 'removed');
    if (!gone) continue;
    const res = await t
      .updateTable('moderation_items')
      .set({ status: 'resolved', resolution: 'removed', open_key: null, resolved_at: now, updated_at: now })
      .where('id', '=', i.id)
      .where('status', '=', 'open')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) continue;
    await recordEvent(
      trx,
      {
        kind: EventKind.ModerationAction,
        subject: itemSubject(Number(i.id)),
        actorId: null,
        data: {
          action: 'removed-elsewhere',
          by: 'registry',
          reason: 'the version was removed as malicious outside this item',
          source: i.source,
          package: i.package,
          version: i.version,
        },
      },
      now,
    );
    await tellReporters(trx, Number(i.id), { package: i.package, version: i.version }, 'removed', now);
  }
}

/** Applies one event to the queue, in the consumer's transaction. Kinds the queue does not follow change nothing. */
export function moderationHandler(clock: () => number = Date.now) {
  return async (event: EventRow, trx: Trx): Promise<void> => {
    switch (event.kind) {
      case EventKind.SecurityReportReceived: {
        const id = securityReportId(event.subject);
        if (id !== null) await queueSecurityReport(trx, id, clock());
        return;
      }
      case EventKind.SecurityReportAnswered: {
        const id = securityReportId(event.subject);
        if (id !== null) await resolveAnswered(trx, id, clock());
        return;
      }
      // Subject: the package.
      case EventKind.MaliciousRemoved:
        await resolveRemoved(trx, event.subject, clock());
        return;
      // Subject: the reporter; the package is in the data.
      case EventKind.ReportReceived: {
        const name = (JSON.parse(event.data) as { package?: unknown }).package;
        if (typeof name === 'string') await resolveRemoved(trx, name, clock());
        return;
      }
      default:
        return;
    }
  };
}

export type ModerationConsumerDeps = { db: Db; logger: Logger; clock?: () => number };

/** Runs the moderation consumer every interval until stopped (started once per process, beside the notifier). */
export function startModerationConsumer(
  deps: ModerationConsumerDeps,
  intervalMs = 500,
): { stop(): Promise<void>; runOnce(): Promise<number> } {
  const consumer = new Consumer(deps.db, { name: MODERATION_CURSOR, handle: moderationHandler(deps.clock) });
  return runEvery(
    consumer,
    () => consumer.runOnce(),
    intervalMs,
    (err) => deps.logger.warn({ err }, 'moderation queue: applying events failed; will retry'),
  );
}
