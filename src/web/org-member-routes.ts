// An organisation's members on its page: adding one or changing their role, and removing one (npm org set / rm).
import type { FastifyInstance } from 'fastify';
import { Action } from '../access/decide.ts';
import { parseRole, removeMember, setMember, userIdByName } from '../access/orgs.ts';
import { orgFacts } from '../access/relations.ts';
import { fail } from '../errors.ts';
import { NAME_MAX, Type } from '../http/schemas.ts';
import { Field, formOf } from './form.ts';
import { actorOf, orgChange } from './org-page.ts';
import type { WebUi } from './routes.ts';

const MemberForm = Type.Object({ user: Field(NAME_MAX), role: Field(32) });
const RemoveForm = Type.Object({ user: Field(NAME_MAX) });

export function register(scope: FastifyInstance, web: WebUi): void {
  const { db, gate, clock } = web.deps;
  orgChange(scope, web, '/-/web/org/:org/members', MemberForm, async (req, org) => {
    const form = formOf(req, MemberForm);
    const user = form.user.trim();
    const role = parseRole(form.role.trim());
    if (!user) throw fail('E_ORG_INVALID', 'give a username');
    const principal = await gate.write(
      req,
      Action.OrgMembersWrite,
      await orgFacts(db, org, null, { userId: await userIdByName(db, user), newRole: role }),
    );
    await setMember(db, org, user, role, actorOf(principal), clock());
    return 'member';
  });
  orgChange(scope, web, '/-/web/org/:org/members/remove', RemoveForm, async (req, org) => {
    const user = formOf(req, RemoveForm).user.trim();
    const principal = await gate.write(
      req,
      Action.OrgMembersWrite,
      await orgFacts(db, org, null, { userId: await userIdByName(db, user), newRole: null }),
    );
    await removeMember(db, org, user, actorOf(principal), clock());
    return 'member-removed';
  });
}
