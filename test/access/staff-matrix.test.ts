// The registry's own administration in decide() (invariant 4): every staff action — the administrators' account and
// name pages, the moderation queue, the security reports — and filing a report are actions of decide(), with deny by
// default. Generated over registry role × token kind × action × what the action is about, each answer compared with
// EXPECTED below, written from docs/access-control.md rather than from decide()'s code.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Action, decide, secondFactorApplies, type ActionValue, type Facts, type PackageFacts, type RegistryFacts } from '../../src/access/decide.ts';
import type { Principal } from '../../src/access/principal.ts';
import { planToken, type ScopeRequest } from '../../src/tokens/scope.ts';

// ---- the dimensions -------------------------------------------------------------------------------------------------

const REGISTRY_ROLES = ['anonymous', 'user', 'moderator', 'admin'] as const;
type Role = (typeof REGISTRY_ROLES)[number];

/** How a principal reached the registry: a web session or login token (no scope), or one of the token kinds. */
const TOKEN_KINDS = {
  session: { request: null, readonly: false },
  'classic-read-only': { request: null, readonly: true },
  'granular-read-only': { request: { permission: 'read-only', packagesAll: true }, readonly: true },
  'granular-publish': { request: { permission: 'read-write', packages: ['other-pkg'] }, readonly: false },
  'org-admin': { request: { permission: 'no-access', orgs: ['acme'], orgsPermission: 'read-write' }, readonly: true },
} satisfies Record<string, { request: ScopeRequest | null; readonly: boolean }>;
type TokenKind = keyof typeof TOKEN_KINDS;

/** Who may take each staff action, as docs/access-control.md says it: the queue is the moderators', the rest the administrators'. */
const WHO: Partial<Record<ActionValue, 'staff' | 'admin'>> = {
  [Action.ModerationRead]: 'staff',
  [Action.ModerationAct]: 'staff',
  [Action.ModerationLock]: 'staff',
  [Action.NamesRead]: 'admin',
  [Action.NamesWrite]: 'admin',
  [Action.SecurityReportsRead]: 'admin',
  [Action.SecurityReportsAnswer]: 'admin',
  [Action.UsersRead]: 'admin',
  [Action.UsersWrite]: 'admin',
};
const STAFF = Object.keys(WHO) as ActionValue[];
/** What a staff action can be about: the registry, or one queue item (an ordinary one, a security-form one, one whose publisher is an administrator). */
const SUBJECTS = {
  registry: { kind: 'registry' },
  item: { kind: 'registry', item: { securityForm: false, publisherIsAdmin: false } },
  'security-item': { kind: 'registry', item: { securityForm: true, publisherIsAdmin: false } },
  'admin-published-item': { kind: 'registry', item: { securityForm: false, publisherIsAdmin: true } },
} satisfies Record<string, RegistryFacts>;
type Subject = keyof typeof SUBJECTS;

type Outcome = { allow: true } | { allow: false; status: 401 | 403 | 404 };
const ALLOW: Outcome = { allow: true };
const refuse = (status: 401 | 403 | 404): Outcome => ({ allow: false, status });

function principalOf(role: Role, token: TokenKind): Principal | null {
  if (role === 'anonymous') return null;
  const kind = TOKEN_KINDS[token];
  const plan = kind.request ? planToken(kind.request, 0) : null;
  return { userId: 7, name: 'u', email: 'u@example.com', isAdmin: role === 'admin', isModerator: role === 'moderator', emailVerified: true, tokenId: token === 'session' ? 0 : 1, tokenReadonly: plan?.readonly ?? kind.readonly, tokenScope: plan?.scope ?? null };
}

// ---- the expected rules, written from the policy --------------------------------------------------------------------

function expectedStaff(role: Role, token: TokenKind, action: ActionValue, subject: Subject): Outcome {
  const who = WHO[action];
  if (!who) return refuse(403); // not a staff action: nothing about the registry allows it
  if (role === 'anonymous') return refuse(401);
  const admin = role === 'admin';
  // The pages do not advertise themselves: without the role, the 404 of a missing page.
  if (who === 'admin' ? !admin : !(admin || role === 'moderator')) return refuse(404);
  const item = (SUBJECTS[subject] as RegistryFacts).item;
  if (item?.securityForm && !admin) return refuse(404); // reports about the registry itself
  // Tokens only take rights away: no scope names the registry's administration; read-only tokens only read.
  if (TOKEN_KINDS[token].request) return refuse(403);
  if (TOKEN_KINDS[token].readonly && !action.endsWith(':read')) return refuse(403);
  if (action === Action.ModerationLock && item?.publisherIsAdmin && !admin) return refuse(403);
  return ALLOW;
}

