// Organisations, teams, team grants on packages and package maintainers: the state changes behind `npm org`,
// `npm team`, `npm access` and `npm owner`, and the web pages for them. Callers have passed the gate (decide()) for the
// action; these functions check the request itself (names exist, the team belongs to the org…) and record each change
// with its domain event in the same transaction.
import type { Transaction } from 'kysely';
import { fail, notFound } from '../errors.ts';
import { isUniqueViolation, type Db } from '../store/db.ts';
import { EventKind, recordEvent } from '../store/events.ts';
import type { Database } from '../store/schema.ts';
import { ORG_ROLES, TEAM_PERMISSIONS, type OrgRole, type TeamPermission } from './decide.ts';
import { DEVELOPERS_TEAM } from './relations.ts';

type Tx = Transaction<Database>;
export type Actor = { id: number; name: string };

// npm's scope and team names: lowercase letters, digits, "-", "_" and "." (npm-package-arg, libnpmteam).
const NAME = /^[a-z0-9][a-z0-9._-]{0,49}$/;

export function orgNameProblem(name: string): string | null {
  return NAME.test(name)
    ? null
    : 'an organisation name must be 1-50 lowercase letters, digits, ".", "-" or "_", starting with a letter or digit';
}
export function teamNameProblem(name: string): string | null {
  return NAME.test(name)
    ? null
    : 'a team name must be 1-50 lowercase letters, digits, ".", "-" or "_", starting with a letter or digit';
}
export function parseRole(role: unknown): OrgRole {
  if (role === undefined || role === null || role === '') return 'developer';
  if (typeof role !== 'string' || !(ORG_ROLES as readonly string[]).includes(role))
    throw fail('E_ORG_INVALID', '"role" must be one of owner, admin or developer');
  return role as OrgRole;
}
export function parsePermission(p: unknown): TeamPermission {
  if (typeof p !== 'string' || !(TEAM_PERMISSIONS as readonly string[]).includes(p))
    throw fail('E_ORG_INVALID', '"permissions" must be "read-only" or "read-write"');
  return p as TeamPermission;
}

/** A live (not disabled, not deleted) account by name, or 404 with the name in the message. */
async function liveUser(q: Db | Tx, name: string): Promise<{ id: number; name: string }> {
  const user = await q
    .selectFrom('users')
    .select(['id', 'name'])
    .where('name', '=', name)
    .where('disabled_at', 'is', null)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!user) throw notFound(`there is no user named "${name}"`);
  return user;
}

export async function userIdByName(db: Db, name: string): Promise<number | null> {
  const row = await db.selectFrom('users').select('id').where('name', '=', name).executeTakeFirst();
  return row?.id ?? null;
}

async function teamId(q: Db | Tx, org: string, team: string): Promise<number> {
  const row = await q
    .selectFrom('teams')
    .select('id')
    .where('org', '=', org)
    .where('name', '=', team)
    .executeTakeFirst();
  if (!row) throw notFound(`there is no team @${org}:${team}`);
  return row.id;
}

/**
 * Makes a scope an organisation with `owner` as its first owner and a "developers" team holding them. An unclaimed
 * scope is claimed; a scope that belonged to one account becomes shared, its packages unchanged (their maintainers keep
 * publishing). Whether the actor may do this was decided by the gate (or, on the CLI, by the operator running it).
 */
