// The registry's advisory database for packages removed as malicious (GEN-3c): one OSV record per package, created
// by the first removal and extended by later ones, inside the moderator's transaction so that a removal and its
// advisory commit together or not at all. Served by http/advisory-routes.ts; described in docs/advisories.md.
import { sql, type Kysely, type Transaction } from 'kysely';
import { fail } from '../errors.ts';
import type { Database } from '../store/schema.ts';
import {
  DEFAULT_ADVISORY_PREFIX,
  advisoryId,
  maliciousRecord,
  type OsvRecord,
  type Removal,
  type RemovedTarball,
} from './osv.ts';

// Table types of migration 0012-advisories, kept with the capability that owns them.
export type AdvisoriesTable = {
  /** x_<PREFIX>-MAL-<YEAR>-<N>; never reused, never renumbered. */
  id: string;
  /** one advisory per package: later removals of the same package extend it. */
  package_name: string;
  /** the OSV record as stored (JSON), without the links that depend on the public URL. */
  record: string;
  /** JSON Removal[]: what each moderator action removed, why, and who acted (kept here, not published). */
  removals: string;
  published_at: number;
  modified_at: number;
};
/** The last number given out per year; the row lock on it serialises allocation across nodes. */
export type AdvisoryCountersTable = { year: number; last: number };

type AdvisoryTables = { advisories: AdvisoriesTable; advisory_counters: AdvisoryCountersTable };
export type AdvisoryDatabase = Database & AdvisoryTables;
export const withAdvisories = (db: Kysely<Database>): Kysely<AdvisoryDatabase> => db.withTables<AdvisoryTables>();
const trxWithAdvisories = (trx: Transaction<Database>): Transaction<AdvisoryDatabase> =>
  trx.withTables<AdvisoryTables>();

export type MaliciousAdvisoryInput = {
  /** npm package name */
  name: string;
  /** the removed versions; null = every version of the package (affected: all) */
  versions: string[] | null;
  /** moderator's summary */
  reason: string;
  /** short evidence summary (scanner findings etc.) */
  evidence: string;
  /** credits (user names of reporters), may be empty */
  reporters: string[];
  /** moderator user name */
  actor: string;
};

// Advisories are read by people and tools; a pasted scanner log belongs in the moderation queue, not here.
const MAX_REASON = 4000;
const MAX_EVIDENCE = 8000;
const MAX_REPORTERS = 50;

function checkInput(input: MaliciousAdvisoryInput): void {
  if (!input.name) throw new Error('an advisory needs a package name');
  if (
    input.versions !== null &&
    (input.versions.length === 0 || input.versions.some((v) => typeof v !== 'string' || !v))
  ) {
    throw new Error('an advisory names the removed versions, or null for the whole package');
  }
  if (!input.reason.trim())
    throw fail('E_REPORT_INVALID', 'say why the package is malicious: the reason is published in the advisory');
  if (input.reason.length > MAX_REASON)
    throw fail('E_REPORT_INVALID', `the reason is published in the advisory: keep it under ${MAX_REASON} characters`);
  if (input.evidence.length > MAX_EVIDENCE)
    throw fail(
      'E_REPORT_INVALID',
      `the evidence summary is published in the advisory: keep it under ${MAX_EVIDENCE} characters`,
    );
  if (input.reporters.length > MAX_REPORTERS)
    throw fail('E_REPORT_INVALID', `an advisory credits at most ${MAX_REPORTERS} reporters`);
}

/**
 * Records (or extends) the advisory for a package a moderator removed as malicious, inside the caller's transaction,
 * and returns its id. The first removal of a package allocates the next number of the year; later removals of the
 * same package add their versions, reasons, evidence and reporters to the same advisory and advance its modified time.
 *
 * Numbers are allocated by an upsert on advisory_counters: on PostgreSQL a concurrent removal waits on that row until
 * this transaction commits or rolls back, so two committed advisories never share a number, and a rolled-back removal
 * gives its number back; SQLite runs one write transaction at a time. Callers MUST call this in the transaction that
 * marks the versions removed, after marking them (their tarballs' hashes are read from it).
 *
 * @param prefix the registry's database name in ids (settings.advisoryPrefix); ids are x_<prefix>-MAL-<year>-<n>.
 * @throws ClientError 400 when the reason is empty or a text is too long to publish.
 */
