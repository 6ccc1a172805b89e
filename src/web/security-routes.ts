// Name safety and the disclosure policy wired into the server: the name guard the publish path consults, the RFC 9116
// /.well-known/security.txt, the policy page, the report form and the reports list (administrators see every report,
// other signed-in users their own; signed-out visitors are sent to sign in).
import { viewerOf } from './layout.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Action, REGISTRY } from '../access/decide.ts';
import type { Settings } from '../config.ts';
import { fail, notFound } from '../errors.ts';
import { allowName, listAllowed, listReservations } from '../names/admin.ts';
import type { NameGuard } from '../names/guard.ts';
import { nameProblem } from '../names/syntax.ts';
import { answerReport, listReports, submitReport } from '../disclosure/security-reports.ts';
import { securityTxt } from '../disclosure/security-txt.ts';
import type { Db } from '../store/db.ts';
import { asksForOtp, type WebUi } from './routes.ts';
import { NAME_MAX, Str, Type, schema, type RouteTypes } from '../http/schemas.ts';
import { assertValid, explain, Field, formOf, formRoute, signedIn, staffFormChange, staffQueryRoute } from './form.ts';
import type { WebSession } from './session.ts';
import { namesAdminPage } from './pages/names.ts';
import { policyPage, reportFormPage, reportSentPage, reportsPage } from './pages/security.ts';

const NamesQuery = Type.Object({ check: Type.Optional(Type.String()), done: Type.Optional(Type.String()) });
const AllowForm = Type.Object({ name: Field(NAME_MAX), reason: Field(4096) });
/** The disclosure form; how long a subject and a report may be is disclosure/security-reports.ts's to say. */
const ReportForm = Type.Object({ email: Field(254), subject: Field(1024), body: Field(65536) });
const ReportsRoute = schema({ querystring: Type.Object({ done: Type.Optional(Str(64)) }) });
const AnswerParams = Type.Object({ id: Type.String() });
const AnswerForm = Type.Object({ answer: Field(65536) });

export type NameSafetyDeps = {
  db: Db;
  settings: Settings;
  clock: () => number;
  publicUrl: () => string;
  names: NameGuard;
};

export function registerNameSafety(app: FastifyInstance, web: WebUi, deps: NameSafetyDeps): void {
  const guard = deps.names;
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
  scope.get<RouteTypes<{ querystring: typeof NamesQuery }>>(
    '/-/web/admin/names',
    staffQueryRoute(NamesQuery),
    async (req, reply) => {
      const allowed = await web.staff(req, reply, Action.NamesRead);
      if (!allowed) return reply;
      assertValid(req);
      const check = (req.query.check ?? '').trim().slice(0, 214);
      return render(req, reply, allowed.session, {
        check,
        notice: req.query.done === 'allowed' ? 'The name was allowed; the decision is recorded.' : null,
      });
    },
  );
  // Refusals before the gate let the caller in are answered as they are: the page is only for administrators.
  scope.post('/-/web/admin/names/allow', formRoute(AllowForm), async (req, reply) =>
    staffFormChange(web, req, reply, {
      action: Action.NamesWrite,
      page: Action.NamesRead,
      cause: 'name-allow-refused',
      run: async (principal) => {
        const form = formOf(req, AllowForm);
        await allowName(db, form.name.trim(), principal.userId, form.reason, clock());
        req.log.info({ action: 'name-allowed', subject: form.name }, 'admin action');
        return 'allowed';
      },
      done: (done) => `/-/web/admin/names?done=${done}`,
      render: (session, _principal, status, error) => render(req, reply, session, { status, error }),
    }),
  );
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

  scope.post('/-/web/security/report', formRoute(ReportForm), async (req, reply) => {
    const session = await web.sessions.current(req);
    const form = req.validationError ? { email: '', subject: '', body: '' } : formOf(req, ReportForm);
    const input = {
      reporterId: session?.user.id ?? null,
      email: form.email.trim(),
      subject: form.subject,
      body: form.body,
    };
    let id: number;
    try {
      formOf(req, ReportForm);
      id = await submitReport(db, input, clock());
    } catch (err) {
      const { status, message } = explain(reply, err, 'We have received several reports from you already.');
      const ctx = await web.context(req, reply);
      const csrf = await web.csrf.token(req, reply);
      return web.send(
        reply,
        status,
        reportFormPage({
          viewer: ctx.viewer,
          csrf,
          email: input.email,
          subject: input.subject,
          body: input.body,
          error: message,
        }),
      );
    }
    req.log.info({ report: id }, 'security report received');
    const ctx = await web.context(req, reply);
    return web.send(reply, 201, reportSentPage(ctx.viewer, ctx.csrf, id));
  });

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

  scope.get<RouteTypes<typeof ReportsRoute>>(
    '/-/web/security/reports',
    { schema: ReportsRoute },
    async (req, reply) => {
      const session = await signedIn(web.sessions, req, reply);
      if (!session) return reply;
      return renderReports(req, reply, session, {
        notice: req.query.done === 'answered' ? 'The answer was saved.' : null,
      });
    },
  );

  // Not an administrator: the same 404 as a report that does not exist.
  scope.post<RouteTypes<{ params: typeof AnswerParams }>>(
    '/-/web/security/reports/:id/answer',
    { ...formRoute(AnswerForm), schema: { params: AnswerParams, body: AnswerForm } },
    async (req, reply) =>
      staffFormChange(web, req, reply, {
        action: Action.SecurityReportsAnswer,
        page: Action.SecurityReportsRead,
        cause: 'security-answer-refused',
        run: async (principal) => {
          if (!/^\d{1,15}$/.test(req.params.id)) throw notFound();
          const { answer } = formOf(req, AnswerForm);
          if (!answer.trim()) throw fail('E_REPORT_INVALID', 'write an answer');
          await answerReport(db, Number(req.params.id), answer, principal.userId, clock());
          return 'answered';
        },
        done: (done) => `/-/web/security/reports?done=${done}`,
        render: (session, _principal, status, error) => renderReports(req, reply, session, { status, error }),
      }),
  );
}
