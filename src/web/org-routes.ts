// The web pages for organisations, teams, members and package access (pages/orgs.ts). Every change goes through the
// same gate as npm's commands — decide() with the signed-in session as principal, then the write checks — so a page
// can never allow what `npm org`, `npm team`, `npm access` or `npm owner` would refuse. Successes redirect (303) back
// with a notice; refusals re-render the page with the reason and the gate's status; invisible things stay 404.
import { viewerOf } from './layout.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Action, type OrgRole } from '../access/decide.ts';
import {
  addTeamMember,
  createOrg,
  createTeam,
  deleteOrg,
  deleteTeam,
  grantTeam,
  listMembers,
  orgPackageNames,
  orgPackages,
  packageTeams,
  parsePermission,
  parseRole,
  removeMember,
  removeTeamMember,
  revokeTeam,
  setMaintainers,
  setMember,
  teamDetails,
  userIdByName,
  type Actor,
} from '../access/orgs.ts';
import { orgFacts, packageRelation } from '../access/relations.ts';
import type { Principal } from '../access/principal.ts';
import { ClientError, fail, notFound } from '../errors.ts';
import { isServableName, scopeOf } from '../names/syntax.ts';
import { accessHref, accessPage, orgHref, orgPage, orgsPage } from './pages/orgs.ts';
import type { WebUi } from './routes.ts';
import type { WebSession } from './session.ts';

type Form = Record<string, string | undefined>;
type OrgParams = { Params: { org: string } };
type TeamParams = { Params: { org: string; team: string } };

const NOTICES: Record<string, string> = {
  created: 'The organisation was created. You are its owner and on its developers team.',
  member: 'The member was saved.',
  'member-removed': 'The member was removed from the organisation and its teams.',
  team: 'The team was created.',
  'team-deleted': 'The team was deleted, with its access to packages.',
  'team-member': 'The team member was added.',
  'team-member-removed': 'The team member was removed.',
  'org-deleted':
    'The organisation was deleted. Its packages stay, with their maintainers; the scope is now yours alone.',
  maintainer: 'The maintainer was added.',
  'maintainer-removed': 'The maintainer was removed.',
  granted: 'The team’s access was saved.',
  revoked: 'The team’s access was revoked.',
};

const field = (req: FastifyRequest, name: string): string => {
  const v = (req.body as Form | null)?.[name];
  return typeof v === 'string' ? v.trim() : '';
};
const capital = (s: string) => s.replace(/^./, (c) => c.toUpperCase()).replace(/([^.])$/, '$1.');

