// The part of autocannon's programmatic API the benchmark uses (the package ships no types).
declare module 'autocannon' {
  export type Options = {
    url: string;
    connections?: number;
    pipelining?: number;
    /** seconds */
    duration?: number;
    /** seconds before a request counts as a timeout */
    timeout?: number;
    method?: string;
    headers?: Record<string, string>;
    title?: string;
  };

  /** Percentiles and summary figures of one histogram (latency in ms, requests and bytes per second). */
  export type Histogram = {
    average: number;
    mean: number;
    stddev: number;
    min: number;
    max: number;
    total: number;
    p50: number;
    p90: number;
    p99: number;
    p999: number;
  };

  export type Result = {
    title?: string;
    url: string;
    connections: number;
    pipelining: number;
    /** seconds */
    duration: number;
    start: Date;
    finish: Date;
    errors: number;
    timeouts: number;
    mismatches: number;
    non2xx: number;
    resets: number;
    '1xx': number;
    '2xx': number;
    '3xx': number;
    '4xx': number;
    '5xx': number;
    statusCodeStats: Record<string, { count: number }>;
    latency: Histogram;
    requests: Histogram & { sent: number };
    throughput: Histogram;
  };

  type Instance = Promise<Result> & { stop(): void };

  function autocannon(opts: Options): Instance;
  export default autocannon;
}
