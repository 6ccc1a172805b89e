// The load tests: the same four requests against every server, each first checked once (status, content type, body
// size), then warmed up briefly, then measured with autocannon from this process.
import autocannon, { type Result } from 'autocannon';

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
    { key: 'abbreviated', label: 'abbreviated packument GET', path: `/${pkg}`, headers: { accept: ABBREVIATED }, status: 200 },
    { key: 'full', label: 'full packument GET', path: `/${pkg}`, headers: { accept: 'application/json' }, status: 200 },
    { key: 'tarball', label: 'tarball GET', path: `/${pkg}/-/${tarballFile}`, headers: {}, status: 200 },
    { key: 'missing', label: '404 GET (missing package)', path: '/bench-no-such-package', headers: { accept: ABBREVIATED }, status: 404 },
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
};

export type LoadSettings = { duration: number; warmup: number; connections: number; pipelining: number };

async function cannon(url: string, s: Scenario, settings: LoadSettings, duration: number): Promise<Result> {
  return autocannon({ url, connections: settings.connections, pipelining: settings.pipelining, duration, headers: s.headers, timeout: 10 });
}

export async function runScenario(base: string, s: Scenario, settings: LoadSettings): Promise<LoadResult> {
  const url = base + s.path;
  const probe = await fetch(url, { headers: s.headers });
  const bytes = Buffer.from(await probe.arrayBuffer());
  if (probe.status !== s.status) throw new Error(`GET ${url} answered ${probe.status}, expected ${s.status}: ${bytes.toString('utf8', 0, 300)}`);
  if (settings.warmup > 0) await cannon(url, s, settings, settings.warmup);
  const r = await cannon(url, s, settings, settings.duration);
  const problems: string[] = [];
  if (r.errors) problems.push(`${r.errors} connection errors`);
  if (r.timeouts) problems.push(`${r.timeouts} timeouts`);
  for (const [code, { count }] of Object.entries(r.statusCodeStats)) if (Number(code) !== s.status) problems.push(`${count} × HTTP ${code}`);
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    bodyBytes: bytes.length,
    contentType: probe.headers.get('content-type') ?? '',
    problems,
  };
}

export type LoadResults = Partial<Record<Scenario['key'], LoadResult>>;

export async function runAll(label: string, base: string, list: Scenario[], settings: LoadSettings): Promise<LoadResults> {
  const out: LoadResults = {};
  for (const s of list) {
    const r = await runScenario(base, s, settings);
    out[s.key] = r;
    const extra = r.problems.length ? `  (!) ${r.problems.join(', ')}` : '';
    console.log(`  ${label}: ${s.label}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.bodyBytes} B body${extra}`);
  }
  return out;
}