export function registerOrgPages(web: WebUi): void {
  const { db, gate, packages, clock } = web.deps;
  const notice = (req: FastifyRequest) => NOTICES[String((req.query as Form | undefined)?.done)] ?? null;

  web.extend((scope) => {
    /** The signed-in session, or a redirect to sign in (then null). */
    async function signedIn(req: FastifyRequest, reply: FastifyReply): Promise<WebSession | null> {
      const session = await web.sessions.current(req);
      if (!session) {
        await reply
          .code(303)
          .header('location', `/-/web/signin?next=${encodeURIComponent(req.url)}`)
          .send();
        return null;
      }
      return session;
    }

    /**
     * Runs one change. The form's one-time password stands in for npm's npm-otp header, so the gate's second-factor
     * check applies to the page exactly as to the CLI. A refusal other than 404 re-renders the page with its reason.
     */
    async function change(
      req: FastifyRequest,
      reply: FastifyReply,
      back: string,
      fn: () => Promise<string>,
      render: (status: number, error: string) => Promise<FastifyReply>,
    ) {
      const otp = field(req, 'otp');
      if (otp) req.headers['npm-otp'] = otp;
      let done: string;
      try {
        done = await fn();
      } catch (err) {
        if (!(err instanceof ClientError) || err.code === 'E_NOT_FOUND') throw err;
        req.log.info({ cause: 'org-change-refused', status: err.status }, err.message);
        // The page shows the reason; the OTP challenge's header is for npm, not the browser.
        return render(
          err.status,
          capital(
            err.message.replace(
              /: run the command again with --otp=CODE$/,
              ': enter the code from your authenticator app',
            ),
          ),
        );
      }
      return reply
        .code(303)
        .header('location', `${back}${back.includes('?') ? '&' : '?'}done=${done}`)
        .send();
    }
    const actor = (p: Principal): Actor => ({ id: p.userId, name: p.name });

    // ---- organisations -------------------------------------------------------------------------------------------
    async function renderOrgs(
      req: FastifyRequest,
      reply: FastifyReply,
      session: WebSession,
      status = 200,
      error: string | null = null,
    ) {
      const rows = await db
        .selectFrom('org_members')
        .select(['org', 'role'])
        .where('user_id', '=', session.user.id)
        .orderBy('org')
        .execute();
      const csrf = await web.csrf.token(req, reply);
      return web.send(
        reply,
        status,
        orgsPage({
          viewer: viewerOf(session.user),
          csrf,
          otp: session.user.totp_mode === 'auth-and-writes',
          orgs: rows.map((r) => ({ name: r.org, role: r.role as OrgRole })),
          error,
          notice: notice(req),
          name: error ? field(req, 'name') : '',
        }),
      );
    }
    scope.get('/-/web/orgs', async (req, reply) => {
      const session = await signedIn(req, reply);
      return session ? renderOrgs(req, reply, session) : reply;
    });
    scope.post('/-/web/orgs', async (req, reply) => {
      const session = await signedIn(req, reply);
      if (!session) return reply;
      const name = field(req, 'name').replace(/^@/, '').toLowerCase();
      return change(
        req,
        reply,
        orgHref(name),
        async () => {
          if (!name) throw fail('E_ORG_INVALID', 'give the organisation a name');
          const principal = await gate.write(req, Action.OrgCreate, await orgFacts(db, name, null));
          await createOrg(db, name, principal.name, actor(principal), clock());
          return 'created';
        },
        (status, error) => renderOrgs(req, reply, session, status, error),
      );
    });

    async function renderOrg(
      req: FastifyRequest,
      reply: FastifyReply,
      org: string,
      status = 200,
      error: string | null = null,
    ) {
      const principal = await gate.authorize(req, Action.OrgRead, await orgFacts(db, org, null));
      const session = (await web.sessions.current(req))!;
      const [members, teams, pkgs] = await Promise.all([
        listMembers(db, org),
        teamDetails(db, org),
        orgPackages(db, org, principal.userId, principal.isAdmin),
      ]);
      const myRole = members[principal.name] ?? null;
      const effective = principal.isAdmin ? 'owner' : myRole;
      // Team grants on packages this viewer may not see are left out, as everywhere else.
      for (const t of teams) t.packages = Object.fromEntries(Object.entries(t.packages).filter(([p]) => p in pkgs));
      const manage = effective === 'owner' || effective === 'admin';
      // Owners and admins manage every package's team access, so they see every package name of the org.
      const listed: Record<string, 'read' | 'write' | 'none'> = {
        ...(manage ? Object.fromEntries((await orgPackageNames(db, org)).map((n) => [n, 'none' as const])) : {}),
        ...pkgs,
      };
      const csrf = await web.csrf.token(req, reply);
      return web.send(
        reply,
        status,
        orgPage({
          viewer: viewerOf(session.user),
          csrf,
          otp: session.user.totp_mode === 'auth-and-writes',
          org,
          myRole,
          manage,
          owner: effective === 'owner',
          members,
          teams,
          packages: listed,
          error,
          notice: notice(req),
        }),
      );
    }
    scope.get<OrgParams>('/-/web/org/:org', async (req, reply) => {
      const session = await signedIn(req, reply);
      return session ? renderOrg(req, reply, req.params.org) : reply;
    });

    /** A POST under /-/web/org/:org: sign-in, then the change, then back to the org page. */
    function orgPost(path: string, fn: (req: FastifyRequest<TeamParams>, org: string) => Promise<string>) {
      scope.post<TeamParams>(path, async (req, reply) => {
        if (!(await signedIn(req, reply))) return reply;
        const org = req.params.org;
        return change(
          req,
          reply,
          orgHref(org),
          () => fn(req, org),
          (status, error) => renderOrg(req, reply, org, status, error),
        );
      });
    }
    scope.post<OrgParams>('/-/web/org/:org/delete', async (req, reply) => {
      const session = await signedIn(req, reply);
      if (!session) return reply;
      const org = req.params.org;
      return change(
        req,
        reply,
        '/-/web/orgs',
        async () => {
          if (field(req, 'confirm') !== org)
            throw fail('E_ORG_INVALID', `type the organisation's name (${org}) to confirm`);
          const principal = await gate.write(req, Action.OrgDelete, await orgFacts(db, org, null));
          await deleteOrg(db, org, actor(principal), clock());
          return 'org-deleted';
        },
        (status, error) => renderOrg(req, reply, org, status, error),
      );
    });
    orgPost('/-/web/org/:org/members', async (req, org) => {
      const user = field(req, 'user');
      const role = parseRole(field(req, 'role'));
      if (!user) throw fail('E_ORG_INVALID', 'give a username');
      const principal = await gate.write(
        req,
        Action.OrgMembersWrite,
        await orgFacts(db, org, null, { userId: await userIdByName(db, user), newRole: role }),
      );
      await setMember(db, org, user, role, actor(principal), clock());
      return 'member';
    });
    orgPost('/-/web/org/:org/members/remove', async (req, org) => {
      const user = field(req, 'user');
      const principal = await gate.write(
        req,
        Action.OrgMembersWrite,
        await orgFacts(db, org, null, { userId: await userIdByName(db, user), newRole: null }),
      );
      await removeMember(db, org, user, actor(principal), clock());
      return 'member-removed';
    });
    orgPost('/-/web/org/:org/teams', async (req, org) => {
      const principal = await gate.write(req, Action.OrgTeamsWrite, await orgFacts(db, org, null));
      await createTeam(db, org, field(req, 'name'), field(req, 'description'), actor(principal), clock());
      return 'team';
    });
    orgPost('/-/web/org/:org/teams/:team/delete', async (req, org) => {
      const principal = await gate.write(req, Action.OrgTeamsWrite, await orgFacts(db, org, null));
      await deleteTeam(db, org, req.params.team, actor(principal), clock());
      return 'team-deleted';
    });
    orgPost('/-/web/org/:org/teams/:team/members', async (req, org) => {
      const principal = await gate.write(req, Action.OrgTeamsWrite, await orgFacts(db, org, null));
      await addTeamMember(db, org, req.params.team, field(req, 'user'), actor(principal), clock());
      return 'team-member';
    });
    orgPost('/-/web/org/:org/teams/:team/members/remove', async (req, org) => {
      const principal = await gate.write(req, Action.OrgTeamsWrite, await orgFacts(db, org, null));
      await removeTeamMember(db, org, req.params.team, field(req, 'user'), actor(principal), clock());
      return 'team-member-removed';
    });

    // ---- package access --------------------------------------------------------------------------------------------
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
          notice: notice(req),
        }),
      );
    }
    scope.get<{ Querystring: { package?: string } }>('/-/web/access', async (req, reply) => {
      if (!(await signedIn(req, reply))) return reply;
      return renderAccess(req, reply, String(req.query.package ?? ''));
    });

    function accessPost(
      path: string,
      fn: (req: FastifyRequest, pkg: Awaited<ReturnType<typeof packageOf>>) => Promise<string>,
    ) {
      scope.post(path, async (req, reply) => {
        if (!(await signedIn(req, reply))) return reply;
        const name = field(req, 'package');
        const pkg = await packageOf(name);
        return change(
          req,
          reply,
          accessHref(name),
          () => fn(req, pkg),
          (status, error) => renderAccess(req, reply, name, status, error),
        );
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
    accessPost('/-/web/access/maintainers', async (req, pkg) => {
      const principal = await gate.write(req, Action.PackageOwnersWrite, pkg.facts);
      const user = field(req, 'user');
      if (!user) throw fail('E_ORG_INVALID', 'give a username');
      await setMaintainers(
        db,
        { id: pkg.id, name: pkg.name },
        [...(await currentMaintainers(pkg.id)), { name: user }],
        actor(principal),
        clock(),
      );
      packages.invalidate(pkg.name);
      return 'maintainer';
    });
    accessPost('/-/web/access/maintainers/remove', async (req, pkg) => {
      const principal = await gate.write(req, Action.PackageOwnersWrite, pkg.facts);
      const user = field(req, 'user');
      await setMaintainers(
        db,
        { id: pkg.id, name: pkg.name },
        (await currentMaintainers(pkg.id)).filter((m) => m.name !== user),
        actor(principal),
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
    accessPost('/-/web/access/teams', async (req, pkg) => {
      const principal = await gate.write(req, Action.PackageAccessWrite, pkg.facts);
      const { org, team } = splitTeam(field(req, 'team'));
      await grantTeam(
        db,
        org,
        team,
        { id: pkg.id, name: pkg.name, scope: scopeOf(pkg.name) },
        parsePermission(field(req, 'permission')),
        actor(principal),
        clock(),
      );
      packages.invalidate(pkg.name);
      return 'granted';
    });
    accessPost('/-/web/access/teams/remove', async (req, pkg) => {
      const principal = await gate.write(req, Action.PackageAccessWrite, pkg.facts);
      const { org, team } = splitTeam(field(req, 'team'));
      await revokeTeam(db, org, team, { id: pkg.id, name: pkg.name }, actor(principal), clock());
      packages.invalidate(pkg.name);
      return 'revoked';
    });
  });
}
