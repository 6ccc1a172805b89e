// Who is on a team, on the organisation's page: adding and removing a team member (npm team add / rm).
import type { FastifyInstance } from 'fastify';
import { Action } from '../access/decide.ts';
import { addTeamMember, removeTeamMember } from '../access/orgs.ts';
import { orgFacts } from '../access/relations.ts';
import { NAME_MAX, Type } from '../http/schemas.ts';
import { Field, formOf } from './form.ts';
import { actorOf, orgChange } from './org-page.ts';
import type { WebUi } from './routes.ts';

const MemberForm = Type.Object({ user: Field(NAME_MAX) });

export function register(scope: FastifyInstance, web: WebUi): void {
  const { db, gate, clock } = web.deps;
  orgChange(scope, web, '/-/web/org/:org/teams/:team/members', MemberForm, async (req, org) => {
    const user = formOf(req, MemberForm).user.trim();
    const principal = await gate.write(req, Action.OrgTeamsWrite, await orgFacts(db, org, null));
    await addTeamMember(db, org, req.params.team ?? '', user, actorOf(principal), clock());
    return 'team-member';
  });
  orgChange(scope, web, '/-/web/org/:org/teams/:team/members/remove', MemberForm, async (req, org) => {
    const user = formOf(req, MemberForm).user.trim();
    const principal = await gate.write(req, Action.OrgTeamsWrite, await orgFacts(db, org, null));
    await removeTeamMember(db, org, req.params.team ?? '', user, actorOf(principal), clock());
    return 'team-member-removed';
  });
}
