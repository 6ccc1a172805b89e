// Reports of malicious, suspicious, spam or typosquatting packages (GEN-2b), whichever way they arrive: the web form
// on a package page, `bulwark report`, or the JSON API. Each report lands on the moderation queue's open item for its
// name@version (several reporters, one item, a higher risk), is de-duplicated per reporter and name@version, is
// rate-limited per reporter and address, and records an event in the same transaction; the receipt and, later, the
// outcome are emailed from those events (src/notify/notifications.ts).
//
// Callers MUST have checked that the reporter may read the package (the gate's readPackage): a restricted package
// is a 404 to anyone else, here as everywhere.
import type { Transaction } from 'kysely';
import type { Attempt, Limiter, Rule } from '../accounts/limits.ts';
import { ClientError, fail, notFound } from '../errors.ts';
import type { Message } from '../notify/mailer.ts';
import { isUniqueViolation, type Db } from '../store/db.ts';
import { EventKind, recordEvent } from '../store/events.ts';
import type { Database } from '../store/schema.ts';
import { Source, insertOpenItem, trxWithModeration, withModeration } from './moderation-tables.ts';

export const REASONS = ['malicious', 'suspicious', 'spam', 'typosquat'] as const;
export type Reason = (typeof REASONS)[number];

export const REASON_LABELS: Record<Reason, string> = {
  malicious: 'malicious code (steals data, installs malware, sabotages)',
  suspicious: 'suspicious behaviour worth a look',
  spam: 'spam or junk',
  typosquat: 'typosquatting or impersonating another package',
};

export const DETAILS_MIN = 10;
export const DETAILS_MAX = 5000;

const HOUR = 3_600_000;

/**
 * How many reports one account (and one address) may file. Every report a moderator reads costs their time, so a
 * flood from one account is refused with 429 and Retry-After, as the sign-in limits are; moderators are not limited.
 * A report returned as a duplicate does not count.
 */
export const ReportRules = {
  reporter: { name: 'report-user', free: 20, baseMs: HOUR, maxMs: 24 * HOUR, windowMs: 24 * HOUR },
  address: { name: 'report-ip', free: 50, baseMs: HOUR, maxMs: 24 * HOUR, windowMs: 24 * HOUR },
} as const satisfies Record<string, Rule>;

// Base risk per reason; each further reporter of the same name@version adds to it.
const REASON_RISK: Record<Reason, number> = { malicious: 60, typosquat: 45, suspicious: 35, spam: 15 };
const PER_EXTRA_REPORTER = 10;

/** The risk of a report item from its reports' reasons (pure): the worst reason, plus weight for corroboration. */
export function reportRisk(reasons: readonly string[]): number {
  if (!reasons.length) return 0;
  const worst = Math.max(...reasons.map((r) => REASON_RISK[r as Reason] ?? 0));
  return Math.min(100, worst + PER_EXTRA_REPORTER * (reasons.length - 1));
}

export type ReportInput = { package: string; version: string | null; reason: string; details: string };

/** What is wrong with a report's fields, or null (pure). */
export function reportInputProblem(input: { reason: unknown; details: unknown; version?: unknown }): string | null {
  if (typeof input.reason !== 'string' || !(REASONS as readonly string[]).includes(input.reason))
    return `give a reason: one of ${REASONS.join(', ')}`;
  if (
    typeof input.details !== 'string' ||
    input.details.trim().length < DETAILS_MIN ||
    input.details.length > DETAILS_MAX
  ) {
    return `describe what you found in ${DETAILS_MIN} to ${DETAILS_MAX} characters: which files, what they do, links to evidence`;
  }
  if (
    input.version !== undefined &&
    input.version !== null &&
    (typeof input.version !== 'string' || !input.version || input.version.length > 256)
  )
    return 'the version must be a version string, or left out to report the whole package';
  return null;
}

/** Splits NAME@VERSION (NAME may be scoped: @scope/name@1.0.0). */
export function parseSpec(spec: string): { package: string; version: string | null } {
  const at = spec.lastIndexOf('@');
  if (at > 0) return { package: spec.slice(0, at), version: spec.slice(at + 1) || null };
  return { package: spec, version: null };
}

export type Reporter = { id: number; name: string; moderator: boolean };

export type ReportStatus = 'open' | 'resolved';

