// The package lists of `npm access list packages`: a scope's packages (GET /-/org/:scope/package) and a user's
// (GET /-/user/:user/package, and the org address when the name is a user's, as npm's registry answers it). A list
// is a read of each package in it: it needs no right in an org, and shows exactly the packages decide() lets this
// reader read — a restricted package they cannot read is left out, as a package that does not exist would be.
import type { Db } from '../store/db.ts';
import { Action, decide, type PackageFacts, type Policy } from './decide.ts';
import type { Principal } from './principal.ts';
import { isOrg } from './relations.ts';

/** npm's words for a package's access in these lists (npm maps them to read-only / read-write). */
export type Listed = Record<string, 'read' | 'write'>;

type Which = { scope: string } | { maintainer: string };

/**
 * The packages of a scope, or maintained by a user, that the reader may read, each with what the reader (for a
 * scope) or that user (for a user's list) may do to it: "write" for a maintainer or a read-write team, else "read".
 * Facts are loaded for the whole list at once (the reader's maintainerships and team grants, the scopes' owners),
 * then each package is decided as a read of it would be.
 */
export async function readablePackages(
  db: Db,
  reader: Principal | null,
  policy: Policy,
  which: Which,
): Promise<Listed> {
  let q = db
    .selectFrom('packages')
    .leftJoin('scopes', 'scopes.name', 'packages.scope')
    .select(['packages.id', 'packages.name', 'packages.access', 'packages.scope', 'scopes.owner_user_id'])
    // A package with nothing to read (its first version held for review: no version visible, none unpublished)
    // answers 404 to everyone, so no list names it either.
    .where((eb) =>
      eb.or([eb('packages.latest_version', 'is not', null), eb('packages.unpublished_at', 'is not', null)]),
    );
  if ('scope' in which) q = q.where('packages.scope', '=', which.scope);
  else
    q = q.where('packages.id', 'in', (eb) =>
      eb
        .selectFrom('maintainers')
        .innerJoin('users', 'users.id', 'maintainers.user_id')
        .select('maintainers.package_id')
        .where('users.name', '=', which.maintainer),
    );
  const rows = await q.orderBy('packages.name').execute();
  if (!rows.length) return {};
  const ids = rows.map((r) => r.id);
  const mine = new Set<number>();
  const grants = new Map<number, 'read-only' | 'read-write'>();
  if (reader) {
    for (const m of await db
      .selectFrom('maintainers')
      .select('package_id')
      .where('user_id', '=', reader.userId)
      .where('package_id', 'in', ids)
      .execute())
      mine.add(m.package_id);
    for (const g of await db
      .selectFrom('team_packages')
      .innerJoin('team_members', 'team_members.team_id', 'team_packages.team_id')
      .select(['team_packages.package_id', 'team_packages.permission'])
      .where('team_members.user_id', '=', reader.userId)
      .where('team_packages.package_id', 'in', ids)
      .execute())
      if (grants.get(g.package_id) !== 'read-write')
        grants.set(g.package_id, g.permission as 'read-only' | 'read-write');
  }
  const orgScopes = new Map<string, boolean>();
  const out: Listed = {};
  for (const r of rows) {
    let scopeIsOrg = false;
    if (r.scope !== null) {
      if (!orgScopes.has(r.scope)) orgScopes.set(r.scope, await isOrg(db, r.scope));
      scopeIsOrg = orgScopes.get(r.scope)!;
    }
    const facts: PackageFacts = {
      name: r.name,
      id: r.id,
      access: r.access as 'public' | 'restricted',
      // Only whether the reader is one of them matters to a read.
      maintainerIds: reader && mine.has(r.id) ? [reader.userId] : [],
      scope: r.scope,
      scopeOwnerId: r.owner_user_id,
      scopeNamesakeId: null,
      scopeIsOrg,
      relation: { orgRole: null, teamGrant: grants.get(r.id) ?? null, developer: false },
    };
    if (!decide(reader, Action.PackageRead, facts, policy).allow) continue;
    const writes = 'maintainer' in which || mine.has(r.id) || grants.get(r.id) === 'read-write';
    out[r.name] = writes ? 'write' : 'read';
  }
  return out;
}

/**
 * npm asks GET /-/org/NAME/package for `npm access list packages NAME` whether NAME is an org or a user (libnpmaccess
 * getPackages, which falls back to /-/user/ only on a 404): an org's readable packages, else a user's, else null.
 */
export async function packagesOfOrgOrUser(
  db: Db,
  reader: Principal | null,
  policy: Policy,
  name: string,
): Promise<Listed | null> {
  if (await isOrg(db, name)) return readablePackages(db, reader, policy, { scope: name });
  const user = await db.selectFrom('users').select('id').where('name', '=', name).executeTakeFirst();
  return user ? readablePackages(db, reader, policy, { maintainer: name }) : null;
}
