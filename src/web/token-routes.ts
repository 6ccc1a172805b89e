// The access-tokens page behind /-/web/account/tokens: list, create (password, and a one-time code when the account
// has a second factor), revoke. Every POST has passed the CSRF check (routes.ts). Creation goes through the same
// planner as npm's token commands (tokens/scope.ts), and records the same events, so the owner is emailed either way.
import { viewerOf } from './layout.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { limitedPasswordCheck } from '../accounts/limits.ts';
import { checkPassword, recordSignInLocked } from '../accounts/users.ts';
import { ClientError } from '../errors.ts';
import type { UserRow } from '../store/schema.ts';
import { checkOrgRights, ownerPrincipal } from '../access/org-rights.ts';
import { planToken, scopeSummary } from '../tokens/scope.ts';
import { createToken, listTokens, revokeOwnToken } from '../tokens/service.ts';
import { checkCode } from './code-check.ts';
import { TOKENS_PATH, tokensPage, type TokenForm, type TokensView } from './pages/tokens.ts';
import type { WebUi } from './routes.ts';

type Form = Record<string, string | undefined>;
const field = (req: FastifyRequest, name: string): string => {
  const v = (req.body as Form | null)?.[name];
  return typeof v === 'string' ? v : '';
};
const see = (reply: FastifyReply, location: string) => reply.code(303).header('location', location).send();
const commaList = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

const NOTICES: Record<string, string> = { revoked: 'The token was revoked: it stopped working at once.' };

export function registerTokenPages(scope: FastifyInstance, web: WebUi): void {
  const { db, clock } = web.deps;
  const secondFactor = web.deps.secondFactor;

  async function signedIn(req: FastifyRequest, reply: FastifyReply): Promise<UserRow | null> {
    const session = await web.sessions.current(req);
    if (!session) {
      await see(reply, `/-/web/signin?next=${encodeURIComponent(TOKENS_PATH)}`);
      return null;
    }
    return session.user;
  }

  async function render(
    req: FastifyRequest,
    reply: FastifyReply,
    user: UserRow,
    status: number,
    extra: Partial<TokensView>,
  ) {
    const now = clock();
    const tokens = await listTokens(db, user.id, now, { sessions: true });
    const view: TokensView = {
      viewer: viewerOf(user),
      csrf: await web.csrf.token(req, reply),
      now,
      tokens,
      needsCode: user.totp_mode !== 'disabled',
      ...extra,
    };
    return web.send(reply, status, tokensPage(view));
  }

  scope.get<{ Querystring: { done?: string } }>(TOKENS_PATH, async (req, reply) => {
    const user = await signedIn(req, reply);
    if (!user) return reply;
    const done = req.query.done;
    return render(req, reply, user, 200, { notice: typeof done === 'string' ? (NOTICES[done] ?? null) : null });
  });

  scope.post(TOKENS_PATH, async (req, reply) => {
    const user = await signedIn(req, reply);
    if (!user) return reply;
    const form: TokenForm = {};
    for (const k of [
      'name',
      'permission',
      'target',
      'packages',
      'scopes',
      'orgs',
      'orgsPermission',
      'cidr',
      'expires',
      'bypass2fa',
    ] as const)
      form[k] = field(req, k).slice(0, 2000);
    const refuse = (status: number, error: string) => render(req, reply, user, status, { form, error });
    const now = clock();
    let plan;
    try {
      const expires = form.expires!.trim();
      if (expires !== '' && !/^\d{1,5}$/.test(expires))
        return await refuse(400, 'Expiry must be a whole number of days.');
      plan = planToken(
        {
          name: form.name,
          permission: form.permission,
          packagesAll: form.target === 'all',
          packages: form.target === 'all' ? [] : commaList(form.packages!),
          scopes: form.target === 'all' ? [] : commaList(form.scopes!),
          orgs: commaList(form.orgs!),
          orgsPermission: form.orgsPermission,
          cidr: commaList(form.cidr!),
          bypass2fa: form.bypass2fa === '1',
          expiresDays: expires === '' ? null : Number(expires),
        },
        now,
      );
      await checkOrgRights(db, ownerPrincipal(user), plan.scope);
      const password = field(req, 'password');
      const ok = await limitedPasswordCheck(
        secondFactor.limiter,
        user.name,
        req.ip,
        () => checkPassword(db, user.name, password),
        () => recordSignInLocked(db, user.name, req.ip, now),
      );
      if (!ok) return await refuse(401, 'That password is not right.');
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
      return refuse(err.status, err.message.replace(/^./, (c) => c.toUpperCase()).replace(/([^.])$/, '$1.'));
    }
    if (user.totp_mode !== 'disabled') {
      const code = await checkCode(secondFactor, reply, user.id, field(req, 'otp'));
      if (!code.ok) return refuse(code.status, code.message);
    }
    const { token } = await createToken(
      db,
      {
        userId: user.id,
        userName: user.name,
        name: plan.name,
        kind: 'granular',
        readonly: plan.readonly,
        expiresAt: plan.expiresAt,
        scope: plan.scope,
        actorId: user.id,
        ip: req.ip,
      },
      now,
    );
    return render(req, reply, user, 200, {
      created: { token, name: plan.name, summary: scopeSummary(plan.scope, plan.readonly), expiresAt: plan.expiresAt },
    });
  });

  scope.post<{ Params: { key: string } }>(`${TOKENS_PATH}/:key/revoke`, async (req, reply) => {
    const user = await signedIn(req, reply);
    if (!user) return reply;
    const key = req.params.key;
    // Only a full key from this page's list names a token here (no prefixes, no secrets in URLs).
    const revoked = /^[0-9a-f]{64}$/.test(key) ? await revokeOwnToken(db, user, key, user.id, clock()) : null;
    if (!revoked) return render(req, reply, user, 404, { error: 'That token does not exist or was already revoked.' });
    return see(reply, `${TOKENS_PATH}?done=revoked`);
  });
}