export async function createOrg(
  db: Db,
  org: string,
  ownerName: string,
  actor: Actor | null,
  now: number,
): Promise<void> {
  const problem = orgNameProblem(org);
  if (problem) throw fail('E_ORG_INVALID', problem);
  try {
    await db.transaction().execute(async (trx) => {
      const owner = await liveUser(trx, ownerName);
      const scope = await trx.selectFrom('scopes').select('owner_user_id').where('name', '=', org).executeTakeFirst();
      if (!scope)
        await trx.insertInto('scopes').values({ name: org, owner_user_id: owner.id, created_at: now }).execute();
      await trx.insertInto('orgs').values({ name: org, created_at: now }).execute();
      await trx.insertInto('org_members').values({ org, user_id: owner.id, role: 'owner', created_at: now }).execute();
      const team = await trx
        .insertInto('teams')
        .values({ org, name: DEVELOPERS_TEAM, description: 'Members who publish packages', created_at: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      await trx.insertInto('team_members').values({ team_id: team.id, user_id: owner.id }).execute();
      await recordEvent(
        trx,
        {
          kind: EventKind.OrgCreated,
          subject: org,
          actorId: actor?.id ?? null,
          data: { owner: owner.name, claimedScope: !scope },
        },
        now,
      );
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw fail('E_ORG_EXISTS', `@${org} is already an organisation`);
    throw err;
  }
}

/**
 * Deletes an organisation: its memberships, teams and teams' grants go; its packages and their maintainers stay, and
 * the scope becomes the personal scope of the owner who deleted it (someone must answer for the name).
 */
export async function deleteOrg(db: Db, org: string, actor: Actor, now: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const teams = trx.selectFrom('teams').select('id').where('org', '=', org);
    await trx.deleteFrom('team_packages').where('team_id', 'in', teams).execute();
    await trx.deleteFrom('team_members').where('team_id', 'in', teams).execute();
    await trx.deleteFrom('teams').where('org', '=', org).execute();
    await trx.deleteFrom('org_members').where('org', '=', org).execute();
    const res = await trx.deleteFrom('orgs').where('name', '=', org).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw notFound(`@${org} is not an organisation`);
    await trx.updateTable('scopes').set({ owner_user_id: actor.id }).where('name', '=', org).execute();
    await recordEvent(trx, { kind: EventKind.OrgDeleted, subject: org, actorId: actor.id, data: {} }, now);
  });
}

/** Every package in an org's scope (for its owners and admins, who manage teams' access to each). */
export async function orgPackageNames(db: Db, org: string): Promise<string[]> {
  return (await db.selectFrom('packages').select('name').where('scope', '=', org).orderBy('name').execute()).map(
    (r) => r.name,
  );
}

export type MembershipDetail = { org: { name: string; size: number }; user: string; role: OrgRole };

/** npm org set: adds a member (also to the developers team, as npm does) or changes their role. */
export async function setMember(
  db: Db,
  org: string,
  userName: string,
  role: OrgRole,
  actor: Actor,
  now: number,
): Promise<MembershipDetail> {
  return db.transaction().execute(async (trx) => {
    const user = await liveUser(trx, userName);
    const current = await trx
      .selectFrom('org_members')
      .select('role')
      .where('org', '=', org)
      .where('user_id', '=', user.id)
      .executeTakeFirst();
    if (!current) {
      await trx.insertInto('org_members').values({ org, user_id: user.id, role, created_at: now }).execute();
      const dev = await trx
        .selectFrom('teams')
        .select('id')
        .where('org', '=', org)
        .where('name', '=', DEVELOPERS_TEAM)
        .executeTakeFirst();
      if (dev)
        await trx
          .insertInto('team_members')
          .values({ team_id: dev.id, user_id: user.id })
          .onConflict((oc) => oc.doNothing())
          .execute();
      await recordEvent(
        trx,
        { kind: EventKind.OrgMemberAdded, subject: org, actorId: actor.id, data: { user: user.name, role } },
        now,
      );
    } else if (current.role !== role) {
      await trx
        .updateTable('org_members')
        .set({ role })
        .where('org', '=', org)
        .where('user_id', '=', user.id)
        .execute();
      await recordEvent(
        trx,
        {
          kind: EventKind.OrgMemberRoleChanged,
          subject: org,
          actorId: actor.id,
          data: { user: user.name, from: current.role, to: role },
        },
        now,
      );
    }
    const size = await trx
      .selectFrom('org_members')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('org', '=', org)
      .executeTakeFirstOrThrow();
    return { org: { name: org, size: Number(size.n) }, user: user.name, role };
  });
}

/** npm org rm: the member leaves the org and every team of it. */
export async function removeMember(db: Db, org: string, userName: string, actor: Actor, now: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const user = await liveUser(trx, userName);
    const res = await trx
      .deleteFrom('org_members')
      .where('org', '=', org)
      .where('user_id', '=', user.id)
      .executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw notFound(`${user.name} is not a member of @${org}`);
    await trx
      .deleteFrom('team_members')
      .where('user_id', '=', user.id)
      .where('team_id', 'in', trx.selectFrom('teams').select('id').where('org', '=', org))
      .execute();
    await recordEvent(
      trx,
      { kind: EventKind.OrgMemberRemoved, subject: org, actorId: actor.id, data: { user: user.name } },
      now,
    );
  });
}

