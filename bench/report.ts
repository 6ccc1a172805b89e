// Turns one benchmark run into Markdown: a table per package count, the targets with PASS/FAIL, and notes. RESULTS.md
// keeps a fixed header and every run below it, newest first.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { CONTENTION, type LoadResult, type LoadResults, type Scenario } from './load.ts';
import type { InstallResult } from './registries.ts';
import type { Check } from './checks.ts';

export type RegistryRun = {
  size: number;
  publish: { versions: number; seconds: number };
  express: { versions: number; seconds: number };
  load: LoadResults;
  install: InstallResult | null;
  /** seeded: at once after the publish burst; settled: after SETTLE_SECONDS without requests (the scan worker gone). */
  rss: {
    idle: number | null;
    seeded: number | null;
    settled: number | null;
    afterLoad: number | null;
    afterInstall: number | null;
  };
};

export type PairedRun = { size: number; rounds: Array<{ key: Scenario['key']; bulwark: number; ceiling: number }> };

export type Report = {
  started: Date;
  finished: Date;
  mode: 'full' | 'quick';
  machine: { cpu: string; cores: number; ramGB: number; node: string; os: string; loadBefore: number[] };
  tools: { verdaccio: string | null; npm: string; autocannon: string };
  settings: {
    duration: number;
    warmup: number;
    connections: number;
    pipelining: number;
    concurrency: number;
    versions: number;
    installs: number;
  };
  target: { pkg: string; tarball: string; expressVersion: string; expressTarballs: number };
  scenarios: Scenario[];
  bulwark: RegistryRun[];
  ceiling: { load: LoadResults; rss: number | null } | null;
  /** Bulwark (largest N) and the ceiling measured back to back, round by round (see pairedRounds in run.ts). */
  paired: PairedRun | null;
  verdaccio: RegistryRun[];
  /** runtime checks (bench/checks.ts): behaviour of the compiler and allocator the server relies on. */
  checks: Check[];
  notes: string[];
};

/** How long the benchmark leaves a seeded server alone before reading its settled RSS. */
export const SETTLE_SECONDS = 15;

export const MARKER = '<!-- bench runs below, newest first -->';

export const HEADER = `# Bulwark benchmark results

Run \`npm run bench\` (or \`node bench/run.ts\` with Node 26) from the repository root. One command seeds a fresh Bulwark
(SQLite, separate process) with N synthetic packages (N = 1000, then 10000; 3 versions each) and the real express@4
dependency closure, load-tests it with autocannon, does the same against a bare \`node:http\` server serving the same
bytes from memory (the ceiling) and against Verdaccio 6 (installed into bench/node_modules on first use), times cold
\`npm install express\` from each registry, reads each server's RSS, runs the runtime checks of
\`bench/checks.ts\` (nextTick's inline-cache shape, memory given back after a burst; \`node bench/checks.ts\` alone), and adds a section here, newest first.

Options (or environment variables): \`--sizes 1000,10000\` (BENCH_SIZES), \`--verdaccio-sizes 1000\`
(BENCH_VERDACCIO_SIZES; \`none\` skips Verdaccio), \`--duration 10\` seconds per load test (BENCH_DURATION),
\`--connections 50\` (BENCH_CONNECTIONS), \`--installs 3\` (BENCH_INSTALLS), \`--quick\` (3 s load tests, 300 packages,
1 install; writes bench/work/RESULTS-quick.md instead of this file).

Caveat for every run: the machine the numbers come from may have few cores; autocannon runs in the harness process
and each server in its own process, so on 2 cores the load generator and the server compete for the CPU and the
ceiling is partly the load generator's own limit. Ratios between servers measured the same way are more telling
than absolute figures.
`;

const fmt = (n: number | null | undefined, digits = 0): string =>
  n === null || n === undefined || !Number.isFinite(n)
    ? '—'
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ratio = (a: number | null | undefined, b: number | null | undefined): string =>
  a == null || b == null || !b ? '—' : `${(a / b).toFixed(2)}×`;

type Row = { label: string; bulwark: number | null; ceiling: number | null; verdaccio: number | null; digits: number };

