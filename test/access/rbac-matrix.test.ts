// The whole authorization matrix (AUTHZ-2), generated: every registry role × org role × team grant × maintainership ×
// token kind × action. The expected answer of each combination comes from EXPECTED below — a small table of rules
// written from the policy as documented (docs/access-control.md), not from decide()'s code — and decide() must agree
// with every one. Then every combination the table refuses is tried through HTTP against a running registry (both
// databases) for the actions that have an npm endpoint, and must be refused with the table's status; the actions only
// the web pages offer (deleting an org, creating one) are tried there with a signed-in session. Every npm route that
// changes a package or an org is a scenario of its own (several routes share an action), and each refusal of a
// caller who cannot read @acme/pkg is also compared with the same request for @acme/ghost, which does not exist:
// status and body must be the same (invariant 6). Moderation and org-admin token creation have no npm endpoint:
// decide() alone.
//
// The resource is a restricted package @acme/pkg in the organisation @acme (its scope owner is a bystander), plus
// @acme/new, not yet published, for package creation. Team grants: the "developers" team holds read-write on
// @acme/pkg (and, as every org's developers team, may create packages in @acme); "readers" holds read-only.
import { ERRORS } from '../../src/errors.ts';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  Action,
  decide,
  type ActionValue,
  type Facts,
  type OrgRole,
  type TeamPermission,
} from '../../src/access/decide.ts';
import type { Principal } from '../../src/access/principal.ts';
import { createOrg, grantTeam, createTeam } from '../../src/access/orgs.ts';
import { createUser } from '../../src/accounts/users.ts';
import { planToken, type ScopeRequest } from '../../src/tokens/scope.ts';
import { createToken } from '../../src/tokens/service.ts';
import { createSession } from '../../src/accounts/sessions.ts';
import { WebClient, csrfIn } from '../helpers/web-client.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

// ---- the dimensions -------------------------------------------------------------------------------------------------

const REGISTRY_ROLES = ['anonymous', 'user', 'moderator', 'admin'] as const;
const ORG_ROLES = ['none', 'developer', 'admin', 'owner'] as const;
const TEAM_GRANTS = ['none', 'read-only', 'read-write'] as const;
const MAINTAINER = [false, true] as const;
type RegistryRole = (typeof REGISTRY_ROLES)[number];
type Dims = {
  reg: RegistryRole;
  org: (typeof ORG_ROLES)[number];
  team: (typeof TEAM_GRANTS)[number];
  maint: boolean;
  token: TokenKindName;
};

/**
 * Token kinds: how each is made (the other capability's planner, tokens/scope.ts) and what it reaches, stated
 * independently. Adding a kind is one entry here.
 */
type Reach = {
  pkgPerm: 'none' | 'read' | 'write';
  pkgCovers: (name: string) => boolean;
  orgPerm: 'none' | 'read' | 'write';
  orgs: string[];
};
const TOKEN_KINDS = {
  login: { request: null, reach: null },
  'read-only': {
    request: { permission: 'read-only', packagesAll: true },
    reach: { pkgPerm: 'read', pkgCovers: () => true, orgPerm: 'none', orgs: [] },
  },
  'publish-all': {
    request: { permission: 'read-write', packagesAll: true },
    reach: { pkgPerm: 'write', pkgCovers: () => true, orgPerm: 'none', orgs: [] },
  },
  'publish-this': {
    request: { permission: 'read-write', packages: ['@acme/pkg'] },
    reach: { pkgPerm: 'write', pkgCovers: (n) => n === '@acme/pkg', orgPerm: 'none', orgs: [] },
  },
  'publish-other': {
    request: { permission: 'read-write', packages: ['other-pkg'] },
    reach: { pkgPerm: 'write', pkgCovers: (n) => n === 'other-pkg', orgPerm: 'none', orgs: [] },
  },
  'publish-org-scope': {
    request: { permission: 'read-write', scopes: ['@acme/*'] },
    reach: { pkgPerm: 'write', pkgCovers: (n) => n.startsWith('@acme/'), orgPerm: 'none', orgs: [] },
  },
  'org-admin': {
    request: { permission: 'no-access', orgs: ['acme'], orgsPermission: 'read-write' },
    reach: { pkgPerm: 'none', pkgCovers: () => false, orgPerm: 'write', orgs: ['acme'] },
  },
} satisfies Record<string, { request: ScopeRequest | null; reach: Reach | null }>;
type TokenKindName = keyof typeof TOKEN_KINDS;

