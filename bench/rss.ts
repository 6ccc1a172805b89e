// Where a seeded Bulwark's memory goes, in a few minutes instead of the full benchmark's ten:
//
//   node bench/rss.ts [--sizes 1000,10000] [--versions 3] [--env MALLOC_ARENA_MAX=2] [--node-args=--max-semi-space-size=1]
//                     [--bin bin/bulwark.js] [--build-dir DIR] [--no-build] [--load SECONDS] [--reads all|N] [--label TEXT] [--json FILE] [--snapshot PREFIX]
//
// For each size: compiles src/ to a temporary dist/ (as `npm run build` does, without touching the checkout's dist/,
// which others may be using), creates an administrator and token with the CLI, starts `serve` on SQLite exactly as
// bench/registries.ts does, publishes the benchmark's synthetic packages over HTTP (bench/seed.ts, 8 in flight),
// optionally (--load S) runs the benchmark's load tests for S seconds each, then reads every package back (--reads:
// both packuments in rotating encodings — identity, gzip, br — and the latest tarball; a cold cache churning through
// every package, harsher than the benchmark, which reads one package and the express closure).
// Samples are taken at start, at each tenth of the seeding, after seeding, after the reads, after 5 s idle, after a
// forced full garbage collection, and after 15 s idle (the scan workers have stopped).
//
// Each sample holds, from outside the process: VmRSS, RssAnon and RssFile (/proc/PID/status); the resident part of
// glibc's thread arenas (64 MiB-aligned anonymous reservations in /proc/PID/smaps) and of the brk heap ([heap], the
// main arena); and from inside, through bench/rss-probe.js preloaded with --import and asked over the IPC channel:
// process.memoryUsage() (heapTotal, heapUsed, external, arrayBuffers) and V8's malloced_memory. "native" is RssAnon
// minus the V8 heap that is committed (heapTotal): the allocator's share, zlib, SQLite, buffers, fragmentation.
//
// `--env K=V` (repeatable) sets server environment variables (MALLOC_ARENA_MAX, MALLOC_TRIM_THRESHOLD_ …); `--node-args`
// passes Node options to the server; `--bin` runs another launcher (e.g. bin/bulwark.js, which runs the sources)
// instead of the compiled dist/; `--snapshot PREFIX` writes a V8 heap snapshot at the end (PREFIX-N.heapsnapshot);
// `--sizes 0` measures a server that was only started. `--keep-data PREFIX` keeps each seeded data directory
// (PREFIX-N) and `--seeded PREFIX` starts from a copy of it, skipping the seeding: the reads alone, in seconds. MB = 10^6 bytes, as in bench/RESULTS.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { NODE, ROOT, cleanEnv, cleanup, cpuSeconds, freePort, mustRun, stop, tempDir } from './processes.ts';
import { runAll, scenarios } from './load.ts';
import { pkgName, publishAll, syntheticPackages, syntheticVersion, type PackageUploads } from './seed.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000' },
    versions: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '8' },
    env: { type: 'string', multiple: true, default: [] },
    'node-args': { type: 'string', default: '' },
    bin: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    reads: { type: 'string', default: 'all' },
    load: { type: 'string', default: '0' },
    label: { type: 'string', default: '' },
    json: { type: 'string' },
    snapshot: { type: 'string' },
    'keep-data': { type: 'string' },
    seeded: { type: 'string' },
    'build-dir': { type: 'string', default: path.join(os.tmpdir(), 'bulwark-rss-build') },
  },
});

