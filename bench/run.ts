// The benchmark: `npm run bench` seeds Bulwark, a node:http ceiling and Verdaccio with the same packages, load-tests
// each on loopback with autocannon, times cold `npm install express` from each registry, reads RSS, and adds the
// results to bench/RESULTS.md (see the header written there for the options).
import { mkdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { runChecks } from './checks.ts';
import { runAll, runScenario, scenarios, type LoadSettings, type Scenario } from './load.ts';
import { NODE, ROOT, cleanup, rssMB, stop, tempDir, type Server } from './processes.ts';
import {
  NPM11,
  buildBulwark,
  coldInstall,
  ensureVerdaccio,
  startBulwark,
  startCeiling,
  startVerdaccio,
  verdaccioVersion,
  type Registry,
} from './registries.ts';
import {
  SETTLE_SECONDS,
  appendRun,
  median,
  renderRun,
  type PairedRun,
  type RegistryRun,
  type Report,
} from './report.ts';
import {
  expressPackages,
  pkgName,
  publishAll,
  syntheticPackages,
  syntheticVersion,
  type PackageUploads,
} from './seed.ts';

type Options = {
  sizes: number[];
  verdaccioSizes: number[];
  load: LoadSettings;
  concurrency: number;
  versions: number;
  installs: number;
  quick: boolean;
  out: string;
};

const USAGE = `usage: node bench/run.ts [--quick] [--sizes 1000,10000] [--verdaccio-sizes 1000|none] [--duration 10]
                         [--connections 50] [--concurrency 8] [--versions 3] [--installs 3] [--out FILE]`;

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      sizes: { type: 'string' },
      'verdaccio-sizes': { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      concurrency: { type: 'string' },
      versions: { type: 'string' },
      installs: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const env = process.env;
  const quick = values.quick ?? env.BENCH_QUICK === '1';
  const int = (raw: string | undefined, dflt: number, name: string, min: number): number => {
    if (raw === undefined || raw === '') return dflt;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number ≥ ${min}, not "${raw}"`);
    return n;
  };
  const list = (raw: string | undefined, dflt: number[], name: string): number[] => {
    if (raw === undefined || raw === '') return dflt;
    if (raw === 'none') return [];
    return [...new Set(raw.split(',').map((s) => int(s.trim(), 0, name, 1)))].sort((a, b) => a - b);
  };
  const sizes = list(values.sizes ?? env.BENCH_SIZES, quick ? [300] : [1000, 10_000], '--sizes');
  if (!sizes.length) throw new Error('--sizes needs at least one package count');
  const duration = int(values.duration ?? env.BENCH_DURATION, quick ? 3 : 10, '--duration', 1);
  return {
    sizes,
    verdaccioSizes: list(
      values['verdaccio-sizes'] ?? env.BENCH_VERDACCIO_SIZES,
      quick ? [300] : [1000],
      '--verdaccio-sizes',
    ),
    load: {
      duration,
      warmup: quick ? 1 : 2,
      connections: int(values.connections ?? env.BENCH_CONNECTIONS, 50, '--connections', 1),
      pipelining: 1,
    },
    concurrency: int(values.concurrency ?? env.BENCH_CONCURRENCY, 8, '--concurrency', 1),
    versions: int(values.versions ?? env.BENCH_VERSIONS, 3, '--versions', 1),
    installs: int(values.installs ?? env.BENCH_INSTALLS, quick ? 1 : 3, '--installs', 0),
    quick,
    out: path.resolve(
      values.out ??
        (quick ? path.join(ROOT, 'bench', 'work', 'RESULTS-quick.md') : path.join(ROOT, 'bench', 'RESULTS.md')),
    ),
  };
}

const step = (msg: string) => console.log(`\n== ${msg}`);

const versionOf = (file: string): string => (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;

type Workload = {
  synthetic: PackageUploads[];
  express: Awaited<ReturnType<typeof expressPackages>>;
  scenarios: Scenario[];
};

/** Seeds a fresh registry with N packages and the express closure, load-tests it, reads RSS. Installs come later. */
async function measure(
  label: string,
  registry: Registry,
  size: number,
  work: Workload,
  opts: Options,
): Promise<RegistryRun> {
  const pid = registry.child.pid;
  const target = { label, url: registry.url, token: registry.token };
  const idle = rssMB(pid);
  const publish = await publishAll(target, work.synthetic.slice(0, size), { concurrency: opts.concurrency });
  console.log(
    `  ${label}: ${publish.versions} versions in ${publish.seconds.toFixed(1)} s = ${(publish.versions / publish.seconds).toFixed(0)} publishes/s`,
  );
  const express = await publishAll(target, work.express.packages, {
    concurrency: opts.concurrency,
    every: work.express.packages.length,
    what: 'express closure packages',
  });
  const seeded = rssMB(pid);
  await sleep(SETTLE_SECONDS * 1000);
  const settled = rssMB(pid);
  console.log(
    `  ${label}: RSS after seeding ${seeded?.toFixed(1)} MB, ${SETTLE_SECONDS} s later ${settled?.toFixed(1)} MB`,
  );
  const load = await runAll(label, registry.url, work.scenarios, opts.load, pid);
  const afterLoad = rssMB(pid);
  console.log(`  ${label}: RSS after load tests ${afterLoad?.toFixed(1)} MB`);
  return { size, publish, express, load, install: null, rss: { idle, seeded, settled, afterLoad, afterInstall: null } };
}

/**
 * The read-throughput targets compare Bulwark with the ceiling. Measured minutes apart, the two saw different
 * machines (a shared host's speed drifts by ±15% over minutes), so the targets use rounds taken back to back instead:
 * Bulwark, then the ceiling (the order swapped each round), one scenario at a time, and the median of the rounds'
 * ratios.
 */
const PAIRED_ROUNDS = 3;
const PAIRED_SCENARIOS: Scenario['key'][] = ['abbreviated', 'tarball'];

async function pairedRounds(
  bulwark: Live,
  ceiling: Server,
  list: Scenario[],
  settings: LoadSettings,
): Promise<PairedRun> {
  const rounds: PairedRun['rounds'] = [];
  for (let round = 0; round < PAIRED_ROUNDS; round++) {
    for (const s of list) {
      const order = round % 2 ? (['ceiling', 'bulwark'] as const) : (['bulwark', 'ceiling'] as const);
      const rps = { bulwark: 0, ceiling: 0 };
      for (const who of order) {
        const server = who === 'bulwark' ? bulwark.registry : ceiling;
        rps[who] = (await runScenario(server.url, s, settings, server.child.pid)).rps;
      }
      rounds.push({ key: s.key, ...rps });
      console.log(
        `  round ${round + 1} ${s.label}: Bulwark ${rps.bulwark.toFixed(0)} req/s, ceiling ${rps.ceiling.toFixed(0)} req/s (${((100 * rps.bulwark) / rps.ceiling).toFixed(0)}%)`,
      );
    }
  }
  return { size: bulwark.run.size, rounds };
}

/** A seeded registry kept running until the installs, which compare every registry under the same conditions. */
type Live = { label: string; registry: Registry; dir: string; run: RegistryRun };

/**
 * Cold installs from every registry, interleaved: one unmeasured install each first (the client's own start-up and
 * the servers' caches warm, as on a registry in use), then round after round with the order rotated. Run one
 * registry after another, the comparison measured the time of day as much as the servers: npm's install time on a
 * shared machine drifts by tenths of a second over minutes.
 */
async function installs(live: Live[], rootVersion: string, rounds: number): Promise<void> {
  for (const l of live) await coldInstall(`${l.label} (warm-up)`, l.registry.url, rootVersion);
  const seconds = new Map<Live, number[]>(live.map((l) => [l, []]));
  let packages = 0;
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < live.length; i++) {
      const l = live[(i + round) % live.length]!;
      const r = await coldInstall(l.label, l.registry.url, rootVersion);
      seconds.get(l)!.push(r.seconds);
      packages = r.packages;
    }
  }
  for (const l of live) {
    const xs = seconds.get(l)!;
    l.run.install = { medianSeconds: median(xs), seconds: xs, packages };
    l.run.rss.afterInstall = rssMB(l.registry.child.pid);
    console.log(
      `  ${l.label}: cold install median ${l.run.install.medianSeconds.toFixed(2)} s of ${xs.map((x) => x.toFixed(2)).join(', ')}; RSS ${l.run.rss.afterInstall?.toFixed(1)} MB`,
    );
  }
}

/** The bytes a registry serves for the load-test package, fetched exactly as the load tests ask for them. */
async function capture(url: string, list: Scenario[]): Promise<{ full: Buffer; abbreviated: Buffer; tarball: Buffer }> {
  const get = async (key: Scenario['key']) => {
    const s = list.find((x) => x.key === key)!;
    const res = await fetch(url + s.path, { headers: { ...s.headers, 'accept-encoding': 'identity' } });
    if (res.status !== 200) throw new Error(`GET ${s.path} answered ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  };
  return { full: await get('full'), abbreviated: await get('abbreviated'), tarball: await get('tarball') };
}

async function main(): Promise<void> {
  const opts = parseOptions();
  const started = new Date();
  const cpus = os.cpus();
  const machine = {
    cpu: cpus[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus.length,
    ramGB: os.totalmem() / 1e9,
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    loadBefore: os.loadavg(),
  };
  console.log(
    `Bulwark benchmark (${opts.quick ? 'quick' : 'full'}): ${machine.cpu}, ${machine.cores} cores, ${machine.ramGB.toFixed(1)} GB, Node ${machine.node}`,
  );
  console.log(
    `  sizes ${opts.sizes.join(', ')}; Verdaccio sizes ${opts.verdaccioSizes.join(', ') || 'none'}; ${opts.load.duration} s per load test; ${opts.load.connections} connections`,
  );
  if (!process.version.startsWith('v26.'))
    console.log(`  note: the harness runs on Node ${process.version}; the servers and npm run on ${NODE}`);

  if (opts.verdaccioSizes.length) {
    step('Verdaccio install');
    await ensureVerdaccio();
  }

  step('building Bulwark (dist/)');
  await buildBulwark();

  step('building publish documents');
  const maxSize = Math.max(...opts.sizes, ...opts.verdaccioSizes);
  const t0 = performance.now();
  const synthetic = syntheticPackages(maxSize, opts.versions);
  const express = await expressPackages();
  const pkg = pkgName(Math.min(42, Math.min(...opts.sizes, ...opts.verdaccioSizes) - 1));
  const tarball = `${pkg}-${syntheticVersion(opts.versions - 1)}.tgz`;
  const work: Workload = { synthetic, express, scenarios: scenarios(pkg, tarball) };
  console.log(
    `  ${synthetic.length} synthetic packages × ${opts.versions} versions and ${express.tarballs} express closure tarballs (${express.packages.length} packages) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  const notes: string[] = [];
  const live: Live[] = [];
  const bulwark: RegistryRun[] = [];
  let bytes: Awaited<ReturnType<typeof capture>> | null = null;
  for (const size of opts.sizes) {
    step(`Bulwark with N = ${size}`);
    const dir = tempDir('bulwark-bench-data-');
    const registry = await startBulwark(dir);
    console.log(`  Bulwark listening on ${registry.url} (pid ${registry.child.pid})`);
    const label = `Bulwark N=${size}`;
    const run = await measure(label, registry, size, work, opts);
    bulwark.push(run);
    live.push({ label, registry, dir, run });
    bytes = await capture(registry.url, work.scenarios);
  }

  step('node:http ceiling');
  const server: Server = await startCeiling(bytes!, pkg, tarball);
  console.log(
    `  ceiling listening on ${server.url} (pid ${server.child.pid}), serving the bytes Bulwark N=${opts.sizes.at(-1)} returned`,
  );
  const ceiling: Report['ceiling'] = {
    load: await runAll('ceiling', server.url, work.scenarios, opts.load, server.child.pid),
    rss: rssMB(server.child.pid),
  };
  const largest = live.reduce((m, l) => (l.run.size > m.run.size ? l : m));
  step(`Bulwark N=${largest.run.size} against the ceiling, interleaved: ${PAIRED_ROUNDS} rounds`);
  const paired = await pairedRounds(
    largest,
    server,
    work.scenarios.filter((s) => PAIRED_SCENARIOS.includes(s.key)),
    opts.load,
  );
  await stop(server.child);

  const verdaccio: RegistryRun[] = [];
  for (const size of opts.verdaccioSizes) {
    step(`Verdaccio with N = ${size}`);
    const dir = tempDir('bulwark-bench-verdaccio-');
    const registry = await startVerdaccio(dir);
    console.log(`  Verdaccio listening on ${registry.url} (pid ${registry.child.pid})`);
    const label = `Verdaccio N=${size}`;
    const run = await measure(label, registry, size, work, opts);
    verdaccio.push(run);
    live.push({ label, registry, dir, run });
  }

  if (opts.installs > 0) {
    step(
      `cold npm install express@${express.rootVersion}: ${opts.installs} rounds over ${live.length} registries, interleaved`,
    );
    await installs(live, express.rootVersion, opts.installs);
  }
  for (const l of live) {
    await stop(l.registry.child);
    await rm(l.dir, { recursive: true, force: true });
  }

  const maxBulwark = Math.max(...opts.sizes);
  const maxVerdaccio = opts.verdaccioSizes.length ? Math.max(...opts.verdaccioSizes) : 0;
  const last = verdaccio.at(-1);
  const verdaccioRate = last ? last.publish.versions / last.publish.seconds : 0;
  if (maxVerdaccio && maxVerdaccio < maxBulwark) {
    notes.push(
      `Verdaccio was seeded with at most ${maxVerdaccio.toLocaleString('en-US')} packages (Bulwark with up to ${maxBulwark.toLocaleString('en-US')}): at its measured ${verdaccioRate.toFixed(0)} publishes/s, ${maxBulwark.toLocaleString('en-US')} packages would take about ${((maxBulwark * opts.versions) / verdaccioRate / 60).toFixed(0)} minutes to seed, and the load tests read one package, so N matters little to them. Bulwark/Verdaccio ratios compare the two at the same N.`,
    );
  }
  notes.push(
    `The Bulwark/ceiling targets are judged on ${PAIRED_ROUNDS} rounds in which Bulwark N=${largest.run.size.toLocaleString('en-US')} and the ceiling were load-tested back to back (the order swapped each round), not on the single runs in the tables, which were taken minutes apart.`,
  );
  notes.push(
    `The ceiling serves, from memory, the exact bytes Bulwark N=${maxBulwark.toLocaleString('en-US')} returned for \`${pkg}\` (both packuments) and its tarball, with only content-type and content-length headers.`,
  );
  if (opts.installs > 0) {
    notes.push(
      `Cold installs run after every load test, with all ${live.length} registries still running: one unmeasured install from each, then ${opts.installs} rounds taking the registries in turn (the order rotated each round), each install in a new project with an empty npm cache. The median of each registry's rounds is reported.`,
    );
  }
  notes.push(
    'RSS is VmRSS from /proc/PID/status of the server process (MB = 10^6 bytes). Bulwark runs compiled from dist/, as an installed package does.',
  );
  if (verdaccio.length) {
    notes.push(
      "Verdaccio's publish rate is bounded by its default (legacy) tokens: every authenticated request re-verifies the user's bcrypt password hash (bcryptjs, cost 10). The load tests and installs are anonymous reads, which this does not affect.",
    );
  }

  const report: Report = {
    started,
    finished: new Date(),
    mode: opts.quick ? 'quick' : 'full',
    machine,
    tools: {
      verdaccio: opts.verdaccioSizes.length ? await verdaccioVersion() : null,
      npm: versionOf(path.join(path.dirname(NPM11), '..', 'package.json')),
      autocannon: versionOf(path.join(ROOT, 'node_modules', 'autocannon', 'package.json')),
    },
    settings: { ...opts.load, concurrency: opts.concurrency, versions: opts.versions, installs: opts.installs },
    target: { pkg, tarball, expressVersion: express.rootVersion, expressTarballs: express.tarballs },
    scenarios: work.scenarios,
    bulwark,
    ceiling,
    paired,
    verdaccio,
    checks: await runChecks(),
    notes,
  };
  const text = renderRun(report);
  mkdirSync(path.dirname(opts.out), { recursive: true });
  appendRun(opts.out, text);
  step(`results (added to ${path.relative(process.cwd(), opts.out) || opts.out})`);
  console.log(text);
}

let exiting = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (exiting) return;
    exiting = true;
    console.error(`\n${signal}: stopping servers and removing temporary files …`);
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

try {
  await main();
} catch (err) {
  // After Ctrl-C the servers are being stopped under main(): its errors then are expected.
  if (!exiting) console.error(`\nbenchmark failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
} finally {
  if (!exiting) await cleanup();
}
