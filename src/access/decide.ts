// The one place that decides whether a principal may do something. Pure: the caller loads the facts about the
// resource (and the principal's relation to it), this function only reasons about them, and deny is the default answer.
//
// Two kinds of rights are kept apart on purpose (AUTHZ-2): managing people (org roles: owner, admin, developer) and
// changing packages (maintainership, or a team's read-write grant). No org role by itself lets anyone publish.
import type { ErrorCode } from '../errors.ts';
import type { Principal } from './principal.ts';
import { tokenScopeDecision } from '../tokens/scope.ts';

export const Action = {
  DistTagsWrite: 'package:dist-tags:write',
  /** the moderation queue: act on an item (dismiss, quarantine, release, remove as malicious). */
  ModerationAct: 'registry:moderation:act',
  /** the moderation queue: lock the publisher of an item's version. */
  ModerationLock: 'registry:moderation:lock',
  /** the moderation queue and its items. */
  ModerationRead: 'registry:moderation:read',
  /** the name-safety page: check names, see reservations and allowed names. */
  NamesRead: 'registry:names:read',
  /** allow a name the name guard refuses. */
  NamesWrite: 'registry:names:write',
  OrgCreate: 'org:create',
  OrgDelete: 'org:delete',
  OrgMembersWrite: 'org:members:write',
  OrgRead: 'org:read',
  OrgTeamsWrite: 'org:teams:write',
  /** creating a token that carries org-administration rights for this org. */
  OrgTokenAdmin: 'org:tokens:admin',
  PackageAccessWrite: 'package:access:write',
  PackageCreate: 'package:create',
  PackageDeprecate: 'package:versions:deprecate',
  PackageModerate: 'package:moderate',
  PackageOwnersWrite: 'package:owners:write',
  PackagePublish: 'package:versions:publish',
  PackageRead: 'package:read',
  /** npm star / unstar: the caller's own mark on a package they can see; no right on the package is needed. */
  PackageStar: 'package:star',
  PackageUnpublish: 'package:versions:unpublish',
  /** npm access set status=public|private. */
  PackageVisibilityWrite: 'package:visibility:write',
  /** report a package or version to the moderators (GEN-2b). */
  ReportCreate: 'report:create',
  /** answer a report from the security form. */
  SecurityReportsAnswer: 'registry:security-reports:answer',
  /** everyone's reports from the security form (GEN-1a). */
  SecurityReportsRead: 'registry:security-reports:read',
  /** the administrators' account pages: users, their state and security history. */
  UsersRead: 'registry:users:read',
  /** disable, enable, delete, force a password reset, recover an account. */
  UsersWrite: 'registry:users:write',
} as const;
export type ActionValue = (typeof Action)[keyof typeof Action];

/** The actions whose resource is an organisation (OrgFacts); every other action is about a package (PackageFacts). */
export const ORG_ACTIONS: readonly ActionValue[] = [
  Action.OrgCreate,
  Action.OrgDelete,
  Action.OrgMembersWrite,
  Action.OrgRead,
  Action.OrgTeamsWrite,
  Action.OrgTokenAdmin,
];

/**
 * The registry's own administration (its staff: moderators and administrators, docs/access-control.md) and who may do
 * each: 'moderator' (moderators and administrators) or 'admin' (administrators only). An action not listed here is not
 * a staff action: with RegistryFacts it is refused.
 */
export const STAFF_ACTIONS = {
  [Action.ModerationRead]: 'moderator',
  [Action.ModerationAct]: 'moderator',
  [Action.ModerationLock]: 'moderator',
  [Action.NamesRead]: 'admin',
  [Action.NamesWrite]: 'admin',
  [Action.SecurityReportsRead]: 'admin',
  [Action.SecurityReportsAnswer]: 'admin',
  [Action.UsersRead]: 'admin',
  [Action.UsersWrite]: 'admin',
} as const satisfies Partial<Record<ActionValue, 'moderator' | 'admin'>>;
export type StaffAction = keyof typeof STAFF_ACTIONS;
export const isStaffAction = (action: ActionValue): action is StaffAction => Object.hasOwn(STAFF_ACTIONS, action);

