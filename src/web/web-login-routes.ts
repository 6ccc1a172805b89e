// The browser side of npm's web login and web OTP (the protocol side is http/web-login.ts). Every POST here has
// passed the CSRF check; approving needs a session of the right account, and for an account with two-factor
// authentication, proof of the second factor: a session that signed in with it, or a code typed on the page.
import { viewerOf } from './layout.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  approveLogin,
  approveOtp,
  cancelRequest,
  findPending,
  sessionUsedSecondFactor,
  type Purpose,
} from '../accounts/web-logins.ts';
import { pendingMessage } from '../accounts/signup.ts';
import { checkCode } from './code-check.ts';
import { webAdduserSignedOutPage, webLoginAnsweredPage, webLoginPage, webOtpPage } from './pages/web-login.ts';
import type { WebUi } from './routes.ts';
import type { WebSession } from './session.ts';
import { Str, Type, schema, type RouteTypes } from '../http/schemas.ts';
import { Field, formOf, formRoute, see } from './form.ts';

// A page id carries what the client said about itself (signed), so it is longer than a random id.
const IdParams = Type.Object({ id: Str(512) });
const RequestRoute = schema({ params: IdParams });
/** The approve forms: a code from the app, when the session did not sign in with one. */
const CodeForm = Type.Object({ otp: Field(64) });
const ApproveRoute = { ...formRoute(CodeForm), schema: { params: IdParams, body: CodeForm } };
type Params = RouteTypes<typeof RequestRoute>;

const GONE = {
  login:
    'This login request has expired, was already answered or does not exist. Run `npm login` again to get a new link.',
  otp: 'This request has expired, was already answered or does not exist. Run the npm command again to get a new link.',
} as const;

/** The code typed on an approve form (a form of another shape is refused here, with the error page). */
const code = (req: FastifyRequest): string => formOf(req, CodeForm).otp;

