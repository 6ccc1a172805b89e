// Loads the facts decide() needs about who the principal is to a resource: their org role, their teams' grants on a
// package, their registry role. Read straight from the database for each decision that needs them, because a
// package's cached facts are shared by every reader and must not carry one user's relation.
import type { Db } from '../store/db.ts';
import type { OrgFacts, OrgRole, PackageFacts, Relation, TeamPermission } from './decide.ts';
import type { Principal } from './principal.ts';

/** The team every org has: npm's default team for members who publish. Its membership is what lets a member create packages. */
export const DEVELOPERS_TEAM = 'developers';

export async function isOrg(db: Db, scope: string | null): Promise<boolean> {
  if (scope === null) return false;
  return (await db.selectFrom('orgs').select('name').where('name', '=', scope).executeTakeFirst()) !== undefined;
}

export async function orgRoleOf(db: Db, org: string, userId: number): Promise<OrgRole | null> {
  const row = await db
    .selectFrom('org_members')
    .select('role')
    .where('org', '=', org)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return (row?.role as OrgRole | undefined) ?? null;
}

export async function packageRelation(
  db: Db,
  userId: number,
  facts: PackageFacts,
): Promise<{ relation: Relation; scopeIsOrg: boolean }> {
  const scopeIsOrg = facts.scopeIsOrg ?? (await isOrg(db, facts.scope));
  const orgRole = scopeIsOrg && facts.scope !== null ? await orgRoleOf(db, facts.scope, userId) : null;
  let teamGrant: TeamPermission | null = null;
  {
    // Asked for a missing package too (no package has id 0), so a restricted package costs a signed-in outsider no
    // more time than a missing one: timing must not tell them apart (invariant 6).
    const grants = await db
      .selectFrom('team_packages')
      .innerJoin('team_members', 'team_members.team_id', 'team_packages.team_id')
      .select('team_packages.permission')
      .where('team_packages.package_id', '=', facts.id ?? 0)
      .where('team_members.user_id', '=', userId)
      .execute();
    if (grants.some((g) => g.permission === 'read-write')) teamGrant = 'read-write';
    else if (grants.length) teamGrant = 'read-only';
  }
  let developer = false;
  const grantless = teamGrant === null && !facts.maintainerIds.includes(userId);
  if (scopeIsOrg && (facts.access === null || grantless) && facts.scope !== null) {
    const row = await db
      .selectFrom('teams')
      .innerJoin('team_members', 'team_members.team_id', 'teams.id')
      .select('teams.id')
      .where('teams.org', '=', facts.scope)
      .where('teams.name', '=', DEVELOPERS_TEAM)
      .where('team_members.user_id', '=', userId)
      .executeTakeFirst();
    developer = row !== undefined;
  }
  return { relation: { orgRole, teamGrant, developer }, scopeIsOrg };
}

/** Facts about an org (existing or not) for one principal; target names a member whose role would change. */
export async function orgFacts(
  db: Db,
  org: string,
  principal: Principal | null,
  target?: { userId: number | null; newRole: OrgRole | null },
): Promise<OrgFacts> {
  const [exists, scope, namesake] = await Promise.all([
    isOrg(db, org),
    db.selectFrom('scopes').select('owner_user_id').where('name', '=', org).executeTakeFirst(),
    db.selectFrom('users').select('id').where('name', '=', org).executeTakeFirst(),
  ]);
  const facts: OrgFacts = {
    kind: 'org',
    org,
    exists,
    scopeOwnerId: scope?.owner_user_id ?? null,
    scopeNamesakeId: namesake?.id ?? null,
  };
  if (principal && exists) facts.relation = { orgRole: await orgRoleOf(db, org, principal.userId) };
  if (target && exists) {
    const currentRole = target.userId === null ? null : await orgRoleOf(db, org, target.userId);
    const owners = await db
      .selectFrom('org_members')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('org', '=', org)
      .where('role', '=', 'owner')
      .executeTakeFirstOrThrow();
    facts.target = { currentRole, newRole: target.newRole, ownerCount: Number(owners.n) };
  }
  return facts;
}

export async function isModerator(db: Db, userId: number): Promise<boolean> {
  const row = await db.selectFrom('users').select('is_moderator').where('id', '=', userId).executeTakeFirst();
  return row?.is_moderator === 1;
}