const sizes = values.sizes.split(',').map(Number);
const versions = Number(values.versions);
const concurrency = Number(values.concurrency);
const serverEnv = Object.fromEntries(
  values.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
const nodeArgs = values['node-args'].split(/\s+/).filter(Boolean);
const PROBE = path.join(ROOT, 'bench', 'rss-probe.js');
const BUILD = path.resolve(values['build-dir']);

/** src/ compiled into a folder of its own that resolves packages from the checkout's node_modules. */
async function build(): Promise<string> {
  const launcher = path.join(BUILD, 'launch.js');
  if (values['no-build'] && existsSync(launcher)) return launcher;
  mkdirSync(BUILD, { recursive: true });
  const t0 = performance.now();
  await mustRun('build (rss)', NODE, [path.join(ROOT, 'scripts', 'build.ts'), '--out-dir', path.join(BUILD, 'dist')]);
  // dist/cli/main.js reads ../../package.json for its version.
  cpSync(path.join(ROOT, 'package.json'), path.join(BUILD, 'package.json'));
  if (!existsSync(path.join(BUILD, 'node_modules')))
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(BUILD, 'node_modules'));
  writeFileSync(
    launcher,
    readFileSync(path.join(ROOT, 'bench', 'bulwark-dist.js'), 'utf8')
      .replace("'../dist/cli/main.js'", "'./dist/cli/main.js'")
      .replace("'../bin/bulwark.js'", `'${pathToFileURL(path.join(ROOT, 'bin', 'bulwark.js')).href}'`),
  );
  console.log(`built src/ into ${BUILD} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return launcher;
}

type Probe = {
  memory: NodeJS.MemoryUsage;
  heap: { malloced_memory: number; external_memory: number; total_physical_size: number };
};

class Server {
  readonly child: ChildProcess;
  readonly url: string;
  #next = 0;
  #tail: string[] = [];
  constructor(child: ChildProcess, url: string) {
    this.child = child;
    this.url = url;
    for (const s of [child.stdout, child.stderr]) {
      s?.setEncoding('utf8');
      s?.on('data', (d: string) => {
        this.#tail.push(d);
        if (this.#tail.length > 20) this.#tail.shift();
      });
    }
  }
  output(): string {
    return this.#tail.join('');
  }
  probe(gc = false, snapshot?: string): Promise<Probe> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the server did not answer the memory probe (is it running with bench/rss-probe.js?)')),
        10_000,
      );
      const onMessage = (msg: { rssProbe?: boolean; id?: number } & Probe) => {
        if (msg?.rssProbe !== true || msg.id !== id) return;
        clearTimeout(timer);
        this.child.off('message', onMessage);
        resolve(msg);
      };
      this.child.on('message', onMessage);
      this.child.send({ rssProbe: true, id, gc, snapshot });
    });
  }
}

async function startServer(bin: string, dataDir: string, seeded: boolean): Promise<{ server: Server; token: string }> {
  // A seeded data directory keeps the secret key it was made with (secrets at rest are sealed with it).
  const keyFile = path.join(dataDir, 'bench-secret-key');
  const secretKey = seeded ? readFileSync(keyFile, 'utf8') : randomBytes(24).toString('hex');
  const env = cleanEnv({ BULWARK_SECRET_KEY: secretKey });
  const store = ['--data-dir', dataDir];
  const port = await freePort();
  const args = [
    ...nodeArgs,
    '--import',
    PROBE,
    bin,
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    ...store,
    '--log-level',
    'warn',
  ];
  if (seeded) return { server: await spawnServer(args, env, port), token: '' };
  writeFileSync(keyFile, secretKey);
  await mustRun(
    'admin user create',
    NODE,
    [bin, 'admin', 'user', 'create', 'bench', '--email', 'bench@example.com', '--admin', '--password-stdin', ...store],
    { env, input: 'load-test-password-1234\n' },
  );
  const created = await mustRun(
    'admin token create',
    NODE,
    [bin, 'admin', 'token', 'create', 'bench', '--name', 'benchmark', ...store],
    { env },
  );
  const token = created.stdout.trim().split('\n').at(-1)!.trim();
  return { server: await spawnServer(args, env, port), token };
}

/** Servers started here (with the IPC channel processes.ts's launcher does not open): stopped on the way out. */
const servers = new Set<ChildProcess>();

async function spawnServer(args: string[], env: NodeJS.ProcessEnv, port: number): Promise<Server> {
  const child = spawn(NODE, args, {
    cwd: ROOT,
    env: { ...env, ...serverEnv },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  servers.add(child);
  child.once('exit', () => servers.delete(child));
  const server = new Server(child, `http://127.0.0.1:${port}`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}):\n${server.output()}`);
    const res = await fetch(`${server.url}/-/ready`).catch(() => null);
    if (res?.ok) break;
    await res?.arrayBuffer();
    if (Date.now() > deadline) throw new Error(`server not ready within 60 s:\n${server.output()}`);
    await sleep(100);
  }
  return server;
}

const kB = (text: string, field: string): number =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;

