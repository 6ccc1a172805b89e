// Table types for Kysely. Times are integer milliseconds since the epoch; flags are 0/1 integers, so the same
// rows round-trip identically through SQLite and PostgreSQL.
import type { Generated, Selectable } from 'kysely';

export type Database = {
  users: UsersTable;
  tokens: TokensTable;
  scopes: ScopesTable;
  packages: PackagesTable;
  maintainers: MaintainersTable;
  versions: VersionsTable;
  published_versions: PublishedVersionsTable;
  dist_tags: DistTagsTable;
  dependency_edges: DependencyEdgesTable;
  events: EventsTable;
  consumer_cursors: ConsumerCursorsTable;
  downloads: DownloadsTable;
  sessions: SessionsTable;
  email_tokens: EmailTokensTable;
  recovery_codes: RecoveryCodesTable;
  web_logins: WebLoginsTable;
  rate_limits: RateLimitsTable;
  outbox: OutboxTable;
  orgs: OrgsTable;
  org_members: OrgMembersTable;
  teams: TeamsTable;
  team_members: TeamMembersTable;
  team_packages: TeamPackagesTable;
};

export type UsersTable = {
  id: Generated<number>;
  name: string;
  email: string;
  password_hash: string;
  email_verified: number;
  is_admin: number;
  created_at: number;
  /** sealed TOTP seed, or null. */
  totp_secret: Generated<string | null>;
  /** 'disabled', 'auth-only' or 'auth-and-writes', as on npmjs.com. */
  totp_mode: Generated<string>;
  totp_last_step: Generated<number>;
  disabled_at: Generated<number | null>;
  /** set when an administrator deleted the account: disabled for good, email and secrets scrubbed, name kept. */
  deleted_at: Generated<number | null>;
  /** registry-level moderator (reports, quarantine review); grants no rights on packages. */
  is_moderator: Generated<number>;
  /** npm's public profile fields (`npm profile set`); null when not given. */
  fullname: Generated<string | null>;
  homepage: Generated<string | null>;
  freenode: Generated<string | null>;
  twitter: Generated<string | null>;
  github: Generated<string | null>;
  /** the mode a pending enrolment (totp_secret set, totp_mode 'disabled') turns on when confirmed; null: auth-and-writes. */
  totp_pending_mode: Generated<string | null>;
};

export type TokensTable = {
  id: Generated<number>;
  user_id: number;
  /** hex SHA-256 of the whole token string; the token itself is never stored. */
  token_hash: string;
  /** the first characters, shown in listings so a user can tell tokens apart. */
  display: string;
  name: string;
  /** 'session' (from npm login) or 'publish' (created by an operator or the user). */
  kind: string;
  readonly: number;
  /** JSON restrictions (packages, scopes, CIDR ranges…); null means none. Filled by later capabilities. */
  restrictions: string | null;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  last_used_ip: string | null;
  revoked_at: number | null;
};

export type ScopesTable = {
  name: string;
  owner_user_id: number;
  created_at: number;
};

export type PackagesTable = {
  id: Generated<number>;
  name: string;
  scope: string | null;
  access: string;
  description: string;
  keywords: string;
  latest_version: string | null;
  rev: number;
  created_at: number;
  modified_at: number;
  /** when the package lost its last version by unpublish or removal; its name is held for its maintainers since. */
  unpublished_at: Generated<number | null>;
};

export type MaintainersTable = {
  package_id: number;
  user_id: number;
};

