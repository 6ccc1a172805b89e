// Assembles the HTTP server: one Fastify instance, the gate, the npm protocol and identity routes, health checks,
// structured logs without secrets, and npm-style errors.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyReply,
  type FastifyRequest,
  type FastifyError,
  type FastifyInstance,
} from 'fastify';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Services } from '../app.ts';
import { ClientError, type ErrorCode, ERRORS, fail } from '../errors.ts';
import { wantsHtml } from './accepts.ts';
import { unreadBodyHeaders } from './gate.ts';
import { registerNpmRoutes, type FastRead } from './npm-routes.ts';
import { proxyReads } from './upstream-routes.ts';
import { UploadSlots } from './uploads.ts';
import { AJV_OPTIONS, schemaError } from './schemas.ts';
import { lazyChildLogger } from './request-logger.ts';
import { keepTickShape } from './tick-shape.ts';
import * as orgMemberRoutes from './org-member-routes.ts';
import * as packageAccessRoutes from './package-access-routes.ts';
import * as teamMemberRoutes from './team-member-routes.ts';
import * as teamRoutes from './team-routes.ts';
import * as lifecycleRoutes from './lifecycle-routes.ts';
import * as changesRoutes from './changes-routes.ts';
import * as unsupportedRoutes from './unsupported-routes.ts';
import * as logProofRoutes from './log-proof-routes.ts';
import * as logTileRoutes from './log-tile-routes.ts';
import * as keysRoutes from './keys-routes.ts';
import * as advisoryRoutes from './advisory-routes.ts';
import * as auditRoutes from './audit-routes.ts';
import * as starRoutes from './star-routes.ts';
import { encodingRefusal } from './compressed-bodies.ts';
import * as userRoutes from './user-routes.ts';
import * as tokenRoutes from './token-routes.ts';
import * as profileRoutes from './profile-routes.ts';
import * as reportRoutes from './report-routes.ts';
import { registerMetricsRoutes } from './metrics-routes.ts';
import { OtpRequired, secondFactorCheck, type SecondFactorDeps } from './second-factor.ts';
import * as webLoginRoutes from './web-login.ts';
import { DbCounterStore, Limiter, RedisCounterStore } from '../accounts/limits.ts';

/** What the web UI is built with besides the services: the server, and the shared limiter and second-factor state. */
export type PageParts = { app: FastifyInstance; limiter: Limiter; secondFactor: SecondFactorDeps };

/** How the web UI answers a browser's failed request: as a page. */
export type ErrorPages = {
  sendError(req: FastifyRequest, reply: FastifyReply, status: number, message: string): unknown;
};

/** The HTTP side of a running registry; `url` is where it listens (the public URL may differ). */
export type HttpApp = {
  app: FastifyInstance;
  limiter: Limiter;
  uploads: UploadSlots;
  url: string;
  close(): Promise<void>;
};

/** Tokens appear in logout URLs (DELETE /-/user/token/…) and emailed links: never let one reach a log line. */
export const redactUrl = (url: string) =>
  url
    .replace(/(\/-\/user\/token\/)[^/?]+/, '$1[redacted]')
    .replace(/bwk_[0-9A-Za-z]{42}/g, 'bwk_[redacted]')
    // Emailed links (verify-email, reset-password) carry their single-use secret in the query.
    .replace(/([?&]token=)[^&#]+/g, '$1[redacted]');

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by a read answered from memory (packument, tarball): a success is then logged at debug, not info. */
    routineRead: boolean;
  }
}

/**
 * One line per request, after the response, with the URL's secrets removed. Successful reads answered from memory
 * are most of a registry's traffic and tell an operator nothing, so they are logged at debug; everything else (writes,
 * errors, not-found, pages, reads that had to be built) at info, each line with its request id.
 */
class RequestLog extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(error: Error | null, req: FastifyRequest, reply: FastifyReply): void {
    const level = req.routineRead && reply.statusCode < 400 ? 'debug' : 'info';
    // The app's logger is pino (AppDeps.logger), and so are its per-request children.
    if (!(req.log as Logger).isLevelEnabled(level)) return;
    req.log[level](
      {
        method: req.method,
        url: redactUrl(req.url),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        ip: req.ip,
      },
      'request',
    );
  }
}

const REQUEST_ID = /^[\w.:-]{1,64}$/;
// An id only has to tell one request from the others in the logs: a random prefix per process and a counter do,
// at a fraction of a UUID's cost on every response.
const REQUEST_ID_PREFIX = `${randomBytes(4).toString('base64url')}-`;
let requestCount = 0;

/** The client's X-Request-Id when it is a sane one, so a proxy's id follows the request through; else a new one. */
function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given)
    ? given
    : REQUEST_ID_PREFIX + (++requestCount).toString(36);
}

/**
 * Starts the HTTP server over the services (app.ts): the routes, the error handling, and the fast read path. The
 * background work of a registry (event consumers, the log sequencer) is started by app.ts once this listens.
 */
