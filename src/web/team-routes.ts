// An organisation's teams on its page: creating one and deleting one (npm team create / destroy).
import type { FastifyInstance } from 'fastify';
import { Action } from '../access/decide.ts';
import { createTeam, deleteTeam } from '../access/orgs.ts';
import { orgFacts } from '../access/relations.ts';
import { NAME_MAX, Type } from '../http/schemas.ts';
import { Field, formOf } from './form.ts';
import { actorOf, orgChange } from './org-page.ts';
import type { WebUi } from './routes.ts';

const TeamForm = Type.Object({ name: Field(NAME_MAX), description: Field(1024) });
const NoFields = Type.Object({});

export function register(scope: FastifyInstance, web: WebUi): void {
  const { db, gate, clock } = web.deps;
  orgChange(scope, web, '/-/web/org/:org/teams', TeamForm, async (req, org) => {
    const form = formOf(req, TeamForm);
    const principal = await gate.write(req, Action.OrgTeamsWrite, await orgFacts(db, org, null));
    await createTeam(db, org, form.name.trim(), form.description.trim(), actorOf(principal), clock());
    return 'team';
  });
  orgChange(scope, web, '/-/web/org/:org/teams/:team/delete', NoFields, async (req, org) => {
    formOf(req, NoFields);
    const principal = await gate.write(req, Action.OrgTeamsWrite, await orgFacts(db, org, null));
    await deleteTeam(db, org, req.params.team ?? '', actorOf(principal), clock());
    return 'team-deleted';
  });
}
