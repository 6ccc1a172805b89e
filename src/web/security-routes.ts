// Name safety and the disclosure policy wired into the server: the name guard the publish path consults, the RFC 9116
// /.well-known/security.txt, the policy page, the report form and the reports list (administrators see every report,
// other signed-in users their own; signed-out visitors are sent to sign in).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Settings } from '../config.ts';
import { ClientError, badRequest, notFound } from '../errors.ts';
import { NameGuard, setNameGuard } from '../names/guard.ts';
import { answerReport, listReports, submitReport } from '../names/security-reports.ts';
import { securityTxt } from '../names/security-txt.ts';
import type { Db } from '../store/db.ts';
import type { WebUi } from './routes.ts';
import { policyPage, reportFormPage, reportSentPage, reportsPage } from './pages/security.ts';

type Form = Record<string, string | undefined>;

export type NameSafetyDeps = { db: Db; settings: Settings; clock: () => number; publicUrl: () => string };

export function registerNameSafety(app: FastifyInstance, web: WebUi, deps: NameSafetyDeps): NameGuard {
  const guard = new NameGuard(deps.settings, deps.clock);
  setNameGuard(deps.db, guard);
  // Registered on the root instance as a static route, so the npm routes' /:name patterns never see it.
  app.get('/.well-known/security.txt', async (_req, reply) =>
    reply
      .type('text/plain; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .send(securityTxt({ contacts: deps.settings.securityContact, expires: deps.settings.securityExpires, languages: deps.settings.securityLanguages, policy: deps.settings.securityPolicy, publicUrl: deps.publicUrl(), now: deps.clock() })),
  );
  web.extend((scope) => registerSecurityPages(scope, web, deps));
  return guard;
}

function registerSecurityPages(scope: FastifyInstance, web: WebUi, deps: NameSafetyDeps): void {
  const { db, clock } = deps;

  scope.get('/-/web/security', async (req, reply) => {
    const ctx = await web.context(req, reply);
    return web.send(reply, 200, policyPage({ viewer: ctx.viewer, csrf: ctx.csrf, contacts: deps.settings.securityContact, now: clock() }));
  });

  scope.get('/-/web/security/report', async (req, reply) => {
    const ctx = await web.context(req, reply);
    const csrf = await web.csrf.token(req, reply);
    return web.send(reply, 200, reportFormPage({ viewer: ctx.viewer, csrf, email: ctx.session?.user.email ?? '', subject: '', body: '', error: null }));
  });

  scope.post('/-/web/security/report', async (req, reply) => {
    const form = (req.body ?? {}) as Form;
    const session = await web.sessions.current(req);
    const input = { reporterId: session?.user.id ?? null, email: (form.email ?? '').trim(), subject: form.subject ?? '', body: form.body ?? '' };
    let id: number;
    try {
      id = await submitReport(db, input, clock());
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      const ctx = await web.context(req, reply);
      const csrf = await web.csrf.token(req, reply);
      return web.send(reply, err.status, reportFormPage({ viewer: ctx.viewer, csrf, email: input.email, subject: input.subject, body: input.body, error: err.message.replace(/^./, (c) => c.toUpperCase()) }));
    }
    req.log.info({ report: id }, 'security report received');
    const ctx = await web.context(req, reply);
    return web.send(reply, 201, reportSentPage(ctx.viewer, ctx.csrf, id));
  });

  async function signedIn(req: FastifyRequest, reply: FastifyReply) {
    const session = await web.sessions.current(req);
    if (!session) await reply.code(303).header('location', `/-/web/signin?next=${encodeURIComponent(req.url)}`).send();
    return session;
  }

  scope.get<{ Querystring: { done?: string } }>('/-/web/security/reports', async (req, reply) => {
    const session = await signedIn(req, reply);
    if (!session) return reply;
    const admin = session.user.is_admin === 1;
    const reports = await listReports(db, admin ? {} : { reporterId: session.user.id });
    const csrf = await web.csrf.token(req, reply);
    return web.send(reply, 200, reportsPage({ viewer: { name: session.user.name }, csrf, reports, admin, notice: req.query.done === 'answered' ? 'The answer was saved.' : null, error: null, now: clock() }));
  });

  scope.post<{ Params: { id: string } }>('/-/web/security/reports/:id/answer', async (req, reply) => {
    const session = await signedIn(req, reply);
    if (!session) return reply;
    // Not an administrator: the same 404 as a report that does not exist.
    if (session.user.is_admin !== 1 || !/^\d{1,15}$/.test(req.params.id)) throw notFound();
    const answer = ((req.body ?? {}) as Form).answer ?? '';
    if (!answer.trim()) throw badRequest('write an answer');
    await answerReport(db, Number(req.params.id), answer, session.user.id, clock());
    return reply.code(303).header('location', '/-/web/security/reports?done=answered').send();
  });
}
