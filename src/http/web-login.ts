// npm's browser flows on the protocol side (npm-profile's webAuth and npm/cli's otplease):
//   POST /-/v1/login            {} for `npm login`, {create:true} for `npm adduser` → {loginUrl, doneUrl}
//   GET  /-/v1/login/done/:id   202 + Retry-After while the user decides, then 200 {token} once, then 410
//   GET  /-/v1/otp/done/:id     the same for a write that asked for a second factor: 200 {token} carries a single-use
//                               grant that npm sends back as `npm-otp` when it retries the write
// The pages the user opens are in web/web-login-routes.ts. npm treats any 4xx/500 on the POST as "web login not
// supported" and falls back to asking for a username and password, so errors there stay ordinary.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Limiter, Rule } from '../accounts/limits.ts';
import { cleanHostname, poll, POLL_SECONDS, startRequest, sweep, type Purpose } from '../accounts/web-logins.ts';
import type { Db } from '../store/db.ts';
import { ANONYMOUS_BODY_LIMIT } from './gate.ts';
import { Str, Type, schema, type RouteTypes } from './schemas.ts';

export type WebLoginDeps = { db: Db; key: Buffer; limiter: Limiter; clock: () => number; publicUrl: () => string };

/** Anonymous callers may start web logins, and each one is a row: one address gets this many an hour before 429s. */
export const WEB_LOGIN_START: Rule = {
  name: 'weblogin-ip',
  free: 60,
  baseMs: 60_000,
  maxMs: 60 * 60_000,
  windowMs: 60 * 60_000,
};

const clientInfo = (req: FastifyRequest, hostname: string | null, what?: string) => ({
  hostname,
  ip: req.ip,
  agent: String(req.headers['user-agent'] ?? ''),
  ...(what ? { what } : {}),
});

/** What WriteCheck's second-factor rule calls when a write has no `npm-otp`: the URLs for npm's web OTP flow. */
export function webOtpOffer({ db, clock, publicUrl }: WebLoginDeps) {
  return async (req: FastifyRequest, userId: number, what: string) => {
    const now = clock();
    await sweep(db, now);
    const { pageId, doneId } = await startRequest(
      db,
      { purpose: 'otp', userId, info: clientInfo(req, null, what) },
      now,
    );
    const base = publicUrl();
    return { authUrl: `${base}/-/web/otp/${pageId}`, doneUrl: `${base}/-/v1/otp/done/${doneId}` };
  };
}

/** npm login sends {} (npm 11 may add hostname; adduser, create: true); npm 10 sends no body at all. */
const LoginRoute = schema({
  body: Type.Union([
    Type.Object({ create: Type.Optional(Type.Unknown()), hostname: Type.Optional(Type.Unknown()) }),
    Type.Null(),
  ]),
});
const DoneRoute = schema({ params: Type.Object({ id: Str(512) }) });

export function register(app: FastifyInstance, deps: WebLoginDeps): void {
  const { db, key, limiter, clock, publicUrl } = deps;

  app.post<RouteTypes<typeof LoginRoute>>(
    '/-/v1/login',
    { bodyLimit: ANONYMOUS_BODY_LIMIT, schema: LoginRoute },
    async (req, reply) => {
      const body = req.body ?? {};
      const attempt: Array<[Rule, string]> = [[WEB_LOGIN_START, req.ip]];
      await limiter.check(attempt, 'web logins started');
      await limiter.fail(attempt);
      const now = clock();
      await sweep(db, now);
      const create = body.create === true;
      const { pageId, doneId } = await startRequest(
        db,
        { purpose: 'login', createAccount: create, info: clientInfo(req, cleanHostname(body.hostname)) },
        now,
      );
      const base = publicUrl();
      return reply
        .header('cache-control', 'no-store')
        .send({ loginUrl: `${base}/-/web/login/${pageId}`, doneUrl: `${base}/-/v1/login/done/${doneId}` });
    },
  );

  const done = (purpose: Purpose) => async (req: FastifyRequest<RouteTypes<typeof DoneRoute>>, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store');
    const result = await poll(db, key, purpose, req.params.id, clock());
    switch (result.state) {
      case 'pending':
        // npm polls again after Retry-After seconds (and at once without it), and reads a JSON body either way.
        return reply.code(202).header('retry-after', String(POLL_SECONDS)).send({});
      case 'done':
        return reply.code(200).send({ token: result.token });
      case 'gone':
        return reply.code(result.status).send({
          error:
            result.reason === 'used'
              ? 'this request was already answered: each one gives its answer once'
              : result.reason === 'expired'
                ? 'this request expired before it was approved: run the command again'
                : 'no such request: it was cancelled, or never existed',
        });
    }
  };
  app.get<RouteTypes<typeof DoneRoute>>('/-/v1/login/done/:id', { schema: DoneRoute }, done('login'));
  app.get<RouteTypes<typeof DoneRoute>>('/-/v1/otp/done/:id', { schema: DoneRoute }, done('otp'));
}