function rows(r: Report, b: RegistryRun | undefined, v: RegistryRun | undefined): Row[] {
  const out: Row[] = [];
  const rate = (x: RegistryRun | undefined) => (x ? x.publish.versions / x.publish.seconds : null);
  out.push({
    label: 'publish throughput, synthetic packages (publishes/s)',
    bulwark: rate(b),
    ceiling: null,
    verdaccio: rate(v),
    digits: 0,
  });
  const loadOf = (x: { load: LoadResults } | null | undefined, key: Scenario['key']): LoadResult | undefined =>
    x?.load[key];
  for (const s of r.scenarios) {
    const pick = (f: (l: LoadResult) => number) => (x: { load: LoadResults } | null | undefined) => {
      const l = loadOf(x, s.key);
      return l ? f(l) : null;
    };
    const rps = pick((l) => l.rps);
    const p99 = pick((l) => l.p99);
    out.push({ label: `${s.label} (req/s)`, bulwark: rps(b), ceiling: rps(r.ceiling), verdaccio: rps(v), digits: 0 });
    out.push({
      label: `${s.label} p99 latency (ms)`,
      bulwark: p99(b),
      ceiling: p99(r.ceiling),
      verdaccio: p99(v),
      digits: 0,
    });
  }
  const inst = (x: RegistryRun | undefined) => x?.install?.medianSeconds ?? null;
  out.push({
    label: `cold npm install express@${r.target.expressVersion} (s, median of ${r.settings.installs})`,
    bulwark: inst(b),
    ceiling: null,
    verdaccio: inst(v),
    digits: 2,
  });
  out.push({
    label: 'server RSS at start, before seeding (MB)',
    bulwark: b?.rss.idle ?? null,
    ceiling: null,
    verdaccio: v?.rss.idle ?? null,
    digits: 1,
  });
  out.push({
    label: 'server RSS right after seeding, publish burst just over (MB)',
    bulwark: b?.rss.seeded ?? null,
    ceiling: null,
    verdaccio: v?.rss.seeded ?? null,
    digits: 1,
  });
  out.push({
    label: `server RSS ${SETTLE_SECONDS} s after seeding, no requests (MB)`,
    bulwark: b?.rss.settled ?? null,
    ceiling: null,
    verdaccio: v?.rss.settled ?? null,
    digits: 1,
  });
  out.push({
    label: 'server RSS after load tests (MB)',
    bulwark: b?.rss.afterLoad ?? null,
    ceiling: r.ceiling?.rss ?? null,
    verdaccio: v?.rss.afterLoad ?? null,
    digits: 1,
  });
  out.push({
    label: 'server RSS after the npm installs (MB)',
    bulwark: b?.rss.afterInstall ?? null,
    ceiling: null,
    verdaccio: v?.rss.afterInstall ?? null,
    digits: 1,
  });
  return out;
}

function table(r: Report, size: number): string {
  const b = r.bulwark.find((x) => x.size === size);
  const v = r.verdaccio.find((x) => x.size === size);
  const lines = [
    '| measurement | Bulwark | node:http ceiling | Verdaccio | Bulwark/ceiling | Bulwark/Verdaccio |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows(r, b, v).map(
      (row) =>
        `| ${row.label} | ${fmt(row.bulwark, row.digits)} | ${fmt(row.ceiling, row.digits)} | ${fmt(row.verdaccio, row.digits)} | ${ratio(row.bulwark, row.ceiling)} | ${ratio(row.bulwark, row.verdaccio)} |`,
    ),
  ];
  const seeded = (x: RegistryRun | undefined, name: string) =>
    x
      ? `${name}: ${fmt(x.publish.versions)} versions in ${x.publish.seconds.toFixed(1)} s, express closure (${x.express.versions} tarballs) in ${x.express.seconds.toFixed(1)} s`
      : `${name}: not run at this size`;
  return [
    `### N = ${fmt(size)} synthetic packages × ${r.settings.versions} versions`,
    '',
    `Seeding — ${seeded(b, 'Bulwark')}; ${seeded(v, 'Verdaccio')}.`,
    '',
    ...lines,
  ].join('\n');
}

type Target = { name: string; measured: string; pass: boolean | null };

