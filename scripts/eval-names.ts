// Evaluates the typosquatting rules (src/names/similarity.ts) on test/fixtures/names/incidents.json and the shipped
// popular list's legitimate names, per half. Tune on "tuning" only; "held-out" is for reporting.
//   node scripts/eval-names.ts [tuning|held-out ...] [--misses] [--refused] [--verdicts]
// --misses lists the incidents let through, --refused the long-tail legitimate names refused, --verdicts prints a
// Markdown table of every incident's verdict (for docs/names.md).
import { shippedPopularNames } from '../src/names/popular.ts';
import { ProtectedNames } from '../src/names/similarity.ts';
import { describe, evaluate, incidents, type Part } from '../test/names/evaluation.ts';

const args = process.argv.slice(2);
const parts = args.filter((a): a is Part => a === 'tuning' || a === 'held-out');
const popular = shippedPopularNames();
const index = new ProtectedNames(popular);
for (const part of parts.length ? parts : (['tuning', 'held-out'] as const)) {
  const r = evaluate(index, popular, part);
  console.log(describe(r));
  const first = evaluate(index, popular, part, (i) => i.selected_by === 'first-16');
  const added = evaluate(index, popular, part, (i) => i.selected_by !== 'first-16');
  console.log(
    `  first 16: ${first.caught}/${first.incidents}; added from datasets: ${added.caught}/${added.incidents}`,
  );
  if (args.includes('--misses')) console.log(`  missed: ${r.missed.join(' ')}`);
  if (args.includes('--refused')) console.log(`  refused (long tail): ${r.refusedNames.join(' ')}`);
  if (args.includes('--verdicts')) {
    console.log('| name | target (dataset) | OSV record | verdict | reason |\n|---|---|---|---|---|');
    for (const i of incidents.filter((x) => x.split === part)) {
      const v = index.check(i.name);
      const reason = v.reasons.map((x) => `${x.rule} → \`${x.similar_to}\``).join('; ') || '—';
      console.log(`| \`${i.name}\` | ${i.target ? `\`${i.target}\`` : '—'} | ${i.id} | ${v.verdict} | ${reason} |`);
    }
  }
}
