// The approval queue under /-/web/admin/approvals (accounts/approval.ts). Like the other administrator pages, every
// request passes the gate (decide(): anyone but a signed-in administrator gets a 404), and approve and reject are
// CSRF-checked POSTs through the gate's write checks (a second factor when the administrator's account asks for one).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { approveAccount, pendingAccounts, rejectAccount } from '../accounts/approval.ts';
import type { Actor } from '../accounts/admin.ts';
import { Action, REGISTRY } from '../access/decide.ts';
import { ClientError } from '../errors.ts';
import { viewerOf } from './layout.ts';
import { APPROVALS_PATH, approvalsPage } from './pages/approvals.ts';
import { asksForOtp, formRefusal, type WebUi } from './routes.ts';
import type { WebSession } from './session.ts';

type Params = { Params: { name: string } };

const DONE: Record<string, (name: string) => string> = {
  approved: (name) => `${name} was approved: the account may publish now.`,
  rejected: (name) => `${name} was rejected and the account deleted.`,
};

export function registerApprovalRoutes(scope: FastifyInstance, web: WebUi): void {
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

  scope.get<{ Querystring: { done?: string; name?: string } }>(APPROVALS_PATH, async (req, reply) => {
    const allowed = await web.staff(req, reply, Action.UsersRead);
    if (!allowed) return reply;
    const done = DONE[String(req.query.done)];
    const name = String(req.query.name ?? '').slice(0, 64);
    return render(req, reply, allowed.session, { notice: done && name ? done(name) : null });
  });

  const actions: Record<
    string,
    (name: string, actor: Actor, form: Record<string, string | undefined>) => Promise<string>
  > = {
    approve: async (name, actor) => (await approveAccount(db, name, actor, clock()), 'approved'),
    reject: async (name, actor, form) => (await rejectAccount(db, name, actor, form.reason ?? '', clock()), 'rejected'),
  };

  for (const [verb, act] of Object.entries(actions)) {
    scope.post<Params>(`${APPROVALS_PATH}/:name/${verb}`, async (req, reply) => {
      const name = req.params.name;
      let done: string;
      try {
        const allowed = await web.staff(req, reply, Action.UsersWrite, { write: true });
        if (!allowed) return reply;
        const actor: Actor = { id: allowed.principal.userId, name: allowed.principal.name };
        done = await act(name, actor, (req.body ?? {}) as Record<string, string | undefined>);
      } catch (err) {
        // Refusals before the gate let the caller in (401, 404) are answered as they are: the page is for
        // administrators only. An administrator's refused action (no reason, a wrong code) shows on the queue.
        const session = web.sessions.known(req);
        if (!(err instanceof ClientError) || !session || !(await web.deps.gate.allows(req, Action.UsersRead, REGISTRY)))
          throw err;
        for (const [k, v] of Object.entries(err.headers)) if (k !== 'www-authenticate') reply.header(k, v);
        req.log.info({ cause: 'approval-refused', action: verb, status: err.status }, err.message);
        return render(req, reply, session, { status: err.status, error: formRefusal(err) });
      }
      req.log.info({ action: `approval:${verb}`, subject: name }, 'admin action');
      return reply
        .code(303)
        .header('location', `${APPROVALS_PATH}?done=${done}&name=${encodeURIComponent(name)}`)
        .send();
    });
  }
}
