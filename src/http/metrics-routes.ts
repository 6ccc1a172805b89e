// GET /-/metrics for Prometheus, and the per-request observation behind its request metrics. Registered only when
// --metrics is not off (then the path is an ordinary 404 and no request pays for metrics at all). With --metrics
// token the scraper sends an administrator's API token or the dedicated --metrics-token as a bearer token.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Limiter } from '../accounts/limits.ts';
import type { Settings } from '../config.ts';
import { ClientError, unauthorized } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import type { Gate } from './gate.ts';
import type { FastRead } from './npm-routes.ts';

export type MetricsRouteDeps = {
  metrics: Metrics;
  settings: Pick<Settings, 'metrics' | 'metricsToken'>;
  gate: Gate;
  limiter: Limiter;
  /** the fast read path (npm-routes.ts answerFromMemory), wrapped once the server is ready so it is observed too. */
  fast: { read?: FastRead };
};

const digest = (s: string) => createHash('sha256').update(s).digest();

export function registerMetricsRoutes(app: FastifyInstance, deps: MetricsRouteDeps): void {
  const { metrics, settings, gate, limiter, fast } = deps;
  limiter.observeRefusals((rule) => metrics.rateLimited(rule));

  // A callback hook, not an async one: it runs on every routed request. The route is the pattern (/:name), so the
  // number of series stays bounded whatever clients ask for.
  app.addHook('onResponse', (req, reply, done) => {
    metrics.request(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  // The fast path's requests never reach Fastify: they are timed around the call, which writes the whole answer.
  app.addHook('onReady', (done) => {
    const read = fast.read;
    if (read) fast.read = observedFastRead(read, metrics);
    done();
  });

  const expected = settings.metricsToken === null ? null : digest(settings.metricsToken);
  app.get('/-/metrics', async (req, reply) => {
    if (settings.metrics === 'token') {
      const auth = req.headers.authorization;
      const bearer = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : null;
      const isMetricsToken = expected !== null && bearer !== null && timingSafeEqual(digest(bearer), expected);
      if (!isMetricsToken) {
        const principal = await gate.principal(req);
        if (!principal) throw unauthorized('the metrics need an administrator’s token or the metrics token');
        if (!principal.isAdmin)
          throw new ClientError('E_FORBIDDEN', 'only administrators (or the metrics token) may read the metrics');
      }
    }
    return reply
      .header('content-type', metrics.contentType)
      .header('cache-control', 'no-store')
      .send(await metrics.text());
  });
}

function observedFastRead(read: FastRead, metrics: Metrics): FastRead {
  return (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    if (!read(req, res)) return false;
    // The fast path serves only GETs of packuments and tarballs: labelled with the routes that would have served them.
    const url = req.url!;
    const scoped = url.charCodeAt(1) === 64; /* @ */
    const route = url.includes('/-/')
      ? scoped
        ? '/@:scope/:name/-/:file'
        : '/:name/-/:file'
      : scoped
        ? '/@:scope/:name'
        : '/:name';
    metrics.request('GET', route, res.statusCode, (performance.now() - started) / 1000);
    return true;
  };
}
