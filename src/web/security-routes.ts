// Name safety and the disclosure policy wired into the server: the name guard the publish path consults, the RFC 9116
// /.well-known/security.txt, the policy page, the report form and the reports list (administrators see every report,
// other signed-in users their own; signed-out visitors are sent to sign in).
import { viewerOf } from './layout.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Action, REGISTRY } from '../access/decide.ts';
import type { Settings } from '../config.ts';
import { ClientError, fail, notFound } from '../errors.ts';
import { allowName, listAllowed, listReservations } from '../names/admin.ts';
import { NameGuard, setNameGuard } from '../names/guard.ts';
import { nameProblem } from '../names/syntax.ts';
import { answerReport, listReports, submitReport } from '../disclosure/security-reports.ts';
import { securityTxt } from '../disclosure/security-txt.ts';
import type { Db } from '../store/db.ts';
import { asksForOtp, formRefusal, type WebUi } from './routes.ts';
import type { WebSession } from './session.ts';
import { namesAdminPage } from './pages/names.ts';
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
      .send(
        securityTxt({
          contacts: deps.settings.securityContact,
          expires: deps.settings.securityExpires,
          languages: deps.settings.securityLanguages,
          policy: deps.settings.securityPolicy,
          publicUrl: deps.publicUrl(),
          now: deps.clock(),
        }),
      ),
  );
  web.extend((scope) => registerSecurityPages(scope, web, deps));
  web.extend((scope) => registerNamesAdmin(scope, web, deps, guard));
  return guard;
}

// /-/web/admin/names: administrators only (the gate's decide()); everyone else gets the 404 of a page that does not exist.
function registerNamesAdmin(scope: FastifyInstance, web: WebUi, deps: NameSafetyDeps, guard: NameGuard): void {
  const { db, clock } = deps;
  async function render(
    req: FastifyRequest,
    reply: FastifyReply,
    session: WebSession,
    opts: { check?: string; notice?: string | null; error?: string | null; status?: number },
  ) {
    let checked = null;
    if (opts.check) {
      const problem = nameProblem(opts.check);
      if (problem) opts.error = problem;
      else
        checked = {
          ...(await guard.verdict(db, opts.check)),
          reserved: (await guard.reservations(db)).matching(opts.check),
        };
    }
    const stored = await listReservations(db);
    const reservations = [
      ...deps.settings.reservedNames.map((r) => ({ ...r, source: 'setting' })),
      ...stored.map((r) => ({ ...r, source: 'bulwark names reserve' })),
    ];
    const csrf = await web.csrf.token(req, reply);
    return web.send(
      reply,
      opts.status ?? 200,
      namesAdminPage({
        viewer: viewerOf(session.user),
        csrf,
        otp: asksForOtp(session.user),
        checked,
        allowed: await listAllowed(db),
        reservations,
        notice: opts.notice ?? null,
        error: opts.error ?? null,
        now: clock(),
      }),
    );
  }
  scope.get<{ Querystring: { check?: string; done?: string } }>('/-/web/admin/names', async (req, reply) => {
    const allowed = await web.staff(req, reply, Action.NamesRead);
    if (!allowed) return reply;
    const check = String(req.query.check ?? '')
      .trim()
      .slice(0, 214);
    return render(req, reply, allowed.session, {
      check,
      notice: req.query.done === 'allowed' ? 'The name was allowed; the decision is recorded.' : null,
    });
  });
  scope.post('/-/web/admin/names/allow', async (req, reply) => {
    const form = (req.body ?? {}) as Form;
    try {
      const allowed = await web.staff(req, reply, Action.NamesWrite, { write: true });
      if (!allowed) return reply;
      await allowName(db, (form.name ?? '').trim(), allowed.principal.userId, form.reason ?? '', clock());
    } catch (err) {
      // Refusals before the gate let the caller in are answered as they are: the page is only for administrators.
      const session = web.sessions.known(req);
      if (
        !(err instanceof ClientError) ||
        err.code === 'E_NOT_FOUND' ||
        !session ||
        !(await web.deps.gate.allows(req, Action.NamesRead, REGISTRY))
      )
        throw err;
      return render(req, reply, session, { status: err.status, error: formRefusal(err) });
    }
    req.log.info({ action: 'name-allowed', subject: form.name }, 'admin action');
    return reply.code(303).header('location', '/-/web/admin/names?done=allowed').send();
  });
}

