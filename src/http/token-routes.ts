// npm's token commands: `npm token list`, `npm token create` and `npm token revoke` (npm/cli lib/commands/token.js)
// at /-/npm/v1/tokens. npm 11 sends granular-token fields (packages, scopes, orgs, permissions, expires in days,
// cidr_whitelist, bypass_2fa); npm 10 and older send { password, readonly, cidr_whitelist }. Both go through the same
// planner (tokens/scope.ts). Creating a token needs the account's password and, where the account has a second
// factor, a one-time password (401 + WWW-Authenticate: OTP, which npm answers with npm-otp or its web OTP flow).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { limitedPasswordCheck } from '../accounts/limits.ts';
import { checkPassword, recordSignInLocked } from '../accounts/users.ts';
import type { Principal } from '../access/principal.ts';
import { fail, notFound } from '../errors.ts';
import type { Db } from '../store/db.ts';
import { checkOrgRights } from '../access/org-rights.ts';
import { planToken, type ScopeRequest } from '../tokens/scope.ts';
import { createToken, listTokens, revokeOwnToken, type TokenInfo } from '../tokens/service.ts';
import type { Gate } from './gate.ts';
import { requireOtp, type SecondFactorDeps } from './second-factor.ts';
import { AnyObject, Str, Type, schema, type RouteTypes } from './schemas.ts';

export type TokenRouteDeps = {
  db: Db;
  gate: Gate;
  secondFactor: SecondFactorDeps;
  clock: () => number;
  publicUrl: () => string;
};

/**
 * Why a scoped token (every token `bulwark admin token create`, `npm token create` and the web page make) is refused
 * here, and the exact command that gets a credential that is not: `npm login`'s two-hour session.
 */
export const scopedTokenRefusal = (publicUrl: string) =>
  `this token is limited by a scope, and such tokens cannot list, create or revoke tokens (a leaked one could otherwise make more): run \`npm login --registry=${publicUrl}/\` for a two-hour session that can (it takes this token's place in your .npmrc), or manage tokens at ${publicUrl}/-/web/account/tokens`;

type Body = Record<string, unknown>;

/** npm 11's granular fields and npm 10's classic ones share the body; tokens/scope.ts plans from either. */
const CreateRoute = schema({
  body: Type.Intersect([AnyObject, Type.Object({ password: Type.Optional(Type.String()) })]),
});
const RevokeRoute = schema({ params: Type.Object({ key: Str(512) }) });

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A token as npm's list shows it: key (its id), token (the first characters), created, readonly, cidr_whitelist. */
export function npmTokenView(t: TokenInfo) {
  return {
    key: t.key,
    token: t.display,
    name: t.name,
    created: iso(t.createdAt),
    updated: iso(t.createdAt),
    expires: iso(t.expiresAt),
    readonly: t.readonly,
    cidr_whitelist: t.scope?.cidr.length ? t.scope.cidr : null,
    packages_and_scopes_permission: t.scope?.packages.permission ?? (t.readonly ? 'read-only' : 'read-write'),
    packages: t.scope?.packages.names ?? [],
    scopes: t.scope?.packages.scopes ?? [],
    packages_all: t.scope ? t.scope.packages.all : true,
    orgs: t.scope?.orgs.names ?? [],
    orgs_permission: t.scope?.orgs.permission ?? 'no-access',
    bypass_2fa: !!t.scope?.bypass2fa,
    summary: t.summary,
    last_used: iso(t.lastUsedAt),
    last_used_ip: t.lastUsedIp,
  };
}

const list = (v: unknown, field: string): string[] | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v.split(',');
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  throw fail('E_TOKEN_REQUEST', `${field} must be a list of strings`);
};

const text = (v: unknown, field: string): string | null => {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw fail('E_TOKEN_REQUEST', `${field} must be a string`);
  return v;
};

