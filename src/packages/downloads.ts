// Download counts per version per day. A tarball GET only bumps an in-memory counter; the counts are added to the
// database in one transaction every few seconds (and on shutdown), so the hot path never waits on a write.
import { sql } from 'kysely';
import { fail } from '../errors.ts';
import type { Db } from '../store/db.ts';

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

type Counts = Map<number, Map<string, number>>;

export class DownloadCounter {
  readonly #db: Db;
  readonly #clock: () => number;
  /** day → package id → version → downloads not yet written. */
  #pending = new Map<string, Counts>();
  // The current UTC day and its counts, so a tarball GET allocates nothing (no Date, no key string) to count itself.
  #day = '';
  #dayStart = 0;
  #dayEnd = 0;
  #today: Counts = new Map();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(db: Db, clock: () => number = Date.now) {
    this.#db = db;
    this.#clock = clock;
  }

  record(packageId: number, version: string): void {
    const now = this.#clock();
    if (now < this.#dayStart || now >= this.#dayEnd) this.#enterDay(now);
    let versions = this.#today.get(packageId);
    if (!versions) this.#today.set(packageId, (versions = new Map()));
    versions.set(version, (versions.get(version) ?? 0) + 1);
  }

  #enterDay(now: number): void {
    this.#dayStart = now - (now % 86_400_000);
    this.#dayEnd = this.#dayStart + 86_400_000;
    this.#day = day(now);
    let counts = this.#pending.get(this.#day);
    if (!counts) this.#pending.set(this.#day, (counts = new Map()));
    this.#today = counts;
  }

  /** Writes pending counts. Counts that fail to write are put back and retried with the next flush. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#write());
    return this.#flushing;
  }

  async #write(): Promise<void> {
    const batch = this.#pending;
    this.#pending = new Map();
    // Counting goes on into fresh maps while this batch is written.
    this.#dayEnd = 0;
    const rows: Array<{ package_id: number; version: string; day: string; count: number }> = [];
    for (const [d, counts] of batch)
      for (const [packageId, versions] of counts)
        for (const [version, count] of versions) rows.push({ package_id: packageId, version, day: d, count });
    if (rows.length === 0) return;
    try {
      await this.#db.transaction().execute(async (trx) => {
        for (const row of rows) {
          await trx
            .insertInto('downloads')
            .values(row)
            .onConflict((oc) =>
              oc
                .columns(['package_id', 'version', 'day'])
                .doUpdateSet({ count: sql<number>`downloads.count + excluded.count` }),
            )
            .execute();
        }
      });
    } catch {
      for (const row of rows) {
        let counts = this.#pending.get(row.day);
        if (!counts) this.#pending.set(row.day, (counts = new Map()));
        let versions = counts.get(row.package_id);
        if (!versions) counts.set(row.package_id, (versions = new Map()));
        versions.set(row.version, (versions.get(row.version) ?? 0) + row.count);
      }
    }
  }

  start(intervalMs = 5000): void {
    this.#timer = setInterval(() => void this.flush(), intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}

export type Period = { start: string; end: string };

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const NAMED: Record<string, number> = { 'last-day': 1, 'last-week': 7, 'last-month': 30, 'last-year': 365 };

/**
 * npm's period syntax: last-day, last-week, last-month, last-year, a date, or "start:end". Named periods end today
 * (UTC), so a self-hosted registry shows the current day's downloads as they happen.
 */
export function parsePeriod(period: string, now: number): Period {
  const days = NAMED[period];
  if (days !== undefined) return { start: day(now - (days - 1) * 86_400_000), end: day(now) };
  const [start, end = start, extra] = period.split(':');
  const valid = (d: string | undefined): d is string =>
    !!d && DATE.test(d) && !Number.isNaN(Date.parse(d)) && new Date(d).toISOString().startsWith(d);
  if (extra !== undefined || !valid(start) || !valid(end)) {
    throw fail(
      'E_DOWNLOADS_PERIOD',
      `invalid period "${period}": use last-day, last-week, last-month, last-year, YYYY-MM-DD or YYYY-MM-DD:YYYY-MM-DD`,
    );
  }
  if (start > end) throw fail('E_DOWNLOADS_PERIOD', `invalid period "${period}": the start is after the end`);
  if (Date.parse(end) - Date.parse(start) > 550 * 86_400_000)
    throw fail('E_DOWNLOADS_PERIOD', 'periods are limited to 18 months');
  return { start, end };
}

/** Downloads per day in the period (days without downloads included as 0), for one package or all (null). */
export async function downloadsByDay(
  db: Db,
  packageId: number | null,
  period: Period,
): Promise<Array<{ day: string; downloads: number }>> {
  let q = db
    .selectFrom('downloads')
    .select(['day', (eb) => eb.fn.sum<number>('count').as('n')])
    .where('day', '>=', period.start)
    .where('day', '<=', period.end)
    .groupBy('day');
  if (packageId !== null) q = q.where('package_id', '=', packageId);
  const counts = new Map((await q.execute()).map((r) => [r.day, Number(r.n)]));
  const out: Array<{ day: string; downloads: number }> = [];
  for (let t = Date.parse(period.start); t <= Date.parse(period.end); t += 86_400_000) {
    out.push({ day: day(t), downloads: counts.get(day(t)) ?? 0 });
  }
  return out;
}

/** Downloads over the last 30 days for each of the given packages (used to rank search results). */
export async function monthlyDownloads(db: Db, packageIds: number[], now: number): Promise<Map<number, number>> {
  if (packageIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('downloads')
    .select(['package_id', (eb) => eb.fn.sum<number>('count').as('n')])
    .where('package_id', 'in', packageIds)
    .where('day', '>=', day(now - 29 * 86_400_000))
    .groupBy('package_id')
    .execute();
  return new Map(rows.map((r) => [r.package_id, Number(r.n)]));
}