/** npm org ls: { user: role }, sorted by name. */
export async function listMembers(db: Db, org: string): Promise<Record<string, OrgRole>> {
  const rows = await db
    .selectFrom('org_members')
    .innerJoin('users', 'users.id', 'org_members.user_id')
    .select(['users.name', 'org_members.role'])
    .where('org', '=', org)
    .orderBy('users.name')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.name, r.role as OrgRole]));
}

export async function createTeam(
  db: Db,
  org: string,
  team: string,
  description: string,
  actor: Actor,
  now: number,
): Promise<void> {
  const problem = teamNameProblem(team);
  if (problem) throw fail('E_ORG_INVALID', problem);
  try {
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('teams')
        .values({ org, name: team, description: description.slice(0, 500), created_at: now })
        .execute();
      await recordEvent(trx, { kind: EventKind.TeamCreated, subject: org, actorId: actor.id, data: { team } }, now);
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw fail('E_ORG_EXISTS', `the team @${org}:${team} already exists`);
    throw err;
  }
}

export async function deleteTeam(db: Db, org: string, team: string, actor: Actor, now: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const id = await teamId(trx, org, team);
    // Grants go with the team: say which, so the log shows what access ended.
    const grants = await trx
      .selectFrom('team_packages')
      .innerJoin('packages', 'packages.id', 'team_packages.package_id')
      .select(['packages.name', 'team_packages.permission'])
      .where('team_id', '=', id)
      .execute();
    await trx.deleteFrom('team_packages').where('team_id', '=', id).execute();
    await trx.deleteFrom('team_members').where('team_id', '=', id).execute();
    await trx.deleteFrom('teams').where('id', '=', id).execute();
    await recordEvent(
      trx,
      {
        kind: EventKind.TeamDeleted,
        subject: org,
        actorId: actor.id,
        data: { team, grants: grants.map((g) => `${g.name}:${g.permission}`) },
      },
      now,
    );
  });
}

export async function addTeamMember(
  db: Db,
  org: string,
  team: string,
  userName: string,
  actor: Actor,
  now: number,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const id = await teamId(trx, org, team);
    const user = await liveUser(trx, userName);
    const member = await trx
      .selectFrom('org_members')
      .select('role')
      .where('org', '=', org)
      .where('user_id', '=', user.id)
      .executeTakeFirst();
    if (!member)
      throw fail(
        'E_ORG_INVALID',
        `${user.name} is not a member of @${org}: add them to the organisation first (npm org set ${org} ${user.name})`,
      );
    const already = await trx
      .selectFrom('team_members')
      .select('user_id')
      .where('team_id', '=', id)
      .where('user_id', '=', user.id)
      .executeTakeFirst();
    if (already) return;
    await trx.insertInto('team_members').values({ team_id: id, user_id: user.id }).execute();
    await recordEvent(
      trx,
      { kind: EventKind.TeamMemberAdded, subject: org, actorId: actor.id, data: { team, user: user.name } },
      now,
    );
  });
}

export async function removeTeamMember(
  db: Db,
  org: string,
  team: string,
  userName: string,
  actor: Actor,
  now: number,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const id = await teamId(trx, org, team);
    const user = await liveUser(trx, userName);
    const res = await trx
      .deleteFrom('team_members')
      .where('team_id', '=', id)
      .where('user_id', '=', user.id)
      .executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw notFound(`${user.name} is not on @${org}:${team}`);
    await recordEvent(
      trx,
      { kind: EventKind.TeamMemberRemoved, subject: org, actorId: actor.id, data: { team, user: user.name } },
      now,
    );
  });
}