export const ORG_ROLES = ['owner', 'admin', 'developer'] as const;
export type OrgRole = (typeof ORG_ROLES)[number];
export const TEAM_PERMISSIONS = ['read-only', 'read-write'] as const;
export type TeamPermission = (typeof TEAM_PERMISSIONS)[number];

/**
 * What the asking principal is to the resource. It is loaded for that principal on each decision that needs it (the
 * write gate, reads of restricted packages), never cached with the package, so membership changes apply at once.
 * Absent means "not loaded": decide() then treats the principal as a stranger.
 */
export type Relation = {
  /** the principal's role in the org the resource belongs to (the package's scope), if any. */
  orgRole: OrgRole | null;
  /** the strongest grant any of the principal's teams holds on the package. */
  teamGrant: TeamPermission | null;
  /**
   * for a package in an org scope that is not published yet, or that the principal has no grant on (a publish to it
   * is decided as a first publish, see decideInvisiblePublish): the principal is on the org's "developers" team.
   */
  developer: boolean;
};

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
  /** the package's id, when it exists (loaders use it to find the principal's relation). */
  id?: number | null;
  /** the package's scope is an organisation. */
  scopeIsOrg?: boolean;
  relation?: Relation;
  /**
   * Set when the package has no version left (unpublished or removed): its name is held for its maintainers until
   * `until` (open while that has not passed), and after that only an administrator can give it out again.
   */
  nameHold?: { since: number; until: number; open: boolean } | null;
};

/** Facts about an organisation (a scope with members) for the org actions. */
export type OrgFacts = {
  kind: 'org';
  org: string;
  /** the scope is an organisation already. */
  exists: boolean;
  scopeOwnerId: number | null;
  scopeNamesakeId: number | null;
  relation?: Pick<Relation, 'orgRole'>;
  /** for OrgMembersWrite: the member being changed, their current and requested role (null = not a member / removal). */
  target?: { currentRole: OrgRole | null; newRole: OrgRole | null; ownerCount: number };
};

/** Facts for the registry's own administration (STAFF_ACTIONS). */
export type RegistryFacts = {
  kind: 'registry';
  /**
   * The moderation-queue item an action is about, when it is about one: a security-form item is about the registry
   * itself (administrators only), and only an administrator can lock an administrator's account.
   */
  item?: { securityForm: boolean; publisherIsAdmin: boolean };
};

/** The registry as a whole, for staff actions not about one item. */
export const REGISTRY: RegistryFacts = { kind: 'registry' };

export type Facts = PackageFacts | OrgFacts | RegistryFacts;

export type Policy = {
  readAccess: 'public' | 'authenticated';
  /** who verifies a new account before it may change anything: the owner by an emailed link, or an administrator. */
  emailVerification?: 'email' | 'admin';
};

/** code tells the HTTP layer how to refuse: E_AUTH_REQUIRED asks for credentials, E_NOT_FOUND stays invisible. */
export type Decision = { allow: true } | { allow: false; code: ErrorCode; reason: string };

const ALLOW: Decision = { allow: true };
const deny = (code: ErrorCode, reason: string): Decision => ({ allow: false, code, reason });
const NOT_FOUND = deny('E_NOT_FOUND', 'Not found');

export const isOrgFacts = (facts: Facts): facts is OrgFacts => (facts as OrgFacts).kind === 'org';
export const isRegistryFacts = (facts: Facts): facts is RegistryFacts => (facts as RegistryFacts).kind === 'registry';

/**
 * How strongly a write is confirmed once it is allowed (invariant 4): true when the account's second-factor policy
 * applies to it (an account in auth-and-writes mode sends a one-time password; see http/second-factor.ts). Every
 * write asks, staff actions included, except filing a report: it changes nothing the reporter controls, is limited
 * per account and address, and must stay as easy as reading the package.
 */
export const secondFactorApplies = (action: ActionValue): boolean => action !== Action.ReportCreate;