/**
 * Resident bytes of glibc's thread arenas and of the brk heap. A thread arena is a 64 MiB-aligned reservation of
 * 64 MiB of anonymous memory (a read-write part, then a PROT_NONE rest); V8's own reservations are aligned differently
 * or sized differently.
 */
function mallocMaps(pid: number): { arenas: number; arenaRss: number; brk: number } {
  const text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  type Map = { start: bigint; end: bigint; perms: string; name: string; rss: number };
  const maps: Map[] = [];
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head) {
      maps.push({
        start: BigInt('0x' + head[1]),
        end: BigInt('0x' + head[2]),
        perms: head[3]!,
        name: head[5]!.trim(),
        rss: 0,
      });
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && maps.length) maps.at(-1)!.rss = Number(rss[1]) * 1024;
  }
  const ARENA = 64n * 1024n * 1024n;
  let arenas = 0;
  let arenaRss = 0;
  let brk = 0;
  for (let i = 0; i < maps.length; i++) {
    const m = maps[i]!;
    if (m.name === '[heap]') brk += m.rss;
    if (m.name !== '' || m.perms !== 'rw-p' || m.start % ARENA !== 0n) continue;
    let end = m.end;
    let rss = m.rss;
    let j = i + 1;
    while (
      j < maps.length &&
      maps[j]!.start === end &&
      maps[j]!.name === '' &&
      maps[j]!.perms === '---p' &&
      end - m.start < ARENA
    ) {
      end = maps[j]!.end;
      rss += maps[j]!.rss;
      j++;
    }
    if (end - m.start === ARENA) {
      arenas++;
      arenaRss += rss;
    }
  }
  return { arenas, arenaRss, brk };
}

type Sample = {
  phase: string;
  rss: number;
  anon: number;
  file: number;
  hwm: number;
  arenas: number;
  arenaRss: number;
  brk: number;
} & Probe;

async function sample(server: Server, phase: string, gc = false): Promise<Sample> {
  const probe = await server.probe(gc);
  const pid = server.child.pid!;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const s: Sample = {
    phase,
    rss: kB(status, 'VmRSS'),
    anon: kB(status, 'RssAnon'),
    file: kB(status, 'RssFile'),
    hwm: kB(status, 'VmHWM'),
    ...mallocMaps(pid),
    ...probe,
  };
  console.log(`  ${phase.padEnd(22)} ${row(s).join(' | ')}`);
  return s;
}

const mb = (n: number) => (n / 1e6).toFixed(1);
const COLUMNS = [
  'RSS',
  'anon',
  'file',
  'heapTotal',
  'heapUsed',
  'external',
  'arrayBuffers',
  'V8 malloced',
  'native (anon − heapTotal)',
  'thread arenas (n: MB)',
  'brk heap',
];
const row = (s: Sample) => [
  mb(s.rss),
  mb(s.anon),
  mb(s.file),
  mb(s.memory.heapTotal),
  mb(s.memory.heapUsed),
  mb(s.memory.external),
  mb(s.memory.arrayBuffers),
  mb(s.heap.malloced_memory),
  mb(s.anon - s.memory.heapTotal),
  `${s.arenas}: ${mb(s.arenaRss)}`,
  mb(s.brk),
];

