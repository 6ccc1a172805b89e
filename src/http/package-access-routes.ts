// npm access (libnpmaccess): teams' grants on packages (PUT/DELETE/GET /-/team/:org/:team/package), the packages of an
// org or a user (GET /-/org/:org/package, /-/user/:user/package), a package's collaborators and visibility, and
// npm access set status=… (POST /-/package/:pkg/access). npm owner shares its address with unpublish
// (http/lifecycle-routes.ts). A list of packages is a read of each: what the reader cannot read is left out.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Action } from '../access/decide.ts';
import {
  collaborators,
  grantTeam,
  orgPackages,
  parsePermission,
  revokeTeam,
  setVisibility,
  teamPackages,
} from '../access/orgs.ts';
import { orgFacts } from '../access/relations.ts';
import { packagesOfOrgOrUser, readablePackages } from '../access/package-lists.ts';
import { fail, notFound } from '../errors.ts';
import { isServableName, scopeOf } from '../names/syntax.ts';
import type { Packages } from '../packages/service.ts';
import type { Db } from '../store/db.ts';
import type { Gate } from './gate.ts';
import { actorOf, bare, Named, OrgParams, TeamParams } from './org-shapes.ts';
import { AnyObject, NAME_MAX, Str, Type, schema, type RouteTypes } from './schemas.ts';

export type PackageAccessDeps = { db: Db; gate: Gate; packages: Packages; clock: () => number };

const GrantRoute = schema({
  params: TeamParams,
  body: Type.Object({ package: Named, permissions: Type.Optional(Str(32)) }),
});
const RevokeRoute = schema({ params: TeamParams, body: Type.Object({ package: Named }) });
const TeamPackagesRoute = schema({ params: TeamParams });
const OrgPackagesRoute = schema({ params: OrgParams });
const UserPackagesRoute = schema({ params: Type.Object({ user: Str(NAME_MAX) }) });
const PackageRoute = schema({ params: Type.Object({ name: Str(NAME_MAX) }) });
const SetAccessRoute = schema({ params: PackageRoute.params, body: AnyObject });

export function register(app: FastifyInstance, deps: PackageAccessDeps): void {
  const { db, gate, packages, clock } = deps;
  const signedIn = { preParsing: gate.signedIn() };

  /** The package a grant names, with the facts the gate decides on. */
  async function grantTarget(name: string) {
    if (!isServableName(name)) throw notFound();
    const facts = await packages.facts(name);
    return { name, facts };
  }
  app.put<RouteTypes<typeof GrantRoute>>(
    '/-/team/:org/:team/package',
    { ...signedIn, schema: GrantRoute },
    async (req, reply) => {
      const org = bare(req.params.org);
      const permission = parsePermission(req.body.permissions);
      const { name, facts } = await grantTarget(req.body.package);
      const principal = await gate.write(req, Action.PackageAccessWrite, facts);
      await grantTeam(
        db,
        org,
        req.params.team,
        { id: facts.id!, name, scope: scopeOf(name) },
        permission,
        actorOf(principal),
        clock(),
      );
      packages.invalidate(name);
      return reply.code(201).send({});
    },
  );
  app.delete<RouteTypes<typeof RevokeRoute>>(
    '/-/team/:org/:team/package',
    { ...signedIn, schema: RevokeRoute },
    async (req, reply) => {
      const org = bare(req.params.org);
      const { name, facts } = await grantTarget(req.body.package);
      const principal = await gate.write(req, Action.PackageAccessWrite, facts);
      await revokeTeam(db, org, req.params.team, { id: facts.id!, name }, actorOf(principal), clock());
      packages.invalidate(name);
      return reply.code(204).send();
    },
  );
  app.get<RouteTypes<typeof TeamPackagesRoute>>(
    '/-/team/:org/:team/package',
    { schema: TeamPackagesRoute },
    async (req) => {
      const org = bare(req.params.org);
      const principal = await gate.authorize(req, Action.OrgRead, await orgFacts(db, org, null));
      // Only the packages this reader may see: a restricted package's name is not shown to members outside its teams.
      const visible = await orgPackages(db, org, principal.userId, principal.isAdmin);
      const all = await teamPackages(db, org, req.params.team);
      return Object.fromEntries(Object.entries(all).filter(([name]) => name in visible));
    },
  );
  // npm access list packages NAME: an org's packages, or a user's (npm asks here first either way). No right in the
  // org is needed.
  app.get<RouteTypes<typeof OrgPackagesRoute>>('/-/org/:org/package', { schema: OrgPackagesRoute }, async (req) => {
    const reader = await gate.read(req);
    const listed = await packagesOfOrgOrUser(db, reader, gate.policy, bare(req.params.org));
    if (!listed) throw notFound();
    return listed;
  });
  // libnpmaccess falls back to this when the org address answers 404: the packages a user maintains.
  app.get<RouteTypes<typeof UserPackagesRoute>>('/-/user/:user/package', { schema: UserPackagesRoute }, async (req) => {
    const reader = await gate.read(req);
    return readablePackages(db, reader, gate.policy, { maintainer: bare(req.params.user) });
  });

  async function readable(req: FastifyRequest<RouteTypes<typeof PackageRoute>>) {
    const name = req.params.name;
    if (!isServableName(name)) throw notFound();
    const facts = await packages.facts(name);
    await gate.readPackage(req, facts);
    return facts;
  }
  app.get<RouteTypes<typeof PackageRoute>>('/-/package/:name/collaborators', { schema: PackageRoute }, async (req) =>
    collaborators(db, (await readable(req)).id!),
  );
  app.get<RouteTypes<typeof PackageRoute>>('/-/package/:name/visibility', { schema: PackageRoute }, async (req) => ({
    public: (await readable(req)).access === 'public',
  }));

  // npm access set status=public|private (libnpmaccess setAccess); npm access set mfa=… sends the same address.
  app.post<RouteTypes<typeof SetAccessRoute>>(
    '/-/package/:name/access',
    { ...signedIn, schema: SetAccessRoute },
    async (req, reply) => {
      const name = req.params.name;
      if (!isServableName(name)) throw notFound();
      const body = req.body;
      if (!('access' in body))
        throw fail(
          'E_ORG_INVALID',
          'only "access" (public or restricted) can be set here: per-package two-factor settings (npm access set mfa) are not supported yet',
        );
      const facts = await packages.facts(name);
      const principal = await gate.write(req, Action.PackageVisibilityWrite, facts);
      await setVisibility(db, { id: facts.id!, name, scope: scopeOf(name) }, body.access, actorOf(principal), clock());
      packages.invalidate(name);
      return reply.code(200).send({});
    },
  );
}
