// Reporting from the web UI and the moderation queue. Reporting needs a signed-in user (others are sent to sign in)
// and goes through the same checks as the JSON API (readable package, limits, de-duplication). The queue is for
// moderators and administrators only: anyone else gets the 404 of a page that does not exist, as on the
// administration pages; every action is a CSRF-checked POST (the web scope checks it) that redirects back.
import { viewerOf } from './layout.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Limiter } from '../accounts/limits.ts';
import { ClientError, notFound } from '../errors.ts';
import { readableReportInput } from '../http/report-routes.ts';
import type { Packages } from '../packages/service.ts';
import { ACTIONS, itemDetail, listQueue, moderate, type ModerationActionName, type ModerationLifecycle, type Moderator } from '../safety/moderation.ts';
import { fileReport, listOwnReports } from '../safety/reports.ts';
import type { Db } from '../store/db.ts';
import { MODERATION_PATH, itemHref, itemPage, ownReportsPage, queuePage, reportFiledPage, reportFormPage } from './pages/moderation.ts';
import type { WebUi } from './routes.ts';
import type { WebSession } from './session.ts';

type Form = Record<string, string | undefined>;

export type ModerationPagesDeps = { db: Db; packages: Packages; limiter: Limiter; lifecycle: ModerationLifecycle; clock: () => number };

const DONE: Record<string, string> = {
  dismiss: 'The item was dismissed; its reporters are told.',
  quarantine: 'The version is quarantined; its reporters are told.',
  release: 'The version is installable again; its reporters are told.',
  remove: 'Removed as malicious; its reporters are told.',
  lock: 'The publisher’s account is locked and everything it was signed in with is revoked.',
};

const capitalize = (s: string) => s.replace(/^./, (c) => c.toUpperCase());

/**
 * The signed-in moderator or administrator; otherwise null after redirecting to sign-in (nobody signed in), or the 404
 * of a page that does not exist (anyone else), like WebUi.administrator for the administrators' pages.
 */
export async function moderatorSession(web: WebUi, req: FastifyRequest, reply: FastifyReply): Promise<WebSession | null> {
  const session = await web.sessions.current(req);
  if (!session) {
    await reply.code(303).header('location', `/-/web/signin?next=${encodeURIComponent(req.url)}`).send();
    return null;
  }
  if (session.user.is_admin !== 1 && session.user.is_moderator !== 1) throw notFound();
  return session;
}

const moderatorOf = (s: WebSession): Moderator => ({ id: s.user.id, name: s.user.name, isAdmin: s.user.is_admin === 1 });

export function registerModerationPages(web: WebUi, deps: ModerationPagesDeps): void {
  web.extend((scope) => registerPages(scope, web, deps));
}

