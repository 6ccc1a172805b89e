// The pages behind the links Bulwark emails: verifying an address. (Password reset joins it with the account pages.)
import type { FastifyInstance, FastifyReply } from 'fastify';
import { EmailPurpose, consumeEmailToken } from '../accounts/email-tokens.ts';
import { ClientError } from '../errors.ts';
import type { Db } from '../store/db.ts';
import { EventKind, recordEvent } from '../store/events.ts';

export type EmailRouteDeps = { db: Db; clock: () => number };

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(reply: FastifyReply, status: number, title: string, message: string) {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', "default-src 'none'; base-uri 'none'; frame-ancestors 'none'")
    .header('cache-control', 'no-store')
    .send(`<!doctype html><html lang="en"><meta charset="utf-8"><title>${escape(title)}</title><h1>${escape(title)}</h1><p>${escape(message)}</p></html>`);
}

export function registerEmailRoutes(app: FastifyInstance, { db, clock }: EmailRouteDeps): void {
  app.get<{ Querystring: { token?: string } }>('/-/web/verify-email', async (req, reply) => {
    try {
      const user = await consumeEmailToken(db, String(req.query.token ?? ''), EmailPurpose.VerifyEmail, clock(), async (trx, user) => {
        await trx.updateTable('users').set({ email_verified: 1 }).where('id', '=', user.id).execute();
        await recordEvent(trx, { kind: EventKind.UserEmailVerified, subject: user.name, actorId: user.id, data: { email: user.email } }, clock());
        return user;
      });
      return page(reply, 200, 'Email address verified', `Thank you, ${user.name}: ${user.email} is verified. You can now publish packages.`);
    } catch (err) {
      if (err instanceof ClientError) return page(reply, err.status, 'This link cannot be used', err.message);
      throw err;
    }
  });
}
