// Short, repeatable measurements for performance work (the full `npm run bench` takes minutes of every core):
//
//   node bench/probe.ts seed --dir DIR [--size 10000]      seed a registry once over HTTP; RSS after seeding
//   node bench/probe.ts cpu --dir DIR [--bin A,B] …         server CPU time per request under load, A/B interleaved
//   node bench/probe.ts seeded --dir NEWDIR [--size N] …    the process that just seeded N packages against the
//                                                           ceiling, then a restarted one on the same data, each
//                                                           interleaved round by round with the ceiling
//   node bench/probe.ts install --dir DIR [--bin A,B] …     cold `npm install express` time, A/B interleaved
//                                                           (`verdaccio` as a --bin entry: Verdaccio 6 with the closure)
//
// CPU time per request (utime + stime of the server process from /proc/PID/stat, divided by the requests it answered)
// is far less sensitive to other work on the machine than requests per second, so A/B comparisons use it; user and
// system time are shown apart, since the kernel's share (loopback TCP) is the same for every server. `--bin` takes
// several bin/bulwark.js paths (e.g. an older checkout exported with `git archive`) and alternates between them round
// by round, all serving the same seeded data directory. `--prof DIR` runs the servers with --cpu-prof. `--pin` keeps
// this process (the load generator) on CPU 0 and each server, all its threads, on CPU 1 (with taskset), so the two
// never take turns on one core.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { ABBREVIATED, scenarios, type Scenario } from './load.ts';
import { SETTLE_SECONDS, median } from './report.ts';
import {
  NODE,
  ROOT,
  cleanEnv,
  cleanup,
  cpuSeconds,
  cpuTimes,
  freePort,
  mustRun,
  rssMB,
  startServer,
  stop,
  type Server,
} from './processes.ts';
import { coldInstall, ensureVerdaccio, startCeiling, startVerdaccio } from './registries.ts';
import { expressPackages, pkgName, publishAll, syntheticPackages, syntheticVersion } from './seed.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    dir: { type: 'string' },
    size: { type: 'string', default: '10000' },
    bin: { type: 'string', default: path.join(ROOT, 'bin', 'bulwark.js') },
    scenarios: { type: 'string', default: 'abbreviated,full,tarball,missing' },
    duration: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    encoding: { type: 'string', default: '' },
    prof: { type: 'string' },
    'log-level': { type: 'string', default: 'warn' },
    pin: { type: 'boolean', default: false },
    /** extra Node options per --bin entry, separated by commas, e.g. "--max-semi-space-size=4," */
    'node-args': { type: 'string', default: '' },
  },
});

const command = positionals[0];
const dir = values.dir ? path.resolve(values.dir) : '';
if (!command || !dir) {
  console.error(
    'usage: node bench/probe.ts seed|cpu|install --dir DIR [options] (see the comment at the top of the file)',
  );
  process.exit(2);
}
const bins = values.bin.split(',').map((b) => (b.includes('ceiling:') || b === 'verdaccio' ? b : path.resolve(b)));
const SECRET = 'probe-secret-key-0123456789abcdef0123456789';

/** The package (and its tarball) the load tests read in a registry seeded with `size` packages. */
function loadTarget(size: number): { pkg: string; file: string } {
  const pkg = pkgName(Math.min(42, size - 1));
  return { pkg, file: `${pkg}-${syntheticVersion(2)}.tgz` };
}

const seededSize = (): number => Number(readFileSync(path.join(dir, 'size'), 'utf8'));

async function pinTo(cpu: number, pid: number): Promise<void> {
  if (values.pin) await mustRun('taskset', 'taskset', ['-a', '-p', '-c', String(cpu), String(pid)]);
}

async function serve(bin: string, label: string, index = 0): Promise<Server> {
  const server = await launch(bin, label, index);
  await pinTo(1, server.child.pid!);
  return server;
}