export function decide(principal: Principal | null, action: ActionValue, pkg: Facts, policy: Policy): Decision {
  if (isRegistryFacts(pkg)) return decideRegistry(principal, action, pkg);
  // A token can only narrow what its owner may do, so its scope is asked first (tokens/scope.ts).
  const scoped = isOrgFacts(pkg)
    ? tokenScopeDecision(principal, action, null, pkg.org)
    : tokenScopeDecision(principal, action, pkg.name, pkg.scope, pkg.access);
  if (scoped) return scoped;
  if (isOrgFacts(pkg)) return decideOrg(principal, action, pkg);
  if (action === Action.PackageRead) return decideRead(principal, pkg, policy);
  // Reporting a package asks only that the reporter may read it: unverified and read-only principals report too.
  if (action === Action.ReportCreate)
    return principal
      ? decideRead(principal, pkg, policy)
      : deny('E_AUTH_REQUIRED', 'reporting needs an account: sign in, or run `npm login` or pass a token');

  if (!principal)
    return deny('E_AUTH_REQUIRED', 'authentication required: run `npm login` or add a token to your .npmrc');
  if (principal.tokenReadonly)
    return deny('E_TOKEN_READONLY', 'this token is read-only and cannot be used to publish or change packages');
  if (!principal.emailVerified)
    return deny(
      'E_EMAIL_UNVERIFIED',
      policy.emailVerification === 'admin'
        ? `the email address of "${principal.name}" is not verified yet: an administrator of this registry must approve the account before it can publish`
        : `the email address of "${principal.name}" is not verified yet: follow the link in the verification email before publishing`,
    );

  switch (action) {
    case Action.PackageCreate: {
      if (pkg.access !== null) return deny('E_NAME_TAKEN', 'package already exists');
      if (pkg.scope === null) return ALLOW;
      if (pkg.scopeIsOrg) {
        // Creating a package in an org is publishing: it takes the developers team, not an org role.
        if (pkg.relation?.developer) return ALLOW;
        return deny(
          'E_FORBIDDEN',
          `publishing a new package in @${pkg.scope} needs membership of the @${pkg.scope}:developers team`,
        );
      }
      const owner = pkg.scopeOwnerId ?? pkg.scopeNamesakeId;
      if (owner === null || owner === principal.userId) return ALLOW;
      return deny(
        'E_NAME_TAKEN',
        `the scope @${pkg.scope} belongs to another account: you cannot publish packages in it`,
      );
    }
    case Action.PackagePublish:
      if (!canRead(principal, pkg)) return decideInvisiblePublish(principal, pkg, policy);
      if (pkg.nameHold) return decideHeldName(principal, pkg, pkg.nameHold);
      return decideChange(principal, pkg);
    case Action.DistTagsWrite:
    case Action.PackageDeprecate:
    case Action.PackageUnpublish:
      return decideChange(principal, pkg);
    case Action.PackageOwnersWrite:
    case Action.PackageVisibilityWrite:
      if (pkg.access === null) return NOT_FOUND;
      if (pkg.maintainerIds.includes(principal.userId)) return ALLOW;
      if (!canRead(principal, pkg)) return NOT_FOUND;
      return deny(
        'E_FORBIDDEN',
        action === Action.PackageOwnersWrite
          ? 'only a maintainer of this package can change its maintainers'
          : 'only a maintainer of this package can change who may install it',
      );
    case Action.PackageAccessWrite: {
      if (pkg.access === null) return NOT_FOUND;
      const role = pkg.relation?.orgRole ?? null;
      if (pkg.scopeIsOrg && (role === 'owner' || role === 'admin' || principal.isAdmin)) return ALLOW;
      if (!canRead(principal, pkg)) return NOT_FOUND;
      if (!pkg.scopeIsOrg)
        return deny('E_FORBIDDEN', 'team access can only be granted on packages in an organisation scope');
      return deny('E_FORBIDDEN', `only an owner or admin of @${pkg.scope} can change which teams may use this package`);
    }
    case Action.PackageStar:
      // Starring changes nothing of the package: seeing it is enough, and one that cannot be seen is not there.
      return pkg.access !== null && canRead(principal, pkg) ? ALLOW : NOT_FOUND;
    case Action.PackageModerate:
      if (principal.isModerator || principal.isAdmin) return ALLOW;
      if (pkg.access === null || !canRead(principal, pkg)) return NOT_FOUND;
      return deny('E_FORBIDDEN', 'only registry moderators can do this');
    default:
      return deny('E_FORBIDDEN', 'this action does not apply to a package');
  }
}

