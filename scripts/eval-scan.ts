// Evaluates the malware scanner on test/fixtures/malware: recall on the inert incident samples and false-positive
// rates on real popular packages (ordinary ones and ones with install scripts), per split. Tune on "tuning" only;
// "heldout" was frozen before tuning and is reported, not optimised.
//   node scripts/eval-scan.ts [--committed-only] [--fetch] [--json] [--verbose]
// --fetch downloads the large benign tarballs not kept in the repo into .cache/ (integrity-checked);
// --committed-only ignores them even when cached.
import { evaluate, SPLITS, type Figures } from '../test/fixtures/malware/corpus.ts';
import { scanTarball } from '../src/safety/scan/scanner.ts';
import { loadSignatures } from '../src/safety/scan/signatures.ts';

const args = new Set(process.argv.slice(2));
const signatures = loadSignatures();
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const started = performance.now();
const results: Figures[] = SPLITS.map((split) =>
  evaluate(split, (tgz, previous) => scanTarball(tgz, { previous, signatures }), {
    cache: !args.has('--committed-only'),
    fetch: args.has('--fetch'),
  }),
);
if (args.has('--json')) console.log(JSON.stringify(results, null, 2));
else {
  for (const r of results) {
    console.log(
      `${r.split.padEnd(8)} recall ${pct(r.recall)} (${r.samples - r.missed.length}/${r.samples})  FP ordinary ${pct(r.fpOrdinary)} (${Math.round(r.fpOrdinary * r.ordinary)}/${r.ordinary})  FP install-script ${pct(r.fpInstall)} (${Math.round(r.fpInstall * r.install)}/${r.install})`,
    );
    if (args.has('--verbose') || r.missed.length || r.falsePositives.length) {
      if (r.missed.length) console.log(`  missed: ${r.missed.join(', ')}`);
      if (r.falsePositives.length) console.log(`  false positives: ${r.falsePositives.join(', ')}`);
    }
  }
  console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
}
