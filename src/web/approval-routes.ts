// The approval queue under /-/web/admin/approvals (accounts/approval.ts). Like the other administrator pages, every
// request passes the gate (decide(): anyone but a signed-in administrator gets a 404), and approve and reject are
// CSRF-checked POSTs through the gate's write checks (a second factor when the administrator's account asks for one).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { approveAccount, pendingAccounts, rejectAccount } from '../accounts/approval.ts';
import type { Actor } from '../accounts/admin.ts';
import { Action } from '../access/decide.ts';
import { NAME_MAX, Str, Type, type RouteTypes, type Static } from '../http/schemas.ts';
import { assertValid, Field, formOf, formRoute, staffFormChange, staffQueryRoute } from './form.ts';
import { viewerOf } from './layout.ts';
import { APPROVALS_PATH, approvalsPage } from './pages/approvals.ts';
import { asksForOtp, type WebUi } from './routes.ts';
import type { WebSession } from './session.ts';

const NameParams = Type.Object({ name: Str(NAME_MAX) });
const ReasonForm = Type.Object({ reason: Field(4096) });
const QueueQuery = Type.Object({ done: Type.Optional(Type.String()), name: Type.Optional(Type.String()) });

const DONE: Record<string, (name: string) => string> = {
  approved: (name) => `${name} was approved: the account may publish now.`,
  rejected: (name) => `${name} was rejected and the account deleted.`,
};

export function register(scope: FastifyInstance, web: WebUi): void {
  const { db, clock } = web.deps;
  const approval = web.deps.gate.policy.emailVerification === 'admin';

  async function render(
    req: FastifyRequest,
    reply: FastifyReply,
    session: WebSession,
    opts: { status?: number; notice?: string | null; error?: string | null } = {},
  ) {
    const { accounts, total } = await pendingAccounts(db);
    return web.send(
      reply,
      opts.status ?? 200,
      approvalsPage({
        viewer: viewerOf(session.user),
        csrf: await web.csrf.token(req, reply),
        otp: asksForOtp(session.user),
        accounts,
        total,
        approval,
        notice: opts.notice ?? null,
        error: opts.error ?? null,
        now: clock(),
      }),
    );
  }

  scope.get<RouteTypes<{ querystring: typeof QueueQuery }>>(
    APPROVALS_PATH,
    staffQueryRoute(QueueQuery),
    async (req, reply) => {
      const allowed = await web.staff(req, reply, Action.UsersRead);
      if (!allowed) return reply;
      assertValid(req);
      const done = DONE[String(req.query.done)];
      const name = String(req.query.name ?? '').slice(0, 64);
      return render(req, reply, allowed.session, { notice: done && name ? done(name) : null });
    },
  );

  const actions: Record<string, (name: string, actor: Actor, form: Static<typeof ReasonForm>) => Promise<string>> = {
    approve: async (name, actor) => (await approveAccount(db, name, actor, clock()), 'approved'),
    reject: async (name, actor, form) => (await rejectAccount(db, name, actor, form.reason, clock()), 'rejected'),
  };

  for (const [verb, act] of Object.entries(actions)) {
    scope.post<RouteTypes<{ params: typeof NameParams }>>(
      `${APPROVALS_PATH}/:name/${verb}`,
      { ...formRoute(ReasonForm), schema: { params: NameParams, body: ReasonForm } },
      async (req, reply) => {
        const name = req.params.name;
        // An administrator's refused action (no reason, a wrong code, an account no longer waiting) shows on the queue.
        return staffFormChange(web, req, reply, {
          action: Action.UsersWrite,
          page: Action.UsersRead,
          cause: 'approval-refused',
          notFoundOnPage: true,
          run: async (principal) => {
            const actor: Actor = { id: principal.userId, name: principal.name };
            const done = await act(name, actor, formOf(req, ReasonForm));
            req.log.info({ action: `approval:${verb}`, subject: name }, 'admin action');
            return done;
          },
          done: (done) => `${APPROVALS_PATH}?done=${done}&name=${encodeURIComponent(name)}`,
          render: (session, _principal, status, error) => render(req, reply, session, { status, error }),
        });
      },
    );
  }
}