async function launch(bin: string, label: string, index: number): Promise<Server> {
  if (bin === 'verdaccio') return verdaccio();
  // "ceiling:DIR" runs bench/ceiling.ts serving the files in DIR (full.json, abbreviated.json, tarball.tgz);
  // "SCRIPT:ceiling:DIR" runs another server script taking the same arguments (to measure a framework's own cost).
  if (bin.includes('ceiling:')) {
    const { pkg, file } = loadTarget(seededSize());
    const script = bin.startsWith('ceiling:')
      ? path.join(ROOT, 'bench', 'ceiling.ts')
      : path.resolve(bin.slice(0, bin.indexOf(':ceiling:')));
    return startServer(label, NODE, [script, bin.slice(bin.indexOf('ceiling:') + 8), pkg, file], { probe: '/-/ping' });
  }
  const port = await freePort();
  const extra = values['node-args'].split(',')[index]?.split(' ').filter(Boolean) ?? [];
  const nodeArgs = extra.concat(
    values.prof
      ? [
          '--cpu-prof',
          '--cpu-prof-dir',
          path.resolve(values.prof),
          '--cpu-prof-name',
          `${label}-${Date.now()}.cpuprofile`,
        ]
      : [],
  );
  return startServer(
    label,
    NODE,
    [
      ...nodeArgs,
      bin,
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--data-dir',
      dir,
      '--log-level',
      values['log-level'],
    ],
    {
      env: cleanEnv({ BULWARK_SECRET_KEY: SECRET }),
      url: `http://127.0.0.1:${port}`,
      probe: '/-/ready',
    },
  );
}

/**
 * Verdaccio 6 on DIR/verdaccio, holding the express closure (published on first use), for `install` comparisons:
 * `--bin bench/bulwark-dist.js,verdaccio`. Restarted each round as Bulwark is.
 */
async function verdaccio(): Promise<Server> {
  const home = path.join(dir, 'verdaccio');
  const fresh = !existsSync(home);
  mkdirSync(home, { recursive: true });
  await ensureVerdaccio();
  const server = await startVerdaccio(home, fresh);
  if (fresh) {
    const ex = await expressPackages();
    await publishAll({ label: 'verdaccio', url: server.url, token: server.token }, ex.packages, {
      concurrency: 8,
      every: ex.packages.length,
    });
  }
  return server;
}

const mb = (n: number | null) => (n === null ? '?' : n.toFixed(1));

/**
 * RSS of the server; with PROBE_SIGNAL set (e.g. SIGUSR2) the server is also sent that signal at each reading, so a
 * module preloaded into it with --node-args="--import …" can print its own heap figures at the same moments.
 */
function rss(pid: number): string {
  if (process.env.PROBE_SIGNAL) process.kill(pid, process.env.PROBE_SIGNAL as NodeJS.Signals);
  return mb(rssMB(pid));
}

/** Creates the benchmark's administrator and token in DIR, starts bins[0] on it and publishes SIZE packages (3 versions each) and the express closure. */
async function seedRunning(size: number): Promise<Server> {
  const env = cleanEnv({ BULWARK_SECRET_KEY: SECRET });
  const store = ['--data-dir', dir];
  await mustRun(
    'admin user create',
    NODE,
    [
      bins[0]!,
      'admin',
      'user',
      'create',
      'bench',
      '--email',
      'bench@example.com',
      '--admin',
      '--password-stdin',
      ...store,
    ],
    { env, input: 'load-test-password-1234\n' },
  );
  const created = await mustRun('admin token create', NODE, [bins[0]!, 'admin', 'token', 'create', 'bench', ...store], {
    env,
  });
  const token = created.stdout.trim().split('\n').at(-1)!.trim();
  const server = await serve(bins[0]!, 'seed');
  const pid = server.child.pid!;
  console.log(`RSS idle ${rss(pid)} MB`);
  const target = { label: 'seed', url: server.url, token };
  const t0 = cpuSeconds(pid);
  const r = await publishAll(target, syntheticPackages(size, 3), { concurrency: 8 });
  const ex = await expressPackages();
  await publishAll(target, ex.packages, { concurrency: 8, every: ex.packages.length });
  console.log(
    `seeded ${r.versions} versions in ${r.seconds.toFixed(1)} s; server CPU ${(cpuSeconds(pid) - t0).toFixed(1)} s; RSS after seeding ${rss(pid)} MB`,
  );
  writeFileSync(path.join(dir, 'token'), token);
  writeFileSync(path.join(dir, 'size'), String(size));
  writeFileSync(path.join(dir, 'express'), ex.rootVersion);
  return server;
}