/** The scenarios: an action on a resource, and (when npm has an endpoint for it) the HTTP request that attempts it. */
type Scenario = {
  id: string;
  action: ActionValue;
  resource: 'pkg' | 'new' | 'org' | 'fresh-org';
  http?: (ctx: HttpCtx) => [method: string, path: string, body?: unknown];
  /** actions only the web pages offer: the form POST, tried with a signed-in session (which no token scope narrows). */
  web?: [path: string, form: Record<string, string>];
};
type HttpCtx = { rev: number; publishBody: unknown; createBody: unknown };
/** Scenarios on @acme/pkg with an npm endpoint also have a twin request for a package that does not exist. */
const MISSING = { name: '@acme/ghost', path: '@acme%2fghost' };
const SCENARIOS: Scenario[] = [
  { id: 'read', action: Action.PackageRead, resource: 'pkg', http: () => ['GET', '/@acme%2fpkg'] },
  { id: 'create', action: Action.PackageCreate, resource: 'new', http: (c) => ['PUT', '/@acme%2fnew', c.createBody] },
  {
    id: 'publish',
    action: Action.PackagePublish,
    resource: 'pkg',
    http: (c) => ['PUT', '/@acme%2fpkg', c.publishBody],
  },
  {
    id: 'dist-tags',
    action: Action.DistTagsWrite,
    resource: 'pkg',
    http: () => ['PUT', '/-/package/@acme%2fpkg/dist-tags/beta', '1.0.0'],
  },
  {
    id: 'dist-tags-rm',
    action: Action.DistTagsWrite,
    resource: 'pkg',
    http: () => ['DELETE', '/-/package/@acme%2fpkg/dist-tags/latest'],
  },
  // npm deprecate: the whole document back, a version's "deprecated" set.
  {
    id: 'deprecate',
    action: Action.PackageDeprecate,
    resource: 'pkg',
    http: () => ['PUT', '/@acme%2fpkg', { _id: '@acme/pkg', versions: { '1.0.0': { deprecated: 'matrix' } } }],
  },
  // npm unpublish @acme/pkg --force.
  {
    id: 'unpublish',
    action: Action.PackageUnpublish,
    resource: 'pkg',
    http: (c) => ['DELETE', `/@acme%2fpkg/-rev/${c.rev}-matrix`],
  },
  // npm unpublish @acme/pkg@1.0.0: the document without the version, then the tarball.
  {
    id: 'unpublish-version',
    action: Action.PackageUnpublish,
    resource: 'pkg',
    http: (c) => ['PUT', `/@acme%2fpkg/-rev/${c.rev}-matrix`, { _id: '@acme/pkg', versions: { '2.0.0': {} } }],
  },
  {
    id: 'unpublish-tarball',
    action: Action.PackageUnpublish,
    resource: 'pkg',
    http: (c) => ['DELETE', `/@acme%2fpkg/-/pkg-1.0.0.tgz/-rev/${c.rev}-matrix`],
  },
  {
    id: 'owners',
    action: Action.PackageOwnersWrite,
    resource: 'pkg',
    http: (c) => [
      'PUT',
      `/@acme%2fpkg/-rev/${c.rev}-matrix`,
      { _id: '@acme/pkg', maintainers: [{ name: 'bystander' }, { name: 'intruder' }] },
    ],
  },
  {
    id: 'visibility',
    action: Action.PackageVisibilityWrite,
    resource: 'pkg',
    http: () => ['POST', '/-/package/@acme%2fpkg/access', { access: 'public' }],
  },
  {
    id: 'access',
    action: Action.PackageAccessWrite,
    resource: 'pkg',
    http: () => ['PUT', '/-/team/acme/readers/package', { package: '@acme/pkg', permissions: 'read-write' }],
  },
  {
    id: 'access-revoke',
    action: Action.PackageAccessWrite,
    resource: 'pkg',
    http: () => ['DELETE', '/-/team/acme/readers/package', { package: '@acme/pkg' }],
  },
  { id: 'moderate', action: Action.PackageModerate, resource: 'pkg' },
  { id: 'org-read', action: Action.OrgRead, resource: 'org', http: () => ['GET', '/-/org/acme/user'] },
  {
    id: 'org-members',
    action: Action.OrgMembersWrite,
    resource: 'org',
    http: () => ['PUT', '/-/org/acme/user', { user: 'newbie', role: 'developer' }],
  },
  {
    id: 'org-teams',
    action: Action.OrgTeamsWrite,
    resource: 'org',
    http: () => ['PUT', '/-/org/acme/team', { name: 'intruders' }],
  },
  {
    id: 'team-members',
    action: Action.OrgTeamsWrite,
    resource: 'org',
    http: () => ['PUT', '/-/team/acme/readers/user', { user: 'intruder' }],
  },
  { id: 'org-token-admin', action: Action.OrgTokenAdmin, resource: 'org' },
  { id: 'org-delete', action: Action.OrgDelete, resource: 'org', web: ['/-/web/org/acme/delete', { confirm: 'acme' }] },
  { id: 'org-create-existing', action: Action.OrgCreate, resource: 'org', web: ['/-/web/orgs', { name: 'acme' }] },
  { id: 'org-create-unclaimed', action: Action.OrgCreate, resource: 'fresh-org' },
];

