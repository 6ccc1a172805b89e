// Evaluates the name guard (src/names/similarity.ts, as `bulwark names check` runs it on the shipped list) on the
// sets of test/fixtures/names-eval, per half. Tune on "tuning" only; "held-out" is for reporting.
//   node scripts/eval-names.ts [tuning|held-out ...] [--names]
// --names lists the typosquats let through and the legitimate names flagged, with their verdicts (tuning only unless
// held-out is asked for by name).
import { englishWords, shippedPopularNames } from '../src/names/popular.ts';
import { ProtectedNames } from '../src/names/similarity.ts';
import { describe, evaluate, type Part } from '../test/names/evaluation.ts';

const args = process.argv.slice(2);
const asked = args.filter((a): a is Part => a === 'tuning' || a === 'held-out');
const index = new ProtectedNames(shippedPopularNames(), { words: englishWords() });
for (const part of asked.length ? asked : (['tuning', 'held-out'] as const)) {
  const t0 = performance.now();
  const r = evaluate(index, part);
  console.log(`${describe(r)}\n  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  if (args.includes('--names') && (part === 'tuning' || asked.includes('held-out'))) {
    const show = (label: string, names: string[], asNew = false) =>
      console.log(
        `  ${label}: ${names
          .map((n) => {
            const v = index.check(n, { asNew });
            return v.verdict === 'allow' ? n : `${n}[${v.verdict}:${v.reasons[0]!.rule}:${v.reasons[0]!.similar_to}]`;
          })
          .join(' ')}`,
      );
    show('let through', r.incidents.names);
    show('popular flagged', r.popularNear.names, true);
    show('live flagged', r.liveNear.names);
  }
}