/** npm team ls @org (with format=cli): "org:team" names. */
export async function listTeams(db: Db, org: string): Promise<string[]> {
  const rows = await db.selectFrom('teams').select('name').where('org', '=', org).orderBy('name').execute();
  return rows.map((r) => `${org}:${r.name}`);
}

export async function listTeamMembers(db: Db, org: string, team: string): Promise<string[]> {
  const id = await teamId(db, org, team);
  const rows = await db
    .selectFrom('team_members')
    .innerJoin('users', 'users.id', 'team_members.user_id')
    .select('users.name')
    .where('team_id', '=', id)
    .orderBy('users.name')
    .execute();
  return rows.map((r) => r.name);
}

export type TeamDetail = {
  name: string;
  description: string;
  members: string[];
  packages: Record<string, TeamPermission>;
};

export async function teamDetails(db: Db, org: string): Promise<TeamDetail[]> {
  const teams = await db
    .selectFrom('teams')
    .select(['id', 'name', 'description'])
    .where('org', '=', org)
    .orderBy('name')
    .execute();
  const ids = teams.map((t) => t.id);
  const members = ids.length
    ? await db
        .selectFrom('team_members')
        .innerJoin('users', 'users.id', 'team_members.user_id')
        .select(['team_id', 'users.name'])
        .where('team_id', 'in', ids)
        .orderBy('users.name')
        .execute()
    : [];
  const grants = ids.length
    ? await db
        .selectFrom('team_packages')
        .innerJoin('packages', 'packages.id', 'team_packages.package_id')
        .select(['team_id', 'packages.name', 'permission'])
        .where('team_id', 'in', ids)
        .orderBy('packages.name')
        .execute()
    : [];
  return teams.map((t) => ({
    name: t.name,
    description: t.description,
    members: members.filter((m) => m.team_id === t.id).map((m) => m.name),
    packages: Object.fromEntries(
      grants.filter((g) => g.team_id === t.id).map((g) => [g.name, g.permission as TeamPermission]),
    ),
  }));
}

/** npm access grant: the team must belong to the package's org (the gate decided the actor may manage that org). */
export async function grantTeam(
  db: Db,
  org: string,
  team: string,
  pkg: { id: number; name: string; scope: string | null },
  permission: TeamPermission,
  actor: Actor,
  now: number,
): Promise<void> {
  if (pkg.scope !== org)
    throw fail(
      'E_ORG_INVALID',
      `${pkg.name} is not in @${org}: a team can only be given packages of its own organisation`,
    );
  await db.transaction().execute(async (trx) => {
    const id = await teamId(trx, org, team);
    await trx
      .insertInto('team_packages')
      .values({ team_id: id, package_id: pkg.id, permission })
      .onConflict((oc) => oc.columns(['team_id', 'package_id']).doUpdateSet({ permission }))
      .execute();
    await recordEvent(
      trx,
      {
        kind: EventKind.TeamGrantAdded,
        subject: pkg.name,
        actorId: actor.id,
        data: { team: `${org}:${team}`, permission },
      },
      now,
    );
  });
}

export async function revokeTeam(
  db: Db,
  org: string,
  team: string,
  pkg: { id: number; name: string },
  actor: Actor,
  now: number,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const id = await teamId(trx, org, team);
    const res = await trx
      .deleteFrom('team_packages')
      .where('team_id', '=', id)
      .where('package_id', '=', pkg.id)
      .executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw notFound(`@${org}:${team} has no access to ${pkg.name}`);
    await recordEvent(
      trx,
      { kind: EventKind.TeamGrantRemoved, subject: pkg.name, actorId: actor.id, data: { team: `${org}:${team}` } },
      now,
    );
  });
}

