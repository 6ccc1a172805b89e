// npm team add / rm / ls-users (libnpmteam: PUT/DELETE/GET /-/team/:org/:team/user): who is on a team.
import type { FastifyInstance } from 'fastify';
import { Action } from '../access/decide.ts';
import { addTeamMember, listTeamMembers, removeTeamMember } from '../access/orgs.ts';
import { orgFacts } from '../access/relations.ts';
import type { Db } from '../store/db.ts';
import type { Gate } from './gate.ts';
import { actorOf, bare, Named, TeamParams } from './org-shapes.ts';
import { Type, schema, type RouteTypes } from './schemas.ts';

export type TeamMemberDeps = { db: Db; gate: Gate; clock: () => number };

const ChangeRoute = schema({ params: TeamParams, body: Type.Object({ user: Named }) });
const ListRoute = schema({ params: TeamParams });

export function register(app: FastifyInstance, deps: TeamMemberDeps): void {
  const { db, gate, clock } = deps;
  const signedIn = { preParsing: gate.signedIn() };

  app.put<RouteTypes<typeof ChangeRoute>>(
    '/-/team/:org/:team/user',
    { ...signedIn, schema: ChangeRoute },
    async (req, reply) => {
      const org = bare(req.params.org);
      const principal = await gate.write(req, Action.OrgTeamsWrite, await orgFacts(db, org, null));
      await addTeamMember(db, org, req.params.team, bare(req.body.user), actorOf(principal), clock());
      return reply.code(201).send({});
    },
  );
  app.delete<RouteTypes<typeof ChangeRoute>>(
    '/-/team/:org/:team/user',
    { ...signedIn, schema: ChangeRoute },
    async (req, reply) => {
      const org = bare(req.params.org);
      const principal = await gate.write(req, Action.OrgTeamsWrite, await orgFacts(db, org, null));
      await removeTeamMember(db, org, req.params.team, bare(req.body.user), actorOf(principal), clock());
      return reply.code(204).send();
    },
  );
  app.get<RouteTypes<typeof ListRoute>>('/-/team/:org/:team/user', { schema: ListRoute }, async (req) => {
    const org = bare(req.params.org);
    await gate.authorize(req, Action.OrgRead, await orgFacts(db, org, null));
    return listTeamMembers(db, org, req.params.team);
  });
}
