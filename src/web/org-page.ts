// What the organisation pages share (pages/orgs.ts): the notices a change redirects back with, drawing the org page
// again with a refusal, and registering a change under /-/web/org/:org. Every change goes through the same gate as
// npm's commands — decide() with the signed-in session as principal, then the write checks — so a page can never
// allow what `npm org`, `npm team`, `npm access` or `npm owner` would refuse. Successes redirect (303) back with a
// notice; refusals re-render the page with the reason and the gate's status; invisible things stay 404.
import type { TObject } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Action } from '../access/decide.ts';
import { listMembers, orgPackageNames, orgPackages, teamDetails, type Actor } from '../access/orgs.ts';
import { orgFacts } from '../access/relations.ts';
import type { Principal } from '../access/principal.ts';
import { NAME_MAX, Str, Type, schema, type RouteTypes } from '../http/schemas.ts';
import { formChange, formRoute, signedIn } from './form.ts';
import { viewerOf } from './layout.ts';
import { orgHref, orgPage } from './pages/orgs.ts';
import type { WebUi } from './routes.ts';

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

/** The `?done=` a change redirects back with. */
export const DoneQuery = Type.Object({ done: Type.Optional(Str(64)) });

/** The notice for a page's `?done=` (a GET's query, checked by DoneQuery); none when a refusal draws the page. */
export const noticeOf = (done: string | undefined): string | null =>
  done === undefined ? null : (NOTICES[done] ?? null);

export const actorOf = (p: Principal): Actor => ({ id: p.userId, name: p.name });

export const OrgParams = Type.Object({ org: Str(NAME_MAX) });
/** /-/web/org/:org/… and /-/web/org/:org/teams/:team/…: the team only in the second. */
export const TeamParams = Type.Object({ org: Str(NAME_MAX), team: Type.Optional(Str(NAME_MAX)) });
export const OrgRoute = schema({ params: OrgParams, querystring: DoneQuery });

/** The org page for this request, with a refusal's reason and status when a change was refused. */
export async function renderOrg(
  web: WebUi,
  req: FastifyRequest,
  reply: FastifyReply,
  org: string,
  status = 200,
  error: string | null = null,
  done?: string,
) {
  const { db, gate } = web.deps;
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
      notice: noticeOf(done),
    }),
  );
}

/**
 * A change posted under /-/web/org/:org (members, teams, team members): sign-in, the form checked against `fields`,
 * then the change, then back to the org page — or the org page again with the refusal.
 */
export function orgChange<S extends TObject>(
  scope: FastifyInstance,
  web: WebUi,
  path: string,
  fields: S,
  fn: (req: FastifyRequest<RouteTypes<{ params: typeof TeamParams }>>, org: string) => Promise<string>,
): void {
  scope.post<RouteTypes<{ params: typeof TeamParams }>>(
    path,
    { ...formRoute(fields), schema: { params: TeamParams, body: fields } },
    async (req, reply) => {
      if (!(await signedIn(web.sessions, req, reply))) return reply;
      const org = req.params.org;
      return formChange(req, reply, {
        back: orgHref(org),
        run: () => fn(req, org),
        render: (status, error) => renderOrg(web, req, reply, org, status, error),
      });
    },
  );
}
