// The name checker's evaluation on real data, shared by test/names/similarity.test.ts and scripts/eval-names.ts.
// Incidents: test/fixtures/names/incidents.json (names of real malicious npm packages, each with its OSV MAL record).
// Legitimate names: every name of the shipped popular list, judged as if it were published new today against all the
// others (leave-one-out): "tail" is the long tail (after the first 5000), where new legitimate packages live, "head"
// the most popular names, which crowd each other most (react, preact, …). Both are split by the same hash rule.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ProtectedNames } from '../../src/names/similarity.ts';

export type Part = 'tuning' | 'held-out';
export type Incident = {
  name: string;
  split: Part;
  id: string;
  target?: string;
  selected_by: string;
  source: { repo: string; path: string; commit: string };
};

export const incidents = (
  JSON.parse(readFileSync(new URL('../fixtures/names/incidents.json', import.meta.url), 'utf8')) as {
    incidents: Incident[];
  }
).incidents;

export const splitOf = (n: string): Part => (createHash('sha256').update(n).digest()[0]! % 2 ? 'held-out' : 'tuning');

export type Figures = {
  part: Part;
  incidents: number;
  caught: number;
  missed: string[];
  recall: number;
  tail: number;
  refused: number;
  tailRate: number;
  head: number;
  refusedHead: number;
  falsePositiveRate: number;
  precision: number;
  refusedNames: string[];
};

/** Figures of one half; `only` restricts the incidents (for example to one selection). */
export function evaluate(
  index: ProtectedNames,
  popular: readonly string[],
  part: Part,
  only: (i: Incident) => boolean = () => true,
): Figures {
  const bad = incidents.filter((i) => i.split === part && only(i));
  const missed = bad.filter((i) => index.check(i.name).verdict !== 'block').map((i) => i.name);
  const caught = bad.length - missed.length;
  const refusedOf = (names: readonly string[]) =>
    names.filter((n) => index.check(n, { asNew: true }).verdict === 'block');
  const tail = popular.slice(5000).filter((n) => splitOf(n) === part);
  const head = popular.slice(0, 5000).filter((n) => splitOf(n) === part);
  const refusedTail = refusedOf(tail);
  const refusedHead = refusedOf(head);
  const fp = refusedTail.length + refusedHead.length;
  return {
    part,
    incidents: bad.length,
    caught,
    missed,
    recall: bad.length ? caught / bad.length : 0,
    tail: tail.length,
    refused: refusedTail.length,
    tailRate: refusedTail.length / tail.length,
    head: head.length,
    refusedHead: refusedHead.length,
    falsePositiveRate: fp / (tail.length + head.length),
    precision: caught / (caught + fp),
    refusedNames: refusedTail,
  };
}

export const describe = (r: Figures): string =>
  `${r.part}: recall ${r.caught}/${r.incidents} (${(r.recall * 100).toFixed(0)}%); legitimate names refused: long tail ${r.refused}/${r.tail} (${(r.tailRate * 100).toFixed(2)}%), most popular ${r.refusedHead}/${r.head}; precision over the whole set ${(r.precision * 100).toFixed(1)}% (${r.incidents} incidents against ${r.tail + r.head} legitimate names), ${((r.recall / (r.recall + r.falsePositiveRate)) * 100).toFixed(1)}% if both were equally common`;