// ---- the expected rules, written from the policy --------------------------------------------------------------------

type Outcome = { allow: true } | { allow: false; status: 401 | 403 | 404 };
const ALLOW: Outcome = { allow: true };
const refuse = (status: 401 | 403 | 404): Outcome => ({ allow: false, status });

/** What the token alone permits: null when it does not restrict the action. Asked before roles. */
function tokenRule(d: Dims, s: Scenario): Outcome | null {
  const reach: Reach | null = TOKEN_KINDS[d.token].reach;
  if (!reach) return null;
  if (s.resource === 'org' || s.resource === 'fresh-org') {
    const org = s.resource === 'org' ? 'acme' : 'fresh';
    if (reach.orgPerm === 'none' || !reach.orgs.includes(org)) return refuse(403);
    if (reach.orgPerm === 'read' && s.action !== Action.OrgRead) return refuse(403);
    return null;
  }
  const name = s.resource === 'new' ? '@acme/new' : '@acme/pkg';
  const covers = reach.pkgPerm !== 'none' && reach.pkgCovers(name);
  // @acme/pkg is restricted: a token that does not reach it does not see it.
  if (s.action === Action.PackageRead) return covers ? null : refuse(404);
  if (!covers || reach.pkgPerm !== 'write') return refuse(403);
  return null;
}

/** The roles' rules, as docs/access-control.md states them. */
function roleRule(d: Dims, s: Scenario): Outcome {
  const admin = d.reg === 'admin';
  const canSee = d.maint || d.team !== 'none' || admin;
  const canWrite = d.maint || d.team === 'read-write';
  const orgMember = d.org !== 'none' || admin;
  const orgManager = d.org === 'owner' || d.org === 'admin' || admin;
  const hidden = canSee ? refuse(403) : refuse(404);
  if (d.reg === 'anonymous') return s.action === Action.PackageRead ? refuse(404) : refuse(401);
  switch (s.id) {
    case 'read':
      return canSee ? ALLOW : refuse(404);
    case 'create':
      return d.team === 'read-write' ? ALLOW : refuse(403); // the developers team, never an org role
    case 'publish': {
      if (canWrite) return ALLOW;
      if (canSee) return refuse(403);
      // Invisible: answered as a first publish of a free name; one who could make it learns only that it is taken.
      const asNew = roleRule(
        d,
        SCENARIOS.find((x) => x.id === 'create')!,
      );
      return asNew.allow ? refuse(403) : asNew;
    }
    case 'dist-tags':
    case 'dist-tags-rm':
    case 'deprecate':
    case 'unpublish':
    case 'unpublish-version':
    case 'unpublish-tarball':
      return canWrite ? ALLOW : hidden;
    case 'owners':
    case 'visibility':
      return d.maint ? ALLOW : hidden;
    case 'access':
    case 'access-revoke':
      return orgManager ? ALLOW : hidden;
    case 'moderate':
      return d.reg === 'moderator' || admin ? ALLOW : hidden;
    case 'org-read':
      return orgMember ? ALLOW : refuse(404);
    case 'org-members':
    case 'org-teams':
    case 'team-members':
    case 'org-token-admin':
      return orgManager ? ALLOW : orgMember ? refuse(403) : refuse(404);
    case 'org-delete':
      return d.org === 'owner' || admin ? ALLOW : orgMember ? refuse(403) : refuse(404);
    case 'org-create-existing':
      return refuse(403);
    case 'org-create-unclaimed':
      return ALLOW;
    default:
      throw new Error(`no rule for ${s.id}`);
  }
}

