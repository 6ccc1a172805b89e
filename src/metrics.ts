// Prometheus metrics (docs/operating.md#metrics), built once by app.ts when --metrics is not off and handed to what
// records them. What changes per request or per task (request latency, upstream requests, scans, rate-limit
// refusals) is observed as it happens, one histogram observation or counter increment each; what a registry already
// counts or keeps (cache hits, the log's size, how far each event consumer is behind) is read when Prometheus scrapes,
// so it costs nothing between scrapes.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Kysely } from 'kysely';
import { latestSeq } from './store/events.ts';
import type { Database } from './store/schema.ts';
import { LOG_CURSOR, latestCheckpoint, logDb, treeSize } from './trust/tlog/store.ts';

export type CacheStats = { entries: number; bytes: number; hits: number; misses: number };

/** What the scrape-time metrics read: the in-memory caches by name, and the database. */
export type MetricSources = {
  db: Kysely<Database>;
  caches: () => Record<string, CacheStats>;
  clock: () => number;
};

export type ScanTask = 'scan' | 'inspect' | 'diff';

// Reads answered from memory take tens of microseconds; publishes, scans and upstream fetches take seconds.
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class Metrics {
  readonly registry = new Registry();
  readonly #requests: RequestHistogram;
  readonly #upstream: Histogram<'upstream' | 'kind' | 'outcome'>;
  readonly #scans: Histogram<'task' | 'outcome'>;
  readonly #refusals: Counter<'rule'>;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.#requests = new RequestHistogram(
      'bulwark_http_request_duration_seconds',
      'HTTP requests by method, route pattern and status: time until the response was handed to the socket',
    );
    this.registry.registerMetric(this.#requests as never);
    this.#upstream = new Histogram({
      name: 'bulwark_upstream_request_duration_seconds',
      help: 'requests to upstream registries, body included, by upstream host, kind (packument, tarball) and outcome (the status, or timeout or unavailable for errors)',
      labelNames: ['upstream', 'kind', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#scans = new Histogram({
      name: 'bulwark_scan_duration_seconds',
      help: 'tarball tasks in the scan workers, queueing included: malware scans by verdict (clean, suspicious, malicious, timeout), reads (ok, refused, timeout) and diffs (ok, failed)',
      labelNames: ['task', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#refusals = new Counter({
      name: 'bulwark_rate_limit_refusals_total',
      help: 'requests refused by the brute-force limits, by rule (accounts/limits.ts); every 429 is also in the request metric',
      labelNames: ['rule'],
      registers,
    });
    const caches = () => Object.entries(sources.caches());
    new Counter({
      name: 'bulwark_cache_lookups_total',
      help: 'lookups in the in-memory read caches, by cache and result (hit, miss)',
      labelNames: ['cache', 'result'],
      registers,
      collect() {
        this.reset();
        for (const [cache, s] of caches()) {
          this.inc({ cache, result: 'hit' }, s.hits);
          this.inc({ cache, result: 'miss' }, s.misses);
        }
      },
    });
    new Gauge({
      name: 'bulwark_cache_bytes',
      help: 'bytes held by each in-memory read cache (--cache-size shares)',
      labelNames: ['cache'],
      registers,
      collect() {
        for (const [cache, s] of caches()) this.set({ cache }, s.bytes);
      },
    });
    const { db, clock } = sources;
    // One set of database reads per scrape, shared by the gauges that report them.
    let pending: Promise<EventState> | null = null;
    const events = () =>
      (pending ??= readEventState(db).finally(() => {
        pending = null;
      }));
    new Gauge({
      name: 'bulwark_tlog_size',
      help: 'entries in the transparency log',
      registers,
      async collect() {
        this.set((await events()).logSize);
      },
    });
    new Gauge({
      name: 'bulwark_tlog_checkpoint_age_seconds',
      help: 'age of the latest signed checkpoint of the transparency log',
      registers,
      async collect() {
        const at = (await events()).checkpointAt;
        if (at === null) this.reset();
        else this.set(Math.max(0, (clock() - at) / 1000));
      },
    });
    new Gauge({
      name: 'bulwark_event_consumer_lag',
      help: `domain events each durable consumer has not processed yet; consumer="${LOG_CURSOR}" is the log sequencer's lag`,
      labelNames: ['consumer'],
      registers,
      async collect() {
        const state = await events();
        this.reset();
        for (const [consumer, position] of state.cursors) this.set({ consumer }, Math.max(0, state.latest - position));
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text Prometheus scrapes. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  request(method: string, route: string, status: number, seconds: number): void {
    this.#requests.observe(method, route, status, seconds);
  }

  upstreamRequest(upstream: string, kind: 'packument' | 'tarball' | 'keys', outcome: string, seconds: number): void {
    this.#upstream.observe({ upstream, kind, outcome }, seconds);
  }

  scan(task: ScanTask, outcome: string, seconds: number): void {
    this.#scans.observe({ task, outcome }, seconds);
  }

  rateLimited(rule: string): void {
    this.#refusals.inc({ rule });
  }
}

type Series = { labels: { method: string; route: string; status: string }; counts: Float64Array; sum: number };

/**
 * The request histogram, observed on every request, the fast read path's included. prom-client's Histogram builds
 * and checks a label key from a labels object on each observation (about 2 µs, a tenth of a read answered from
 * memory); this keeps one series per method, route and status found through nested maps, and gives prom-client's
 * registry the same values (its metric interface: name, help, type and get()) only when Prometheus scrapes.
 */
class RequestHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  readonly #series = new Map<string, Map<string, Map<number, Series>>>();

  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    let byRoute = this.#series.get(method);
    if (!byRoute) this.#series.set(method, (byRoute = new Map()));
    let byStatus = byRoute.get(route);
    if (!byStatus) byRoute.set(route, (byStatus = new Map()));
    let series = byStatus.get(status);
    if (!series) {
      const labels = { method, route, status: String(status) };
      byStatus.set(status, (series = { labels, counts: new Float64Array(LATENCY_BUCKETS.length + 1), sum: 0 }));
    }
    let b = 0;
    while (b < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[b]!) b++;
    series.counts[b]!++;
    series.sum += seconds;
  }

  /** The values in prom-client's form: cumulative buckets ending at +Inf, then the sum and the count. */
  get() {
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    for (const byRoute of this.#series.values())
      for (const byStatus of byRoute.values())
        for (const { labels, counts, sum } of byStatus.values()) {
          let cumulative = 0;
          LATENCY_BUCKETS.forEach((le, i) => {
            cumulative += counts[i]!;
            values.push({ labels: { ...labels, le }, value: cumulative, metricName: `${this.name}_bucket` });
          });
          cumulative += counts[LATENCY_BUCKETS.length]!;
          values.push({ labels: { ...labels, le: '+Inf' }, value: cumulative, metricName: `${this.name}_bucket` });
          values.push({ labels, value: sum, metricName: `${this.name}_sum` });
          values.push({ labels, value: cumulative, metricName: `${this.name}_count` });
        }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

type EventState = {
  latest: number;
  cursors: Array<[string, number]>;
  logSize: number;
  checkpointAt: number | null;
};

async function readEventState(db: Kysely<Database>): Promise<EventState> {
  const [latest, cursors, logSize, checkpoint] = await Promise.all([
    latestSeq(db),
    db.selectFrom('consumer_cursors').select(['name', 'position']).execute(),
    treeSize(logDb(db)),
    latestCheckpoint(logDb(db)),
  ]);
  return {
    latest,
    cursors: cursors.map((c) => [c.name, Number(c.position)]),
    logSize,
    checkpointAt: checkpoint ? Number(checkpoint.created_at) : null,
  };
}
