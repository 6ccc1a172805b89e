// What a token may do, as pure rules: the scope a user asks for is checked and completed here (planToken), stored as
// versioned JSON in tokens.restrictions, and consulted by the policy function first on every decision
// (tokenScopeDecision). No I/O: the web form, npm's POST /-/npm/v1/tokens and `bulwark token create` all pass their
// request through the same planner, so one set of rules holds whichever way a token is made.
import { BlockList, isIP } from 'node:net';
import { fail } from '../errors.ts';
import { nameProblem } from '../names/syntax.ts';

/** npm's granular-token permission words (npm 11 `--packages-and-scopes-permission`, `--orgs-permission`). */
export type Permission = 'read-only' | 'read-write' | 'no-access';
const PERMISSIONS: readonly Permission[] = ['read-only', 'read-write', 'no-access'];

/**
 * A token's scope, version 1. Fields are only ever added (with a default for older records), never renamed or
 * reused, so a stored scope means the same thing forever.
 */
export type TokenScope = {
  v: 1;
  /** what the token may do to packages: all of the owner's, or only the listed names and scopes ("@org"). */
  packages: { permission: Permission; all: boolean; names: string[]; scopes: string[] };
  /** organisation administration (members, teams) in the listed orgs. */
  orgs: { permission: Permission; names: string[] };
  /** addresses the token may be used from (IPv4 and IPv6 CIDRs); empty means anywhere. */
  cidr: string[];
  /** an automation token: package writes need no one-time password. Only for package-limited, expiring tokens. */
  bypass2fa: boolean;
};

export const DAY = 86_400_000;
/** Tokens that can change anything expire: 30 days unless asked otherwise, never more than 90 (as npmjs.com). */
export const WRITE_DEFAULT_DAYS = 30;
export const WRITE_MAX_DAYS = 90;
/** Read-only tokens may live longer, but not forever unless no expiry is asked for at all. */
export const READ_MAX_DAYS = 3650;
/** `npm login` gives a two-hour session, as npmjs.com does since December 2025: no long-lived login tokens. */
export const SESSION_TTL_MS = 2 * 3_600_000;
const MAX_LIST = 50;
const MAX_CIDRS = 20;

/** What someone asks for, from any of the three ways to make a token. Absent fields take the documented defaults. */
export type ScopeRequest = {
  name?: string | null;
  permission?: string | null;
  packagesAll?: boolean;
  packages?: readonly string[];
  scopes?: readonly string[];
  orgs?: readonly string[];
  orgsPermission?: string | null;
  cidr?: readonly string[];
  bypass2fa?: boolean;
  /** days until expiry; null or absent takes the default for the token's kind. */
  expiresDays?: number | null;
};

export type TokenPlan = { name: string; scope: TokenScope; readonly: boolean; expiresAt: number | null };

const clean = (list: readonly string[] | undefined) => [
  ...new Set((list ?? []).map((s) => String(s).trim()).filter(Boolean)),
];

/** "@org", "org" or "@org/*" → "@org"; anything else is refused. */
export function normaliseScope(raw: string): string {
  const m = /^@?([a-z0-9][a-z0-9._~-]*)(?:\/\*)?$/i.exec(raw.trim());
  if (!m) throw fail('E_TOKEN_REQUEST', `invalid scope "${raw}": write it as @org or @org/*`);
  return `@${m[1]!.toLowerCase()}`;
}

function permissionOf(raw: string | null | undefined, fallback: Permission, what: string): Permission {
  if (raw === undefined || raw === null || raw === '') return fallback;
  if (raw === 'read-write-stage-only')
    throw fail(
      'E_TOKEN_REQUEST',
      `${what} "read-write-stage-only" is not supported by this registry: staged publishing does not exist here; use read-write`,
    );
  if (!(PERMISSIONS as readonly string[]).includes(raw))
    throw fail('E_TOKEN_REQUEST', `${what} must be one of ${PERMISSIONS.join(', ')}, not "${raw}"`);
  return raw as Permission;
}

