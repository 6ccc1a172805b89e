// The administrators' account pages under /-/web/admin/. Every page and action passes the gate (decide(): anyone who is
// not a signed-in administrator gets the same 404 as for a page that does not exist, so the pages do not advertise
// themselves). Every action is a POST (CSRF-checked by the web scope) through the gate's write checks (the second
// factor, when the administrator's account asks for one) that records who did it and why, then redirects back.
import { viewerOf } from './layout.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  cancelRecovery,
  completeRecovery,
  deleteUser,
  disableUser,
  enableUser,
  forcePasswordReset,
  listUsers,
  startRecovery,
  userDetail,
  type Actor,
  type UserQuery,
} from '../accounts/admin.ts';
import { securityHistory } from '../accounts/security-history.ts';
import { Action } from '../access/decide.ts';
import { fail } from '../errors.ts';
import { NAME_MAX, Str, Type, schema, type RouteTypes, type Static } from '../http/schemas.ts';
import type { Db } from '../store/db.ts';
import { assertValid, Field, formOf, formRoute, staffFormChange, staffQueryRoute } from './form.ts';
import { adminUserHref, userListPage, userPage } from './pages/admin.ts';
import { asksForOtp, type WebUi } from './routes.ts';
import type { WebSession } from './session.ts';

/** Every action's form: the reason (and, for some, a confirmation, a new address, evidence); the gate reads otp. */
const ActionForm = Type.Object({
  reason: Field(4096),
  confirm: Field(NAME_MAX),
  email: Field(254),
  removeMfa: Field(8),
  evidence: Field(4096),
});
type Form = Static<typeof ActionForm>;
const NameParams = Type.Object({ name: Str(NAME_MAX) });
const ListQuery = Type.Object({
  q: Type.Optional(Type.String()),
  status: Type.Optional(Type.String()),
  from: Type.Optional(Type.String()),
});
const UserQuery_ = Type.Object({ done: Type.Optional(Type.String()), before: Type.Optional(Type.String()) });
const UserRoute = schema({ params: NameParams, querystring: UserQuery_ });

const DONE: Record<string, string> = {
  disabled: 'The account was disabled and everything it was signed in with was revoked.',
  enabled: 'The account was enabled again.',
  reset: 'The password was reset and everything was signed out. A reset link is emailed if the address is verified.',
  'recovery-started': 'The recovery was started and the account’s current address told.',
  'recovery-completed': 'The recovery was completed.',
  'recovery-cancelled': 'The recovery was cancelled.',
  deleted: 'The account was deleted.',
};

const ACTIONS: Record<string, (db: Db, name: string, actor: Actor, form: Form, now: number) => Promise<string>> = {
  disable: async (db, name, actor, f, now) => (await disableUser(db, name, actor, f.reason, now), 'disabled'),
  enable: async (db, name, actor, f, now) => (await enableUser(db, name, actor, f.reason, now), 'enabled'),
  'force-reset': async (db, name, actor, f, now) => (await forcePasswordReset(db, name, actor, f.reason, now), 'reset'),
  delete: async (db, name, actor, f, now) => {
    if (f.confirm !== name) throw fail('E_USAGE', 'type the username exactly to confirm the deletion');
    await deleteUser(db, name, actor, f.reason, now);
    return 'deleted';
  },
  'recover/start': async (db, name, actor, f, now) => {
    await startRecovery(
      db,
      name,
      actor,
      {
        newEmail: f.email || null,
        disableMfa: f.removeMfa === '1',
        reason: f.reason,
        evidence: f.evidence,
      },
      now,
    );
    return 'recovery-started';
  },
  'recover/complete': async (db, name, actor, _f, now) => (
    await completeRecovery(db, name, actor, now),
    'recovery-completed'
  ),
  'recover/cancel': async (db, name, actor, f, now) => (
    await cancelRecovery(db, name, actor, f.reason, now),
    'recovery-cancelled'
  ),
};

export function register(scope: FastifyInstance, web: WebUi): void {
  const { db, clock } = web.deps;

  async function renderUser(
    req: FastifyRequest,
    reply: FastifyReply,
    session: WebSession,
    name: string,
    opts: { status?: number; notice?: string | null; error?: string | null; before?: number | null },
  ) {
    const detail = await userDetail(db, name, clock());
    const history = await securityHistory(db, detail.user.id, { limit: 30, before: opts.before ?? null });
    const csrf = await web.csrf.token(req, reply);
    return web.send(
      reply,
      opts.status ?? 200,
      userPage({
        viewer: viewerOf(session.user),
        csrf,
        otp: asksForOtp(session.user),
        detail,
        history,
        notice: opts.notice ?? null,
        error: opts.error ?? null,
        now: clock(),
      }),
    );
  }

  scope.get<RouteTypes<{ querystring: typeof ListQuery }>>(
    '/-/web/admin/users',
    staffQueryRoute(ListQuery),
    async (req, reply) => {
      const allowed = await web.staff(req, reply, Action.UsersRead);
      if (!allowed) return reply;
      assertValid(req);
      const { session } = allowed;
      const query = String(req.query.q ?? '').slice(0, 100);
      const status = ['active', 'disabled', 'deleted', 'admin'].includes(String(req.query.status))
        ? (req.query.status as UserQuery['status'])
        : undefined;
      const offset = /^\d{1,6}$/.test(String(req.query.from ?? '')) ? Number(req.query.from) : 0;
      const size = 50;
      const { users, total } = await listUsers(db, { text: query, status, limit: size, offset });
      const csrf = await web.csrf.token(req, reply);
      return web.send(
        reply,
        200,
        userListPage({
          viewer: viewerOf(session.user),
          csrf,
          users,
          total,
          query,
          status: status ?? '',
          offset,
          size,
          now: clock(),
        }),
      );
    },
  );

  scope.get<RouteTypes<typeof UserRoute>>(
    '/-/web/admin/users/:name',
    { schema: UserRoute, attachValidation: true },
    async (req, reply) => {
      const allowed = await web.staff(req, reply, Action.UsersRead);
      if (!allowed) return reply;
      assertValid(req);
      const { session } = allowed;
      const before = /^\d{1,15}$/.test(String(req.query.before ?? '')) ? Number(req.query.before) : null;
      return renderUser(req, reply, session, req.params.name, { notice: DONE[String(req.query.done)] ?? null, before });
    },
  );

  for (const [path, act] of Object.entries(ACTIONS)) {
    scope.post<RouteTypes<{ params: typeof NameParams }>>(
      `/-/web/admin/users/:name/${path}`,
      { ...formRoute(ActionForm), schema: { params: NameParams, body: ActionForm } },
      async (req, reply) => {
        const name = req.params.name;
        return staffFormChange(web, req, reply, {
          action: Action.UsersWrite,
          page: Action.UsersRead,
          cause: 'admin-action-refused',
          run: async (principal) => {
            const actor: Actor = { id: principal.userId, name: principal.name };
            const done = await act(db, name, actor, formOf(req, ActionForm), clock());
            req.log.info({ action: path, subject: name }, 'admin action');
            return done;
          },
          done: (done) => `${adminUserHref(name)}?done=${done}`,
          render: (session, _principal, status, error) => renderUser(req, reply, session, name, { status, error }),
        });
      },
    );
  }
}
