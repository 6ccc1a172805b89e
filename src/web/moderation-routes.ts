// Reporting from the web UI and the moderation queue. Reporting needs a signed-in user (others are sent to sign in)
// and passes the same write gate as the JSON API (Action.ReportCreate: a readable package; then limits,
// de-duplication). The queue is for moderators and administrators only: every page and action passes the gate
// (decide(): anyone else gets the 404 of a page that does not exist, as on the administration pages), and every action
// is a CSRF-checked POST (the web scope checks it) through the gate's write checks that redirects back.
import { viewerOf } from './layout.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Action, REGISTRY, type RegistryFacts } from '../access/decide.ts';
import type { Principal } from '../access/principal.ts';
import { ClientError, notFound } from '../errors.ts';
import { authorizeReport, gatedReport } from '../http/report-routes.ts';
import {
  ACTIONS,
  itemDetail,
  itemFacts,
  listQueue,
  moderate,
  type ModerationActionName,
  type Moderator,
} from '../safety/moderation.ts';
import { fileReport, listOwnReports } from '../safety/reports.ts';
import {
  MODERATION_PATH,
  itemHref,
  itemPage,
  ownReportsPage,
  queuePage,
  reportFiledPage,
  reportFormPage,
} from './pages/moderation.ts';
import { asksForOtp, type WebUi } from './routes.ts';
import { NAME_MAX, Str, Type, schema, type RouteTypes } from '../http/schemas.ts';
import {
  assertValid,
  explain,
  Field,
  formOf,
  formRoute,
  signedIn as signedInOr,
  staffFormChange,
  staffQueryRoute,
} from './form.ts';
import type { WebSession } from './session.ts';

const ReportQuery = Type.Object({ package: Type.Optional(Str(NAME_MAX)), version: Type.Optional(Str(256)) });
const ReportRoute = schema({ querystring: ReportQuery });
/** The report form; what a reason and details may be is safety/reports.ts's to say. */
const ReportForm = Type.Object({
  package: Field(NAME_MAX),
  version: Field(256),
  reason: Field(256),
  details: Field(16384),
});
const QueueQuery = Type.Object({ status: Type.Optional(Type.String()) });
const ItemParams = Type.Object({ id: Type.String() });
const ItemRoute = schema({ params: ItemParams, querystring: Type.Object({ done: Type.Optional(Type.String()) }) });
const ReasonForm = Type.Object({ reason: Field(4096) });

const DONE: Record<string, string> = {
  dismiss: 'The item was dismissed; its reporters are told.',
  quarantine: 'The version is quarantined; its reporters are told.',
  release: 'The version is installable again; its reporters are told.',
  remove: 'Removed as malicious; its reporters are told.',
  lock: 'The publisher’s account is locked and everything it was signed in with is revoked.',
};

/** A security-form item: what decide() is asked to learn whether the viewer sees those. */
const SECURITY_ITEM: RegistryFacts = { kind: 'registry', item: { securityForm: true, publisherIsAdmin: false } };