function registerSecurityPages(scope: FastifyInstance, web: WebUi, deps: NameSafetyDeps): void {
  const { db, clock } = deps;

  scope.get('/-/web/security', async (req, reply) => {
    const ctx = await web.context(req, reply);
    return web.send(
      reply,
      200,
      policyPage({ viewer: ctx.viewer, csrf: ctx.csrf, contacts: deps.settings.securityContact, now: clock() }),
    );
  });

  scope.get('/-/web/security/report', async (req, reply) => {
    const ctx = await web.context(req, reply);
    const csrf = await web.csrf.token(req, reply);
    return web.send(
      reply,
      200,
      reportFormPage({
        viewer: ctx.viewer,
        csrf,
        email: ctx.session?.user.email ?? '',
        subject: '',
        body: '',
        error: null,
      }),
    );
  });

  scope.post('/-/web/security/report', async (req, reply) => {
    const form = (req.body ?? {}) as Form;
    const session = await web.sessions.current(req);
    const input = {
      reporterId: session?.user.id ?? null,
      email: (form.email ?? '').trim(),
      subject: form.subject ?? '',
      body: form.body ?? '',
    };
    let id: number;
    try {
      id = await submitReport(db, input, clock());
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      const ctx = await web.context(req, reply);
      const csrf = await web.csrf.token(req, reply);
      return web.send(
        reply,
        err.status,
        reportFormPage({
          viewer: ctx.viewer,
          csrf,
          email: input.email,
          subject: input.subject,
          body: input.body,
          error: err.message.replace(/^./, (c) => c.toUpperCase()),
        }),
      );
    }
    req.log.info({ report: id }, 'security report received');
    const ctx = await web.context(req, reply);
    return web.send(reply, 201, reportSentPage(ctx.viewer, ctx.csrf, id));
  });

  async function signedIn(req: FastifyRequest, reply: FastifyReply) {
    const session = await web.sessions.current(req);
    if (!session)
      await reply
        .code(303)
        .header('location', `/-/web/signin?next=${encodeURIComponent(req.url)}`)
        .send();
    return session;
  }

  async function renderReports(
    req: FastifyRequest,
    reply: FastifyReply,
    session: WebSession,
    opts: { status?: number; notice?: string | null; error?: string | null } = {},
  ) {
    // Administrators see every report (and answer them); everyone else their own.
    const admin = await web.deps.gate.allows(req, Action.SecurityReportsRead, REGISTRY);
    const reports = await listReports(db, admin ? {} : { reporterId: session.user.id });
    const csrf = await web.csrf.token(req, reply);
    return web.send(
      reply,
      opts.status ?? 200,
      reportsPage({
        viewer: viewerOf(session.user),
        csrf,
        otp: asksForOtp(session.user),
        reports,
        admin,
        notice: opts.notice ?? null,
        error: opts.error ?? null,
        now: clock(),
      }),
    );
  }

  scope.get<{ Querystring: { done?: string } }>('/-/web/security/reports', async (req, reply) => {
    const session = await signedIn(req, reply);
    if (!session) return reply;
    return renderReports(req, reply, session, {
      notice: req.query.done === 'answered' ? 'The answer was saved.' : null,
    });
  });

  scope.post<{ Params: { id: string } }>('/-/web/security/reports/:id/answer', async (req, reply) => {
    try {
      // Not an administrator: the same 404 as a report that does not exist.
      const allowed = await web.staff(req, reply, Action.SecurityReportsAnswer, { write: true });
      if (!allowed) return reply;
      if (!/^\d{1,15}$/.test(req.params.id)) throw notFound();
      const answer = ((req.body ?? {}) as Form).answer ?? '';
      if (!answer.trim()) throw fail('E_REPORT_INVALID', 'write an answer');
      await answerReport(db, Number(req.params.id), answer, allowed.principal.userId, clock());
    } catch (err) {
      const session = web.sessions.known(req);
      if (
        !(err instanceof ClientError) ||
        err.code === 'E_NOT_FOUND' ||
        !session ||
        !(await web.deps.gate.allows(req, Action.SecurityReportsRead, REGISTRY))
      )
        throw err;
      return renderReports(req, reply, session, { status: err.status, error: formRefusal(err) });
    }
    return reply.code(303).header('location', '/-/web/security/reports?done=answered').send();
  });
}
