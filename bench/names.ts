// Name-check micro-benchmark: how long one typosquatting verdict takes against 10k and against all ~17k protected
// names (the shipped list), and how long indexing them takes. Pure CPU, no server: `node bench/names.ts`.
// The check must stay well under 10 ms: exact rules are hash-map look-ups; the scored rules compare the candidate with
// the protected names of a similar length that share most of its letters (a bit-mask filter), a few hundred at most.
import { englishWords, shippedPopularNames } from '../src/names/popular.ts';
import { ProtectedNames } from '../src/names/similarity.ts';

const popular = shippedPopularNames();
// A mix of what publishes look like: new ordinary names (most), typosquats, scoped names, long names.
const candidates = [
  'my-company-billing',
  'acme-widgets',
  'fastify-plugin-thing',
  'lodahs',
  'expresss',
  'node-axios',
  '@types-x/node',
  '@acme/internal-api',
  'rnoment',
  'electorn',
  'react-dom-helpers-extra',
  'a-very-long-package-name-for-a-small-utility',
  // the looser rules (two edits, one edit in a long-tail name, unscoped copies of scoped names with typos) run when
  // nothing closer matched, so new ordinary names above pay for them too.
  'yargs-parxe',
  'dizcordjs',
  'rollup-pluginuls',
];

function bench(label: string, names: string[]): void {
  const t0 = performance.now();
  const index = new ProtectedNames(names, { words: englishWords() });
  const built = performance.now() - t0;
  for (let i = 0; i < 2000; i++) index.check(candidates[i % candidates.length]!); // warm-up
  const n = 20_000;
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    index.check(candidates[i % candidates.length]!);
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(4);
  const mean = (times.reduce((a, b) => a + b, 0) / n).toFixed(4);
  console.log(
    `${label}: ${names.length} protected names, index built in ${built.toFixed(0)} ms; one check: mean ${mean} ms, p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms`,
  );
}

bench('10k', popular.slice(0, 10_000));
bench('all', popular);
