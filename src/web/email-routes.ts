// The pages behind the links Bulwark emails: verifying an address (the password-reset page is in
// web/password-reset-routes.ts). Registered inside the web UI's scope, so the page has the site's layout,
// security headers and signed-in header.
import type { FastifyInstance } from 'fastify';
import { EmailPurpose, consumeEmailToken } from '../accounts/email-tokens.ts';
import { ClientError } from '../errors.ts';
import { EventKind, recordEvent } from '../store/events.ts';
import { linkResultPage } from './pages/settings.ts';
import type { WebUi } from './routes.ts';
import { Str, Type, schema, type RouteTypes } from '../http/schemas.ts';

const VerifyRoute = schema({ querystring: Type.Object({ token: Type.Optional(Str(1024)) }) });

export function register(scope: FastifyInstance, web: WebUi): void {
  const { db, clock } = web.deps;
  scope.get<RouteTypes<typeof VerifyRoute>>('/-/web/verify-email', { schema: VerifyRoute }, async (req, reply) => {
    const ctx = await web.context(req, reply);
    const next = ctx.viewer
      ? { href: '/-/web/account', label: 'Go to your account' }
      : { href: '/-/web/signin', label: 'Sign in' };
    try {
      const user = await consumeEmailToken(
        db,
        req.query.token ?? '',
        EmailPurpose.VerifyEmail,
        clock(),
        async (trx, user) => {
          await trx.updateTable('users').set({ email_verified: 1 }).where('id', '=', user.id).execute();
          await recordEvent(
            trx,
            { kind: EventKind.UserEmailVerified, subject: user.name, actorId: user.id, data: { email: user.email } },
            clock(),
          );
          return user;
        },
      );
      const message = `Thank you, ${user.name}: ${user.email} is verified. You can now publish packages.`;
      return web.send(
        reply,
        200,
        linkResultPage({ ok: true, title: 'Email address verified', message, viewer: ctx.viewer, action: next }),
      );
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      const action = ctx.viewer
        ? { href: '/-/web/account#email', label: 'Send a new link from your account' }
        : { href: '/-/web/signin?next=%2F-%2Fweb%2Faccount', label: 'Sign in to send a new link' };
      return web.send(
        reply,
        err.status,
        linkResultPage({
          ok: false,
          title: 'This link cannot be used',
          message: err.message,
          viewer: ctx.viewer,
          action,
        }),
      );
    }
  });
}