/** npm's short permission words in listings: read-only is "read", read-write is "write". */
const WORD = { 'read-only': 'read', 'read-write': 'write' } as const;

/** npm access list packages @org:team → { package: "read" | "write" }. */
export async function teamPackages(db: Db, org: string, team: string): Promise<Record<string, 'read' | 'write'>> {
  const id = await teamId(db, org, team);
  const rows = await db
    .selectFrom('team_packages')
    .innerJoin('packages', 'packages.id', 'team_packages.package_id')
    .select(['packages.name', 'permission'])
    .where('team_id', '=', id)
    .orderBy('packages.name')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.name, WORD[r.permission as TeamPermission]]));
}

/** The packages of a scope a member may see, with what they may do to each ("write" via maintainership or a read-write team). */
export async function orgPackages(
  db: Db,
  org: string,
  userId: number,
  isAdmin: boolean,
): Promise<Record<string, 'read' | 'write'>> {
  const pkgs = await db
    .selectFrom('packages')
    .select(['id', 'name', 'access'])
    .where('scope', '=', org)
    .orderBy('name')
    .execute();
  const ids = pkgs.map((p) => p.id);
  if (!ids.length) return {};
  const maintained = new Set(
    (
      await db
        .selectFrom('maintainers')
        .select('package_id')
        .where('user_id', '=', userId)
        .where('package_id', 'in', ids)
        .execute()
    ).map((r) => r.package_id),
  );
  const grants = await db
    .selectFrom('team_packages')
    .innerJoin('team_members', 'team_members.team_id', 'team_packages.team_id')
    .select(['package_id', 'permission'])
    .where('team_members.user_id', '=', userId)
    .where('package_id', 'in', ids)
    .execute();
  const out: Record<string, 'read' | 'write'> = {};
  for (const p of pkgs) {
    const mine = grants.filter((g) => g.package_id === p.id);
    if (maintained.has(p.id) || mine.some((g) => g.permission === 'read-write')) out[p.name] = 'write';
    else if (p.access === 'public' || mine.length || isAdmin) out[p.name] = 'read';
  }
  return out;
}

