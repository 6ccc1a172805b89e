// /-/v1/search: text search over names, descriptions and keywords, in the response shape npm's libnpmsearch reads.
// Restricted packages appear only to those who may read them. Ranking is a pure function of the match and of
// recent downloads, so it is tested without a database.
import { sql } from 'kysely';
import type { Principal } from '../access/principal.ts';
import type { Db } from '../store/db.ts';
import { monthlyDownloads } from './downloads.ts';
import { readableBy } from './readable.ts';

export type SearchQuery = { terms: string[]; keywords: string[]; scope: string | null; maintainer: string | null };

/** Splits npm's search text: plain words plus keywords:a,b, scope:name and maintainer:/author: qualifiers. */
export function parseQuery(text: string): SearchQuery {
  const q: SearchQuery = { terms: [], keywords: [], scope: null, maintainer: null };
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is being removed
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, ' ');
  for (const word of clean.toLowerCase().split(/\s+/).filter(Boolean).slice(0, 16)) {
    const [key, value] = word.includes(':')
      ? [word.slice(0, word.indexOf(':')), word.slice(word.indexOf(':') + 1)]
      : ['', word];
    if (key === 'keywords' && value) q.keywords.push(...value.split(',').filter(Boolean));
    else if (key === 'scope' && value) q.scope = value.replace(/^@/, '');
    else if ((key === 'maintainer' || key === 'author') && value) q.maintainer = value;
    else q.terms.push(word);
  }
  return q;
}

export type Candidate = { name: string; description: string; keywords: string; downloads: number };

/** Relevance in [0, 1]: exact name beats name prefix beats name substring beats keyword beats description. */
export function relevance(c: Candidate, terms: string[]): number {
  if (terms.length === 0) return 0.5;
  const name = c.name.toLowerCase();
  const bare = name.slice(name.indexOf('/') + 1);
  const keywords = c.keywords.toLowerCase().split(' ');
  const description = c.description.toLowerCase();
  const whole = terms.join(' ');
  if (name === whole || bare === whole) return 1;
  let total = 0;
  for (const t of terms) {
    if (bare.startsWith(t) || name.startsWith(t)) total += 0.8;
    else if (name.includes(t)) total += 0.6;
    else if (keywords.includes(t)) total += 0.5;
    else if (keywords.some((k) => k.includes(t))) total += 0.35;
    else if (description.includes(t)) total += 0.25;
  }
  return total / terms.length;
}

/** Popularity in [0, 1) from monthly downloads, on a log scale so a few downloads already count. */
export const popularity = (downloads: number) => 1 - 1 / (1 + Math.log10(1 + downloads));

const like = (s: string) => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export type SearchOptions = { text: string; size: number; from: number; principal: Principal | null; now: number };

export async function search(db: Db, opts: SearchOptions) {
  const q = parseQuery(opts.text);
  let query = db
    .selectFrom('packages')
    .select([
      'packages.id',
      'packages.name',
      'packages.scope',
      'packages.description',
      'packages.keywords',
      'packages.latest_version',
      'packages.modified_at',
    ])
    .where('packages.latest_version', 'is not', null);
  const p = opts.principal;
  if (!p?.isAdmin) query = query.where((eb) => readableBy(eb, p));
  for (const term of q.terms) {
    const pattern = like(term);
    query = query.where((eb) =>
      eb.or([
        eb(sql`lower(packages.name)`, 'like', sql`${pattern} escape '\\'`),
        eb(sql`lower(packages.description)`, 'like', sql`${pattern} escape '\\'`),
        eb(sql`lower(packages.keywords)`, 'like', sql`${pattern} escape '\\'`),
      ]),
    );
  }
  for (const k of q.keywords)
    query = query.where(sql`' ' || lower(packages.keywords) || ' '`, 'like', sql`${like(` ${k} `)} escape '\\'`);
  if (q.scope) query = query.where('packages.scope', '=', q.scope);
  if (q.maintainer) {
    const m = q.maintainer;
    query = query.where(
      'packages.id',
      'in',
      db
        .selectFrom('maintainers')
        .innerJoin('users', 'users.id', 'maintainers.user_id')
        .select('package_id')
        .where('users.name', '=', m),
    );
  }
  const rows = await query.orderBy('packages.modified_at', 'desc').limit(2000).execute();
  const downloads = await monthlyDownloads(
    db,
    rows.map((r) => r.id),
    opts.now,
  );
  const scored = rows
    .map((r) => {
      const c = { name: r.name, description: r.description, keywords: r.keywords, downloads: downloads.get(r.id) ?? 0 };
      const rel = relevance(c, q.terms);
      const pop = popularity(c.downloads);
      return { row: r, rel, pop, final: 0.8 * rel + 0.2 * pop };
    })
    .sort((a, b) => b.final - a.final || a.row.name.localeCompare(b.row.name));
  const page = scored.slice(opts.from, opts.from + opts.size);
  const ids = page.map((s) => s.row.id);
  const people = ids.length
    ? await db
        .selectFrom('maintainers')
        .innerJoin('users', 'users.id', 'maintainers.user_id')
        .select(['maintainers.package_id', 'users.name', 'users.email'])
        .where('maintainers.package_id', 'in', ids)
        .orderBy('users.name')
        .execute()
    : [];
  return {
    objects: page.map((s) => {
      const maintainers = people
        .filter((m) => m.package_id === s.row.id)
        .map((m) => ({ username: m.name, email: m.email }));
      return {
        package: {
          name: s.row.name,
          scope: s.row.scope ?? 'unscoped',
          version: s.row.latest_version,
          description: s.row.description,
          keywords: s.row.keywords ? s.row.keywords.split(' ') : [],
          date: new Date(s.row.modified_at).toISOString(),
          links: {},
          publisher: maintainers[0] ?? null,
          maintainers,
        },
        downloads: { monthly: downloads.get(s.row.id) ?? 0 },
        score: { final: s.final, detail: { quality: s.rel, popularity: s.pop, maintenance: 1 } },
        searchScore: s.final,
      };
    }),
    total: scored.length,
    time: new Date(opts.now).toUTCString(),
  };
}