/** Changing a package's versions and tags: its maintainers and teams with read-write access. */
function decideChange(principal: Principal, pkg: PackageFacts): Decision {
  if (pkg.access === null) return NOT_FOUND;
  if (pkg.maintainerIds.includes(principal.userId) || pkg.relation?.teamGrant === 'read-write') return ALLOW;
  if (!canRead(principal, pkg)) return NOT_FOUND;
  return deny(
    'E_FORBIDDEN',
    'you do not have permission to change this package: you are not one of its maintainers and no team of yours has read-write access to it',
  );
}

/**
 * Publishing to a package this principal cannot see: answered as the first publish of a free name would be, since
 * any other answer would tell a stranger the package exists (invariant 6). Only someone who could create a package
 * of that name learns that it is taken: that cannot be hidden from them, as the publish would otherwise succeed.
 */
function decideInvisiblePublish(principal: Principal, pkg: PackageFacts, policy: Policy): Decision {
  const free: PackageFacts = {
    ...pkg,
    id: null,
    access: null,
    maintainerIds: [],
    nameHold: null,
    relation: { orgRole: pkg.relation?.orgRole ?? null, teamGrant: null, developer: pkg.relation?.developer ?? false },
  };
  const asNew = decide(principal, Action.PackageCreate, free, policy);
  return asNew.allow
    ? deny('E_NAME_TAKEN', `the name "${pkg.name ?? ''}" is taken: publish under another name`)
    : asNew;
}

/** Publishing to a name whose package was unpublished: its maintainers, and only while the hold lasts. */
function decideHeldName(
  principal: Principal,
  pkg: PackageFacts,
  hold: NonNullable<PackageFacts['nameHold']>,
): Decision {
  if (!canRead(principal, pkg)) return NOT_FOUND;
  const since = new Date(hold.since).toISOString().slice(0, 10);
  const until = new Date(hold.until).toISOString().slice(0, 10);
  const admin = 'after that only a registry administrator can give the name out again (bulwark admin package transfer)';
  if (!pkg.maintainerIds.includes(principal.userId) && pkg.relation?.teamGrant !== 'read-write')
    return deny(
      'E_NAME_HELD',
      `"${pkg.name}" was unpublished on ${since}; its name is held for its previous maintainers until ${until}, and ${admin}`,
    );
  if (!hold.open)
    return deny(
      'E_NAME_HELD',
      `"${pkg.name}" was unpublished on ${since} and the hold for its previous maintainers ended on ${until}: ${admin}`,
    );
  return ALLOW;
}

/** Everyone who may see a restricted package: maintainers, its teams, the scope's owner, administrators. */
function canRead(principal: Principal | null, pkg: PackageFacts): boolean {
  if (pkg.access === 'public') return true;
  if (!principal || pkg.access === null) return false;
  // The owner of a personal scope reads everything in it; an organisation's scope has no single owner (its creator
  // stays recorded as scope owner, which must not outlive their membership).
  const scopeOwner = !pkg.scopeIsOrg && pkg.scopeOwnerId === principal.userId;
  return (
    principal.isAdmin ||
    pkg.maintainerIds.includes(principal.userId) ||
    scopeOwner ||
    (pkg.relation?.teamGrant ?? null) !== null
  );
}

/**
 * The registry's own administration. Its pages and actions do not advertise themselves: anyone who may not use one
 * gets the 404 of a missing page (a moderator on an administrator's page too); a signed-out caller is asked to sign in.
 * Then, as everywhere, a token can only narrow: no token scope reaches registry administration, and a read-only token
 * only reads.
 */