async function seed(): Promise<void> {
  if (existsSync(path.join(dir, 'token'))) throw new Error(`${dir} is already seeded`);
  await stop((await seedRunning(Number(values.size))).child);
}

function pick(size = seededSize()): Scenario[] {
  const { pkg, file } = loadTarget(size);
  const all = scenarios(pkg, file);
  const wanted = values.scenarios.split(',');
  const list = all.filter((s) => wanted.includes(s.key));
  if (values.encoding) for (const s of list) s.headers = { ...s.headers, 'accept-encoding': values.encoding };
  return list;
}

type Sample = { us: number; user: number; sys: number; rps: number; rss: number };

/** One measured load test (after a 1 s warm-up): the server's CPU per request, split into user and system time. */
async function measure(server: Server, s: Scenario, label: string): Promise<Sample> {
  const pid = server.child.pid!;
  const opts = { url: server.url + s.path, connections: Number(values.connections), headers: s.headers, timeout: 10 };
  await autocannon({ ...opts, duration: 1 });
  const before = cpuTimes(pid);
  const r = await autocannon({ ...opts, duration: Number(values.duration) });
  const after = cpuTimes(pid);
  const bad = Object.entries(r.statusCodeStats).filter(([code]) => Number(code) !== s.status);
  if (bad.length || r.errors) console.log(`  (!) ${label} ${s.key}: ${JSON.stringify(bad)} errors ${r.errors}`);
  const per = (seconds: number) => (seconds * 1e6) / r.requests.total;
  const sample = {
    us: per(after.user + after.sys - before.user - before.sys),
    user: per(after.user - before.user),
    sys: per(after.sys - before.sys),
    rps: r.requests.average,
    rss: rssMB(pid) ?? 0,
  };
  console.log(
    `  ${label} ${s.key}: ${sample.us.toFixed(1)} µs CPU/request (user ${sample.user.toFixed(1)}, system ${sample.sys.toFixed(1)}), ${sample.rps.toFixed(0)} req/s, RSS ${mb(sample.rss)} MB`,
  );
  return sample;
}

function summary(key: string, xs: Sample[]): string {
  const m = (f: (x: Sample) => number) => median(xs.map(f));
  // Other work on the machine only ever adds CPU time per request, so the minimum is the least disturbed figure.
  return `  ${key.padEnd(22)} ${m((x) => x.us)
    .toFixed(1)
    .padStart(
      6,
    )} µs/req (user ${m((x) => x.user).toFixed(1)}, system ${m((x) => x.sys).toFixed(1)}; min ${Math.min(...xs.map((x) => x.us)).toFixed(1)})  ${m(
    (x) => x.rps,
  )
    .toFixed(0)
    .padStart(6)} req/s  RSS ${m((x) => x.rss).toFixed(1)} MB`;
}

async function cpu(): Promise<void> {
  const list = pick();
  const results = new Map<string, Sample[]>();
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const [i, bin] of bins.entries()) {
      const label = String.fromCharCode(65 + i);
      const server = await serve(bin, label, i);
      for (const s of list) {
        const key = `${label} ${s.key}`;
        results.set(key, [...(results.get(key) ?? []), await measure(server, s, `round ${round + 1} ${label}`)]);
      }
      await stop(server.child);
    }
  }
  console.log('\nmedians:');
  for (const s of list) {
    for (const [i] of bins.entries()) {
      const key = `${String.fromCharCode(65 + i)} ${s.key}`;
      console.log(summary(key, results.get(key)!));
    }
  }
}

