// What a package page shows beyond its packument: downloads in the last week, and the packages that depend on it.
// Dependents are counted as npm counts them: packages whose latest version depends on this one, by name, whatever
// the range; only packages the viewer may read are listed or counted, so a restricted package never shows through.
import type { Principal } from '../access/principal.ts';
import type { Db } from '../store/db.ts';
import { downloadsByDay, parsePeriod } from './downloads.ts';
import { readableBy } from './readable.ts';

/** Downloads of all versions over the last 7 days (today included, UTC), as npm's "weekly downloads". */
export async function weeklyDownloads(db: Db, packageId: number, now: number): Promise<number> {
  const days = await downloadsByDay(db, packageId, parsePeriod('last-week', now));
  return days.reduce((sum, d) => sum + d.downloads, 0);
}

/** Dependents listed at most; the count covers up to DEPENDENTS_COUNTED. */
export const DEPENDENTS_SHOWN = 50;
const DEPENDENTS_COUNTED = 10_000;

export async function dependentsOf(
  db: Db,
  name: string,
  principal: Principal | null,
): Promise<{ total: number; names: string[] }> {
  const rows = await db
    .selectFrom('packages')
    .innerJoin('dependency_edges as e', (j) =>
      j.onRef('e.package_id', '=', 'packages.id').onRef('e.version', '=', 'packages.latest_version'),
    )
    .select('packages.name')
    .distinct()
    .where('e.dependency', '=', name)
    .where('packages.name', '!=', name)
    .where((eb) => readableBy(eb, principal))
    .orderBy('packages.name')
    .limit(DEPENDENTS_COUNTED)
    .execute();
  return { total: rows.length, names: rows.slice(0, DEPENDENTS_SHOWN).map((r) => r.name) };
}