/** npm access list collaborators: maintainers write; team members get their team's grant. */
export async function collaborators(db: Db, packageId: number): Promise<Record<string, 'read' | 'write'>> {
  const maintainers = await db
    .selectFrom('maintainers')
    .innerJoin('users', 'users.id', 'maintainers.user_id')
    .select('users.name')
    .where('package_id', '=', packageId)
    .execute();
  const viaTeams = await db
    .selectFrom('team_packages')
    .innerJoin('team_members', 'team_members.team_id', 'team_packages.team_id')
    .innerJoin('users', 'users.id', 'team_members.user_id')
    .select(['users.name', 'team_packages.permission'])
    .where('team_packages.package_id', '=', packageId)
    .execute();
  const out: Record<string, 'read' | 'write'> = {};
  for (const t of viaTeams) if (out[t.name] !== 'write') out[t.name] = WORD[t.permission as TeamPermission];
  for (const m of maintainers) out[m.name] = 'write';
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The teams with a grant on a package (for its access page). */
export async function packageTeams(
  db: Db,
  packageId: number,
): Promise<Array<{ team: string; permission: TeamPermission }>> {
  const rows = await db
    .selectFrom('team_packages')
    .innerJoin('teams', 'teams.id', 'team_packages.team_id')
    .select(['teams.org', 'teams.name', 'permission'])
    .where('package_id', '=', packageId)
    .orderBy('teams.name')
    .execute();
  return rows.map((r) => ({ team: `${r.org}:${r.name}`, permission: r.permission as TeamPermission }));
}

/**
 * npm owner add/rm: npm sends the whole new maintainers list; this applies the difference (one added or removed name
 * in practice), refusing an empty list and unknown accounts, and moves the package's revision forward.
 */
export async function setMaintainers(
  db: Db,
  pkg: { id: number; name: string },
  wanted: unknown,
  actor: Actor,
  now: number,
): Promise<{ added: string[]; removed: string[] }> {
  if (!Array.isArray(wanted))
    throw fail('E_MAINTAINERS_INVALID', '"maintainers" must be a list of { name, email } objects');
  const names = new Set<string>();
  for (const m of wanted) {
    const name = typeof m === 'object' && m !== null ? (m as { name?: unknown }).name : undefined;
    if (typeof name !== 'string' || name === '') throw fail('E_MAINTAINERS_INVALID', 'every maintainer needs a "name"');
    names.add(name);
  }
  if (names.size === 0)
    throw fail('E_MAINTAINERS_INVALID', 'a package must keep at least one maintainer: add someone else first');
  if (names.size > 100) throw fail('E_MAINTAINERS_INVALID', 'a package can have at most 100 maintainers');
  return db.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom('maintainers')
      .innerJoin('users', 'users.id', 'maintainers.user_id')
      .select(['users.id', 'users.name'])
      .where('package_id', '=', pkg.id)
      .execute();
    const have = new Set(current.map((c) => c.name));
    const added: string[] = [];
    for (const name of names) {
      if (have.has(name)) continue;
      const user = await liveUser(trx, name);
      await trx.insertInto('maintainers').values({ package_id: pkg.id, user_id: user.id }).execute();
      await recordEvent(
        trx,
        { kind: EventKind.MaintainerAdded, subject: pkg.name, actorId: actor.id, data: { user: user.name } },
        now,
      );
      added.push(user.name);
    }
    const removed: string[] = [];
    for (const c of current) {
      if (names.has(c.name)) continue;
      await trx.deleteFrom('maintainers').where('package_id', '=', pkg.id).where('user_id', '=', c.id).execute();
      await recordEvent(
        trx,
        { kind: EventKind.MaintainerRemoved, subject: pkg.name, actorId: actor.id, data: { user: c.name } },
        now,
      );
      removed.push(c.name);
    }
    if (added.length || removed.length) {
      const row = await trx.selectFrom('packages').select('rev').where('id', '=', pkg.id).executeTakeFirstOrThrow();
      await trx
        .updateTable('packages')
        .set({ rev: row.rev + 1, modified_at: now })
        .where('id', '=', pkg.id)
        .execute();
    }
    return { added, removed };
  });
}

/** npm access set status=public|private: who may install the package. Only scoped packages can be restricted. */
export async function setVisibility(
  db: Db,
  pkg: { id: number; name: string; scope: string | null },
  access: unknown,
  actor: Actor,
  now: number,
): Promise<void> {
  if (access !== 'public' && access !== 'restricted')
    throw fail('E_MAINTAINERS_INVALID', '"access" must be "public" or "restricted"');
  if (access === 'restricted' && pkg.scope === null)
    throw fail('E_MAINTAINERS_INVALID', `unscoped packages cannot be restricted: "${pkg.name}" can only be public`);
  await db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('packages')
      .select(['access', 'rev'])
      .where('id', '=', pkg.id)
      .executeTakeFirstOrThrow();
    if (row.access === access) return;
    await trx
      .updateTable('packages')
      .set({ access, rev: row.rev + 1, modified_at: now })
      .where('id', '=', pkg.id)
      .execute();
    await recordEvent(
      trx,
      {
        kind: EventKind.PackageAccessChanged,
        subject: pkg.name,
        actorId: actor.id,
        data: { from: row.access, to: access },
      },
      now,
    );
  });
}

/** Registry-level moderator role (for the moderation work); only an operator sets it. */
export async function setModerator(
  db: Db,
  userName: string,
  on: boolean,
  actor: Actor | null,
  now: number,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const res = await trx
      .updateTable('users')
      .set({ is_moderator: on ? 1 : 0 })
      .where('name', '=', userName)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw notFound(`there is no user named "${userName}"`);
    await recordEvent(
      trx,
      { kind: EventKind.UserModeratorChanged, subject: userName, actorId: actor?.id ?? null, data: { moderator: on } },
      now,
    );
  });
}
