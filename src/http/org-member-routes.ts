// npm org set / rm / ls (libnpmorg: PUT/DELETE/GET /-/org/:org/user): an organisation's members and their roles.
// Each handler loads the facts, passes the gate with one action (writes also pass the second-factor check), then calls
// the org service, which records the change's domain event in the same transaction.
import type { FastifyInstance } from 'fastify';
import { Action } from '../access/decide.ts';
import { listMembers, parseRole, removeMember, setMember, userIdByName } from '../access/orgs.ts';
import { orgFacts } from '../access/relations.ts';
import type { Db } from '../store/db.ts';
import type { Gate } from './gate.ts';
import { actorOf, bare, Named, OrgParams } from './org-shapes.ts';
import { Str, Type, schema, type RouteTypes } from './schemas.ts';

export type OrgMemberDeps = { db: Db; gate: Gate; clock: () => number };

const SetRoute = schema({ params: OrgParams, body: Type.Object({ user: Named, role: Type.Optional(Str(32)) }) });
const RemoveRoute = schema({ params: OrgParams, body: Type.Object({ user: Named }) });
const ListRoute = schema({ params: OrgParams });

export function register(app: FastifyInstance, deps: OrgMemberDeps): void {
  const { db, gate, clock } = deps;
  // Every change here needs a principal, known from the headers before the body is read (Gate.signedIn).
  const signedIn = { preParsing: gate.signedIn() };

  app.put<RouteTypes<typeof SetRoute>>('/-/org/:org/user', { ...signedIn, schema: SetRoute }, async (req) => {
    const org = bare(req.params.org);
    const user = bare(req.body.user);
    const role = parseRole(req.body.role);
    const principal = await gate.write(
      req,
      Action.OrgMembersWrite,
      await orgFacts(db, org, null, { userId: await userIdByName(db, user), newRole: role }),
    );
    return setMember(db, org, user, role, actorOf(principal), clock());
  });
  app.delete<RouteTypes<typeof RemoveRoute>>(
    '/-/org/:org/user',
    { ...signedIn, schema: RemoveRoute },
    async (req, reply) => {
      const org = bare(req.params.org);
      const user = bare(req.body.user);
      const principal = await gate.write(
        req,
        Action.OrgMembersWrite,
        await orgFacts(db, org, null, { userId: await userIdByName(db, user), newRole: null }),
      );
      await removeMember(db, org, user, actorOf(principal), clock());
      return reply.code(204).send();
    },
  );
  app.get<RouteTypes<typeof ListRoute>>('/-/org/:org/user', { schema: ListRoute }, async (req) => {
    const org = bare(req.params.org);
    await gate.authorize(req, Action.OrgRead, await orgFacts(db, org, null));
    return listMembers(db, org);
  });
}
