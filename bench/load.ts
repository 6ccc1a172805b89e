// The load tests: the same four requests against every server, each first checked once (status, content type, body
// size), then warmed up briefly, then measured with autocannon from this process.
import autocannon, { type Result } from 'autocannon';
import { cpuSample, otherCpu } from './processes.ts';

export const ABBREVIATED = 'application/vnd.npm.install-v1+json';

export type Scenario = {
  key: 'abbreviated' | 'full' | 'tarball' | 'missing';
  label: string;
  path: string;
  headers: Record<string, string>;
  status: number;
};

export function scenarios(pkg: string, tarballFile: string): Scenario[] {
  return [
    {
      key: 'abbreviated',
      label: 'abbreviated packument GET',
      path: `/${pkg}`,
      headers: { accept: ABBREVIATED },
      status: 200,
    },
    { key: 'full', label: 'full packument GET', path: `/${pkg}`, headers: { accept: 'application/json' }, status: 200 },
    { key: 'tarball', label: 'tarball GET', path: `/${pkg}/-/${tarballFile}`, headers: {}, status: 200 },
    {
      key: 'missing',
      label: '404 GET (missing package)',
      path: '/bench-no-such-package',
      headers: { accept: ABBREVIATED },
      status: 404,
    },
  ];
}

export type LoadResult = {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  /** size of one response body, bytes */
  bodyBytes: number;
  contentType: string;
  /** anything unexpected: connection errors, timeouts, other status codes */
  problems: string[];
  /** CPU that processes other than the harness and the server used during the measured run, in cores */
  otherCpu: number;
  /** measured runs made (a run disturbed by other processes is repeated) */
  attempts: number;
};

export type LoadSettings = { duration: number; warmup: number; connections: number; pipelining: number };

/** A measured run during which other processes used more than this share of a core is repeated (at most twice). */
export const CONTENTION = 0.1;
const ATTEMPTS = 3;

async function cannon(url: string, s: Scenario, settings: LoadSettings, duration: number): Promise<Result> {
  return autocannon({
    url,
    connections: settings.connections,
    pipelining: settings.pipelining,
    duration,
    headers: s.headers,
    timeout: 10,
  });
}

/**
 * Checks the response once, warms up, then measures. The CPU other processes use meanwhile is recorded; when it is
 * above CONTENTION the run is repeated, and the least disturbed run is kept.
 */
export async function runScenario(
  base: string,
  s: Scenario,
  settings: LoadSettings,
  serverPid: number | undefined,
): Promise<LoadResult> {
  const url = base + s.path;
  const probe = await fetch(url, { headers: { ...s.headers, 'accept-encoding': 'identity' } });
  const bytes = Buffer.from(await probe.arrayBuffer());
  if (probe.status !== s.status)
    throw new Error(`GET ${url} answered ${probe.status}, expected ${s.status}: ${bytes.toString('utf8', 0, 300)}`);
  if (settings.warmup > 0) await cannon(url, s, settings, settings.warmup);
  const pids = [process.pid, ...(serverPid === undefined ? [] : [serverPid])];
  let best: { r: Result; other: number } | null = null;
  let attempts = 0;
  while (attempts < ATTEMPTS && (!best || best.other > CONTENTION)) {
    attempts++;
    const before = cpuSample(pids);
    const started = performance.now();
    const r = await cannon(url, s, settings, settings.duration);
    const { other } = otherCpu(before, cpuSample(pids), (performance.now() - started) / 1000);
    if (other > CONTENTION)
      console.log(
        `  (other processes used ${(100 * other).toFixed(0)}% of a core during this run${attempts < ATTEMPTS ? ': repeating it' : ''})`,
      );
    if (!best || other < best.other) best = { r, other };
  }
  const r = best!.r;
  const problems: string[] = [];
  if (r.errors) problems.push(`${r.errors} connection errors`);
  if (r.timeouts) problems.push(`${r.timeouts} timeouts`);
  for (const [code, { count }] of Object.entries(r.statusCodeStats))
    if (Number(code) !== s.status) problems.push(`${count} × HTTP ${code}`);
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    bodyBytes: bytes.length,
    contentType: probe.headers.get('content-type') ?? '',
    problems,
    otherCpu: best!.other,
    attempts,
  };
}

export type LoadResults = Partial<Record<Scenario['key'], LoadResult>>;

export async function runAll(
  label: string,
  base: string,
  list: Scenario[],
  settings: LoadSettings,
  serverPid: number | undefined,
): Promise<LoadResults> {
  const out: LoadResults = {};
  for (const s of list) {
    const r = await runScenario(base, s, settings, serverPid);
    out[s.key] = r;
    const extra = r.problems.length ? `  (!) ${r.problems.join(', ')}` : '';
    console.log(
      `  ${label}: ${s.label}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.bodyBytes} B body, other processes ${(100 * r.otherCpu).toFixed(0)}% of a core${extra}`,
    );
  }
  return out;
}