const EXPECTED = (d: Dims, s: Scenario): Outcome => tokenRule(d, s) ?? roleRule(d, s);

// ---- generation -----------------------------------------------------------------------------------------------------

function* combinations(): Generator<Dims> {
  for (const reg of REGISTRY_ROLES) {
    if (reg === 'anonymous') {
      yield { reg, org: 'none', team: 'none', maint: false, token: 'login' };
      continue;
    }
    for (const org of ORG_ROLES)
      for (const team of TEAM_GRANTS)
        for (const maint of MAINTAINER)
          for (const token of Object.keys(TOKEN_KINDS) as TokenKindName[]) yield { reg, org, team, maint, token };
  }
}
const label = (d: Dims) =>
  `${d.reg}/org:${d.org}/team:${d.team}/${d.maint ? 'maintainer' : 'not-maintainer'}/token:${d.token}`;
const profile = (d: Dims) => `${d.reg}-${d.org}-${d.team}-${d.maint ? 'm' : 'n'}`;

const USER_ID = 100;
const BYSTANDER = 1;

function principalOf(d: Dims): Principal | null {
  if (d.reg === 'anonymous') return null;
  const req = TOKEN_KINDS[d.token].request;
  const plan = req ? planToken(req, 0) : null;
  return {
    userId: USER_ID,
    name: 'u',
    email: 'u@example.com',
    isAdmin: d.reg === 'admin',
    isModerator: d.reg === 'moderator',
    emailVerified: true,
    tokenId: 1,
    tokenReadonly: plan?.readonly ?? false,
    tokenScope: plan?.scope ?? null,
  };
}

function factsOf(d: Dims, s: Scenario): Facts {
  const orgRole: OrgRole | null = d.org === 'none' ? null : d.org;
  if (s.resource === 'org')
    return {
      kind: 'org',
      org: 'acme',
      exists: true,
      scopeOwnerId: BYSTANDER,
      scopeNamesakeId: null,
      relation: { orgRole },
      target: { currentRole: null, newRole: 'developer', ownerCount: 1 },
    };
  if (s.resource === 'fresh-org')
    return { kind: 'org', org: 'fresh', exists: false, scopeOwnerId: null, scopeNamesakeId: null };
  const teamGrant: TeamPermission | null = d.team === 'none' ? null : d.team;
  const exists = s.resource === 'pkg';
  return {
    name: exists ? '@acme/pkg' : '@acme/new',
    id: exists ? 1 : null,
    access: exists ? 'restricted' : null,
    maintainerIds: d.maint && exists ? [BYSTANDER, USER_ID] : exists ? [BYSTANDER] : [],
    scope: 'acme',
    scopeOwnerId: BYSTANDER,
    scopeNamesakeId: null,
    scopeIsOrg: true,
    relation: { orgRole, teamGrant: exists ? teamGrant : null, developer: !exists && d.team === 'read-write' },
  };
}

const all = [...combinations()];