export async function startHttp(services: Services, addPages: (parts: PageParts) => ErrorPages): Promise<HttpApp> {
  const { settings, store, blobs, logger, secretKey, clock, packages, lifecycle, gate, downloads, publicUrl } =
    services;
  // Full collections at quiet moments (memory settling, V8's own) would otherwise slow every later nextTick, and so
  // every request (see tick-shape.ts).
  keepTickShape();

  // Browsers get errors as pages, once the web UI is added below.
  let pages: ErrorPages | null = null;
  // The fast read path is registered with the npm routes, after the server is made.
  const fast: { read?: FastRead; closing: boolean } = { closing: false };
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new RequestLog(),
    childLoggerFactory: lazyChildLogger,
    trustProxy: settings.trustProxy.length ? settings.trustProxy : false,
    bodyLimit: 1024 * 1024,
    // A request must arrive whole, body included, within 5 minutes (Node's own default; Fastify's is no limit), so a
    // client trickling a large upload holds one of the few upload slots (uploads.ts) for that long at most.
    requestTimeout: 300_000,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 512 },
    genReqId: requestIdOf,
    // Routes declare their params, query and body (schemas.ts); a failed check is E_INVALID_REQUEST naming the field.
    schemaErrorFormatter: schemaError,
    ajv: { customOptions: AJV_OPTIONS },
    // Reads answered from memory skip the router (see answerFromMemory in npm-routes.ts). Routine reads are logged
    // only at debug, so at debug every request takes the routed path, which logs it; so does every request once the
    // server is closing, which Fastify then answers with 503.
    serverFactory: (handler, opts) => {
      const server = createServer((req, res) => {
        try {
          if (fast.read && !fast.closing && !logger.isLevelEnabled('debug') && fast.read(req, res)) return;
        } catch (err) {
          // Nothing was sent yet (the fast path writes last): the router answers, and reports, as for any failure.
          logger.error({ err, url: redactUrl(req.url ?? '') }, 'fast read path failed');
          if (res.headersSent) return void res.destroy();
        }
        handler(req, res);
      });
      // What Fastify sets on a server it makes itself (opts holds its options with the defaults filled in).
      server.keepAliveTimeout = opts.keepAliveTimeout as number;
      server.requestTimeout = opts.requestTimeout as number;
      server.setTimeout(opts.connectionTimeout as number);
      return server;
    },
  });
  app.addHook('preClose', (done) => {
    fast.closing = true;
    done();
  });

  app.decorateRequest('routineRead', false);
  // A callback hook, not an async one: it runs on every request, and a promise per request is measurable.
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    // NUL is never valid in the npm protocol, and PostgreSQL refuses it in text: stop it at the door.
    if (req.url.includes('%00')) return done(fail('E_INVALID_REQUEST', 'the URL contains a NUL character'));
    // No route means nothing to read the body for: answer before Fastify would parse it (up to its 1 MB limit).
    if (req.is404 && (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined))
      return done(new ClientError('E_NOT_FOUND', 'Not found', unreadBodyHeaders(req)));
    // A compressed body only where the route decodes it (compressed-bodies.ts): refused before it is read.
    if (req.headers['content-encoding'] !== undefined) {
      const refusal = encodingRefusal(req);
      if (refusal) return done(refusal);
    }
    done();
  });
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, text, done) => {
    if ((text as string).includes('\\u0000'))
      return done(fail('E_INVALID_REQUEST', 'the request body contains a NUL character'), undefined);
    return parseJson(req, text as string, done);
  });

  app.setErrorHandler((err: FastifyError | ClientError, req, reply) => {
    // Browsers asking for a page get the message as a page; npm clients keep npm's JSON body, with the stable code.
    const send = (code: ErrorCode, error: string, extra?: object) => {
      const status = ERRORS[code].status;
      return wantsHtml(req) && pages
        ? pages.sendError(req, reply, status, error)
        : reply.code(status).send({ error, code, ...extra });
    };
    if (err instanceof ClientError) {
      for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
      // npm's web OTP reads authUrl/doneUrl from the 401's JSON body.
      return send(err.code, err.message, err instanceof OtpRequired ? err.body : undefined);
    }
    const code = frameworkCode((err as FastifyError).statusCode);
    if (code === 'E_BODY_TOO_LARGE')
      return send(
        code,
        `request body too large (this registry accepts tarballs up to ${settings.maxTarballSize} bytes)`,
      );
    if (code) return send(code, err.message);
    req.log.error({ err }, 'request failed');
    return send('E_INTERNAL', `internal server error (request id ${req.id})`);
  });
  app.setNotFoundHandler((req, reply) =>
    wantsHtml(req) && pages
      ? pages.sendError(req, reply, 404, 'Not found')
      : reply.code(404).send({ error: 'Not found', code: 'E_NOT_FOUND' }),
  );

  app.get('/-/health', async () => ({ status: 'ok' }));
  app.get('/-/ready', async (_req, reply) => {
    const problems: string[] = [];
    await sql`select 1`.execute(store.db).catch(() => problems.push('database unreachable'));
    if (!(await blobs.writable())) problems.push('blob store not writable');
    return reply.code(problems.length ? 503 : 200).send({ status: problems.length ? 'unavailable' : 'ok', problems });
  });

  const limiter = new Limiter(
    settings.rateLimitStore === 'redis' ? new RedisCounterStore(settings.redisUrl) : new DbCounterStore(store.db),
    clock,
  );
  const webLogins = { db: store.db, key: secretKey, limiter, clock, publicUrl };
  const secondFactor = {
    db: store.db,
    key: secretKey,
    limiter,
    clock,
    offerWebOtp: webLoginRoutes.webOtpOffer(webLogins),
  };
  gate.addWriteCheck(secondFactorCheck(secondFactor));
  userRoutes.register(app, { db: store.db, gate, signup: settings.signup, secondFactor });
  // npm token list/create/revoke (/-/npm/v1/tokens).
  tokenRoutes.register(app, { db: store.db, gate, secondFactor, clock, publicUrl });
  // npm profile get/set/enable-2fa/disable-2fa (/-/npm/v1/user).
  profileRoutes.register(app, { gate, secondFactor, publicUrl });
  // npm login/adduser in the browser, and npm's web OTP (the pages are in the web UI below).
  webLoginRoutes.register(app, webLogins);
  // npm deprecate, unpublish and owner: what happens to a package after publish (GEN-2a).
  const lifecycleDeps = { packages, lifecycle, gate, clock };
  lifecycleRoutes.register(app, lifecycleDeps);
  // npm star, unstar and stars.
  const starDeps = { db: store.db, gate, packages, clock };
  starRoutes.register(app, starDeps);
  // Publish documents are read whole: only so many at once (uploads.ts).
  const uploads = new UploadSlots();
  fast.read = registerNpmRoutes(app, {
    packages,
    gate,
    downloads,
    uploads,
    clock,
    updateDocument: lifecycleRoutes.documentHandler(lifecycleDeps),
    starDocument: starRoutes.starHandler(starDeps),
    requestId: requestIdOf,
    // Packages not hosted here, from the upstream registries (docs/upstream.md).
    proxy: services.upstream ? proxyReads({ upstream: services.upstream, gate, requestId: requestIdOf }) : undefined,
  });
  // npm org, team, access and owner: organisations, teams, grants and maintainers (AUTHZ-2).
  const orgDeps = { db: store.db, gate, packages, clock };
  orgMemberRoutes.register(app, orgDeps);
  teamRoutes.register(app, orgDeps);
  teamMemberRoutes.register(app, orgDeps);
  packageAccessRoutes.register(app, orgDeps);
  // The transparency log: checkpoint, tiles, proofs and the changes feed (GEN-3b).
  const logDeps = { db: store.db, gate, packages };
  logTileRoutes.register(app, logDeps);
  logProofRoutes.register(app, logDeps);
  changesRoutes.register(app, logDeps);
  // The registry's signing keys for `npm audit signatures` (CLI-1).
  keysRoutes.register(app, { db: store.db, gate });
  // OSV advisories for packages removed as malicious: records, index and all.zip (GEN-3c).
  advisoryRoutes.register(app, { db: store.db, gate, packages, publicUrl });
  // npm audit's bulk and quick endpoints, answered from those advisories (CLI-2).
  auditRoutes.register(app, { db: store.db, gate, packages, publicUrl });
  // npm 11's trust and stage commands: features of npmjs.com not offered here, refused with what to do instead.
  unsupportedRoutes.register(app);
  // Reporting packages (GEN-2b): the JSON API (the report form and the moderators' queue are pages).
  reportRoutes.register(app, { db: store.db, gate, packages, limiter, clock });
  // The web UI: GET / for browsers and the pages under /-/web/ (web/ui.ts), assembled by app.ts.
  pages = addPages({ app, limiter, secondFactor });
  // Prometheus metrics at /-/metrics and the request observations behind them, unless --metrics is off.
  if (services.metrics) registerMetricsRoutes(app, { metrics: services.metrics, settings, gate, limiter, fast });

  await app.listen({ host: settings.host, port: settings.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  const wildcard = settings.host === '0.0.0.0' || settings.host === '::';
  const host = wildcard ? 'localhost' : settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  if (!services.publicUrl()) services.setPublicUrl(`http://${host}:${port}`);
  if (wildcard && !settings.publicUrl)
    logger.warn(
      `listening on all interfaces without --public-url: tarball links will say ${services.publicUrl()}, which other machines cannot reach`,
    );
  return {
    app,
    limiter,
    uploads,
    url: `http://${host}:${port}`,
    async close() {
      await app.close();
      await limiter.close();
    },
  };
}

/** The code of a refusal Fastify itself makes (a body it cannot parse, too large, of a type no route takes). */
function frameworkCode(status: number | undefined): ErrorCode | null {
  if (status === 413) return 'E_BODY_TOO_LARGE';
  if (status === 415) return 'E_UNSUPPORTED_MEDIA_TYPE';
  if (status === 404) return 'E_NOT_FOUND';
  if (status !== undefined && status >= 400 && status < 500) return 'E_INVALID_REQUEST';
  return null;
}
