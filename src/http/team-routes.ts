// npm team create / destroy / ls (libnpmteam: PUT/GET /-/org/:org/team, DELETE /-/team/:org/:team): an
// organisation's teams. Each change passes the gate with OrgTeamsWrite; the org service records its event.
import type { FastifyInstance } from 'fastify';
import { Action } from '../access/decide.ts';
import { createTeam, deleteTeam, listTeams } from '../access/orgs.ts';
import { orgFacts } from '../access/relations.ts';
import type { Db } from '../store/db.ts';
import type { Gate } from './gate.ts';
import { actorOf, bare, Named, OrgParams, TeamParams } from './org-shapes.ts';
import { Str, Type, schema, type RouteTypes } from './schemas.ts';

export type TeamDeps = { db: Db; gate: Gate; clock: () => number };

const CreateRoute = schema({
  params: OrgParams,
  body: Type.Object({ name: Named, description: Type.Optional(Str(1024)) }),
});
const ListRoute = schema({ params: OrgParams });
const DeleteRoute = schema({ params: TeamParams });

export function register(app: FastifyInstance, deps: TeamDeps): void {
  const { db, gate, clock } = deps;
  const signedIn = { preParsing: gate.signedIn() };

  app.put<RouteTypes<typeof CreateRoute>>(
    '/-/org/:org/team',
    { ...signedIn, schema: CreateRoute },
    async (req, reply) => {
      const org = bare(req.params.org);
      const { name, description = '' } = req.body;
      const principal = await gate.write(req, Action.OrgTeamsWrite, await orgFacts(db, org, null));
      await createTeam(db, org, name, description, actorOf(principal), clock());
      return reply.code(201).send({ name, description });
    },
  );
  app.get<RouteTypes<typeof ListRoute>>('/-/org/:org/team', { schema: ListRoute }, async (req) => {
    const org = bare(req.params.org);
    await gate.authorize(req, Action.OrgRead, await orgFacts(db, org, null));
    return listTeams(db, org);
  });
  app.delete<RouteTypes<typeof DeleteRoute>>(
    '/-/team/:org/:team',
    { ...signedIn, schema: DeleteRoute },
    async (req, reply) => {
      const org = bare(req.params.org);
      const principal = await gate.write(req, Action.OrgTeamsWrite, await orgFacts(db, org, null));
      await deleteTeam(db, org, req.params.team, actorOf(principal), clock());
      return reply.code(204).send();
    },
  );
}
