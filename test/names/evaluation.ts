// The name guard's evaluation on real data (test/fixtures/names-eval/README.md), shared by
// test/names/similarity.test.ts and scripts/eval-names.ts. Three sets, each split by its target's hash:
// real typosquats (should be refused or held), popular names near another popular name and live npm packages near a
// popular name (should pass). "Flagged" is a verdict of block or review; each tier is counted too.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ProtectedNames } from '../../src/names/similarity.ts';
import { nameProblem } from '../../src/names/syntax.ts';

export type Part = 'tuning' | 'held-out';
export type Incident = { name: string; target: string; split: Part; target_in_popular: boolean };
export type Near = { name: string; near: string; how: string; split: Part };

const load = <T>(file: string): T[] =>
  (JSON.parse(readFileSync(new URL(`../fixtures/names-eval/${file}`, import.meta.url), 'utf8')) as { cases: T[] })
    .cases;
export const incidents = load<Incident>('incidents.json');
export const popularNear = load<Near>('popular-near.json');
export const liveNear = load<Near>('live-near.json');

export const splitOf = (target: string): Part =>
  createHash('sha256').update(target).digest()[0]! % 2 ? 'held-out' : 'tuning';

export type Tally = {
  total: number;
  block: number;
  review: number;
  flagged: number;
  rate: number;
  names: string[];
  /** names npm refuses for new packages whatever they look like (capitals, …): left out of the other counts */
  invalid: number;
};
export type Figures = { part: Part; incidents: Tally; incidentsAll: Tally; popularNear: Tally; liveNear: Tally };

/**
 * One set's verdicts. For incidents `names` lists the ones let through (allowed); for legitimate sets, the ones
 * flagged. `asNew` judges a protected name as if it were published new (leave-one-out).
 */
function tally(index: ProtectedNames, names: string[], legit: boolean, asNew = false): Tally {
  const t: Tally = { total: 0, block: 0, review: 0, flagged: 0, rate: 0, names: [], invalid: 0 };
  for (const n of names) {
    // `bulwark names check` answers these with an error, as npm publish would.
    if (nameProblem(n) !== null) {
      t.invalid++;
      continue;
    }
    t.total++;
    const v = index.check(n, { asNew }).verdict;
    if (v === 'block') t.block++;
    if (v === 'review') t.review++;
    if (v !== 'allow') t.flagged++;
    if ((v !== 'allow') === legit) t.names.push(n);
  }
  t.rate = t.total ? t.flagged / t.total : 0;
  return t;
}

/** Figures of one half; `limit` takes only the first cases of each set (a quick run for tests). */
export function evaluate(index: ProtectedNames, part: Part, limit = Infinity): Figures {
  const of = <T extends { split: Part }>(xs: T[]) => xs.filter((x) => x.split === part).slice(0, limit);
  return {
    part,
    incidents: tally(
      index,
      of(incidents.filter((i) => i.target_in_popular)).map((i) => i.name),
      false,
    ),
    incidentsAll: tally(
      index,
      of(incidents).map((i) => i.name),
      false,
    ),
    popularNear: tally(
      index,
      of(popularNear).map((c) => c.name),
      true,
      true,
    ),
    liveNear: tally(
      index,
      of(liveNear).map((c) => c.name),
      true,
    ),
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const line = (label: string, t: Tally) =>
  `  ${label}: flagged ${t.flagged}/${t.total} (${pct(t.rate)}) = block ${t.block} (${pct(t.total ? t.block / t.total : 0)}) + review ${t.review}${t.invalid ? `; ${t.invalid} invalid as new names, left out` : ''}`;

export const describe = (r: Figures): string =>
  [
    `${r.part}:`,
    line('real typosquats, target on the popular list (goal ≥ 95%)', r.incidents),
    line('real typosquats, all', r.incidentsAll),
    line('popular names near another popular name (goal ≤ 2%)', r.popularNear),
    line('live npm packages near a popular name (goal ≤ 5%)', r.liveNear),
  ].join('\n');