async function fetchOk(url: string, init?: RequestInit): Promise<void> {
  const res = await fetch(url, init);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}`);
}

/** Reads each package as an installing client would: both packuments (encodings rotating) and the latest tarball. */
async function readAll(url: string, packages: PackageUploads[]): Promise<void> {
  const encodings = ['identity', 'gzip', 'br', 'gzip, deflate, br'];
  let next = 0;
  const worker = async () => {
    while (next < packages.length) {
      const i = next++;
      const pkg = packages[i]!;
      const enc = encodings[i % encodings.length]!;
      await fetchOk(`${url}/${pkg.name}`, {
        headers: { accept: 'application/vnd.npm.install-v1+json', 'accept-encoding': enc },
      });
      await fetchOk(`${url}/${pkg.name}`, { headers: { 'accept-encoding': enc } });
      await fetchOk(`${url}/${pkg.name}/-/${pkg.name}-${pkg.versions.at(-1)}.tgz`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function measure(bin: string, size: number, all: PackageUploads[]): Promise<Sample[]> {
  const dir = tempDir('bulwark-rss-data-');
  if (values.seeded) cpSync(path.resolve(`${values.seeded}-${size}`), dir, { recursive: true });
  const { server, token } = await startServer(bin, dir, !!values.seeded);
  console.log(
    `\nN = ${size} (pid ${server.child.pid}${values.label ? `, ${values.label}` : ''})\n  ${'phase'.padEnd(22)} ${COLUMNS.join(' | ')}`,
  );
  const samples = [await sample(server, 'start')];
  const packages = all.slice(0, size);
  const target = { label: `N=${size}`, url: server.url, token };
  const steps = values.seeded ? 0 : 10;
  const t0 = performance.now();
  for (let k = 0; k < steps; k++) {
    const part = packages.slice(Math.floor((k * size) / steps), Math.floor(((k + 1) * size) / steps));
    await publishAll(target, part, { concurrency, every: Number.MAX_SAFE_INTEGER });
    samples.push(await sample(server, `seeded ${Math.floor(((k + 1) * size) / steps)}`));
  }
  const seconds = (performance.now() - t0) / 1000;
  if (steps)
    console.log(
      `  (${size * versions} versions in ${seconds.toFixed(1)} s = ${((size * versions) / seconds).toFixed(0)} publishes/s)`,
    );
  const loadSeconds = Number(values.load);
  if (loadSeconds > 0) {
    // The benchmark's load tests: one package's packuments and tarball, and a missing package, 50 connections each.
    const pkg = pkgName(Math.min(42, size - 1));
    const list = scenarios(pkg, `${pkg}-${syntheticVersion(versions - 1)}.tgz`);
    await runAll(
      `N=${size}`,
      server.url,
      list,
      { duration: loadSeconds, warmup: 1, connections: 50, pipelining: 1 },
      server.child.pid,
    );
    samples.push(await sample(server, 'after load tests'));
  }
  const reads = values.reads === 'all' ? packages : packages.slice(0, Number(values.reads));
  const t1 = performance.now();
  await readAll(server.url, reads);
  console.log(
    `  (${reads.length * 3} reads in ${((performance.now() - t1) / 1000).toFixed(1)} s; server CPU ${cpuSeconds(server.child.pid!).toFixed(1)} s so far)`,
  );
  samples.push(await sample(server, `served ${reads.length}`));
  await sleep(5000);
  samples.push(await sample(server, 'idle 5 s'));
  samples.push(await sample(server, 'after full GC', true));
  // The scan workers stop after 10 s without work (safety/scan/pool.ts): what a registry between publishes holds.
  await sleep(10_000);
  samples.push(await sample(server, 'idle 15 s'));
  if (values.snapshot) {
    const file = path.resolve(`${values.snapshot}-${size}.heapsnapshot`);
    await server.probe(false, file);
    console.log(`  heap snapshot written to ${file}`);
  }
  await stop(server.child);
  // --log-level warn: anything printed is a warning or an error worth seeing next to the figures.
  if (server.output().trim()) console.log(`  the server printed:\n${server.output().trim().slice(-4000)}`);
  if (values['keep-data']) {
    cpSync(dir, path.resolve(`${values['keep-data']}-${size}`), { recursive: true });
    console.log(
      `  data directory kept as ${values['keep-data']}-${size} (use it with --seeded ${values['keep-data']})`,
    );
  }
  return samples;
}

try {
  const bin = values.bin ? path.resolve(values.bin) : await build();
  console.log(
    `server: ${[...Object.entries(serverEnv).map(([k, v]) => `${k}=${v}`), ...nodeArgs].join(' ') || 'defaults'}; ${bin}`,
  );
  console.log(
    `building ${Math.max(...sizes)} packages × ${versions} versions (${pkgName(0)} … ${syntheticVersion(versions - 1)}) …`,
  );
  const all = syntheticPackages(Math.max(...sizes), versions);
  const results: Record<number, Sample[]> = {};
  for (const size of sizes) results[size] = await measure(bin, size, all);
  if (values.json)
    writeFileSync(values.json, JSON.stringify({ label: values.label, env: serverEnv, nodeArgs, results }, null, 2));
} finally {
  await Promise.all([...servers].map((child) => stop(child)));
  await cleanup();
}