export function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function targets(r: Report): Target[] {
  const out: Target[] = [];
  const largest = r.bulwark.reduce<RegistryRun | undefined>((m, x) => (!m || x.size > m.size ? x : m), undefined);
  const shared = r.bulwark
    .filter((x) => r.verdaccio.some((v) => v.size === x.size))
    .reduce<RegistryRun | undefined>((m, x) => (!m || x.size > m.size ? x : m), undefined);
  const vShared = shared ? r.verdaccio.find((v) => v.size === shared.size) : undefined;
  const at = (x: RegistryRun | undefined) => (x ? ` (N = ${fmt(x.size)})` : '');
  const share = (key: Scenario['key'], min: number, label: string) => {
    const ratios = (r.paired?.rounds ?? []).filter((x) => x.key === key).map((x) => x.bulwark / x.ceiling);
    if (!ratios.length) {
      out.push({ name: label, measured: 'not measured', pass: null });
      return;
    }
    const mid = median(ratios);
    const each = ratios.map((x) => `${fmt(100 * x)}%`).join(', ');
    // One decimal: a median just under the target must not print as the target itself (79.6% as "80%").
    out.push({
      name: label,
      measured: `${fmt(100 * mid, 1)}% of ceiling, median of ${ratios.length} back-to-back rounds (${each}; N = ${fmt(r.paired!.size)})`,
      pass: mid >= min,
    });
  };
  share('abbreviated', 0.8, 'abbreviated packument ≥ 80% of the node:http ceiling');
  {
    const b = shared?.load.abbreviated?.rps;
    const v = vShared?.load.abbreviated?.rps;
    out.push(
      b === undefined || v === undefined
        ? { name: 'abbreviated packument ≥ 5× Verdaccio', measured: 'Verdaccio not measured', pass: null }
        : {
            name: 'abbreviated packument ≥ 5× Verdaccio',
            measured: `${(b / v).toFixed(2)}×${at(shared)}`,
            pass: b >= 5 * v,
          },
    );
  }
  share('tarball', 0.8, 'tarball ≥ 80% of the node:http ceiling');
  {
    const b = shared?.install?.medianSeconds;
    const v = vShared?.install?.medianSeconds;
    out.push(
      b === undefined || v === undefined
        ? { name: 'cold npm install no slower than Verdaccio', measured: 'not measured', pass: null }
        : {
            name: 'cold npm install no slower than Verdaccio',
            measured: `${b.toFixed(2)} s vs ${v.toFixed(2)} s${at(shared)}`,
            pass: b <= v,
          },
    );
  }
  {
    // Holding 10k packages and serving them: settled after seeding, after the load tests, after the installs. The
    // reading taken as the publish burst ends is shown beside it, not hidden: it includes the malware-scan worker,
    // which lives only while publishes arrive (it stops after 10 s without work).
    const rss = largest
      ? Math.max(
          ...[largest.rss.settled, largest.rss.afterLoad, largest.rss.afterInstall].filter(
            (x): x is number => x !== null,
          ),
        )
      : null;
    const note = largest && largest.size < 10_000 ? ' — below 10k packages, so not the target size' : '';
    const burst =
      largest?.rss.seeded == null
        ? ''
        : `; ${largest.rss.seeded.toFixed(1)} MB right after the publish burst, scan worker still running`;
    out.push(
      rss === null || !Number.isFinite(rss)
        ? { name: 'Bulwark RSS < 150 MB with 10k packages', measured: 'not measured', pass: null }
        : {
            name: 'Bulwark RSS < 150 MB with 10k packages',
            measured: `peak ${rss.toFixed(1)} MB while serving${at(largest)}${burst}${note}`,
            pass: largest!.size >= 10_000 ? rss < 150 : null,
          },
    );
  }
  return out;
}

