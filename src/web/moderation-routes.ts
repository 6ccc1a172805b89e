// Reporting from the web UI and the moderation queue. Reporting needs a signed-in user (others are sent to sign in)
// and passes the same write gate as the JSON API (Action.ReportCreate: a readable package; then limits,
// de-duplication). The queue is for moderators and administrators only: every page and action passes the gate
// (decide(): anyone else gets the 404 of a page that does not exist, as on the administration pages), and every action
// is a CSRF-checked POST (the web scope checks it) through the gate's write checks that redirects back.
import { viewerOf } from './layout.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Limiter } from '../accounts/limits.ts';
import { Action, REGISTRY, type RegistryFacts } from '../access/decide.ts';
import type { Principal } from '../access/principal.ts';
import { ClientError, notFound } from '../errors.ts';
import { authorizeReport, gatedReport } from '../http/report-routes.ts';
import type { Packages } from '../packages/service.ts';
import {
  ACTIONS,
  itemDetail,
  itemFacts,
  listQueue,
  moderate,
  type ModerationActionName,
  type ModerationLifecycle,
  type Moderator,
} from '../safety/moderation.ts';
import { fileReport, listOwnReports } from '../safety/reports.ts';
import type { Db } from '../store/db.ts';
import {
  MODERATION_PATH,
  itemHref,
  itemPage,
  ownReportsPage,
  queuePage,
  reportFiledPage,
  reportFormPage,
} from './pages/moderation.ts';
import { asksForOtp, formRefusal, type WebUi } from './routes.ts';
import type { WebSession } from './session.ts';

type Form = Record<string, string | undefined>;

export type ModerationPagesDeps = {
  db: Db;
  packages: Packages;
  limiter: Limiter;
  lifecycle: ModerationLifecycle;
  clock: () => number;
};

const DONE: Record<string, string> = {
  dismiss: 'The item was dismissed; its reporters are told.',
  quarantine: 'The version is quarantined; its reporters are told.',
  release: 'The version is installable again; its reporters are told.',
  remove: 'Removed as malicious; its reporters are told.',
  lock: 'The publisher’s account is locked and everything it was signed in with is revoked.',
};

/** A security-form item: what decide() is asked to learn whether the viewer sees those. */
const SECURITY_ITEM: RegistryFacts = { kind: 'registry', item: { securityForm: true, publisherIsAdmin: false } };

export function registerModerationPages(web: WebUi, deps: ModerationPagesDeps): void {
  web.extend((scope) => registerPages(scope, web, deps));
}

function registerPages(scope: FastifyInstance, web: WebUi, deps: ModerationPagesDeps): void {
  const { db, packages, limiter, clock } = deps;
  const gate = web.deps.gate;

  async function signedIn(req: FastifyRequest, reply: FastifyReply): Promise<WebSession | null> {
    const session = await web.sessions.current(req);
    if (!session)
      await reply
        .code(303)
        .header('location', `/-/web/signin?next=${encodeURIComponent(req.url)}`)
        .send();
    return session;
  }

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

  scope.get<{ Querystring: { package?: string; version?: string } }>('/-/web/report', async (req, reply) => {
    const session = await signedIn(req, reply);
    if (!session) return reply;
    const name = String(req.query.package ?? '');
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
        version: String(req.query.version ?? ''),
        reason: '',
        details: '',
        error: null,
      }),
    );
  });

  scope.post('/-/web/report', async (req, reply) => {
    const session = await signedIn(req, reply);
    if (!session) return reply;
    const form = (req.body ?? {}) as Form;
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
      for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
      const view = {
        viewer: viewerOf(session.user),
        csrf,
        name: input.package,
        versions: await versionsOf(input.package),
        version: input.version ?? '',
        reason: input.reason,
        details: input.details,
        error: formRefusal(err),
      };
      return web.send(reply, err.status, reportFormPage(view));
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

  scope.get<{ Querystring: { status?: string } }>(MODERATION_PATH, async (req, reply) => {
    const allowed = await web.staff(req, reply, Action.ModerationRead);
    if (!allowed) return reply;
    const { session } = allowed;
    const status = req.query.status === 'resolved' ? 'resolved' : 'open';
    const items = await listQueue(db, { status, viewer: await moderatorOf(req, allowed.principal) });
    const csrf = await web.csrf.token(req, reply);
    return web.send(reply, 200, queuePage({ viewer: viewerOf(session.user), csrf, items, status, now: clock() }));
  });

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

  scope.get<{ Params: { id: string }; Querystring: { done?: string } }>(
    `${MODERATION_PATH}/:id`,
    async (req, reply) => {
      const id = itemId(req.params.id);
      const allowed = await web.staff(req, reply, Action.ModerationRead, { facts: factsOf(id) });
      if (!allowed) return reply;
      return renderItem(req, reply, allowed.session, allowed.principal, id, {
        notice: DONE[String(req.query.done)] ?? null,
      });
    },
  );

  for (const action of ACTIONS) {
    scope.post<{ Params: { id: string } }>(`${MODERATION_PATH}/:id/${action}`, async (req, reply) => {
      const id = itemId(req.params.id);
      const reason = ((req.body ?? {}) as Form).reason ?? '';
      try {
        const allowed = await web.staff(req, reply, action === 'lock' ? Action.ModerationLock : Action.ModerationAct, {
          write: true,
          facts: factsOf(id),
        });
        if (!allowed) return reply;
        await moderate(
          { db, lifecycle: deps.lifecycle, clock },
          id,
          action as ModerationActionName,
          await moderatorOf(req, allowed.principal),
          reason,
        );
      } catch (err) {
        // A refusal before the gate let the caller act on this item is answered as it is (404 for anyone else).
        const session = web.sessions.known(req);
        const principal = await gate.principal(req);
        if (
          !(err instanceof ClientError) ||
          err.code === 'E_NOT_FOUND' ||
          !session ||
          !principal ||
          !(await gate.allows(req, Action.ModerationRead, await factsOf(id)()))
        )
          throw err;
        req.log.info({ cause: 'moderation-action-refused', action, item: id, status: err.status }, err.message);
        return renderItem(req, reply, session, principal, id, { status: err.status, error: formRefusal(err) });
      }
      req.log.info({ action, item: id }, 'moderation action');
      return reply
        .code(303)
        .header('location', `${itemHref(id)}?done=${action}`)
        .send();
    });
  }
}
