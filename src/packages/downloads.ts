// Download counts per version per day. A tarball GET only bumps an in-memory counter; the counts are added to the
// database in one transaction every few seconds (and on shutdown), so the hot path never waits on a write.
import { sql } from 'kysely';
import { badRequest } from '../errors.ts';
import type { Db } from '../store/db.ts';

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export class DownloadCounter {
  readonly #db: Db;
  readonly #clock: () => number;
  #pending = new Map<string, { packageId: number; version: string; day: string; count: number }>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(db: Db, clock: () => number = Date.now) {
    this.#db = db;
    this.#clock = clock;
  }

  record(packageId: number, version: string): void {
    const d = day(this.#clock());
    const key = `${packageId}\t${version}\t${d}`;
    const hit = this.#pending.get(key);
    if (hit) hit.count++;
    else this.#pending.set(key, { packageId, version, day: d, count: 1 });
  }

  /** Writes pending counts. Counts that fail to write are put back and retried with the next flush. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#write());
    return this.#flushing;
  }

  async #write(): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    try {
      await this.#db.transaction().execute(async (trx) => {
        for (const row of batch.values()) {
          await trx
            .insertInto('downloads')
            .values({ package_id: row.packageId, version: row.version, day: row.day, count: row.count })
            .onConflict((oc) => oc.columns(['package_id', 'version', 'day']).doUpdateSet({ count: sql<number>`downloads.count + excluded.count` }))
            .execute();
        }
      });
    } catch {
      for (const [key, row] of batch) {
        const hit = this.#pending.get(key);
        if (hit) hit.count += row.count;
        else this.#pending.set(key, row);
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
  const valid = (d: string | undefined): d is string => !!d && DATE.test(d) && !Number.isNaN(Date.parse(d)) && new Date(d).toISOString().startsWith(d);
  if (extra !== undefined || !valid(start) || !valid(end)) {
    throw badRequest(`invalid period "${period}": use last-day, last-week, last-month, last-year, YYYY-MM-DD or YYYY-MM-DD:YYYY-MM-DD`);
  }
  if (start > end) throw badRequest(`invalid period "${period}": the start is after the end`);
  if (Date.parse(end) - Date.parse(start) > 550 * 86_400_000) throw badRequest('periods are limited to 18 months');
  return { start, end };
}

/** Downloads per day in the period (days without downloads included as 0), for one package or all (null). */
export async function downloadsByDay(db: Db, packageId: number | null, period: Period): Promise<Array<{ day: string; downloads: number }>> {
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
