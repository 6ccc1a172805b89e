// Table types of migration 0013-reports, kept with the capability that owns them (db.withTables adds them).
//
// One queue holds everything a moderator looks at: users' reports, the publish scanner's findings and the security
// form's reports. A queue item is about one package or one version; reports from several people about the same
// name@version join the same open item, which is why reports live in their own table and point at their item.
import type { Generated, Insertable, Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema.ts';

export const Source = { Report: 'report', Scan: 'scan', SecurityForm: 'security-form' } as const;
export type SourceValue = (typeof Source)[keyof typeof Source];

export type ModerationItemsTable = {
  id: Generated<number>;
  /** 'report', 'scan' or 'security-form'. */
  source: string;
  /** the package the item is about; null for a security-form report, which names no package. */
  package: string | null;
  /** null when the item is about the whole package. */
  version: string | null;
  /** 0–100: the queue is ordered by it, highest first. */
  risk: number;
  /** 'open' or 'resolved'. */
  status: string;
  /** what resolved it: 'dismissed', 'quarantined', 'removed', 'released' or 'answered'; null while open. */
  resolution: string | null;
  /** one line shown in the queue (the scanner's verdict, the security report's subject). */
  summary: string;
  /** JSON: the scanner's findings, or {} for reports (their details are in reports). */
  evidence: string;
  /** who published the version (or the package's latest version) when the item was queued. */
  publisher_id: number | null;
  /** the security_reports row a 'security-form' item mirrors. */
  ref_id: number | null;
  /**
   * 'SOURCE:package@version' while the item is open, null once resolved. Unique, so concurrent reports about one
   * name@version always join a single open item (NULLs are distinct in both databases' unique indexes).
   */
  open_key: string | null;
  created_at: number;
  updated_at: number;
  resolved_by: number | null;
  resolved_at: number | null;
};

export type ReportsTable = {
  id: Generated<number>;
  item_id: number;
  reporter_id: number;
  package: string;
  /** the version reported, or '' for the whole package ('' rather than NULL so the de-duplicating index applies). */
  version_key: string;
  /** 'malicious', 'suspicious', 'spam' or 'typosquat'. */
  reason: string;
  details: string;
  created_at: number;
};

type Tables = { moderation_items: ModerationItemsTable; reports: ReportsTable };
export type ModerationDatabase = Database & Tables;

export const withModeration = (db: Kysely<Database>): Kysely<ModerationDatabase> => db.withTables<Tables>();
export const trxWithModeration = (trx: Transaction<Database>): Transaction<ModerationDatabase> =>
  trx.withTables<Tables>();

/** What differs between new queue items; every item starts open and unresolved. */
export type NewItem = {
  source: SourceValue;
  package: string | null;
  version: string | null;
  risk: number;
  summary: string;
  /** JSON. */
  evidence: string;
  publisherId: number | null;
  refId?: number;
  openKey: string;
};

/** The row of a new open item; createdAt is when what it is about happened (defaults to now). */
export const openItemRow = (i: NewItem, now: number, createdAt = now): Insertable<ModerationItemsTable> => ({
  source: i.source,
  package: i.package,
  version: i.version,
  risk: i.risk,
  status: 'open',
  resolution: null,
  summary: i.summary,
  evidence: i.evidence,
  publisher_id: i.publisherId,
  ref_id: i.refId ?? null,
  open_key: i.openKey,
  created_at: createdAt,
  updated_at: now,
  resolved_by: null,
  resolved_at: null,
});

/** Opens an item in the caller's transaction; returns its id. */
export async function insertOpenItem(
  trx: Transaction<ModerationDatabase>,
  item: NewItem,
  now: number,
): Promise<number> {
  const row = await trx
    .insertInto('moderation_items')
    .values(openItemRow(item, now))
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}
