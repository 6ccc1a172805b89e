// A token can carry org-administration rights only for orgs whose administration its owner holds: asked of decide()
// (org:tokens:admin for read-write, org:read for read-only) before the token is made, by every way of making one.
// The rights are checked again on every use anyway; this refuses, with a reason, a token that could never work.
import { Action, decide } from './decide.ts';
import type { Principal } from './principal.ts';
import { orgFacts } from './relations.ts';
import { fail } from '../errors.ts';
import type { Db } from '../store/db.ts';
import type { UserRow } from '../store/schema.ts';
import type { TokenScope } from '../tokens/scope.ts';

/** The owner as a principal with no token restriction, as decide() sees an account acting for itself. */
export const ownerPrincipal = (
  user: Pick<UserRow, 'id' | 'name' | 'email' | 'is_admin' | 'email_verified'>,
): Principal => ({
  userId: user.id,
  name: user.name,
  email: user.email,
  isAdmin: user.is_admin === 1,
  emailVerified: user.email_verified === 1,
  tokenId: 0,
  tokenReadonly: false,
});

/** Throws 403 naming the first org in the scope whose administration the owner may not hand to a token. */
export async function checkOrgRights(db: Db, owner: Principal, scope: TokenScope): Promise<void> {
  if (scope.orgs.permission === 'no-access') return;
  const action = scope.orgs.permission === 'read-write' ? Action.OrgTokenAdmin : Action.OrgRead;
  for (const org of scope.orgs.names) {
    const d = decide({ ...owner, tokenScope: null }, action, await orgFacts(db, org, owner), { readAccess: 'public' });
    if (!d.allow) {
      throw fail(
        'E_TOKEN_SCOPE',
        action === Action.OrgTokenAdmin
          ? `a token can administer @${org} only if you are an owner or admin of it`
          : `a token can read @${org} only if you are a member of it`,
      );
    }
  }
}