describe('authorization matrix: decide() against the expected rules', () => {
  it(`agrees on all ${all.length * SCENARIOS.length} combinations`, () => {
    const disagreements: string[] = [];
    const tally = { allowed: 0, denied: 0 };
    for (const d of all) {
      for (const s of SCENARIOS) {
        const want = EXPECTED(d, s);
        const got = decide(principalOf(d), s.action, factsOf(d, s), { readAccess: 'public' });
        tally[got.allow ? 'allowed' : 'denied']++;
        const same =
          got.allow === want.allow && (got.allow || (!want.allow && ERRORS[got.code].status === want.status));
        if (!same)
          disagreements.push(
            `${s.id} ${label(d)}: expected ${want.allow ? 'allow' : want.status}, decide() said ${got.allow ? 'allow' : `${got.code} (${got.reason})`}`,
          );
      }
    }
    assert.deepEqual(disagreements.slice(0, 20), [], `${disagreements.length} disagreements`);
    // Both answers occur for every action, so no rule is vacuous.
    for (const s of SCENARIOS.filter((x) => x.id !== 'org-create-existing')) {
      const answers = new Set(all.map((d) => EXPECTED(d, s).allow));
      assert.equal(answers.size, 2, `${s.id} is both allowed and denied somewhere in the matrix`);
    }
    assert.ok(tally.allowed > 0 && tally.denied > 0);
  });

  it('the account that created an org scope reads its restricted packages only through grants, unlike a personal scope', () => {
    const creator: Principal = {
      userId: BYSTANDER,
      name: 'b',
      email: 'b@example.com',
      isAdmin: false,
      isModerator: false,
      emailVerified: true,
      tokenId: 1,
      tokenReadonly: false,
      tokenScope: null,
    };
    const pkg = {
      name: '@acme/x',
      id: 9,
      access: 'restricted' as const,
      maintainerIds: [USER_ID],
      scope: 'acme',
      scopeOwnerId: BYSTANDER,
      scopeNamesakeId: null,
      relation: { orgRole: null, teamGrant: null, developer: false },
    };
    assert.equal(
      decide(creator, Action.PackageRead, { ...pkg, scopeIsOrg: true }, { readAccess: 'public' }).allow,
      false,
    );
    assert.equal(
      decide(creator, Action.PackageRead, { ...pkg, scopeIsOrg: false }, { readAccess: 'public' }).allow,
      true,
    );
  });

  it('no org role alone lets anyone publish: owners and admins without a grant are refused', () => {
    for (const org of ['admin', 'owner'] as const) {
      const d: Dims = { reg: 'user', org, team: 'none', maint: false, token: 'login' };
      for (const id of ['publish', 'create', 'dist-tags']) {
        const s = SCENARIOS.find((x) => x.id === id)!;
        assert.equal(
          decide(principalOf(d), s.action, factsOf(d, s), { readAccess: 'public' }).allow,
          false,
          `${org} ${id}`,
        );
      }
    }
  });
});

// ---- every refusal through HTTP -------------------------------------------------------------------------------------