export function renderRun(r: Report): string {
  const sizes = [...new Set([...r.bulwark, ...r.verdaccio].map((x) => x.size))].sort((a, b) => a - b);
  const minutes = ((r.finished.getTime() - r.started.getTime()) / 60_000).toFixed(1);
  const verdict = (p: boolean | null) => (p === null ? 'n/a' : p ? 'PASS' : 'FAIL');
  const bodies = r.scenarios.map((s) => {
    const size = (l: LoadResult | undefined) => (l ? `${fmt(l.bodyBytes)} B` : '—');
    const b = r.bulwark.at(-1)?.load[s.key];
    const v = r.verdaccio.at(-1)?.load[s.key];
    return `| ${s.label} | \`${s.path}\` | ${size(b)} | ${size(r.ceiling?.load[s.key])} | ${size(v)} |`;
  });
  const problems: string[] = [];
  const collect = (who: string, load: LoadResults | undefined) => {
    for (const s of r.scenarios) {
      const l = load?.[s.key];
      if (l?.problems.length) problems.push(`${who}, ${s.label}: ${l.problems.join(', ')}`);
    }
  };
  for (const b of r.bulwark) collect(`Bulwark N=${b.size}`, b.load);
  collect('ceiling', r.ceiling?.load);
  for (const v of r.verdaccio) collect(`Verdaccio N=${v.size}`, v.load);
  const disturbed: string[] = [];
  const contention = (who: string, load: LoadResults | undefined) => {
    for (const s of r.scenarios) {
      const l = load?.[s.key];
      if (l && l.otherCpu > CONTENTION)
        disturbed.push(`${who} ${s.label} (${fmt(100 * l.otherCpu)}% of a core after ${l.attempts} tries)`);
    }
  };
  for (const b of r.bulwark) contention(`Bulwark N=${b.size}`, b.load);
  contention('ceiling', r.ceiling?.load);
  for (const v of r.verdaccio) contention(`Verdaccio N=${v.size}`, v.load);
  const all = [...r.bulwark.map((b) => b.load), r.ceiling?.load, ...r.verdaccio.map((v) => v.load)].flatMap((l) =>
    Object.values(l ?? {}),
  );
  const peakOther = Math.max(0, ...all.map((l) => l.otherCpu));
  return [
    `## ${r.started.toISOString().slice(0, 16).replace('T', ' ')} UTC — ${r.mode} run (${minutes} min)`,
    '',
    `- Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.ramGB.toFixed(1)} GB RAM, ${r.machine.os}`,
    `- Load average (1/5/15 min) before the run: ${r.machine.loadBefore.map((x) => x.toFixed(2)).join(' / ')} (other work on the machine during the run skews every figure)`,
    `- Node ${r.machine.node} (harness, Bulwark, ceiling and Verdaccio); npm ${r.tools.npm} for installs; autocannon ${r.tools.autocannon}; Verdaccio ${r.tools.verdaccio ?? 'not run'}`,
    `- Load tests: autocannon in the harness process, ${r.settings.connections} connections, pipelining ${r.settings.pipelining}, ${r.settings.warmup} s warm-up then ${r.settings.duration} s measured per test, no Accept-Encoding (identity bodies); servers each in their own process on 127.0.0.1`,
    `- Seeding: ${r.settings.concurrency} publishes in flight over HTTP (each package's versions in order); load-test target \`${r.target.pkg}\` and its tarball \`${r.target.tarball}\``,
    '',
    ...sizes.flatMap((size) => [table(r, size), '']),
    '### Targets',
    '',
    '| target | measured | result |',
    '| --- | --- | :---: |',
    ...targets(r).map((t) => `| ${t.name} | ${t.measured} | ${verdict(t.pass)} |`),
    '',
    '### Runtime checks (bench/checks.ts)',
    '',
    '| check | measured | result |',
    '| --- | --- | :---: |',
    ...r.checks.map((c) => `| ${c.name} | ${c.detail} | ${verdict(c.pass)} |`),
    '',
    '### Response bodies (largest N of each server)',
    '',
    '| request | path | Bulwark | ceiling | Verdaccio |',
    '| --- | --- | ---: | ---: | ---: |',
    ...bodies,
    '',
    '### Notes',
    '',
    '- Ratios are Bulwark ÷ the other server: above 1 is better for req/s and publishes/s; below 1 is better for latency, install time and RSS.',
    ...r.notes.map((n) => `- ${n}`),
    ...(problems.length
      ? problems.map((p) => `- Unexpected responses: ${p}`)
      : ['- Every load-test response had the expected status; no connection errors or timeouts.']),
    disturbed.length
      ? `- **Disturbed by other processes** (more than ${fmt(100 * CONTENTION)}% of a core used by processes other than the harness and the server, even after repeating): ${disturbed.join('; ')}. Treat these figures with suspicion.`
      : `- Other processes on the machine used at most ${fmt(100 * peakOther)}% of a core during any kept load test (a test above ${fmt(100 * CONTENTION)}% is repeated, up to 3 times).`,
    '',
  ].join('\n');
}

/** Writes the header, then this run, then the runs already in the file. */
export function appendRun(file: string, run: string): void {
  let older = '';
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8');
    const at = text.indexOf(MARKER);
    older = at >= 0 ? text.slice(at + MARKER.length).trim() : '';
  }
  writeFileSync(file, `${HEADER}\n${MARKER}\n\n${run.trim()}\n${older ? `\n${older}\n` : ''}`);
}
