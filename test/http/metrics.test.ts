// Prometheus metrics at /-/metrics: off by default (404), public, or for administrators and the metrics token; the
// text is valid exposition format, and what the registry did (requests, a scan, cache hits, upstream failures,
// rate-limit refusals, the log and its consumers) shows in it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadSettings, type ConfigError } from '../../src/config.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const METRICS_TOKEN = 'm'.repeat(40);

type Sample = { name: string; labels: Record<string, string>; value: number };
type Family = { type: string; help: string; samples: Sample[] };

/**
 * Parses the Prometheus text exposition format (version 0.0.4) strictly: every line is a HELP, a TYPE or a sample
 * of a family declared before it, label values are quoted with \\, \" and \n escapes, values are floats.
 */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const SUFFIXES: Record<string, string[]> = {
    counter: [''],
    gauge: [''],
    histogram: ['_bucket', '_sum', '_count'],
    summary: ['', '_sum', '_count'],
    untyped: [''],
  };
  assert.ok(text.endsWith('\n'), 'the text ends with a line feed');
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      const f = families.get(m[1]!) ?? { type: '', help: '', samples: [] };
      f.help = m[2]!;
      families.set(m[1]!, f);
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) {
      const f = families.get(m[1]!) ?? { type: '', help: '', samples: [] };
      assert.equal(f.samples.length, 0, `TYPE of ${m[1]} comes before its samples`);
      f.type = m[2]!;
      families.set(m[1]!, f);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$/.exec(line);
    assert.ok(m, `not a HELP, TYPE or sample line: ${line}`);
    const [, name, rawLabels, rawValue] = m;
    const labels: Record<string, string> = {};
    if (rawLabels) {
      const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
      let at = 0;
      while (at < rawLabels.length) {
        const l = LABEL.exec(rawLabels);
        assert.ok(l && l.index === at, `malformed labels in: ${line}`);
        labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
        at = LABEL.lastIndex;
      }
    }
    // Values are read as Go's strconv.ParseFloat reads them, which takes NaN and Inf in any case.
    const special = /^(nan|[+-]?inf)$/i.exec(rawValue!);
    const value = special
      ? /nan/i.test(rawValue!)
        ? NaN
        : rawValue!.startsWith('-')
          ? -Infinity
          : Infinity
      : Number(rawValue);
    assert.ok(special || (rawValue !== '' && !Number.isNaN(value)), `not a number: ${line}`);
    const family = [...families.entries()].find(
      ([f, { type }]) => type && SUFFIXES[type]!.some((suffix) => name === f + suffix),
    );
    assert.ok(family, `sample ${name} belongs to no declared family`);
    family[1].samples.push({ name: name!, labels, value });
  }
  for (const [name, f] of families) {
    if (f.type !== 'histogram') continue;
    // Each series' buckets are cumulative and end at +Inf, which equals its count.
    const series = new Map<string, Sample[]>();
    for (const s of f.samples.filter((x) => x.name === `${name}_bucket`)) {
      const { le, ...rest } = s.labels;
      assert.ok(le, `${name}_bucket without le`);
      const key = JSON.stringify(rest);
      series.set(key, [...(series.get(key) ?? []), s]);
    }
    for (const [key, buckets] of series) {
      const values = buckets.map((b) => b.value);
      assert.deepEqual(
        values,
        [...values].sort((a, b) => a - b),
        `${name}${key} buckets are cumulative`,
      );
      assert.equal(buckets.at(-1)!.labels.le, '+Inf');
      const count = f.samples.find((x) => x.name === `${name}_count` && JSON.stringify(x.labels) === key);
      assert.equal(count?.value, buckets.at(-1)!.value, `${name}${key}: +Inf bucket equals the count`);
    }
  }
  return families;
}

/** The value of the one sample of a family whose labels include these. */
function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name.replace(/_(count|sum|bucket)$/, '')) ?? families.get(name);
  const matching = (family?.samples ?? []).filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return matching.reduce((sum, s) => sum + s.value, 0);
}

