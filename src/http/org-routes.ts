// npm's organisation, team, access and owner endpoints, as npm 11's own code calls them:
//   libnpmorg     PUT/DELETE/GET /-/org/:org/user                 (npm org set / rm / ls)
//   libnpmteam    PUT/GET /-/org/:org/team, DELETE /-/team/:org/:team, PUT/DELETE/GET /-/team/:org/:team/user
//   libnpmaccess  PUT/DELETE/GET /-/team/:org/:team/package, GET /-/org/:org/package, GET /-/user/:user/package,
//                 GET /-/package/:pkg/collaborators, GET /-/package/:pkg/visibility
//   (npm owner shares its address with unpublish: http/lifecycle-routes.ts)
// Each handler loads the facts, passes the gate with one action (writes also pass the second-factor check), then calls
// the org service, which records the change's domain event in the same transaction.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Action } from '../access/decide.ts';
import {
  addTeamMember,
  collaborators,
  createTeam,
  deleteTeam,
  grantTeam,
  listMembers,
  listTeamMembers,
  listTeams,
  orgPackages,
  parsePermission,
  parseRole,
  removeMember,
  removeTeamMember,
  revokeTeam,
  setMember,
  setVisibility,
  teamPackages,
  userIdByName,
  type Actor,
} from '../access/orgs.ts';
import { orgFacts } from '../access/relations.ts';
import { packagesOfOrgOrUser, readablePackages } from '../access/package-lists.ts';
import type { Principal } from '../access/principal.ts';
import { fail, notFound } from '../errors.ts';
import { isServableName, scopeOf } from '../names/syntax.ts';
import type { Packages } from '../packages/service.ts';
import type { Db } from '../store/db.ts';
import type { Gate } from './gate.ts';

export type OrgRouteDeps = { db: Db; gate: Gate; packages: Packages; clock: () => number };

type Body = Record<string, unknown> | null | undefined;
type OrgParams = { Params: { org: string } };
type TeamParams = { Params: { org: string; team: string } };

const actorOf = (p: Principal): Actor => ({ id: p.userId, name: p.name });
/** npm strips a leading "@" from org and user names; be as lenient for clients that do not. */
const bare = (s: string) => s.replace(/^[@~]/, '');

function stringField(body: Body, field: string): string {
  const v = body && typeof body === 'object' ? body[field] : undefined;
  if (typeof v !== 'string' || v === '') throw fail('E_ORG_INVALID', `the request body needs a "${field}" string`);
  return v;
}