export function register(scope: FastifyInstance, web: WebUi): void {
  const { db, clock, secretKey } = web.deps;
  const secondFactor = web.deps.secondFactor;

  /** The pending request and the signed-in viewer, or the reply already sent (404 page, or a redirect to sign in). */
  async function load(purpose: Purpose, req: FastifyRequest<Params>, reply: FastifyReply) {
    const found = await findPending(db, purpose, req.params.id, clock());
    if (!found) return { sent: web.sendError(req, reply, 404, GONE[purpose]) };
    const session = await web.sessions.current(req);
    if (!session) {
      const next = `/-/web/${purpose}/${req.params.id}`;
      if (purpose === 'login' && found.row.create_account === 1 && req.method === 'GET') {
        return {
          sent: web.send(reply, 200, webAdduserSignedOutPage({ next, signupOpen: web.deps.signup === 'open' })),
        };
      }
      return { sent: see(reply, `/-/web/signin?next=${encodeURIComponent(next)}`) };
    }
    if (purpose === 'otp' && found.row.user_id !== session.user.id) {
      return {
        sent: web.sendError(
          req,
          reply,
          403,
          'This request was made for another account. Sign out, and sign in as the account npm is using.',
        ),
      };
    }
    return { found, session };
  }

  const needsCode = async (s: WebSession) =>
    s.user.totp_mode !== 'disabled' && !(await sessionUsedSecondFactor(db, s.session, s.user));

  scope.get<Params>('/-/web/login/:id', { schema: RequestRoute }, async (req, reply) => {
    const l = await load('login', req, reply);
    if ('sent' in l) return l.sent;
    const csrf = await web.csrf.token(req, reply);
    return web.send(
      reply,
      200,
      webLoginPage({
        viewer: viewerOf(l.session.user),
        csrf,
        pageId: req.params.id,
        info: l.found.info,
        create: l.found.row.create_account === 1,
        needsCode: await needsCode(l.session),
        pending: l.session.user.email_verified
          ? null
          : pendingMessage({ emailVerification: web.deps.gate.policy.emailVerification ?? 'email' }),
      }),
    );
  });

  scope.post<Params>('/-/web/login/:id/approve', ApproveRoute, async (req, reply) => {
    const l = await load('login', req, reply);
    if ('sent' in l) return l.sent;
    const { found, session } = l;
    const csrf = await web.csrf.token(req, reply);
    if (await needsCode(session)) {
      const checked = await checkCode(secondFactor, reply, session.user.id, code(req));
      if (!checked.ok) {
        req.log.info({ cause: 'web-login-second-factor' }, 'web login approval refused');
        return web.send(
          reply,
          checked.status,
          webLoginPage({
            viewer: viewerOf(session.user),
            csrf,
            pageId: req.params.id,
            info: found.info,
            create: found.row.create_account === 1,
            needsCode: true,
            error: checked.message,
          }),
        );
      }
    }
    if (!(await approveLogin(db, secretKey, found.row.id, session.user, found.info, clock())))
      return web.sendError(req, reply, 404, GONE.login);
    return web.send(
      reply,
      200,
      webLoginAnsweredPage({
        viewer: viewerOf(session.user),
        csrf,
        title: 'npm is logged in',
        text: `Go back to your terminal: npm is now signed in as ${session.user.name}.`,
      }),
    );
  });

  scope.post<Params>('/-/web/login/:id/cancel', { schema: RequestRoute }, async (req, reply) => {
    const l = await load('login', req, reply);
    if ('sent' in l) return l.sent;
    await cancelRequest(db, l.found.row.id);
    return web.send(
      reply,
      200,
      webLoginAnsweredPage({
        viewer: viewerOf(l.session.user),
        csrf: await web.csrf.token(req, reply),
        title: 'Login cancelled',
        text: 'npm was not signed in. If you did not start this, nothing else is needed.',
      }),
    );
  });

  scope.get<Params>('/-/web/otp/:id', { schema: RequestRoute }, async (req, reply) => {
    const l = await load('otp', req, reply);
    if ('sent' in l) return l.sent;
    return web.send(
      reply,
      200,
      webOtpPage({
        viewer: viewerOf(l.session.user),
        csrf: await web.csrf.token(req, reply),
        pageId: req.params.id,
        info: l.found.info,
      }),
    );
  });

  scope.post<Params>('/-/web/otp/:id/approve', ApproveRoute, async (req, reply) => {
    const l = await load('otp', req, reply);
    if ('sent' in l) return l.sent;
    const { found, session } = l;
    const csrf = await web.csrf.token(req, reply);
    const checked = await checkCode(secondFactor, reply, session.user.id, code(req));
    if (!checked.ok) {
      req.log.info({ cause: 'web-otp-failed' }, 'web OTP refused');
      return web.send(
        reply,
        checked.status,
        webOtpPage({
          viewer: viewerOf(session.user),
          csrf,
          pageId: req.params.id,
          info: found.info,
          error: checked.message,
        }),
      );
    }
    if (!(await approveOtp(db, secretKey, found.row, clock()))) return web.sendError(req, reply, 404, GONE.otp);
    return web.send(
      reply,
      200,
      webLoginAnsweredPage({
        viewer: viewerOf(session.user),
        csrf,
        title: 'Approved',
        text: 'Go back to your terminal: npm carries on with the change.',
      }),
    );
  });

  scope.post<Params>('/-/web/otp/:id/cancel', { schema: RequestRoute }, async (req, reply) => {
    const l = await load('otp', req, reply);
    if ('sent' in l) return l.sent;
    await cancelRequest(db, l.found.row.id);
    return web.send(
      reply,
      200,
      webLoginAnsweredPage({
        viewer: viewerOf(l.session.user),
        csrf: await web.csrf.token(req, reply),
        title: 'Cancelled',
        text: 'The change was not approved, and npm stops.',
      }),
    );
  });
}