function registerPages(scope: FastifyInstance, web: WebUi, deps: ModerationPagesDeps): void {
  const { db, packages, limiter, clock } = deps;
  const gate = web.deps.gate;

  async function signedIn(req: FastifyRequest, reply: FastifyReply): Promise<WebSession | null> {
    const session = await web.sessions.current(req);
    if (!session) await reply.code(303).header('location', `/-/web/signin?next=${encodeURIComponent(req.url)}`).send();
    return session;
  }

  async function versionsOf(name: string): Promise<string[]> {
    const rows = await db.selectFrom('versions').innerJoin('packages', 'packages.id', 'versions.package_id').select('versions.version').where('packages.name', '=', name).where('versions.state', '=', 'visible').orderBy('versions.published_at', 'desc').limit(200).execute();
    return rows.map((r) => r.version);
  }

  scope.get<{ Querystring: { package?: string; version?: string } }>('/-/web/report', async (req, reply) => {
    const session = await signedIn(req, reply);
    if (!session) return reply;
    const name = String(req.query.package ?? '');
    // The same visibility as the package page: a package the viewer may not read does not exist.
    await readableReportInput(req, { gate, packages }, { package: name, version: null, reason: '', details: '' });
    const csrf = await web.csrf.token(req, reply);
    return web.send(reply, 200, reportFormPage({ viewer: viewerOf(session.user), csrf, name, versions: await versionsOf(name), version: String(req.query.version ?? ''), reason: '', details: '', error: null }));
  });

  scope.post('/-/web/report', async (req, reply) => {
    const session = await signedIn(req, reply);
    if (!session) return reply;
    const form = (req.body ?? {}) as Form;
    const input = await readableReportInput(req, { gate, packages }, { package: form.package, version: form.version, reason: form.reason, details: form.details });
    const reporter = { id: session.user.id, name: session.user.name, moderator: session.user.is_admin === 1 || session.user.is_moderator === 1 };
    const csrf = await web.csrf.token(req, reply);
    try {
      const { report, duplicate } = await fileReport(db, limiter, reporter, req.ip, input, clock());
      req.log.info({ report: report.id, duplicate }, duplicate ? 'report repeated' : 'report filed');
      return web.send(reply, duplicate ? 200 : 201, reportFiledPage(viewerOf(session.user), csrf, report, duplicate));
    } catch (err) {
      if (!(err instanceof ClientError) || err.status === 404) throw err;
      for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
      const view = { viewer: viewerOf(session.user), csrf, name: input.package, versions: await versionsOf(input.package), version: input.version ?? '', reason: input.reason, details: input.details, error: capitalize(err.message) };
      return web.send(reply, err.status, reportFormPage(view));
    }
  });

  scope.get('/-/web/reports', async (req, reply) => {
    const session = await signedIn(req, reply);
    if (!session) return reply;
    const csrf = await web.csrf.token(req, reply);
    return web.send(reply, 200, ownReportsPage(viewerOf(session.user), csrf, await listOwnReports(db, session.user.id), clock()));
  });

  scope.get<{ Querystring: { status?: string } }>(MODERATION_PATH, async (req, reply) => {
    const session = await moderatorSession(web, req, reply);
    if (!session) return reply;
    const status = req.query.status === 'resolved' ? 'resolved' : 'open';
    const items = await listQueue(db, { status, viewer: moderatorOf(session) });
    const csrf = await web.csrf.token(req, reply);
    return web.send(reply, 200, queuePage({ viewer: viewerOf(session.user), csrf, items, status, now: clock() }));
  });

  async function renderItem(req: FastifyRequest, reply: FastifyReply, session: WebSession, id: number, opts: { status?: number; notice?: string | null; error?: string | null }) {
    const detail = await itemDetail(db, id, moderatorOf(session), clock());
    const { package: name, version } = detail.item;
    const changes = name && version ? await packages.versionDiff(name, version) : null;
    const csrf = await web.csrf.token(req, reply);
    return web.send(reply, opts.status ?? 200, itemPage({ viewer: viewerOf(session.user), csrf, detail, changes, isAdmin: session.user.is_admin === 1, notice: opts.notice ?? null, error: opts.error ?? null, now: clock() }));
  }

  const itemId = (raw: string): number => {
    if (!/^\d{1,15}$/.test(raw)) throw notFound();
    return Number(raw);
  };

  scope.get<{ Params: { id: string }; Querystring: { done?: string } }>(`${MODERATION_PATH}/:id`, async (req, reply) => {
    const session = await moderatorSession(web, req, reply);
    if (!session) return reply;
    return renderItem(req, reply, session, itemId(req.params.id), { notice: DONE[String(req.query.done)] ?? null });
  });

  for (const action of ACTIONS) {
    scope.post<{ Params: { id: string } }>(`${MODERATION_PATH}/:id/${action}`, async (req, reply) => {
      const session = await moderatorSession(web, req, reply);
      if (!session) return reply;
      const id = itemId(req.params.id);
      const reason = ((req.body ?? {}) as Form).reason ?? '';
      try {
        await moderate({ db, lifecycle: deps.lifecycle, clock }, id, action as ModerationActionName, moderatorOf(session), reason);
      } catch (err) {
        if (!(err instanceof ClientError) || err.status === 404) throw err;
        req.log.info({ cause: 'moderation-action-refused', action, item: id }, err.message);
        return renderItem(req, reply, session, id, { status: err.status, error: capitalize(err.message) });
      }
      req.log.info({ action, item: id }, 'moderation action');
      return reply.code(303).header('location', `${itemHref(id)}?done=${action}`).send();
    });
  }
}