for (const kind of DB_KINDS) {
  describe(`authorization matrix through HTTP: every refused combination is refused by the registry (${kind})`, () => {
    let r: TestRegistry;
    const tokens = new Map<string, string>();
    const sessions = new Map<string, string>();
    let ctx: HttpCtx;

    before(async () => {
      r = await startRegistry(kind);
      const db = r.store.db;
      const now = Date.now();
      const bystander = await createUser(db, {
        name: 'bystander',
        email: 'b@example.com',
        password: 'correct-horse-battery',
        emailVerified: true,
      });
      await createUser(db, {
        name: 'newbie',
        email: 'n@example.com',
        password: 'correct-horse-battery',
        emailVerified: true,
      });
      await createUser(db, {
        name: 'intruder',
        email: 'i@example.com',
        password: 'correct-horse-battery',
        emailVerified: true,
      });
      await createOrg(db, 'acme', 'bystander', null, now);
      const { token: bt } = await createToken(db, {
        userId: bystander.id,
        userName: 'bystander',
        name: 'setup',
        kind: 'session',
      });
      const res = await r.request('PUT', '/@acme%2fpkg', {
        token: bt,
        body: body(publishDoc({ name: '@acme/pkg', version: '1.0.0' }, { access: 'restricted' })),
      });
      assert.equal(res.status, 201, res.text);
      const pkg = await db
        .selectFrom('packages')
        .select(['id', 'rev'])
        .where('name', '=', '@acme/pkg')
        .executeTakeFirstOrThrow();
      const actor = { id: bystander.id, name: 'bystander' };
      await createTeam(db, 'acme', 'readers', '', actor, now);
      await grantTeam(
        db,
        'acme',
        'developers',
        { id: pkg.id, name: '@acme/pkg', scope: 'acme' },
        'read-write',
        actor,
        now,
      );
      await grantTeam(db, 'acme', 'readers', { id: pkg.id, name: '@acme/pkg', scope: 'acme' }, 'read-only', actor, now);
      const teams = Object.fromEntries(
        (await db.selectFrom('teams').select(['id', 'name']).execute()).map((t) => [t.name, t.id]),
      );
      ctx = {
        rev: pkg.rev,
        publishBody: body(publishDoc({ name: '@acme/pkg', version: '9.9.9' })),
        createBody: body(publishDoc({ name: '@acme/new', version: '1.0.0' })),
      };

      // One account per role profile, its memberships written straight into the tables: the matrix includes states
      // the org service would not make (a team member outside the org), and decide() must still hold for them.
      const profiles = new Map<string, Dims>();
      for (const d of all) if (d.reg !== 'anonymous') profiles.set(profile(d), d);
      for (const [name, d] of profiles) {
        const user = await createUser(db, {
          name,
          email: `${name}@example.com`,
          password: 'correct-horse-battery',
          emailVerified: true,
          isAdmin: d.reg === 'admin',
        });
        if (d.reg === 'moderator')
          await db.updateTable('users').set({ is_moderator: 1 }).where('id', '=', user.id).execute();
        if (d.org !== 'none')
          await db
            .insertInto('org_members')
            .values({ org: 'acme', user_id: user.id, role: d.org, created_at: now })
            .execute();
        if (d.team !== 'none')
          await db
            .insertInto('team_members')
            .values({ team_id: teams[d.team === 'read-write' ? 'developers' : 'readers']!, user_id: user.id })
            .execute();
        if (d.maint) await db.insertInto('maintainers').values({ package_id: pkg.id, user_id: user.id }).execute();
        sessions.set(name, (await createSession(db, { user, ip: '127.0.0.1', userAgent: 'matrix' }, now)).sessionId);
        for (const [tk, def] of Object.entries(TOKEN_KINDS)) {
          const plan = def.request ? planToken(def.request, now) : null;
          const { token } = await createToken(db, {
            userId: user.id,
            userName: name,
            name: tk,
            kind: plan ? 'granular' : 'session',
            readonly: plan?.readonly ?? false,
            scope: plan?.scope ?? null,
            expiresAt: plan?.expiresAt ?? null,
          });
          tokens.set(`${name}/${tk}`, token);
        }
      }
    });
    after(() => r.stop());

    const READ = SCENARIOS.find((x) => x.id === 'read')!;
    /** The same request about @acme/ghost, which does not exist. */
    const twinOf = (request: unknown): [string, string, unknown?] =>
      JSON.parse(
        JSON.stringify(request).replaceAll('@acme%2fpkg', MISSING.path).replaceAll('@acme/pkg', MISSING.name),
      ) as [string, string, unknown?];
    /** What a client can tell two answers apart by; a message naming the package asked for names it either way. */
    const seen = (res: Awaited<ReturnType<TestRegistry['request']>>, name: string) => ({
      status: res.status,
      body: res.text.replaceAll(name, '<name>'),
      wwwAuthenticate: res.headers.get('www-authenticate'),
    });

    for (const s of SCENARIOS.filter((x) => x.http)) {
      it(`${s.id}: every refused combination gets the expected status${s.resource === 'pkg' ? ', and the same answer as for a missing package when the caller cannot read it' : ''}`, async () => {
        const refused = all.filter((d) => !EXPECTED(d, s).allow);
        assert.ok(refused.length > 0);
        const wrong: string[] = [];
        let twins = 0;
        // A few requests at a time: enough to keep both databases busy without starving the other test files.
        for (let i = 0; i < refused.length; i += 8) {
          await Promise.all(
            refused.slice(i, i + 8).map(async (d) => {
              const want = EXPECTED(d, s) as { allow: false; status: number };
              const [method, path, payload] = s.http!(ctx);
              const token = d.reg === 'anonymous' ? null : tokens.get(`${profile(d)}/${d.token}`)!;
              const res = await r.request(method, path, { token, ...(payload !== undefined ? { body: payload } : {}) });
              if (res.status !== want.status)
                wrong.push(`${label(d)}: expected ${want.status}, got ${res.status} ${res.text.slice(0, 160)}`);
              // A token that names @acme/pkg itself is not one for @acme/ghost: its twin would be a different token.
              const reach: Reach | null = TOKEN_KINDS[d.token].reach;
              if (
                s.resource !== 'pkg' ||
                EXPECTED(d, READ).allow ||
                (reach && reach.pkgCovers('@acme/pkg') !== reach.pkgCovers(MISSING.name))
              )
                return;
              twins++;
              const [tm, tp, tb] = twinOf([method, path, payload]);
              const missing = await r.request(tm, tp, {
                token,
                ...(tb !== undefined && tb !== null ? { body: tb } : {}),
              });
              const [a, b] = [seen(res, '@acme/pkg'), seen(missing, MISSING.name)];
              if (JSON.stringify(a) !== JSON.stringify(b))
                wrong.push(
                  `${label(d)}: @acme/pkg, which it cannot read, answered ${JSON.stringify(a)} but the missing @acme/ghost ${JSON.stringify(b)}`,
                );
            }),
          );
        }
        assert.deepEqual(
          wrong.slice(0, 10),
          [],
          `${wrong.length} wrong answers among ${refused.length} refused combinations and their missing-package twins`,
        );
        if (s.resource === 'pkg')
          assert.ok(twins > 0, 'some callers who cannot read the package were compared with a missing one');
        assert.equal(
          await r.store.db.selectFrom('packages').select('id').where('name', '=', MISSING.name).executeTakeFirst(),
          undefined,
        );
        // Nothing refused changed anything.
        const intruder = await r.store.db
          .selectFrom('maintainers')
          .innerJoin('users', 'users.id', 'maintainers.user_id')
          .select('users.name')
          .where('users.name', '=', 'intruder')
          .execute();
        assert.deepEqual(intruder, []);
        assert.equal(
          await r.store.db.selectFrom('packages').select('id').where('name', '=', '@acme/new').executeTakeFirst(),
          undefined,
        );
        assert.equal(
          (
            await r.store.db
              .selectFrom('packages')
              .select('access')
              .where('name', '=', '@acme/pkg')
              .executeTakeFirstOrThrow()
          ).access,
          'restricted',
        );
        const versions = await r.store.db
          .selectFrom('versions')
          .innerJoin('packages', 'packages.id', 'versions.package_id')
          .select(['version', 'state', 'deprecated'])
          .where('packages.name', '=', '@acme/pkg')
          .execute();
        assert.deepEqual(versions, [{ version: '1.0.0', state: 'visible', deprecated: null }]);
        const tags = await r.store.db
          .selectFrom('dist_tags')
          .innerJoin('packages', 'packages.id', 'dist_tags.package_id')
          .select('dist_tags.tag')
          .where('packages.name', '=', '@acme/pkg')
          .execute();
        assert.deepEqual(
          tags.map((t) => t.tag),
          ['latest'],
        );
      });
    }

    for (const s of SCENARIOS.filter((x) => x.web)) {
      it(`${s.id} (web page): every refused combination gets the expected status`, async () => {
        // A web session is unrestricted like an npm login token, so the login rows of the matrix apply.
        const refused = all.filter((d) => d.token === 'login' && !EXPECTED(d, s).allow);
        assert.ok(refused.length > 0);
        const wrong: string[] = [];
        const [path, form] = s.web!;
        for (const d of refused) {
          const web = new WebClient(r.url);
          if (d.reg === 'anonymous') {
            // The pages ask a signed-out browser to sign in rather than answering 401.
            const res = await web.post(path, { _csrf: 'none', ...form });
            if (res.status !== 403 && !(res.status === 303 && /signin/.test(res.location ?? '')))
              wrong.push(`${label(d)}: got ${res.status}`);
            continue;
          }
          web.cookies.set('bulwark_session', sessions.get(profile(d))!);
          const csrf = csrfIn((await web.get('/-/web/orgs')).text);
          const res = await web.post(path, { _csrf: csrf, ...form });
          const want = EXPECTED(d, s) as { allow: false; status: number };
          if (res.status !== want.status) wrong.push(`${label(d)}: expected ${want.status}, got ${res.status}`);
        }
        assert.deepEqual(
          wrong.slice(0, 10),
          [],
          `${wrong.length} of ${refused.length} refused combinations answered differently`,
        );
        assert.ok(
          await r.store.db.selectFrom('orgs').select('name').where('name', '=', 'acme').executeTakeFirst(),
          'the org is still there',
        );
      });
    }
  });
}