/**
 * The full benchmark load-tests the very process that seeded the registry. This compares that process with the
 * ceiling and then, after a restart on the same data, a fresh process with the ceiling: each round is one Bulwark
 * test and one ceiling test back to back, so the ratios are little affected by slow drifts of the machine's speed.
 */
async function seeded(): Promise<void> {
  if (existsSync(dir)) throw new Error(`${dir} exists: "seeded" seeds a new registry there`);
  mkdirSync(dir, { recursive: true });
  const list = pick(Number(values.size));
  let server = await seedRunning(Number(values.size));
  // As in the full benchmark: the publish burst's memory is given back when the scan workers stop.
  await new Promise((r) => setTimeout(r, SETTLE_SECONDS * 1000));
  console.log(`RSS ${SETTLE_SECONDS} s after seeding ${rss(server.child.pid!)} MB`);
  const { pkg, file } = loadTarget(Number(values.size));
  const bytes = async (p: string, accept: string) =>
    Buffer.from(await (await fetch(server.url + p, { headers: { accept } })).arrayBuffer());
  const ceiling = await startCeiling(
    {
      full: await bytes(`/${pkg}`, 'application/json'),
      abbreviated: await bytes(`/${pkg}`, ABBREVIATED),
      tarball: await bytes(`/${pkg}/-/${file}`, '*/*'),
    },
    pkg,
    file,
  );
  await pinTo(1, ceiling.child.pid!);
  for (const state of ['seeded', 'restarted']) {
    if (state === 'restarted') {
      await stop(server.child);
      server = await serve(bins[0]!, 'restarted');
    }
    for (const s of list) {
      const ours: Sample[] = [];
      const theirs: Sample[] = [];
      for (let round = 0; round < Number(values.rounds); round++) {
        ours.push(await measure(server, s, `round ${round + 1} ${state}`));
        theirs.push(await measure(ceiling, s, `round ${round + 1} ceiling`));
      }
      const ratios = ours.map((o, i) => o.rps / theirs[i]!.rps);
      console.log(summary(`${state} ${s.key}`, ours));
      console.log(summary(`ceiling ${s.key}`, theirs));
      console.log(
        `  ${state} ${s.key}: ${(100 * median(ratios)).toFixed(0)}% of the ceiling's req/s (rounds ${ratios.map((x) => `${(100 * x).toFixed(0)}%`).join(', ')})\n`,
      );
    }
  }
}

async function install(): Promise<void> {
  const version = readFileSync(path.join(dir, 'express'), 'utf8');
  const times = new Map<string, number[]>();
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const [i, bin] of bins.entries()) {
      const label = String.fromCharCode(65 + i);
      // A fresh process each time, so every packument is built and compressed on first request, as after a restart.
      const server = await serve(bin, label, i);
      const pid = server.child.pid!;
      const t0 = cpuSeconds(pid);
      const r = await coldInstall(label, server.url, version);
      console.log(
        `  round ${round + 1} ${label}: ${r.seconds.toFixed(2)} s, server CPU ${(cpuSeconds(pid) - t0).toFixed(2)} s, RSS ${mb(rssMB(pid))} MB`,
      );
      times.set(label, [...(times.get(label) ?? []), r.seconds]);
      await stop(server.child);
    }
  }
  for (const [label, xs] of times)
    console.log(`  ${label}: median ${median(xs).toFixed(2)} s of ${xs.map((x) => x.toFixed(2)).join(', ')}`);
}

if (values.pin) await pinTo(0, process.pid);
try {
  if (command === 'seed') await seed();
  else if (command === 'cpu') await cpu();
  else if (command === 'seeded') await seeded();
  else if (command === 'install') await install();
  else throw new Error(`unknown command ${command}`);
} finally {
  await cleanup();
}