describe('metrics', () => {
  it('are off by default: /-/metrics is not found', async () => {
    const r = await startRegistry('sqlite');
    try {
      const res = await r.request('GET', '/-/metrics', { token: r.adminToken });
      assert.equal(res.status, 404);
    } finally {
      await r.stop();
    }
  });

  describe('with --metrics token', () => {
    let r: TestRegistry;
    before(async () => {
      r = await startRegistry('sqlite', {
        metrics: 'token',
        'metrics-token': METRICS_TOKEN,
        // Nothing listens on port 1: every upstream request fails at once. Only names starting "not-" go there (a
        // first publish of a name the upstream covers would ask it first).
        upstream: 'not-*=http://127.0.0.1:1',
      });
    });
    after(() => r.stop());

    it('refuses anonymous callers, wrong tokens and users who are not administrators', async () => {
      const anonymous = await r.request('GET', '/-/metrics');
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.json().code, 'E_AUTH_REQUIRED');
      assert.doesNotMatch(anonymous.text, /bulwark_/);
      assert.equal((await r.request('GET', '/-/metrics', { token: 'x'.repeat(40) })).status, 401);
      assert.equal((await r.request('GET', '/-/metrics', { token: METRICS_TOKEN.slice(1) })).status, 401);
      const { token } = await r.user('mallory');
      const user = await r.request('GET', '/-/metrics', { token });
      assert.equal(user.status, 403);
      assert.doesNotMatch(user.text, /bulwark_/);
    });

    it('serve the exposition format to the metrics token and to administrators', async () => {
      for (const token of [METRICS_TOKEN, r.adminToken]) {
        const res = await r.request('GET', '/-/metrics', { token });
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
        const families = parseExposition(res.text);
        for (const name of [
          'bulwark_http_request_duration_seconds',
          'bulwark_cache_lookups_total',
          'bulwark_tlog_size',
          'bulwark_event_consumer_lag',
          'process_cpu_seconds_total',
        ])
          assert.ok(families.has(name), `${name} is exposed`);
      }
    });

    it('count requests by route, cache hits, a scan, upstream failures, refusals and the log', async () => {
      const scrape = async () => parseExposition((await r.request('GET', '/-/metrics', { token: METRICS_TOKEN })).text);
      const before = await scrape();
      const packumentReads = { name: 'bulwark_http_request_duration_seconds_count', route: '/:name', status: '200' };

      const published = await r.request('PUT', '/counted', {
        token: r.adminToken,
        body: body(publishDoc({ name: 'counted', version: '1.0.0' })),
      });
      assert.equal(published.status, 201, published.text);
      for (let i = 0; i < 3; i++) assert.equal((await r.request('GET', '/counted')).status, 200);
      assert.equal((await r.request('GET', '/counted/-/counted-1.0.0.tgz')).status, 200);
      // A name not hosted here goes to the (unreachable) upstream.
      assert.equal((await r.request('GET', '/not-hosted-here')).status, 502);
      // Wrong passwords until the sign-in limit refuses.
      let status = 0;
      for (let i = 0; i < 8 && status !== 429; i++)
        status = (
          await r.request('PUT', '/-/user/org.couchdb.user:admin', { body: { name: 'admin', password: 'wrong-one' } })
        ).status;
      assert.equal(status, 429);
      // The sequencer logs the publish within its interval.
      let after = await scrape();
      for (let i = 0; i < 50 && value(after, 'bulwark_tlog_size') === 0; i++) {
        await new Promise((done) => setTimeout(done, 100));
        after = await scrape();
      }

      const moved = (name: string, labels: Record<string, string>) =>
        value(after, name, labels) - value(before, name, labels);
      const { name: _, ...readLabels } = packumentReads;
      assert.equal(moved(packumentReads.name, { ...readLabels, method: 'GET' }), 3, 'three packument reads');
      assert.equal(moved('bulwark_http_request_duration_seconds_count', { method: 'PUT', route: '/:name' }), 1);
      assert.equal(moved('bulwark_http_request_duration_seconds_count', { route: '/:name/-/:file', status: '200' }), 1);
      assert.ok(moved('bulwark_cache_lookups_total', { cache: 'hosted_packuments', result: 'hit' }) >= 2, 'cache hits');
      assert.equal(moved('bulwark_scan_duration_seconds_count', { task: 'scan', outcome: 'clean' }), 1, 'one scan');
      assert.equal(moved('bulwark_scan_duration_seconds_count', { task: 'inspect', outcome: 'ok' }), 1);
      assert.equal(
        moved('bulwark_upstream_request_duration_seconds_count', {
          upstream: '127.0.0.1:1',
          kind: 'packument',
          outcome: 'unavailable',
        }),
        1,
      );
      assert.ok(moved('bulwark_rate_limit_refusals_total', { rule: 'pw-acct-ip' }) >= 1, 'the refusal is counted');
      assert.ok(value(after, 'bulwark_tlog_size') >= 1, 'the publish is in the log');
      assert.ok(after.get('bulwark_event_consumer_lag')!.samples.some((s) => s.labels.consumer === 'transparency-log'));
      assert.ok(value(after, 'bulwark_cache_bytes', { cache: 'hosted_packuments' }) > 0);
    });
  });

  it('settings: the mode is one of three, and a metrics token must be long enough to be a secret', () => {
    const settings = loadSettings({
      flags: {},
      env: { BULWARK_METRICS: 'token', BULWARK_METRICS_TOKEN: METRICS_TOKEN },
    });
    assert.equal(settings.metrics, 'token');
    assert.equal(settings.metricsToken, METRICS_TOKEN);
    assert.equal(loadSettings({ flags: {}, env: {} }).metrics, 'off');
    assert.throws(
      () => loadSettings({ flags: { metrics: 'on', 'metrics-token': 'short' }, env: {} }),
      (err: ConfigError) =>
        err.problems.length === 2 &&
        /--metrics = "on" must be one of off, public, token/.test(err.problems[0]!) &&
        /^--metrics-token \(not shown: a secret\) must be at least 32 characters/.test(err.problems[1]!) &&
        !err.message.includes('short'),
    );
  });

  it('with --metrics public, anyone may scrape them', async () => {
    const r = await startRegistry('sqlite', { metrics: 'public' });
    try {
      const res = await r.request('GET', '/-/metrics');
      assert.equal(res.status, 200);
      assert.ok(parseExposition(res.text).has('bulwark_http_request_duration_seconds'));
    } finally {
      await r.stop();
    }
  });
});
