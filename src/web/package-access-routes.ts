// A package's access page (/-/web/access?package=…): its maintainers and the teams with access, and the forms that
// change them (npm owner add / rm, npm access grant / revoke). Readers of the package see who has access; an org
// owner or admin also reaches it to manage teams' access.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Action } from '../access/decide.ts';
import { grantTeam, packageTeams, parsePermission, revokeTeam, setMaintainers } from '../access/orgs.ts';
import { packageRelation } from '../access/relations.ts';
import { ClientError, fail, notFound } from '../errors.ts';
import { NAME_MAX, Str, Type, schema, type RouteTypes, type Static } from '../http/schemas.ts';
import { isServableName, scopeOf } from '../names/syntax.ts';
import { Field, formChange, formOf, formRoute, signedIn } from './form.ts';
import { viewerOf } from './layout.ts';
import { actorOf, noticeOf } from './org-page.ts';
import { accessHref, accessPage } from './pages/orgs.ts';
import type { WebUi } from './routes.ts';

const AccessRoute = schema({
  querystring: Type.Object({ package: Type.Optional(Str(NAME_MAX)), done: Type.Optional(Str(64)) }),
});
/** The page's forms: each sends the package and the fields of its change (a maintainer, or a team's access). */
const AccessForm = Type.Object({
  package: Field(NAME_MAX),
  user: Field(NAME_MAX),
  team: Field(NAME_MAX * 2),
  permission: Field(32),
});

export function register(scope: FastifyInstance, web: WebUi): void {
  const { db, gate, packages, clock } = web.deps;
  async function packageOf(name: string) {
    if (!isServableName(name)) throw notFound();
    const facts = await packages.facts(name);
    if (facts.id === null) throw notFound();
    return { name, facts, id: facts.id };
  }
  async function renderAccess(
    req: FastifyRequest,
    reply: FastifyReply,
    name: string,
    status = 200,
    error: string | null = null,
    done?: string,
  ) {
    const { facts, id } = await packageOf(name);
    // Readers of the package see who has access; an org owner or admin also reaches it to manage teams' access,
    // which is theirs to change even for a package none of their own teams can read.
    const principal = await gate.readPackage(req, facts).catch(async (err: unknown) => {
      if (err instanceof ClientError && err.code === 'E_NOT_FOUND')
        return gate.authorize(req, Action.PackageAccessWrite, facts);
      throw err;
    });
    if (!principal) throw notFound();
    const session = (await web.sessions.current(req))!;
    const { relation, scopeIsOrg } = await packageRelation(db, principal.userId, facts);
    const org = scopeIsOrg ? scopeOf(name) : null;
    const maintainers = (
      await db
        .selectFrom('maintainers')
        .innerJoin('users', 'users.id', 'maintainers.user_id')
        .select('users.name')
        .where('package_id', '=', id)
        .orderBy('users.name')
        .execute()
    ).map((m) => m.name);
    const canTeams =
      org !== null && (principal.isAdmin || relation.orgRole === 'owner' || relation.orgRole === 'admin');
    const orgTeams = org
      ? (await db.selectFrom('teams').select('name').where('org', '=', org).orderBy('name').execute()).map(
          (t) => `${org}:${t.name}`,
        )
      : [];
    const csrf = await web.csrf.token(req, reply);
    return web.send(
      reply,
      status,
      accessPage({
        viewer: viewerOf(session.user),
        csrf,
        otp: session.user.totp_mode === 'auth-and-writes',
        name,
        access: facts.access === 'public' ? 'public' : 'restricted',
        org,
        maintainers,
        teams: await packageTeams(db, id),
        orgTeams,
        canOwners: facts.maintainerIds.includes(principal.userId),
        canTeams,
        error,
        notice: noticeOf(done),
      }),
    );
  }
  scope.get<RouteTypes<typeof AccessRoute>>('/-/web/access', { schema: AccessRoute }, async (req, reply) => {
    if (!(await signedIn(web.sessions, req, reply))) return reply;
    return renderAccess(req, reply, req.query.package ?? '', 200, null, req.query.done);
  });

  /**
   * A change on the access page. The form is checked before the package is looked up: a form of another shape is
   * refused (400, naming the field) alike for every package name, and the page cannot be drawn without a valid one.
   */
  function accessPost(
    path: string,
    fn: (
      req: FastifyRequest,
      form: Static<typeof AccessForm>,
      pkg: Awaited<ReturnType<typeof packageOf>>,
    ) => Promise<string>,
  ) {
    scope.post(path, formRoute(AccessForm), async (req, reply) => {
      if (!(await signedIn(web.sessions, req, reply))) return reply;
      const form = formOf(req, AccessForm);
      const name = form.package.trim();
      const pkg = await packageOf(name);
      return formChange(req, reply, {
        back: accessHref(name),
        run: () => fn(req, form, pkg),
        render: (status, error) => renderAccess(req, reply, name, status, error),
      });
    });
  }
  const currentMaintainers = async (id: number) =>
    (
      await db
        .selectFrom('maintainers')
        .innerJoin('users', 'users.id', 'maintainers.user_id')
        .select('users.name')
        .where('package_id', '=', id)
        .execute()
    ).map((m) => ({ name: m.name }));
  accessPost('/-/web/access/maintainers', async (req, form, pkg) => {
    const principal = await gate.write(req, Action.PackageOwnersWrite, pkg.facts);
    const user = form.user.trim();
    if (!user) throw fail('E_ORG_INVALID', 'give a username');
    await setMaintainers(
      db,
      { id: pkg.id, name: pkg.name },
      [...(await currentMaintainers(pkg.id)), { name: user }],
      actorOf(principal),
      clock(),
    );
    packages.invalidate(pkg.name);
    return 'maintainer';
  });
  accessPost('/-/web/access/maintainers/remove', async (req, form, pkg) => {
    const principal = await gate.write(req, Action.PackageOwnersWrite, pkg.facts);
    const user = form.user.trim();
    await setMaintainers(
      db,
      { id: pkg.id, name: pkg.name },
      (await currentMaintainers(pkg.id)).filter((m) => m.name !== user),
      actorOf(principal),
      clock(),
    );
    packages.invalidate(pkg.name);
    return 'maintainer-removed';
  });
  const splitTeam = (raw: string) => {
    const m = /^@?([^:]+):(.+)$/.exec(raw);
    if (!m) throw fail('E_ORG_INVALID', 'choose a team (@org:team)');
    return { org: m[1]!, team: m[2]! };
  };
  accessPost('/-/web/access/teams', async (req, form, pkg) => {
    const principal = await gate.write(req, Action.PackageAccessWrite, pkg.facts);
    const { org, team } = splitTeam(form.team.trim());
    await grantTeam(
      db,
      org,
      team,
      { id: pkg.id, name: pkg.name, scope: scopeOf(pkg.name) },
      parsePermission(form.permission.trim()),
      actorOf(principal),
      clock(),
    );
    packages.invalidate(pkg.name);
    return 'granted';
  });
  accessPost('/-/web/access/teams/remove', async (req, form, pkg) => {
    const principal = await gate.write(req, Action.PackageAccessWrite, pkg.facts);
    const { org, team } = splitTeam(form.team.trim());
    await revokeTeam(db, org, team, { id: pkg.id, name: pkg.name }, actorOf(principal), clock());
    packages.invalidate(pkg.name);
    return 'revoked';
  });
}