/** Parses a CIDR ("10.0.0.0/8", "2001:db8::/32", or a bare address for one host) into its canonical text. */
export function parseCidr(raw: string): { text: string; address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const s = String(raw).trim();
  const slash = s.indexOf('/');
  const address = slash === -1 ? s : s.slice(0, slash);
  const version = isIP(address);
  if (version === 0)
    throw fail('E_TOKEN_REQUEST', `invalid CIDR "${raw}": the address part is not an IPv4 or IPv6 address`);
  const max = version === 4 ? 32 : 128;
  const prefixText = slash === -1 ? String(max) : s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max)
    throw fail('E_TOKEN_REQUEST', `invalid CIDR "${raw}": the prefix length must be a whole number from 0 to ${max}`);
  const prefix = Number(prefixText);
  return { text: `${address}/${prefix}`, address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** True when ip is inside one of the CIDRs. An IPv4 client seen as "::ffff:a.b.c.d" counts as a.b.c.d. */
export function cidrAllows(cidrs: readonly string[], ip: string): boolean {
  if (cidrs.length === 0) return true;
  const list = new BlockList();
  for (const c of cidrs) {
    const { address, prefix, family } = parseCidr(c);
    list.addSubnet(address, prefix, family);
  }
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const addr = mapped ? mapped[1]! : ip;
  const version = isIP(addr);
  if (version === 0) return false;
  return list.check(addr, version === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Checks and completes a request into the token to store. Refuses (400, saying why) what must not exist: a write
 * token without an expiry or beyond 90 days, an automation (bypass2fa) token not limited to packages, a package
 * permission with nothing to apply it to. `now` is the creation time.
 */
export function planToken(req: ScopeRequest, now: number): TokenPlan {
  const names = clean(req.packages);
  for (const n of names) {
    const problem = nameProblem(n);
    if (problem) throw fail('E_TOKEN_REQUEST', problem);
  }
  const scopes = clean(req.scopes).map(normaliseScope);
  const orgs = clean(req.orgs).map((o) => normaliseScope(o).slice(1));
  if (names.length > MAX_LIST || scopes.length > MAX_LIST || orgs.length > MAX_LIST)
    throw fail(
      'E_TOKEN_REQUEST',
      `a token can name at most ${MAX_LIST} packages, ${MAX_LIST} scopes and ${MAX_LIST} orgs`,
    );
  const all = !!req.packagesAll;
  if (all && (names.length || scopes.length))
    throw fail('E_TOKEN_REQUEST', 'choose either all packages or a list of packages and scopes, not both');
  const listed = names.length > 0 || scopes.length > 0;
  // Without a list or "all", the token covers all packages read-only: the old `npm token create` default, and harmless.
  const permission = permissionOf(req.permission, 'read-only', 'the package permission');
  if (permission !== 'no-access' && !all && !listed && req.permission === 'read-write') {
    throw fail(
      'E_TOKEN_REQUEST',
      'a read-write token must say which packages it may change: list packages or scopes, or choose all packages',
    );
  }
  const orgsPermission = permissionOf(
    req.orgsPermission,
    orgs.length ? 'read-only' : 'no-access',
    'the org permission',
  );
  if (orgsPermission !== 'no-access' && orgs.length === 0)
    throw fail('E_TOKEN_REQUEST', 'an org permission needs the orgs it applies to');
  if (permission === 'no-access' && orgsPermission === 'no-access')
    throw fail('E_TOKEN_REQUEST', 'this token could do nothing: give it a package or an org permission');

  const cidrs = clean(req.cidr).map((c) => parseCidr(c).text);
  if (cidrs.length > MAX_CIDRS) throw fail('E_TOKEN_REQUEST', `a token can list at most ${MAX_CIDRS} CIDRs`);

  const writes = permission === 'read-write' || orgsPermission === 'read-write';
  const bypass2fa = !!req.bypass2fa;
  if (bypass2fa) {
    if (permission !== 'read-write')
      throw fail(
        'E_TOKEN_REQUEST',
        'bypass-2fa is for tokens that publish: give the token read-write permission on its packages',
      );
    if (!listed)
      throw fail(
        'E_TOKEN_REQUEST',
        'bypass-2fa (automation) tokens must be limited to listed packages or scopes: a token that skips the second factor for all of your packages is not allowed',
      );
    if (orgsPermission !== 'no-access')
      throw fail('E_TOKEN_REQUEST', 'bypass-2fa (automation) tokens cannot administer orgs');
  }

  let expiresAt: number | null = null;
  const days = req.expiresDays;
  if (days !== undefined && days !== null) {
    const max = writes ? WRITE_MAX_DAYS : READ_MAX_DAYS;
    if (!Number.isInteger(days) || days < 1 || days > max) {
      throw fail(
        'E_TOKEN_REQUEST',
        `expiry must be a whole number of days from 1 to ${max}${writes ? ' for tokens that can publish or change anything' : ''}, not ${String(days)}`,
      );
    }
    expiresAt = now + days * DAY;
  } else if (writes) {
    expiresAt = now + WRITE_DEFAULT_DAYS * DAY;
  }

  const name =
    String(req.name ?? '')
      .trim()
      .slice(0, 100) || 'token';
  const scope: TokenScope = {
    v: 1,
    packages: { permission, all: permission !== 'no-access' && (all || !listed), names, scopes },
    orgs: { permission: orgsPermission, names: orgs },
    cidr: cidrs,
    bypass2fa,
  };
  return { name, scope, readonly: permission !== 'read-write', expiresAt };
}

export function serializeScope(scope: TokenScope): string {
  return JSON.stringify(scope);
}

/**
 * Reads a stored scope. null (tokens made before scopes existed, and `npm login` sessions) means "no restriction
 * beyond the readonly column". A record this version cannot read fails closed: the token can do nothing.
 */
export function parseScope(text: string | null): TokenScope | null {
  if (text === null) return null;
  try {
    const s = JSON.parse(text) as Partial<TokenScope>;
    if (s.v === 1 && s.packages && s.orgs)
      return { v: 1, packages: s.packages, orgs: s.orgs, cidr: s.cidr ?? [], bypass2fa: !!s.bypass2fa };
  } catch {
    // fall through
  }
  return {
    v: 1,
    packages: { permission: 'no-access', all: false, names: [], scopes: [] },
    orgs: { permission: 'no-access', names: [] },
    cidr: ['0.0.0.0/32'],
    bypass2fa: false,
  };
}

/** One line for lists: "read-write on express, @acme/*; admin of org acme; from 10.0.0.0/8; automation". */
export function scopeSummary(scope: TokenScope | null, readonly: boolean): string {
  if (!scope) return readonly ? 'read-only, all packages' : 'read-write, all packages';
  const parts: string[] = [];
  const p = scope.packages;
  if (p.permission !== 'no-access')
    parts.push(
      `${p.permission} on ${p.all ? 'all packages' : [...p.names, ...p.scopes.map((s) => `${s}/*`)].join(', ')}`,
    );
  if (scope.orgs.permission !== 'no-access')
    parts.push(`${scope.orgs.permission} org administration of ${scope.orgs.names.join(', ')}`);
  if (scope.cidr.length) parts.push(`only from ${scope.cidr.join(', ')}`);
  if (scope.bypass2fa) parts.push('automation: publishes without a one-time password');
  return parts.join('; ');
}

/** The decision shape of access/decide.ts, repeated here so this module depends on nothing but its inputs. */
export type ScopeDecision = { allow: false; code: 'E_TOKEN_SCOPE' | 'E_NOT_FOUND'; reason: string };

type ScopedPrincipal = { tokenScope?: TokenScope | null } | null;

/** True when the token's package list covers the package. */
export function coversPackage(scope: TokenScope, pkgName: string | null | undefined, pkgScope: string | null): boolean {
  const p = scope.packages;
  if (p.permission === 'no-access') return false;
  if (p.all) return true;
  if (!pkgName) return false;
  return p.names.includes(pkgName) || (pkgScope !== null && p.scopes.includes(`@${pkgScope.toLowerCase()}`));
}

const isRead = (action: string) => /(^|:)read$/.test(action);

/**
 * The token-scope part of every authorization decision, asked before anything else: a refusal when the token does
 * not reach this action on this package (or org), null when the token does not restrict it (then roles, grants and
 * maintainership decide as for any principal). Never allows: a token can only take rights away.
 *
 * Package actions are "package:…" (and "report:…", which only reads); org and team administration actions are
 * "org:…"/"team:…" with the org in pkgScope; registry administration ("registry:…") is never within a token's scope.
 * access is the package's visibility, when known: a restricted package outside the token's list stays invisible
 * (404), while public packages stay readable by any token, so `npm install` works with a publish-only token.
 */
export function tokenScopeDecision(
  principal: ScopedPrincipal,
  action: string,
  pkgName: string | null | undefined,
  pkgScope: string | null,
  access?: 'public' | 'restricted' | null,
): ScopeDecision | null {
  const scope = principal?.tokenScope;
  if (!scope) return null;
  // A scope names packages and orgs, never the registry's own administration ("registry:…", its staff's actions).
  if (action.startsWith('registry:'))
    return { allow: false, code: 'E_TOKEN_SCOPE', reason: 'this token cannot be used to administer the registry' };
  if (/^(org|team):/.test(action)) {
    const o = scope.orgs;
    const inList = pkgScope !== null && o.names.includes(pkgScope.toLowerCase());
    if (o.permission === 'no-access' || !inList)
      return {
        allow: false,
        code: 'E_TOKEN_SCOPE',
        reason: `this token does not allow administering the org ${pkgScope ?? ''}`.trim(),
      };
    if (o.permission === 'read-only' && !isRead(action))
      return {
        allow: false,
        code: 'E_TOKEN_SCOPE',
        reason: `this token may only read the org ${pkgScope ?? ''}, not change it`.trim(),
      };
    return null;
  }
  const covered = coversPackage(scope, pkgName, pkgScope);
  // Reporting a package ("report:create") changes nothing of it: a token that can read the package can report it.
  if (isRead(action) || action.startsWith('report:')) {
    if (covered || access !== 'restricted') return null;
    return { allow: false, code: 'E_NOT_FOUND', reason: 'Not found' };
  }
  if (!covered)
    return {
      allow: false,
      code: 'E_TOKEN_SCOPE',
      reason: `this token is not allowed to change ${pkgName ?? 'this package'}: it is limited to other packages`,
    };
  if (scope.packages.permission !== 'read-write')
    return {
      allow: false,
      code: 'E_TOKEN_SCOPE',
      reason: 'this token is read-only and cannot be used to publish or change packages',
    };
  return null;
}