export function register(scope: FastifyInstance, web: WebUi): void {
  const { db, packages, clock, lifecycle, gate } = web.deps;
  const { limiter } = web.deps.secondFactor;
  const signedIn = (req: FastifyRequest, reply: FastifyReply) => signedInOr(web.sessions, req, reply);

  /** The viewer as the queue sees them, from the gate's decisions. */
  const moderatorOf = async (req: FastifyRequest, p: Principal): Promise<Moderator> => ({
    id: p.userId,
    name: p.name,
    seesSecurityForm: await gate.allows(req, Action.ModerationRead, SECURITY_ITEM),
  });

  /** An item's facts for decide(), once the caller may use the queue at all; a missing item is a 404. */
  const factsOf = (id: number) => async (): Promise<RegistryFacts> => {
    const item = await itemFacts(db, id);
    if (!item) throw notFound(`no moderation item ${id}`);
    return { kind: 'registry', item };
  };

  async function versionsOf(name: string): Promise<string[]> {
    const rows = await db
      .selectFrom('versions')
      .innerJoin('packages', 'packages.id', 'versions.package_id')
      .select('versions.version')
      .where('packages.name', '=', name)
      .where('versions.state', '=', 'visible')
      .orderBy('versions.published_at', 'desc')
      .limit(200)
      .execute();
    return rows.map((r) => r.version);
  }

  scope.get<RouteTypes<typeof ReportRoute>>('/-/web/report', { schema: ReportRoute }, async (req, reply) => {
    const session = await signedIn(req, reply);
    if (!session) return reply;
    const name = req.query.package ?? '';
    // The same decision as filing the report: a package the viewer may not read does not exist.
    await authorizeReport(req, { gate, packages }, name);
    const csrf = await web.csrf.token(req, reply);
    return web.send(
      reply,
      200,
      reportFormPage({
        viewer: viewerOf(session.user),
        csrf,
        name,
        versions: await versionsOf(name),
        version: req.query.version ?? '',
        reason: '',
        details: '',
        error: null,
      }),
    );
  });

  // A malformed form gets the error page (400, naming the field): the form cannot be drawn without a package.
  scope.post('/-/web/report', formRoute(ReportForm), async (req, reply) => {
    const session = await signedIn(req, reply);
    if (!session) return reply;
    const form = formOf(req, ReportForm);
    const { input, reporter } = await gatedReport(
      req,
      { gate, packages },
      { package: form.package, version: form.version, reason: form.reason, details: form.details },
    );
    const csrf = await web.csrf.token(req, reply);
    try {
      const { report, duplicate } = await fileReport(db, limiter, reporter, req.ip, input, clock());
      req.log.info({ report: report.id, duplicate }, duplicate ? 'report repeated' : 'report filed');
      return web.send(reply, duplicate ? 200 : 201, reportFiledPage(viewerOf(session.user), csrf, report, duplicate));
    } catch (err) {
      if (!(err instanceof ClientError) || err.code === 'E_NOT_FOUND') throw err;
      const { status, message } = explain(reply, err, 'You have sent many reports already.');
      const view = {
        viewer: viewerOf(session.user),
        csrf,
        name: input.package,
        versions: await versionsOf(input.package),
        version: input.version ?? '',
        reason: input.reason,
        details: input.details,
        error: message,
      };
      return web.send(reply, status, reportFormPage(view));
    }
  });

  scope.get('/-/web/reports', async (req, reply) => {
    const session = await signedIn(req, reply);
    if (!session) return reply;
    const csrf = await web.csrf.token(req, reply);
    return web.send(
      reply,
      200,
      ownReportsPage(viewerOf(session.user), csrf, await listOwnReports(db, session.user.id), clock()),
    );
  });

  scope.get<RouteTypes<{ querystring: typeof QueueQuery }>>(
    MODERATION_PATH,
    staffQueryRoute(QueueQuery),
    async (req, reply) => {
      const allowed = await web.staff(req, reply, Action.ModerationRead);
      if (!allowed) return reply;
      assertValid(req);
      const { session } = allowed;
      const status = req.query.status === 'resolved' ? 'resolved' : 'open';
      const items = await listQueue(db, { status, viewer: await moderatorOf(req, allowed.principal) });
      const csrf = await web.csrf.token(req, reply);
      return web.send(reply, 200, queuePage({ viewer: viewerOf(session.user), csrf, items, status, now: clock() }));
    },
  );

  async function renderItem(
    req: FastifyRequest,
    reply: FastifyReply,
    session: WebSession,
    principal: Principal,
    id: number,
    opts: { status?: number; notice?: string | null; error?: string | null },
  ) {
    const detail = await itemDetail(db, id, await moderatorOf(req, principal), clock());
    const { package: name, version } = detail.item;
    const changes = name && version ? await packages.versionDiff(name, version) : null;
    const csrf = await web.csrf.token(req, reply);
    // What the page offers is what the gate would allow: locking an administrator, the publisher's account page.
    const can = {
      lockAdmins: await gate.allows(req, Action.ModerationLock, {
        kind: 'registry',
        item: { securityForm: false, publisherIsAdmin: true },
      }),
      accounts: await gate.allows(req, Action.UsersRead, REGISTRY),
    };
    return web.send(
      reply,
      opts.status ?? 200,
      itemPage({
        viewer: viewerOf(session.user),
        csrf,
        otp: asksForOtp(session.user),
        detail,
        changes,
        can,
        notice: opts.notice ?? null,
        error: opts.error ?? null,
        now: clock(),
      }),
    );
  }

  const itemId = (raw: string): number => {
    if (!/^\d{1,15}$/.test(raw)) throw notFound();
    return Number(raw);
  };

  scope.get<RouteTypes<typeof ItemRoute>>(
    `${MODERATION_PATH}/:id`,
    { schema: ItemRoute, attachValidation: true },
    async (req, reply) => {
      const id = itemId(req.params.id);
      const allowed = await web.staff(req, reply, Action.ModerationRead, { facts: factsOf(id) });
      if (!allowed) return reply;
      assertValid(req);
      return renderItem(req, reply, allowed.session, allowed.principal, id, {
        notice: DONE[String(req.query.done)] ?? null,
      });
    },
  );

  for (const action of ACTIONS) {
    scope.post<RouteTypes<{ params: typeof ItemParams }>>(
      `${MODERATION_PATH}/:id/${action}`,
      { ...formRoute(ReasonForm), schema: { params: ItemParams, body: ReasonForm } },
      async (req, reply) => {
        const id = itemId(req.params.id);
        // A refusal before the gate let the caller act on this item is answered as it is (404 for anyone else).
        return staffFormChange(web, req, reply, {
          action: action === 'lock' ? Action.ModerationLock : Action.ModerationAct,
          page: Action.ModerationRead,
          facts: factsOf(id),
          cause: 'moderation-action-refused',
          run: async (principal) => {
            const { reason } = formOf(req, ReasonForm);
            await moderate(
              { db, lifecycle, clock },
              id,
              action as ModerationActionName,
              await moderatorOf(req, principal),
              reason,
            );
            req.log.info({ action, item: id }, 'moderation action');
            return action;
          },
          done: (done) => `${itemHref(id)}?done=${done}`,
          render: (session, principal, status, error) =>
            renderItem(req, reply, session, principal, id, { status, error }),
        });
      },
    );
  }
}