function decideRegistry(principal: Principal | null, action: ActionValue, facts: RegistryFacts): Decision {
  if (!isStaffAction(action)) return deny('E_FORBIDDEN', 'this action does not apply to the registry');
  if (!principal) return deny('E_AUTH_REQUIRED', 'authentication required: sign in');
  const admin = principal.isAdmin;
  // isModerator absent means "not loaded": not a moderator.
  const staff = admin || principal.isModerator === true;
  if (!(STAFF_ACTIONS[action] === 'admin' ? admin : staff)) return NOT_FOUND;
  if (facts.item?.securityForm && !admin) return NOT_FOUND;
  const scoped = tokenScopeDecision(principal, action, null, null);
  if (scoped) return scoped;
  if (principal.tokenReadonly && !action.endsWith(':read'))
    return deny('E_TOKEN_READONLY', 'this token is read-only and cannot be used to change anything');
  if (action === Action.ModerationLock && facts.item?.publisherIsAdmin && !admin)
    return deny('E_FORBIDDEN', 'only an administrator can lock an administrator’s account');
  return ALLOW;
}

function decideRead(principal: Principal | null, pkg: PackageFacts, policy: Policy): Decision {
  // Asked first, so an anonymous client of a private registry cannot even learn which names exist.
  if (!principal && policy.readAccess === 'authenticated')
    return deny('E_AUTH_REQUIRED', 'this registry requires authentication for every read: run `npm login`');
  if (pkg.access === null) return NOT_FOUND;
  return canRead(principal, pkg) ? ALLOW : NOT_FOUND;
}

function decideOrg(principal: Principal | null, action: ActionValue, org: OrgFacts): Decision {
  if (!principal)
    return deny('E_AUTH_REQUIRED', 'authentication required: run `npm login` or add a token to your .npmrc');
  // A scoped token's org rights were settled by tokenScopeDecision; the readonly flag only restricts classic tokens
  // (a token for org administration alone is "read-only" as far as packages go).
  const readonlyToken = principal.tokenReadonly && !principal.tokenScope;
  if (action === Action.OrgCreate) {
    if (readonlyToken) return deny('E_TOKEN_READONLY', 'this token is read-only and cannot be used to change anything');
    if (!principal.emailVerified)
      return deny('E_EMAIL_UNVERIFIED', `the email address of "${principal.name}" is not verified yet`);
    if (org.exists) return deny('E_NAME_TAKEN', `@${org.org} is already an organisation`);
    const owner = org.scopeOwnerId ?? org.scopeNamesakeId;
    if (owner === null || owner === principal.userId || principal.isAdmin) return ALLOW;
    return deny(
      'E_NAME_TAKEN',
      `the scope @${org.org} belongs to another account: only its owner can turn it into an organisation`,
    );
  }
  if (!org.exists) return NOT_FOUND;
  const role = org.relation?.orgRole ?? null;
  // Administrators act as owners everywhere (recovering an org whose owners are gone); nobody else sees a foreign org.
  const effective: OrgRole | null = principal.isAdmin ? 'owner' : role;
  if (effective === null) return NOT_FOUND;
  if (action === Action.OrgRead) return ALLOW;
  if (readonlyToken) return deny('E_TOKEN_READONLY', 'this token is read-only and cannot be used to change anything');
  if (!principal.emailVerified)
    return deny('E_EMAIL_UNVERIFIED', `the email address of "${principal.name}" is not verified yet`);
  const manager = effective === 'owner' || effective === 'admin';
  switch (action) {
    case Action.OrgDelete:
      return effective === 'owner' ? ALLOW : deny('E_FORBIDDEN', `only an owner of @${org.org} can delete it`);
    case Action.OrgTeamsWrite:
    case Action.OrgTokenAdmin:
      return manager ? ALLOW : deny('E_FORBIDDEN', `only an owner or admin of @${org.org} can manage its teams`);
    case Action.OrgMembersWrite: {
      if (!manager) return deny('E_FORBIDDEN', `only an owner or admin of @${org.org} can manage its members`);
      const t = org.target;
      if (!t) return deny('E_FORBIDDEN', 'no member named');
      const touchesOwner = t.currentRole === 'owner' || t.newRole === 'owner';
      if (touchesOwner && effective !== 'owner')
        return deny('E_FORBIDDEN', `only an owner of @${org.org} can add, remove or change owners`);
      if (t.currentRole === 'owner' && t.newRole !== 'owner' && t.ownerCount <= 1)
        return deny('E_FORBIDDEN', `@${org.org} must keep at least one owner: make someone else an owner first`);
      return ALLOW;
    }
    default:
      return deny('E_FORBIDDEN', 'this action does not apply to an organisation');
  }
}