export async function recordMaliciousAdvisory(
  trx: Transaction<Database>,
  input: MaliciousAdvisoryInput,
  now: number,
  prefix: string = DEFAULT_ADVISORY_PREFIX,
): Promise<string> {
  checkInput(input);
  const t = trxWithAdvisories(trx);
  const removal: Removal = {
    at: now,
    versions: input.versions === null ? null : [...new Set(input.versions)],
    reason: input.reason.trim(),
    evidence: input.evidence.trim(),
    reporters: [...new Set(input.reporters.map((r) => r.trim()).filter(Boolean))],
    actor: input.actor,
    tarballs: await removedTarballs(trx, input.name, input.versions),
    restricted:
      (await trx.selectFrom('packages').select('access').where('name', '=', input.name).executeTakeFirst())?.access ===
      'restricted',
  };

  let existing = await lockAdvisory(t, input.name);
  if (!existing) {
    const year = new Date(now).getUTCFullYear();
    const counter = await t
      .insertInto('advisory_counters')
      .values({ year, last: 1 })
      .onConflict((oc) => oc.column('year').doUpdateSet({ last: sql<number>`advisory_counters.last + 1` }))
      .returning('last')
      .executeTakeFirstOrThrow();
    const id = advisoryId(prefix, year, Number(counter.last));
    const record = maliciousRecord(id, input.name, [removal], now);
    const inserted = await t
      .insertInto('advisories')
      .values({
        id,
        package_name: input.name,
        record: JSON.stringify(record),
        removals: JSON.stringify([removal]),
        published_at: now,
        modified_at: now,
      })
      // Another node's removal of the same package committed first (the caller's own locks normally prevent this):
      // join its advisory instead. The number just taken is then skipped; ids need not be dense.
      .onConflict((oc) => oc.column('package_name').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (inserted) return id;
    existing = await lockAdvisory(t, input.name);
    if (!existing) throw new Error(`the advisory for ${input.name} vanished while it was being extended`);
  }

  const removals = [...(JSON.parse(existing.removals) as Removal[]), removal];
  // Mirrors fetch what changed since the last modified time they saw: it must move forward on every change.
  const modified = Math.max(now, Number(existing.modified_at) + 1);
  const record = maliciousRecord(existing.id, input.name, removals, modified);
  await t
    .updateTable('advisories')
    .set({ record: JSON.stringify(record), removals: JSON.stringify(removals), modified_at: modified })
    .where('id', '=', existing.id)
    .execute();
  return existing.id;
}

/** A recorder with the registry's configured prefix, in the shape the moderator's removal takes (packages/lifecycle.ts). */
export const advisoryRecorder =
  (prefix: string) =>
  (trx: Transaction<Database>, input: MaliciousAdvisoryInput, now: number): Promise<string> =>
    recordMaliciousAdvisory(trx, input, now, prefix);

/** The package's advisory row, locked until the transaction ends (a no-op update: portable to SQLite, unlike FOR UPDATE). */
async function lockAdvisory(t: Transaction<AdvisoryDatabase>, name: string) {
  return t
    .updateTable('advisories')
    .set((eb) => ({ modified_at: eb.ref('modified_at') }))
    .where('package_name', '=', name)
    .returning(['id', 'removals', 'modified_at'])
    .executeTakeFirst();
}

/** Integrity hashes of the removed tarballs (all of the package's versions when the whole package goes). */
async function removedTarballs(
  trx: Transaction<Database>,
  name: string,
  versions: string[] | null,
): Promise<RemovedTarball[]> {
  let q = trx
    .selectFrom('versions')
    .innerJoin('packages', 'packages.id', 'versions.package_id')
    .select(['versions.version', 'versions.integrity', 'versions.shasum'])
    .where('packages.name', '=', name);
  if (versions !== null) q = q.where('versions.version', 'in', versions);
  return (await q.execute()).map((v) => ({ version: v.version, integrity: v.integrity, shasum: v.shasum }));
}

export type AdvisorySummary = {
  id: string;
  packageName: string;
  /**
   * 'restricted' when the package is restricted now, or is gone and was restricted when removed: such advisories are
   * shown only to the package's readers. Otherwise the package's access, or null when it is gone.
   */
  access: string | null;
  publishedAt: number;
  modifiedAt: number;
};
export type StoredAdvisory = AdvisorySummary & { record: OsvRecord };

type SummaryRow = {
  id: string;
  package_name: string;
  removals: string;
  access: string | null;
  published_at: number;
  modified_at: number;
};

function summary(r: SummaryRow): AdvisorySummary {
  // A package deleted after its removal takes its access with it; what it was then still decides who may see it.
  const access = r.access ?? ((JSON.parse(r.removals) as Removal[]).some((x) => x.restricted) ? 'restricted' : null);
  return {
    id: r.id,
    packageName: r.package_name,
    access,
    publishedAt: Number(r.published_at),
    modifiedAt: Number(r.modified_at),
  };
}

/** Every advisory, most recently modified first (the order of OSV's modified_id.csv). */
export async function listAdvisories(db: Kysely<Database>): Promise<AdvisorySummary[]> {
  const rows = await withAdvisories(db)
    .selectFrom('advisories')
    .leftJoin('packages', 'packages.name', 'advisories.package_name')
    .select([
      'advisories.id',
      'advisories.package_name',
      'advisories.removals',
      'packages.access',
      'advisories.published_at',
      'advisories.modified_at',
    ])
    .orderBy('advisories.modified_at', 'desc')
    .orderBy('advisories.id')
    .execute();
  return rows.map(summary);
}

/** Advisories with their records and their package's visibility: one query for the bulk download, one id, npm audit. */
const withRecords = (db: Kysely<Database>) =>
  withAdvisories(db)
    .selectFrom('advisories')
    .leftJoin('packages', 'packages.name', 'advisories.package_name')
    .select([
      'advisories.id',
      'advisories.package_name',
      'advisories.removals',
      'advisories.record',
      'packages.access',
      'advisories.published_at',
      'advisories.modified_at',
    ]);

const stored = (r: SummaryRow & { record: string }): StoredAdvisory => ({
  ...summary(r),
  record: JSON.parse(r.record) as OsvRecord,
});

/** Every advisory with its record, oldest first (for the bulk download). */
export async function allAdvisories(db: Kysely<Database>): Promise<StoredAdvisory[]> {
  const rows = await withRecords(db).orderBy('advisories.published_at').orderBy('advisories.id').execute();
  return rows.map(stored);
}

export async function findAdvisory(db: Kysely<Database>, id: string): Promise<StoredAdvisory | null> {
  const r = await withRecords(db).where('advisories.id', '=', id).executeTakeFirst();
  return r ? stored(r) : null;
}

/** The advisory id for a package, if it was ever removed as malicious (for pages and the moderation queue). */
export async function advisoryIdFor(db: Kysely<Database>, name: string): Promise<string | null> {
  const r = await withAdvisories(db)
    .selectFrom('advisories')
    .select('id')
    .where('package_name', '=', name)
    .executeTakeFirst();
  return r?.id ?? null;
}

/** The advisories about any of these packages, with their records (npm audit's bulk and quick requests). */
export async function advisoriesForPackages(db: Kysely<Database>, names: readonly string[]): Promise<StoredAdvisory[]> {
  const out: StoredAdvisory[] = [];
  // In slices, so a large tree stays well under either database's limit on bound parameters.
  for (let i = 0; i < names.length; i += 500) {
    const rows = await withRecords(db)
      .where('advisories.package_name', 'in', names.slice(i, i + 500))
      .orderBy('advisories.id')
      .execute();
    out.push(...rows.map(stored));
  }
  return out;
}
