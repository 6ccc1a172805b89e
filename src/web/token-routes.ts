// The access-tokens page behind /-/web/account/tokens: list, create (password, and a one-time code when the account
// has a second factor), revoke. Every POST has passed the CSRF check (routes.ts). Creation goes through the same
// planner as npm's token commands (tokens/scope.ts), and records the same events, so the owner is emailed either way.
import { viewerOf } from './layout.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { signInPassword } from '../accounts/password-checks.ts';
import { Str, Type, schema, type RouteTypes } from '../http/schemas.ts';
import type { UserRow } from '../store/schema.ts';
import { checkOrgRights, ownerPrincipal } from '../access/org-rights.ts';
import { planToken, scopeSummary } from '../tokens/scope.ts';
import { createPlannedToken, listTokens, revokeOwnToken } from '../tokens/service.ts';
import { checkCode } from './code-check.ts';
import { TOKENS_PATH, tokensPage, type TokenForm, type TokensView } from './pages/tokens.ts';
import type { WebUi } from './routes.ts';
import { explain, Field, formOf, formRoute, see } from './form.ts';

/** What the create form sends: the planner's fields (tokens/scope.ts checks their meaning), the password and a code. */
const CreateForm = Type.Object({
  name: Field(2000),
  permission: Field(2000),
  target: Field(2000),
  packages: Field(2000),
  scopes: Field(2000),
  orgs: Field(2000),
  orgsPermission: Field(2000),
  cidr: Field(2000),
  expires: Type.String({ pattern: '^\\s*([0-9]{1,5})?\\s*$', default: '', description: 'a whole number of days' }),
  bypass2fa: Field(8),
  password: Field(),
  otp: Field(64),
});
const TokensRoute = schema({ querystring: Type.Object({ done: Type.Optional(Str(64)) }) });
const RevokeRoute = schema({ params: Type.Object({ key: Str(128) }) });
const commaList = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

const NOTICES: Record<string, string> = { revoked: 'The token was revoked: it stopped working at once.' };

export function register(scope: FastifyInstance, web: WebUi): void {
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

  scope.get<RouteTypes<typeof TokensRoute>>(TOKENS_PATH, { schema: TokensRoute }, async (req, reply) => {
    const user = await signedIn(req, reply);
    if (!user) return reply;
    const done = req.query.done;
    return render(req, reply, user, 200, { notice: done === undefined ? null : (NOTICES[done] ?? null) });
  });

  scope.post(TOKENS_PATH, formRoute(CreateForm), async (req, reply) => {
    const user = await signedIn(req, reply);
    if (!user) return reply;
    // What the page shows again when the form is refused (never the password or the code).
    let form: TokenForm = {};
    const refuse = (status: number, error: string) => render(req, reply, user, status, { form, error });
    const now = clock();
    let plan;
    let otp: string;
    try {
      const { password, otp: code, ...shown } = formOf(req, CreateForm);
      form = shown;
      otp = code;
      const expires = shown.expires.trim();
      plan = planToken(
        {
          name: shown.name,
          permission: shown.permission,
          packagesAll: shown.target === 'all',
          packages: shown.target === 'all' ? [] : commaList(shown.packages),
          scopes: shown.target === 'all' ? [] : commaList(shown.scopes),
          orgs: commaList(shown.orgs),
          orgsPermission: shown.orgsPermission,
          cidr: commaList(shown.cidr),
          bypass2fa: shown.bypass2fa === '1',
          expiresDays: expires === '' ? null : Number(expires),
        },
        now,
      );
      await checkOrgRights(db, ownerPrincipal(user), plan.scope);
      const ok = await signInPassword(db, secondFactor.limiter, { name: user.name, ip: req.ip }, password, now);
      if (!ok) return await refuse(401, 'That password is not right.');
    } catch (err) {
      const { status, message } = explain(reply, err, 'Too many wrong passwords.');
      return refuse(status, message);
    }
    if (user.totp_mode !== 'disabled') {
      const code = await checkCode(secondFactor, reply, user.id, otp);
      if (!code.ok) return refuse(code.status, code.message);
    }
    const { token } = await createPlannedToken(db, user, plan, { actorId: user.id, ip: req.ip }, now);
    return render(req, reply, user, 200, {
      created: { token, name: plan.name, summary: scopeSummary(plan.scope, plan.readonly), expiresAt: plan.expiresAt },
    });
  });

  scope.post<RouteTypes<typeof RevokeRoute>>(
    `${TOKENS_PATH}/:key/revoke`,
    { schema: RevokeRoute },
    async (req, reply) => {
      const user = await signedIn(req, reply);
      if (!user) return reply;
      const key = req.params.key;
      // Only a full key from this page's list names a token here (no prefixes, no secrets in URLs).
      const revoked = /^[0-9a-f]{64}$/.test(key) ? await revokeOwnToken(db, user, key, user.id, clock()) : null;
      if (!revoked)
        return render(req, reply, user, 404, { error: 'That token does not exist or was already revoked.' });
      return see(reply, `${TOKENS_PATH}?done=revoked`);
    },
  );
}