/** npm's POST body → what the planner takes. A classic body with readonly: false asks for a write token on everything. */
export function scopeRequestFromNpm(body: Body): ScopeRequest {
  const packages = list(body.packages, 'packages');
  const scopes = list(body.scopes, 'scopes');
  const orgs = list(body.orgs, 'orgs');
  let permission = text(body.packages_and_scopes_permission, 'packages_and_scopes_permission');
  const packagesAll = body.packages_all === true;
  const granular = permission !== null || packagesAll || !!packages?.length || !!scopes?.length || !!orgs?.length;
  if (!granular && body.readonly === false)
    return {
      name: text(body.name, 'name'),
      permission: 'read-write',
      packagesAll: true,
      cidr: list(body.cidr_whitelist, 'cidr_whitelist') ?? [],
      expiresDays: null,
    };
  if (permission === null && body.readonly === true) permission = 'read-only';
  const expires = body.expires;
  if (expires !== undefined && expires !== null && (typeof expires !== 'number' || Number.isNaN(expires)))
    throw fail('E_TOKEN_REQUEST', 'expires must be a number of days');
  return {
    name: text(body.name, 'name') ?? text(body.description, 'description'),
    permission,
    packagesAll,
    packages: packages ?? [],
    scopes: scopes ?? [],
    orgs: orgs ?? [],
    orgsPermission: text(body.orgs_permission, 'orgs_permission'),
    cidr: list(body.cidr_whitelist, 'cidr_whitelist') ?? [],
    bypass2fa: body.bypass_2fa === true,
    expiresDays: typeof expires === 'number' ? expires : null,
  };
}

export function register(app: FastifyInstance, { db, gate, secondFactor, clock, publicUrl }: TokenRouteDeps): void {
  /** Token management needs the account's own credentials: a token limited by a scope cannot make or see tokens. */
  async function owner(req: FastifyRequest): Promise<Principal> {
    const principal = await gate.caller(req);
    if (principal.tokenScope) throw fail('E_TOKEN_SCOPE', scopedTokenRefusal(publicUrl()));
    return principal;
  }

  app.get('/-/npm/v1/tokens', async (req) => {
    const principal = await owner(req);
    const tokens = await listTokens(db, principal.userId, clock());
    return { objects: tokens.map(npmTokenView), total: tokens.length, urls: { next: null } };
  });

  // Only a signed-in user manages tokens: an anonymous request is refused before its body is read (Gate.signedIn).
  const signedIn = { preParsing: gate.signedIn() };

  app.post<RouteTypes<typeof CreateRoute>>('/-/npm/v1/tokens', { ...signedIn, schema: CreateRoute }, async (req) => {
    const principal = await owner(req);
    const body = req.body;
    const now = clock();
    // Bad requests are answered before the password is checked, so a typo does not count as a failed sign-in.
    const plan = planToken({ name: 'npm token create', ...scopeRequestFromNpm(body) }, now);
    await checkOrgRights(db, principal, plan.scope);
    if (!body.password) throw fail('E_TOKEN_REQUEST', 'creating a token needs your password: npm asks for it');
    const password = body.password;
    const user = await limitedPasswordCheck(
      secondFactor.limiter,
      principal.name,
      req.ip,
      () => checkPassword(db, principal.name, password),
      () => recordSignInLocked(db, principal.name, req.ip, now),
    );
    if (!user) throw fail('E_BAD_CREDENTIALS', 'incorrect password: creating a token needs your account password');
    if (user.totp_mode !== 'disabled') await requireOtp(secondFactor, req, user.id, 'creating a token');
    const { token, row } = await createToken(
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
    const [info] = (await listTokens(db, user.id, now)).filter((t) => t.id === row.id);
    return { ...npmTokenView(info!), token };
  });

  // npm sends the key of a listed token, or the token itself when the argument starts with a listed token's prefix.
  app.delete<RouteTypes<typeof RevokeRoute>>(
    '/-/npm/v1/tokens/token/:key',
    { ...signedIn, schema: RevokeRoute },
    async (req, reply) => {
      const principal = await owner(req);
      const revoked = await revokeOwnToken(
        db,
        { id: principal.userId, name: principal.name },
        req.params.key,
        principal.userId,
        clock(),
      );
      if (!revoked) throw notFound('no live token of yours has that id');
      return reply.code(204).send();
    },
  );
}