export type ReportView = {
  id: number;
  package: string;
  version: string | null;
  reason: string;
  details: string;
  status: ReportStatus;
  /** the moderator's decision once resolved: 'dismissed', 'quarantined', 'removed' or 'released'. */
  outcome: string | null;
  created: string;
  resolved: string | null;
};

/**
 * Files a report, or returns the reporter's earlier report of the same name@version (duplicate: true). Refuses with
 * 404 a package or version that is not published here, and with 429 a reporter past the limits.
 */
export async function fileReport(
  db: Db,
  limiter: Limiter | null,
  reporter: Reporter,
  address: string,
  input: ReportInput,
  now: number,
): Promise<{ report: ReportView; duplicate: boolean }> {
  const problem = reportInputProblem(input);
  if (problem) throw fail('E_REPORT_INVALID', problem);
  const versionKey = input.version ?? '';
  const existing = await findOwn(db, reporter.id, input.package, versionKey);
  if (existing) return { report: existing, duplicate: true };

  const limits: Attempt = [
    [ReportRules.reporter, String(reporter.id)],
    [ReportRules.address, address],
  ];
  if (limiter && !reporter.moderator) {
    try {
      await limiter.check(limits, 'reports');
    } catch (err) {
      // The limiter words its refusal for sign-in failures; a report is not a failure.
      if (err instanceof ClientError && err.code === 'E_RATE_LIMITED')
        throw new ClientError(
          'E_RATE_LIMITED',
          `too many reports from your account or address: try again in ${err.headers['retry-after'] ?? 'a few'} seconds`,
          err.headers,
        );
      throw err;
    }
  }

  const pkg = await db
    .selectFrom('packages')
    .select(['id', 'name'])
    .where('name', '=', input.package)
    .executeTakeFirst();
  if (!pkg) throw notFound(`${input.package} is not in this registry`);
  let publisherId: number | null;
  if (input.version !== null) {
    const v = await db
      .selectFrom('versions')
      .select(['publisher_id', 'state'])
      .where('package_id', '=', pkg.id)
      .where('version', '=', input.version)
      .executeTakeFirst();
    if (!v || v.state !== 'visible') throw notFound(`${input.package}@${input.version} is not published here`);
    publisherId = v.publisher_id;
  } else {
    const latest = await db
      .selectFrom('versions')
      .select('publisher_id')
      .where('package_id', '=', pkg.id)
      .where('state', '=', 'visible')
      .orderBy('published_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    publisherId = latest?.publisher_id ?? null;
  }

  const file = () =>
    db.transaction().execute(async (trx) => {
      const itemId = await openReportItem(trx, pkg.name, input.version, publisherId, now);
      const row = await trxWithModeration(trx)
        .insertInto('reports')
        .values({
          item_id: itemId,
          reporter_id: reporter.id,
          package: pkg.name,
          version_key: versionKey,
          reason: input.reason,
          details: input.details.trim(),
          created_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await rescoreReportItem(trx, itemId, now);
      await recordEvent(
        trx,
        {
          kind: EventKind.ReportReceived,
          subject: reporter.name,
          actorId: reporter.id,
          data: { reportId: Number(row.id), package: pkg.name, version: input.version, reason: input.reason },
        },
        now,
      );
      return Number(row.id);
    });
  let id: number;
  try {
    id = await file();
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    // The same reporter sent the same report twice at once: the other request filed it.
    const raced = await findOwn(db, reporter.id, input.package, versionKey);
    if (raced) return { report: raced, duplicate: true };
    // Someone else opened the item for this name@version meanwhile: this time the report joins it.
    id = await file();
  }
  if (limiter && !reporter.moderator) await limiter.fail(limits);
  const { reporterId: _r, ...report } = (await reportById(db, id))!;
  return { report, duplicate: false };
}

/** The open 'report' item for name@version, created if there is none. */
async function openReportItem(
  trx: Transaction<Database>,
  name: string,
  version: string | null,
  publisherId: number | null,
  now: number,
): Promise<number> {
  const t = trxWithModeration(trx);
  const openKey = `${Source.Report}:${name}@${version ?? ''}`;
  const found = await t.selectFrom('moderation_items').select('id').where('open_key', '=', openKey).executeTakeFirst();
  if (found) return Number(found.id);
  return insertOpenItem(
    t,
    { source: Source.Report, package: name, version, risk: 0, summary: '', evidence: '{}', publisherId, openKey },
    now,
  );
}

async function rescoreReportItem(trx: Transaction<Database>, itemId: number, now: number): Promise<void> {
  const t = trxWithModeration(trx);
  const reasons = (await t.selectFrom('reports').select('reason').where('item_id', '=', itemId).execute()).map(
    (r) => r.reason,
  );
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  const summary = [...counts].map(([r, n]) => `${n} × ${r}`).join(', ');
  await t
    .updateTable('moderation_items')
    .set({ risk: reportRisk(reasons), summary, updated_at: now })
    .where('id', '=', itemId)
    .execute();
}

function reportQuery(db: Db) {
  return withModeration(db)
    .selectFrom('reports')
    .innerJoin('moderation_items', 'moderation_items.id', 'reports.item_id')
    .select([
      'reports.id',
      'reports.package',
      'reports.version_key',
      'reports.reason',
      'reports.details',
      'reports.created_at',
      'reports.reporter_id',
      'moderation_items.status',
      'moderation_items.resolution',
      'moderation_items.resolved_at',
    ]);
}

type ReportRow = {
  id: number;
  package: string;
  version_key: string;
  reason: string;
  details: string;
  created_at: number;
  status: string;
  resolution: string | null;
  resolved_at: number | null;
};

const toView = (r: ReportRow): ReportView => ({
  id: Number(r.id),
  package: r.package,
  version: r.version_key || null,
  reason: r.reason,
  details: r.details,
  status: r.status === 'open' ? 'open' : 'resolved',
  outcome: r.status === 'open' ? null : r.resolution,
  created: new Date(r.created_at).toISOString(),
  resolved: r.resolved_at === null ? null : new Date(r.resolved_at).toISOString(),
});

async function findOwn(db: Db, reporterId: number, name: string, versionKey: string): Promise<ReportView | null> {
  const row = await reportQuery(db)
    .where('reports.reporter_id', '=', reporterId)
    .where('reports.package', '=', name)
    .where('reports.version_key', '=', versionKey)
    .executeTakeFirst();
  return row ? toView(row) : null;
}

export async function reportById(db: Db, id: number): Promise<(ReportView & { reporterId: number }) | null> {
  const row = await reportQuery(db).where('reports.id', '=', id).executeTakeFirst();
  return row ? { ...toView(row), reporterId: Number(row.reporter_id) } : null;
}

/** One reporter's reports, newest first. */
export async function listOwnReports(db: Db, reporterId: number, limit = 100): Promise<ReportView[]> {
  return (
    await reportQuery(db)
      .where('reports.reporter_id', '=', reporterId)
      .orderBy('reports.id', 'desc')
      .limit(limit)
      .execute()
  ).map(toView);
}

// --- emails (pure) ---------------------------------------------------------------------------------------------

const OUTCOMES: Record<string, string> = {
  dismissed: 'The moderators looked into it and took no action against the package.',
  quarantined: 'The version was quarantined: nobody can install it while the moderators review it.',
  removed:
    'It was removed as malicious: it can no longer be installed, and its name@version can never be published again.',
  released: 'The moderators reviewed the held version and released it: they found it safe to install.',
};

const footer = (base: string) =>
  `\n\n--\nSent by the package registry at ${base}. You can see your reports at ${base}/-/web/reports.`;

const what = (d: Record<string, unknown>) =>
  `${String(d.package)}${typeof d.version === 'string' && d.version ? `@${d.version}` : ''}`;

/** The receipt (report.received) and the outcome (report.resolved) emails, from the event's data. */
export function reportEmail(
  kind: string,
  d: Record<string, unknown>,
  user: { name: string; email: string },
  base: string,
): Message | null {
  if (kind === EventKind.ReportReceived) {
    return {
      to: user.email,
      subject: `Report #${String(d.reportId)} received: ${what(d)}`,
      text: `Hello ${user.name},\n\nThank you: your report #${String(d.reportId)} of ${what(d)} as ${String(d.reason)} reached the registry's moderators. They review reports in order of risk, and you will get another email when they have decided.${footer(base)}`,
    };
  }
  if (kind === EventKind.ReportResolved) {
    const outcome = OUTCOMES[String(d.outcome)] ?? `The moderators resolved it (${String(d.outcome)}).`;
    return {
      to: user.email,
      subject: `Report #${String(d.reportId)} resolved: ${what(d)}`,
      text: `Hello ${user.name},\n\nThe moderators have decided on your report #${String(d.reportId)} of ${what(d)}.\n\n${outcome}\n\nThank you for helping keep this registry safe.${footer(base)}`,
    };
  }
  return null;
}