export type VersionsTable = {
  id: Generated<number>;
  package_id: number;
  version: string;
  /** The version document as served (without dist.tarball, which depends on the public URL). */
  manifest: string;
  integrity: string;
  shasum: string;
  /** hex sha512 of the tarball: its key in the blob store. */
  blob: string;
  size: number;
  readme: string;
  published_at: number;
  publisher_id: number;
  /**
   * 'visible'; 'held' (the publish-time scan stopped it: never visible yet), 'quarantined' (hidden by a moderator),
   * 'unpublished' (by a maintainer) or 'removed' (as malicious). Only 'visible' versions are ever served.
   */
  state: string;
  /** npm deprecate's message; null when the version is not deprecated. */
  deprecated: Generated<string | null>;
  /** the publish-time scan's verdict ('clean', 'suspicious', 'malicious', 'timeout'), null when not scanned. */
  scan_verdict: Generated<string | null>;
  scan_score: Generated<number | null>;
  /** for a held version: the dist-tag its publish asked for, set when a moderator releases it. */
  held_tag: Generated<string | null>;
  /**
   * JSON [[path, size], …] of the files npm installs, in path order, at most tarball/inspect.ts MAX_LISTED_FILES;
   * null for a version published before lists were kept, until its page first reads the tarball.
   */
  files: Generated<string | null>;
};

/** Every name@version ever published. Rows are never deleted, so a pair can never be published twice. */
export type PublishedVersionsTable = {
  name: string;
  version: string;
  integrity: string;
  published_at: number;
};

/** One installed dependency of one version (packages/dependencies.ts). */
export type DependencyEdgesTable = {
  package_id: number;
  version: string;
  dependency: string;
  range: string;
};

export type DistTagsTable = {
  package_id: number;
  tag: string;
  version: string;
};

export type EventsTable = {
  seq: Generated<number>;
  kind: string;
  /** what the event is about, e.g. a package name or user name. */
  subject: string;
  actor_id: number | null;
  data: string;
  created_at: number;
};

export type ConsumerCursorsTable = {
  name: string;
  position: number;
  lease_owner: string | null;
  lease_until: number;
};

export type DownloadsTable = {
  package_id: number;
  version: string;
  day: string;
  count: number;
};

export type SessionsTable = {
  id: Generated<number>;
  user_id: number;
  session_hash: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  ip: string;
  user_agent: string;
  revoked_at: number | null;
};

/** Single-use links sent by email (verify-email, reset-password), bound to the address they went to. */
export type EmailTokensTable = {
  id: Generated<number>;
  user_id: number;
  purpose: string;
  token_hash: string;
  email: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
};

export type RecoveryCodesTable = {
  id: Generated<number>;
  user_id: number;
  code_hash: string;
  created_at: number;
  used_at: number | null;
};

/** npm's web login: the CLI polls done_hash's URL while the user signs in at login_hash's URL. */
export type WebLoginsTable = {
  id: Generated<number>;
  login_hash: string;
  done_hash: string;
  create_account: number;
  created_at: number;
  expires_at: number;
  user_id: number | null;
  token_sealed: string | null;
  delivered_at: number | null;
};

export type OutboxTable = {
  id: Generated<number>;
  recipient: string;
  subject: string;
  body: string;
  created_at: number;
  attempts: Generated<number>;
  /** also the claim: a sender moves it forward before sending, so two nodes never send the same email. */
  next_attempt_at: number;
  sent_at: number | null;
  last_error: string | null;
};

export type RateLimitsTable = {
  key: string;
  failures: number;
  window_start: number;
  blocked_until: number;
};

/** A scope shared by members (npm's organisations). The matching scopes row claims the name. */
export type OrgsTable = {
  name: string;
  created_at: number;
};

export type OrgMembersTable = {
  org: string;
  user_id: number;
  /** npm's org roles: 'owner', 'admin' or 'developer'. */
  role: string;
  created_at: number;
};

export type TeamsTable = {
  id: Generated<number>;
  org: string;
  name: string;
  description: string;
  created_at: number;
};

export type TeamMembersTable = {
  team_id: number;
  user_id: number;
};

/** npm access grant: a team's permission on a package, 'read-only' or 'read-write'. */
export type TeamPackagesTable = {
  team_id: number;
  package_id: number;
  permission: string;
};

export type UserRow = Selectable<UsersTable>;
export type TokenRow = Selectable<TokensTable>;
export type PackageRow = Selectable<PackagesTable>;
export type VersionRow = Selectable<VersionsTable>;
export type EventRow = Selectable<EventsTable>;
export type SessionRow = Selectable<SessionsTable>;
