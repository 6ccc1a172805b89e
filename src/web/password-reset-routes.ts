// The way back into an account: forgot password (a link by email, always answered alike and after the same time,
// whatever was found) and reset password (the emailed link's page and its form). Failures draw the page again.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  FORGOT_PASSWORD_FLOOR_MS,
  requestPasswordReset,
  resetLinkUser,
  resetPassword,
} from '../accounts/account-settings.ts';
import { Rules } from '../accounts/limits.ts';
import { Str, Type, schema, type RouteTypes, type Static } from '../http/schemas.ts';
import { appendSetCookie, isHttps, setCookieLine } from './cookies.ts';
import { explain, Field, formOf, formRoute, see } from './form.ts';
import { forgotPasswordPage, linkResultPage, resetPasswordPage } from './pages/settings.ts';
import type { WebUi } from './routes.ts';
import { SESSION_COOKIE } from './session.ts';

const ForgotForm = Type.Object({ identifier: Field() });
const ResetForm = Type.Object({ token: Field(), password: Field(), confirm: Field() });
const ResetLinkRoute = schema({
  querystring: Type.Object({ token: Type.Optional(Str(1024)), done: Type.Optional(Str(8)) }),
});

export function register(scope: FastifyInstance, web: WebUi): void {
  const { db, clock } = web.deps;
  const { limiter } = web.deps.secondFactor;

  scope.get('/-/web/forgot-password', async (req, reply) => {
    const ctx = await web.context(req, reply);
    return web.send(reply, 200, forgotPasswordPage({ csrf: await web.csrf.token(req, reply), viewer: ctx.viewer }));
  });

  scope.post('/-/web/forgot-password', formRoute(ForgotForm), async (req, reply) => {
    const started = performance.now();
    let identifier = '';
    let status = 200;
    let error: string | null = null;
    try {
      identifier = formOf(req, ForgotForm).identifier.trim().slice(0, 254);
      await requestPasswordReset(db, limiter, { identifier, ip: req.ip }, clock());
    } catch (err) {
      ({ status, message: error } = explain(reply, err, 'We have sent several emails for this already.'));
    }
    // Whatever was found (an account, a verified one, nothing), the answer leaves only after the same time.
    const rest = FORGOT_PASSWORD_FLOOR_MS - (performance.now() - started);
    if (rest > 0) await sleep(rest);
    const ctx = await web.context(req, reply);
    return web.send(
      reply,
      status,
      forgotPasswordPage({
        csrf: await web.csrf.token(req, reply),
        viewer: ctx.viewer,
        identifier,
        error,
        sent: status === 200,
      }),
    );
  });

  const linkRefused = async (req: FastifyRequest, reply: FastifyReply, status: number, message: string) => {
    const ctx = await web.context(req, reply);
    return web.send(
      reply,
      status,
      linkResultPage({
        ok: false,
        title: 'This link cannot be used',
        message,
        viewer: ctx.viewer,
        action: { href: '/-/web/forgot-password', label: 'Request a new link' },
      }),
    );
  };

  scope.get<RouteTypes<typeof ResetLinkRoute>>(
    '/-/web/reset-password',
    { schema: ResetLinkRoute },
    async (req, reply) => {
      const ctx = await web.context(req, reply);
      if (req.query.done === '1') {
        const message = 'Your password has been changed and every session signed out. Sign in with the new password.';
        return web.send(
          reply,
          200,
          linkResultPage({
            ok: true,
            title: 'Password reset',
            message,
            viewer: ctx.viewer,
            action: { href: '/-/web/signin', label: 'Sign in' },
          }),
        );
      }
      const token = req.query.token ?? '';
      try {
        const user = await resetLinkUser(db, token, clock());
        return web.send(
          reply,
          200,
          resetPasswordPage({ csrf: await web.csrf.token(req, reply), viewer: ctx.viewer, token, name: user.name }),
        );
      } catch (err) {
        const { status, message } = explain(reply, err, '');
        return linkRefused(req, reply, status, message);
      }
    },
  );

  scope.post('/-/web/reset-password', formRoute(ResetForm), async (req, reply) => {
    let form: Static<typeof ResetForm>;
    let name: string;
    try {
      form = formOf(req, ResetForm);
      name = (await resetLinkUser(db, form.token, clock())).name;
    } catch (err) {
      const { status, message } = explain(reply, err, '');
      return linkRefused(req, reply, status, message);
    }
    try {
      await resetPassword(
        db,
        { token: form.token, password: form.password, confirmation: form.confirm, ip: req.ip },
        clock(),
      );
    } catch (err) {
      const { status, message } = explain(reply, err, '');
      const ctx = await web.context(req, reply);
      return web.send(
        reply,
        status,
        resetPasswordPage({
          csrf: await web.csrf.token(req, reply),
          viewer: ctx.viewer,
          token: form.token,
          name,
          error: message,
        }),
      );
    }
    // The owner proved control of the verified address: lift the account-wide lock an attacker may have caused.
    await limiter.reset([[Rules.passwordAccount, name]]);
    // This browser's session (if any) was revoked with all the others; let it forget the cookie too.
    appendSetCookie(reply, setCookieLine(SESSION_COOKIE, '', { maxAgeSeconds: 0, secure: isHttps(req) }));
    return see(reply, '/-/web/reset-password?done=1');
  });
}
