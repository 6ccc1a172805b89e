// The one place that decides whether a principal may do something. Pure: the caller loads the facts about the
// resource, this function only reasons about them, and deny is the default answer.
import type { Principal } from './principal.ts';
import { tokenScopeDecision } from '../tokens/scope.ts';

export const Action = {
  DistTagsWrite: 'package:dist-tags:write',
  PackageCreate: 'package:create',
  PackagePublish: 'package:versions:publish',
  PackageRead: 'package:read',
} as const;
export type ActionValue = (typeof Action)[keyof typeof Action];

export type PackageFacts = {
  /** the package's name, which token scopes are checked against (a token limited to other packages is refused). */
  name?: string;
  /** null when the package does not exist yet. */
  access: 'public' | 'restricted' | null;
  maintainerIds: readonly number[];
  scope: string | null;
  /** owner of the package's scope, if the scope has been claimed. */
  scopeOwnerId: number | null;
  /** the user, if any, whose name equals the scope: a user's own scope is theirs even before first use. */
  scopeNamesakeId: number | null;
};

export type Policy = { readAccess: 'public' | 'authenticated' };

/** status tells the HTTP layer how to refuse: 401 to ask for credentials, 403 to refuse, 404 to stay invisible. */
export type Decision = { allow: true } | { allow: false; status: 401 | 403 | 404; reason: string };

const ALLOW: Decision = { allow: true };
const deny = (status: 401 | 403 | 404, reason: string): Decision => ({ allow: false, status, reason });

export function decide(principal: Principal | null, action: ActionValue, pkg: PackageFacts, policy: Policy): Decision {
  // A token can only narrow what its owner may do, so its scope is asked first (tokens/scope.ts).
  const scoped = tokenScopeDecision(principal, action, pkg.name, pkg.scope, pkg.access);
  if (scoped) return scoped;
  if (action === Action.PackageRead) return decideRead(principal, pkg, policy);

  if (!principal) return deny(401, 'authentication required: run `npm login` or add a token to your .npmrc');
  if (principal.tokenReadonly) return deny(403, 'this token is read-only and cannot be used to publish or change packages');
  if (!principal.emailVerified) return deny(403, `the email address of "${principal.name}" is not verified yet: follow the link in the verification email before publishing`);

  switch (action) {
    case Action.PackageCreate: {
      if (pkg.access !== null) return deny(403, 'package already exists');
      if (pkg.scope === null) return ALLOW;
      const owner = pkg.scopeOwnerId ?? pkg.scopeNamesakeId;
      if (owner === null || owner === principal.userId) return ALLOW;
      return deny(403, `the scope @${pkg.scope} belongs to another account: you cannot publish packages in it`);
    }
    case Action.PackagePublish:
    case Action.DistTagsWrite:
      if (pkg.access !== null && pkg.maintainerIds.includes(principal.userId)) return ALLOW;
      if (pkg.access === 'restricted' && !principal.isAdmin) return deny(404, 'Not found');
      return deny(403, `you do not have permission to change this package: you are not one of its maintainers`);
    default:
      return deny(403, 'unknown action');
  }
}

function decideRead(principal: Principal | null, pkg: PackageFacts, policy: Policy): Decision {
  // Asked first, so an anonymous client of a private registry cannot even learn which names exist.
  if (!principal && policy.readAccess === 'authenticated') return deny(401, 'this registry requires authentication for every read: run `npm login`');
  if (pkg.access === null) return deny(404, 'Not found');
  if (pkg.access === 'public') return ALLOW;
  if (principal && (principal.isAdmin || pkg.maintainerIds.includes(principal.userId) || pkg.scopeOwnerId === principal.userId)) return ALLOW;
  return deny(404, 'Not found');
}