/** Packages a report can name: public, restricted and readable by the reporter (a maintainer), restricted and not, missing. */
const REPORTED = {
  public: { name: 'pub', access: 'public', maintainerIds: [1], scope: null, scopeOwnerId: null, scopeNamesakeId: null },
  'restricted-mine': { name: '@acme/mine', access: 'restricted', maintainerIds: [7], scope: 'acme', scopeOwnerId: 1, scopeNamesakeId: null, scopeIsOrg: true, relation: { orgRole: null, teamGrant: null, developer: false } },
  'restricted-other': { name: '@acme/other', access: 'restricted', maintainerIds: [1], scope: 'acme', scopeOwnerId: 1, scopeNamesakeId: null, scopeIsOrg: true, relation: { orgRole: null, teamGrant: null, developer: false } },
  missing: { name: 'ghost', access: null, maintainerIds: [], scope: null, scopeOwnerId: null, scopeNamesakeId: null },
} satisfies Record<string, PackageFacts>;
type Reported = keyof typeof REPORTED;

function expectedReport(role: Role, token: TokenKind, pkg: Reported): Outcome {
  if (role === 'anonymous') return refuse(401);
  if (pkg === 'missing') return refuse(404);
  const reads = pkg === 'public' || role === 'admin' || pkg === 'restricted-mine';
  // A token that does not reach a restricted package does not see it (granular tokens here name other packages).
  const tokenHides = pkg !== 'public' && (token === 'granular-publish' || token === 'org-admin');
  return reads && !tokenHides ? ALLOW : refuse(404);
}

const same = (got: ReturnType<typeof decide>, want: Outcome) => got.allow === want.allow && (got.allow || (!want.allow && got.status === want.status));
const POLICY = { readAccess: 'public' } as const;

describe('staff actions in decide(): registry role × token kind × action × subject against the expected rules', () => {
  it('agrees on every combination, and every staff action is both allowed and refused somewhere', () => {
    const wrong: string[] = [];
    const actions = [...STAFF, Action.PackagePublish, Action.OrgCreate, Action.ReportCreate];
    for (const role of REGISTRY_ROLES)
      for (const token of Object.keys(TOKEN_KINDS) as TokenKind[])
        for (const action of actions)
          for (const subject of Object.keys(SUBJECTS) as Subject[]) {
            const want = expectedStaff(role, token, action, subject);
            const got = decide(principalOf(role, token), action, SUBJECTS[subject], POLICY);
            if (!same(got, want)) wrong.push(`${action} on ${subject} by ${role}/${token}: expected ${want.allow ? 'allow' : want.status}, got ${got.allow ? 'allow' : `${got.status} (${got.reason})`}`);
          }
    assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} disagreements`);
    for (const action of STAFF) {
      const answers = new Set(REGISTRY_ROLES.flatMap((role) => (Object.keys(TOKEN_KINDS) as TokenKind[]).map((t) => expectedStaff(role, t, action, 'registry').allow)));
      assert.equal(answers.size, 2, `${action} is both allowed and refused`);
    }
  });

  it('a report needs a signed-in principal who may read the package, whatever their token may change', () => {
    const wrong: string[] = [];
    for (const role of REGISTRY_ROLES)
      for (const token of Object.keys(TOKEN_KINDS) as TokenKind[])
        for (const pkg of Object.keys(REPORTED) as Reported[]) {
          const want = expectedReport(role, token, pkg);
          const got = decide(principalOf(role, token), Action.ReportCreate, REPORTED[pkg], POLICY);
          if (!same(got, want)) wrong.push(`report ${pkg} by ${role}/${token}: expected ${want.allow ? 'allow' : want.status}, got ${got.allow ? 'allow' : `${got.status} (${got.reason})`}`);
        }
    assert.deepEqual(wrong, []);
    // Reporting is no staff action and no package change: the registry's facts and an org's refuse it.
    const user = principalOf('admin', 'session');
    assert.equal(decide(user, Action.ReportCreate, SUBJECTS.registry, POLICY).allow, false);
    const org: Facts = { kind: 'org', org: 'acme', exists: true, scopeOwnerId: 7, scopeNamesakeId: null, relation: { orgRole: 'owner' } };
    assert.equal(decide(user, Action.ReportCreate, org, POLICY).allow, false);
  });

  it('every write asks for the second factor where the account says so, except filing a report', () => {
    for (const action of Object.values(Action)) {
      if (action.endsWith(':read')) continue;
      assert.equal(secondFactorApplies(action), action !== Action.ReportCreate, action);
    }
  });
});