export function registerOrgRoutes(app: FastifyInstance, deps: OrgRouteDeps): void {
  const { db, gate, packages, clock } = deps;

  // Every change here needs a principal, known from the headers before the body is read (Gate.signedIn).
  const signedIn = { preParsing: gate.signedIn() };

  const orgRead = async (req: FastifyRequest, org: string) =>
    gate.authorize(req, Action.OrgRead, await orgFacts(db, org, null));

  // npm org set / rm / ls
  app.put<OrgParams & { Body: Body }>('/-/org/:org/user', signedIn, async (req) => {
    const org = bare(req.params.org);
    const user = bare(stringField(req.body, 'user'));
    const role = parseRole(req.body?.role);
    const principal = await gate.write(
      req,
      Action.OrgMembersWrite,
      await orgFacts(db, org, null, { userId: await userIdByName(db, user), newRole: role }),
    );
    return setMember(db, org, user, role, actorOf(principal), clock());
  });
  app.delete<OrgParams & { Body: Body }>('/-/org/:org/user', signedIn, async (req, reply) => {
    const org = bare(req.params.org);
    const user = bare(stringField(req.body, 'user'));
    const principal = await gate.write(
      req,
      Action.OrgMembersWrite,
      await orgFacts(db, org, null, { userId: await userIdByName(db, user), newRole: null }),
    );
    await removeMember(db, org, user, actorOf(principal), clock());
    return reply.code(204).send();
  });
  app.get<OrgParams>('/-/org/:org/user', async (req) => {
    const org = bare(req.params.org);
    await orgRead(req, org);
    return listMembers(db, org);
  });

  // npm team create / destroy / add / rm / ls
  app.put<OrgParams & { Body: Body }>('/-/org/:org/team', signedIn, async (req, reply) => {
    const org = bare(req.params.org);
    const name = stringField(req.body, 'name');
    const description = typeof req.body?.description === 'string' ? req.body.description : '';
    const principal = await gate.write(req, Action.OrgTeamsWrite, await orgFacts(db, org, null));
    await createTeam(db, org, name, description, actorOf(principal), clock());
    return reply.code(201).send({ name, description });
  });
  app.get<OrgParams>('/-/org/:org/team', async (req) => {
    const org = bare(req.params.org);
    await orgRead(req, org);
    return listTeams(db, org);
  });
  app.delete<TeamParams>('/-/team/:org/:team', signedIn, async (req, reply) => {
    const org = bare(req.params.org);
    const principal = await gate.write(req, Action.OrgTeamsWrite, await orgFacts(db, org, null));
    await deleteTeam(db, org, req.params.team, actorOf(principal), clock());
    return reply.code(204).send();
  });
  app.put<TeamParams & { Body: Body }>('/-/team/:org/:team/user', signedIn, async (req, reply) => {
    const org = bare(req.params.org);
    const user = bare(stringField(req.body, 'user'));
    const principal = await gate.write(req, Action.OrgTeamsWrite, await orgFacts(db, org, null));
    await addTeamMember(db, org, req.params.team, user, actorOf(principal), clock());
    return reply.code(201).send({});
  });
  app.delete<TeamParams & { Body: Body }>('/-/team/:org/:team/user', signedIn, async (req, reply) => {
    const org = bare(req.params.org);
    const user = bare(stringField(req.body, 'user'));
    const principal = await gate.write(req, Action.OrgTeamsWrite, await orgFacts(db, org, null));
    await removeTeamMember(db, org, req.params.team, user, actorOf(principal), clock());
    return reply.code(204).send();
  });
  app.get<TeamParams>('/-/team/:org/:team/user', async (req) => {
    const org = bare(req.params.org);
    await orgRead(req, org);
    return listTeamMembers(db, org, req.params.team);
  });

  // npm access grant / revoke / list packages
  /** The package a grant names, with the facts the gate decides on. */
  async function grantTarget(body: Body) {
    const name = stringField(body, 'package');
    if (!isServableName(name)) throw notFound();
    const facts = await packages.facts(name);
    return { name, facts };
  }
  app.put<TeamParams & { Body: Body }>('/-/team/:org/:team/package', signedIn, async (req, reply) => {
    const org = bare(req.params.org);
    const permission = parsePermission(req.body?.permissions);
    const { name, facts } = await grantTarget(req.body);
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
  });
  app.delete<TeamParams & { Body: Body }>('/-/team/:org/:team/package', signedIn, async (req, reply) => {
    const org = bare(req.params.org);
    const { name, facts } = await grantTarget(req.body);
    const principal = await gate.write(req, Action.PackageAccessWrite, facts);
    await revokeTeam(db, org, req.params.team, { id: facts.id!, name }, actorOf(principal), clock());
    packages.invalidate(name);
    return reply.code(204).send();
  });
  app.get<TeamParams>('/-/team/:org/:team/package', async (req) => {
    const org = bare(req.params.org);
    const principal = await orgRead(req, org);
    // Only the packages this reader may see: a restricted package's name is not shown to members outside its teams.
    const visible = await orgPackages(db, org, principal.userId, principal.isAdmin);
    const all = await teamPackages(db, org, req.params.team);
    return Object.fromEntries(Object.entries(all).filter(([name]) => name in visible));
  });
  // npm access list packages NAME: an org's packages, or a user's (npm asks here first either way). A list of
  // packages is a read of each: no right in the org is needed, and what the reader cannot read is left out.
  app.get<OrgParams>('/-/org/:org/package', async (req) => {
    const reader = await gate.read(req);
    const listed = await packagesOfOrgOrUser(db, reader, gate.policy, bare(req.params.org));
    if (!listed) throw notFound();
    return listed;
  });
  // libnpmaccess falls back to this when the org address answers 404: the packages a user maintains.
  app.get<{ Params: { user: string } }>('/-/user/:user/package', async (req) => {
    const reader = await gate.read(req);
    return readablePackages(db, reader, gate.policy, { maintainer: bare(req.params.user) });
  });

  async function readable(req: FastifyRequest<{ Params: { name: string } }>) {
    const name = req.params.name;
    if (!isServableName(name)) throw notFound();
    const facts = await packages.facts(name);
    await gate.readPackage(req, facts);
    return facts;
  }
  app.get<{ Params: { name: string } }>('/-/package/:name/collaborators', async (req) => {
    const facts = await readable(req);
    return collaborators(db, facts.id!);
  });
  app.get<{ Params: { name: string } }>('/-/package/:name/visibility', async (req) => {
    const facts = await readable(req);
    return { public: facts.access === 'public' };
  });

  // npm access set status=public|private (libnpmaccess setAccess); npm access set mfa=… sends the same address.
  app.post<{ Params: { name: string }; Body: Body }>('/-/package/:name/access', signedIn, async (req, reply) => {
    const name = req.params.name;
    if (!isServableName(name)) throw notFound();
    const body = req.body;
    if (!body || typeof body !== 'object' || !('access' in body))
      throw fail(
        'E_ORG_INVALID',
        'only "access" (public or restricted) can be set here: per-package two-factor settings (npm access set mfa) are not supported yet',
      );
    const facts = await packages.facts(name);
    const principal = await gate.write(req, Action.PackageVisibilityWrite, facts);
    await setVisibility(db, { id: facts.id!, name, scope: scopeOf(name) }, body.access, actorOf(principal), clock());
    packages.invalidate(name);
    return reply.code(200).send({});
  });
}
