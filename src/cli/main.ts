// The bulwark command: `serve` runs the registry; `admin …` manages users and tokens against the same data
// directory or database. Every command answers --help.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pino from 'pino';
import {
  OPERATOR,
  RECOVERY_WAIT_MS,
  cancelRecovery,
  completeRecovery,
  deleteUser,
  disableUser,
  enableUser,
  forcePasswordReset,
  listUsers,
  startRecovery,
  userDetail,
  type UserQuery,
} from '../accounts/admin.ts';
import { createOrg, setModerator } from '../access/orgs.ts';
import { securityHistory } from '../accounts/security-history.ts';
import { createUser, findUser, markEmailVerified } from '../accounts/users.ts';
import { ConfigError, StartupError, settingsHelp } from '../config.ts';
import { ClientError } from '../errors.ts';
import type { Store } from '../store/db.ts';
import { WRITE_DEFAULT_DAYS, WRITE_MAX_DAYS, planToken, scopeSummary, type ScopeRequest } from '../tokens/scope.ts';
import { checkOrgRights, ownerPrincipal } from '../access/org-rights.ts';
import { createToken, listTokens, revokeOwnToken } from '../tokens/service.ts';
import { LOG_COMMANDS } from './log-commands.ts';
import { NAMES_COMMANDS } from './names-commands.ts';
import { SCAN_COMMANDS } from './scan-commands.ts';
import { PACKAGE_COMMANDS } from './package-commands.ts';
import { KEYS_COMMANDS } from './keys-commands.ts';
import { STORE_HELP, STORE_OPTIONS, settingsOf, withServices, type Command } from './command.ts';
import { REPORT_COMMANDS } from './report-commands.ts';
import { APPROVAL_COMMANDS } from './approval-commands.ts';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const COMMON = { ...STORE_OPTIONS, help: { type: 'boolean' as const, short: 'h' } };

const COMMANDS: Record<string, Command> = {
  serve: {
    usage: 'bulwark serve [options]',
    summary: 'run the registry',
    help: `Runs the registry. Settings come from options, then environment variables, then the config file, then defaults.

Options:
${settingsHelp()}
  --config <file>          JSON config file (env BULWARK_CONFIG): an object whose keys are the option names above
                           ("data-dir"), their camelCase form ("dataDir") or their environment variables

Secrets at rest are encrypted with BULWARK_SECRET_KEY (at least 32 characters), or with a key generated into the data
directory on first start: back that file up.`,
    async run({ values }) {
      const settings = settingsOf(values);
      // The HTTP application is most of what the CLI could load; the one-shot commands (scan, names check…) never
      // need it, and load in a third of the time without it.
      const { openServices, startRegistry } = await import('../app.ts');
      const logger = pino({
        level: settings.logLevel,
        base: { service: 'bulwark' },
        redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["npm-otp"]'],
      });
      // A port another process holds is found before anything is opened or written.
      await checkPortFree(settings.host, settings.port);
      const registry = await startRegistry(await openServices(settings, { logger }));
      logger.info(
        { url: registry.url, database: registry.store.dialect, dataDir: settings.dataDir },
        `Bulwark ${VERSION} listening on ${registry.url}`,
      );
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          logger.info({ signal }, 'shutting down');
          resolve();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await registry.close();
      return 0;
    },
  },
  'admin user create': {
    usage: 'bulwark admin user create NAME --email EMAIL [--admin] --password-stdin',
    summary: 'create a user (counts as email-verified)',
    positionals: ['NAME'],
    options: { email: { type: 'string' }, admin: { type: 'boolean' }, 'password-stdin': { type: 'boolean' } },
    help: `Creates a user account. Accounts created by an operator count as email-verified.

Options:
  --email <address>        the user's email address (required)
  --admin                  make the user a registry administrator
  --password-stdin         read the password from standard input (required; at least 10 characters)

Example:
  printf '%s' "$PASSWORD" | bulwark admin user create alice --email alice@example.com --admin --password-stdin

${STORE_HELP}`,
    async run({ values, positionals }) {
      const [name] = positionals;
      if (typeof values.email !== 'string') throw usageError('--email is required');
      if (!values['password-stdin'])
        throw usageError('--password-stdin is required: pass the password on standard input, never as an argument');
      const password = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
      return withServices(values, async ({ store }) => {
        const user = await createUser(store.db, {
          name: name!,
          email: values.email as string,
          password,
          isAdmin: !!values.admin,
          emailVerified: true,
          actorId: null,
        });
        console.log(`created ${user.is_admin ? 'administrator' : 'user'} ${user.name} <${user.email}>`);
        return 0;
      });
    },
  },
  'org create': {
    usage: 'bulwark org create @NAME --owner USER',
    summary: 'make a scope an organisation with USER as its first owner',
    positionals: ['@NAME'],
    options: { owner: { type: 'string' } },
    help: `Makes @NAME an organisation (npm's orgs: members with the roles owner, admin and developer, and teams) with
USER as its first owner and member of its "developers" team. An unclaimed scope is claimed; a scope that belonged to
one account becomes shared, its packages and their maintainers unchanged. Then manage it with npm org, npm team and
npm access, or on the web pages under /-/web/orgs. Signed-in users can also create orgs there themselves.

Example:
  bulwark org create @acme --owner alice

${STORE_HELP}`,
    async run({ values, positionals }) {
      const name = positionals[0]!.replace(/^@/, '');
      if (typeof values.owner !== 'string' || values.owner === '') throw usageError('--owner USER is required');
      const owner = values.owner;
      return withServices(values, async ({ store }) => {
        await createOrg(store.db, name, owner, null, Date.now());
        console.log(`created the organisation @${name} with owner ${owner}`);
        return 0;
      });
    },
  },
  'admin user moderator': {
    usage: 'bulwark admin user moderator NAME [--off]',
    summary: 'give (or take back) the registry moderator role',
    positionals: ['NAME'],
    options: { off: { type: 'boolean' } },
    help: `Makes NAME a registry moderator (reviews reports and quarantined versions), or with --off takes the role back.
The role gives no right to publish or to change any package or organisation.\n\n${STORE_HELP}`,
    async run({ values, positionals }) {
      return withServices(values, async ({ store }) => {
        await setModerator(store.db, positionals[0]!, !values.off, null, Date.now());
        console.log(`${positionals[0]} is ${values.off ? 'no longer' : 'now'} a moderator`);
        return 0;
      });
    },
  },
  'admin user verify-email': {
    usage: 'bulwark admin user verify-email NAME',
    summary: "mark a user's email address as verified",
    positionals: ['NAME'],
    help: `Marks the user's email address as verified, which allows them to publish.\n\n${STORE_HELP}`,
    async run({ values, positionals }) {
      return withServices(values, async ({ store }) => {
        const user = await findUser(store.db, positionals[0]!);
        if (!user) throw new ClientError('E_NOT_FOUND', `no user named ${positionals[0]}`);
        await markEmailVerified(store.db, user, null);
        console.log(`verified the email address ${user.email} of ${user.name}`);
        return 0;
      });
    },
  },
  'admin user list': {
    usage: 'bulwark admin user list [--query TEXT] [--status active|disabled|deleted|admin] [--limit N]',
    summary: 'list or find users',
    options: { query: { type: 'string' }, status: { type: 'string' }, limit: { type: 'string' } },
    help: `Lists accounts, newest first, optionally only those whose name or email contains TEXT.

Options:
  --query <text>           match names and email addresses containing the text
  --status <status>        only active, disabled, deleted or admin accounts
  --limit <n>              at most n accounts (default 50, at most 500)

${STORE_HELP}`,
    async run({ values }) {
      const status = values.status;
      if (status !== undefined && !['active', 'disabled', 'deleted', 'admin'].includes(String(status)))
        throw usageError('--status must be one of active, disabled, deleted, admin');
      const limit = values.limit === undefined ? 50 : Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500)
        throw usageError('--limit must be a whole number from 1 to 500');
      return withServices(values, async ({ store }) => {
        const { users, total } = await listUsers(store.db, {
          text: typeof values.query === 'string' ? values.query : '',
          status: status as UserQuery['status'],
          limit,
        });
        for (const u of users) {
          const flags = [
            u.status,
            u.is_admin ? 'admin' : null,
            u.email_verified ? null : 'unverified',
            u.totp_mode === 'disabled' ? null : '2fa',
          ]
            .filter(Boolean)
            .join(',');
          console.log(`${u.name}\t${u.email || '-'}\t${flags}\t${new Date(u.created_at).toISOString()}`);
        }
        console.error(`${users.length} of ${total} account${total === 1 ? '' : 's'}`);
        return 0;
      });
    },
  },
  'admin user show': {
    usage: 'bulwark admin user show NAME [--history N]',
    summary: "an account's state and security history",
    positionals: ['NAME'],
    options: { history: { type: 'string' } },
    help: `Shows an account: status, email, second factor, live sessions and tokens, packages, a pending recovery, and its
security history (newest first).

Options:
  --history <n>            how many history entries to show (default 20)

${STORE_HELP}`,
    async run({ values, positionals }) {
      const n = values.history === undefined ? 20 : Number(values.history);
      if (!Number.isInteger(n) || n < 0 || n > 10_000)
        throw usageError('--history must be a whole number from 0 to 10000');
      return withServices(values, async ({ store }) => {
        const d = await userDetail(store.db, positionals[0]!);
        const u = d.user;
        console.log(`name:            ${u.name}${u.is_admin ? ' (administrator)' : ''}
status:          ${d.status}
email:           ${u.email || '-'} (${u.email_verified ? 'verified' : 'not verified'})
second factor:   ${u.totp_mode}
created:         ${new Date(u.created_at).toISOString()}
live sessions:   ${d.liveSessions}
live tokens:     ${d.liveTokens}
packages:        ${d.packages.join(', ') || '-'}`);
        if (d.pendingRecovery)
          console.log(
            `pending recovery: started ${new Date(d.pendingRecovery.startedAt).toISOString()} by ${d.pendingRecovery.by}, can be completed after ${new Date(d.pendingRecovery.notBefore).toISOString()}`,
          );
        if (n > 0) {
          console.log('\nsecurity history:');
          for (const line of await historyLines(store, u.name, n)) console.log(`  ${line}`);
        }
        return 0;
      });
    },
  },
  'admin user disable': adminAction(
    'disable',
    'disable an account: its sessions and tokens stop working at once',
    'Disables the account: every web session and token is revoked at once and no sign-in succeeds until it is enabled again.',
    async (db, name, reason) => {
      const r = await disableUser(db, name, OPERATOR, reason);
      return `disabled ${name}: revoked ${r.sessions} session(s) and ${r.tokens} token(s)`;
    },
  ),
  'admin user enable': adminAction(
    'enable',
    'enable a disabled account again',
    'Enables a disabled account. Its old sessions and tokens stay revoked.',
    async (db, name, reason) => {
      await enableUser(db, name, OPERATOR, reason);
      return `enabled ${name}`;
    },
  ),
  'admin user delete': adminAction(
    'delete',
    'delete an account for good (its name stays reserved)',
    'Deletes the account: its email, password, second factor, sessions and tokens are removed; its name stays reserved so no one else can take it. Published versions stay. Packages it maintained alone are listed: give them a maintainer.',
    async (db, name, reason) => {
      const r = await deleteUser(db, name, OPERATOR, reason);
      return `deleted ${name}${r.orphaned.length ? `\npackages now without a maintainer: ${r.orphaned.join(', ')}` : ''}`;
    },
  ),
  'admin user force-reset': adminAction(
    'force-reset',
    'force a password reset (signs out everything)',
    'Makes the password unusable, revokes every session and token, and emails a reset link to the verified address. Use it when an account may be compromised.',
    async (db, name, reason) => {
      const r = await forcePasswordReset(db, name, OPERATOR, reason);
      return `reset the password of ${name}: revoked ${r.sessions} session(s) and ${r.tokens} token(s); ${r.linkSent ? 'a reset link is being emailed to the verified address' : 'the account has no verified address: use "bulwark admin user recover" to give it one'}`;
    },
  ),
  'admin user recover': {
    usage:
      'bulwark admin user recover NAME [--email ADDRESS] [--remove-2fa] [--reason TEXT] [--evidence TEXT] [--complete | --cancel]',
    summary: 'administrator-assisted account recovery (two steps, with a waiting period)',
    positionals: ['NAME'],
    options: {
      email: { type: 'string' },
      'remove-2fa': { type: 'boolean' },
      reason: { type: 'string' },
      evidence: { type: 'string' },
      complete: { type: 'boolean' },
      cancel: { type: 'boolean' },
    },
    help: `Recovers an account for someone who lost their second factor and recovery codes, or their email address, after
the checks in docs/security/account-recovery.md. It takes two steps:

  1. start:    bulwark admin user recover NAME --email NEW --remove-2fa --reason "…" --evidence "…"
               records the plan and emails the account's current address; nothing changes yet.
  2. complete: bulwark admin user recover NAME --complete        (only after the ${RECOVERY_WAIT_MS / 3_600_000}-hour waiting period)
               applies the plan: every session and token is revoked, the second factor removed and/or the email
               changed (a verification link goes to the new address), and the password made unusable, so the owner
               chooses a new one with "Forgot password".
  cancel:      bulwark admin user recover NAME --cancel --reason "…"

Every step is a recorded event and appears in the account's security history.

${STORE_HELP}`,
    async run({ values, positionals }) {
      const name = positionals[0]!;
      const reason = typeof values.reason === 'string' ? values.reason : '';
      return withServices(values, async ({ store }) => {
        if (values.complete) {
          const done = await completeRecovery(store.db, name, OPERATOR);
          console.log(
            `recovered ${name}${done.newEmail ? `: a verification link is being sent to ${done.newEmail}` : ''}${done.disableMfa ? '; two-factor authentication removed' : ''}; the owner now sets a password with "Forgot password"`,
          );
        } else if (values.cancel) {
          await cancelRecovery(store.db, name, OPERATOR, reason);
          console.log(`cancelled the pending recovery of ${name}`);
        } else {
          const plan = await startRecovery(store.db, name, OPERATOR, {
            newEmail: typeof values.email === 'string' ? values.email : null,
            disableMfa: !!values['remove-2fa'],
            reason,
            evidence: typeof values.evidence === 'string' ? values.evidence : '',
          });
          console.log(
            `started the recovery of ${name}; the account's current address is being told. Complete it after ${new Date(plan.notBefore).toISOString()} with:\n  bulwark admin user recover ${name} --complete`,
          );
        }
        return 0;
      });
    },
  },
  'admin token create': {
    usage: 'bulwark admin token create USER [--name NAME] [--readonly] [--expires-days N]',
    summary: 'print a new token for a user on all their packages (shown once)',
    positionals: ['USER'],
    options: { name: { type: 'string' }, readonly: { type: 'boolean' }, 'expires-days': { type: 'string' } },
    help: `Creates a token for USER on all of their packages and prints it once, alone on its line. Only its SHA-256 hash
is stored: it cannot be shown again. Put it in .npmrc as //HOST/:_authToken=TOKEN. For a token limited to some
packages, scopes or addresses, use "bulwark token create".

Options:
  --name <text>            a label to tell tokens apart (default: "created by an operator")
  --readonly               the token can read but not publish or change anything
  --expires-days <n>       the token stops working after n days (publishing tokens: ${WRITE_DEFAULT_DAYS} by default, at most
                           ${WRITE_MAX_DAYS}; read-only tokens: never by default)

${STORE_HELP}`,
    async run({ values, positionals }) {
      const request: ScopeRequest = {
        name: typeof values.name === 'string' ? values.name : 'created by an operator',
        permission: values.readonly ? 'read-only' : 'read-write',
        packagesAll: true,
        expiresDays: daysOption(values['expires-days']),
      };
      return issueToken(values, positionals[0]!, request, (token) => console.log(token));
    },
  },
  'token create': {
    usage:
      'bulwark token create USER [--name NAME] [--permission P] [--packages LIST | --all-packages] [--scopes LIST] [--orgs LIST] [--orgs-permission P] [--cidr LIST] [--expires-days N] [--bypass-2fa]',
    summary: 'make a scoped token for a user (printed once)',
    positionals: ['USER'],
    options: {
      name: { type: 'string' },
      permission: { type: 'string' },
      packages: { type: 'string' },
      'all-packages': { type: 'boolean' },
      scopes: { type: 'string' },
      orgs: { type: 'string' },
      'orgs-permission': { type: 'string' },
      cidr: { type: 'string' },
      'expires-days': { type: 'string' },
      'bypass-2fa': { type: 'boolean' },
    },
    help: `Creates a token for USER with exactly the rights given, prints it once on the first line and what it may do on
the second. The same rules hold as for npm token create and the web page (docs/tokens.md).

Options:
  --name <text>              a label to tell tokens apart (default: "created by an operator")
  --permission <p>           on packages: read-only (default), read-write or no-access
  --packages <a,b>           only these packages
  --scopes <@org/*,…>        only the packages in these scopes
  --all-packages             every package the user can reach (not with --packages/--scopes)
  --orgs <acme,…>            org administration rights in these orgs
  --orgs-permission <p>      read-only (default with --orgs), read-write or no-access
  --cidr <cidr,…>            usable only from these IPv4/IPv6 ranges (for example 10.0.0.0/8,2001:db8::/32)
  --expires-days <n>         tokens that can write: ${WRITE_DEFAULT_DAYS} by default, at most ${WRITE_MAX_DAYS}
  --bypass-2fa               automation token: publishes without a one-time password (needs read-write on listed
                             packages or scopes; expires within ${WRITE_MAX_DAYS} days)

Example:
  bulwark token create ci-bot --packages my-lib --scopes @acme/* --permission read-write --bypass-2fa --cidr 203.0.113.0/24

${STORE_HELP}`,
    async run({ values, positionals }) {
      const list = (k: string) =>
        typeof values[k] === 'string'
          ? String(values[k])
              .split(',')
              .map((x) => x.trim())
              .filter(Boolean)
          : [];
      const request: ScopeRequest = {
        name: typeof values.name === 'string' ? values.name : 'created by an operator',
        permission: typeof values.permission === 'string' ? values.permission : null,
        packagesAll: !!values['all-packages'],
        packages: list('packages'),
        scopes: list('scopes'),
        orgs: list('orgs'),
        orgsPermission: typeof values['orgs-permission'] === 'string' ? values['orgs-permission'] : null,
        cidr: list('cidr'),
        bypass2fa: !!values['bypass-2fa'],
        expiresDays: daysOption(values['expires-days']),
      };
      return issueToken(values, positionals[0]!, request, (token, summary, expiresAt) => {
        console.log(token);
        console.log(
          `${summary}; ${expiresAt === null ? 'does not expire' : `expires ${new Date(expiresAt).toISOString()}`}`,
        );
      });
    },
  },
  'token list': {
    usage: 'bulwark token list USER [--sessions]',
    summary: "a user's live tokens",
    positionals: ['USER'],
    options: { sessions: { type: 'boolean' } },
    help: `Lists USER's live tokens, newest first, one a line: key (the id to revoke), first characters, name, what it may
do, created, last used (and from where), expiry.

Options:
  --sessions               include npm login sessions (two-hour tokens)

${STORE_HELP}`,
    async run({ values, positionals }) {
      return withServices(values, async ({ store }) => {
        const user = await findUser(store.db, positionals[0]!);
        if (!user) throw new ClientError('E_NOT_FOUND', `no user named ${positionals[0]}`);
        const when = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());
        const tokens = await listTokens(store.db, user.id, Date.now(), { sessions: !!values.sessions });
        for (const t of tokens)
          console.log(
            [
              t.key,
              `${t.display}…`,
              t.name,
              t.summary,
              when(t.createdAt),
              t.lastUsedAt === null ? 'never used' : `${when(t.lastUsedAt)} from ${t.lastUsedIp ?? '?'}`,
              t.expiresAt === null ? 'no expiry' : `expires ${when(t.expiresAt)}`,
            ].join('\t'),
          );
        console.error(`${tokens.length} live token${tokens.length === 1 ? '' : 's'}`);
        return 0;
      });
    },
  },
  'token revoke': {
    usage: 'bulwark token revoke USER KEY',
    summary: 'revoke one of a user’s tokens by its key (or a unique prefix of 6+ characters)',
    positionals: ['USER', 'KEY'],
    help: `Revokes the token whose key (from "bulwark token list") starts with KEY. It stops working at once, the revocation
is recorded and the user is emailed.

${STORE_HELP}`,
    async run({ values, positionals }) {
      return withServices(values, async ({ store }) => {
        const user = await findUser(store.db, positionals[0]!);
        if (!user) throw new ClientError('E_NOT_FOUND', `no user named ${positionals[0]}`);
        const revoked = await revokeOwnToken(store.db, user, positionals[1]!, null, Date.now());
        if (!revoked)
          throw new ClientError(
            'E_NOT_FOUND',
            `no live token of ${user.name} has a key starting with ${positionals[1]} (or more than one has)`,
          );
        console.log(`revoked ${revoked.display}… (${revoked.name}) of ${user.name}`);
        return 0;
      });
    },
  },
  // The queue of accounts waiting for an administrator's approval (--email-verification admin).
  ...APPROVAL_COMMANDS,
  // The transparency log's monitor and proof check (GEN-3b).
  ...LOG_COMMANDS,
  // Name safety: typosquatting verdicts, allowed names and reserved names (GEN-1b).
  ...NAMES_COMMANDS,
  // Offline malware scan of a tarball, the same scanner publish runs (GEN-2c).
  ...SCAN_COMMANDS,
  ...PACKAGE_COMMANDS,
  // The registry signing keys behind npm's registry signatures (CLI-1).
  ...KEYS_COMMANDS,
  // Reporting a package to a registry's moderators (GEN-2b), as a client of its API.
  ...REPORT_COMMANDS,
};

function daysOption(v: string | boolean | undefined): number | null {
  if (v === undefined) return null;
  const days = Number(v);
  if (!/^\d{1,5}$/.test(String(v))) throw usageError('--expires-days must be a whole number of days');
  return days;
}

/** Checks the request against the token rules (tokens/scope.ts), then makes the token; an operator is the actor. */
async function issueToken(
  values: Record<string, string | boolean | undefined>,
  userName: string,
  request: ScopeRequest,
  print: (token: string, summary: string, expiresAt: number | null) => void,
): Promise<number> {
  const now = Date.now();
  const plan = planToken(request, now);
  return withServices(values, async ({ store }) => {
    const user = await findUser(store.db, userName);
    if (!user) throw new ClientError('E_NOT_FOUND', `no user named ${userName}`);
    await checkOrgRights(store.db, ownerPrincipal(user), plan.scope);
    const { token } = await createToken(
      store.db,
      {
        userId: user.id,
        userName: user.name,
        name: plan.name,
        kind: 'granular',
        readonly: plan.readonly,
        expiresAt: plan.expiresAt,
        scope: plan.scope,
        actorId: null,
      },
      now,
    );
    print(token, scopeSummary(plan.scope, plan.readonly), plan.expiresAt);
    return 0;
  });
}

/** A one-step administrator action on an account that needs a recorded reason. */
function adminAction(
  verb: string,
  summary: string,
  help: string,
  act: (db: Store['db'], name: string, reason: string) => Promise<string>,
): Command {
  return {
    usage: `bulwark admin user ${verb} NAME --reason TEXT`,
    summary,
    positionals: ['NAME'],
    options: { reason: { type: 'string' } },
    help: `${help}

The action is recorded as an event with the reason, shown in the account's security history, and the account is emailed.

Options:
  --reason <text>          why (required; recorded)

${STORE_HELP}`,
    async run({ values, positionals }) {
      if (typeof values.reason !== 'string') throw usageError('--reason is required: it is recorded with the action');
      const reason = values.reason;
      return withServices(values, async ({ store }) => {
        console.log(await act(store.db, positionals[0]!, reason));
        return 0;
      });
    },
  };
}

async function historyLines(store: Store, name: string, limit: number): Promise<string[]> {
  const lines: string[] = [];
  let before: number | null = null;
  while (lines.length < limit) {
    const page = await securityHistory(store.db, name, { limit: Math.min(100, limit - lines.length), before });
    for (const e of page.entries)
      lines.push(`${new Date(e.when).toISOString()}  ${e.what}${e.details.length ? ` (${e.details.join(', ')})` : ''}`);
    if (page.next === null) break;
    before = page.next;
  }
  return lines;
}

class UsageError extends Error {}

/** Refuses a port that is taken, or that this user may not listen on, naming the setting. */
async function checkPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const { createServer } = await import('node:net');
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EADDRINUSE'
          ? 'is already in use by another process'
          : err.code === 'EACCES'
            ? 'needs privileges this user lacks'
            : `cannot be listened on (${err.code ?? err.message})`;
      reject(
        new StartupError(
          `port ${port} on ${host} ${why}: stop that process or choose another with --port (BULWARK_PORT)`,
        ),
      );
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
const usageError = (msg: string) => new UsageError(msg);

function mainHelp(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.split(' [')[0]!.length)) + 2;
  return `Bulwark ${VERSION}: a self-hosted npm registry.

Usage: bulwark <command> [options]

Commands:
${Object.values(COMMANDS)
  .map(
    (c) =>
      `  ${c.usage
        .split(' [')[0]!
        .replace(/^bulwark /, '')
        .padEnd(width)}${c.summary}`,
  )
  .join('\n')}

Run "bulwark <command> --help" for a command's options. Quick start:
  bulwark serve                                   serve http://127.0.0.1:4873 with state in ./data
  printf '%s' "$PW" | bulwark admin user create admin --email you@example.com --admin --password-stdin
  bulwark admin token create admin                print a token for ~/.npmrc (expires in ${WRITE_DEFAULT_DAYS} days)
  bulwark token create admin --packages my-lib --permission read-write   a token for one package`;
}

/** Finds the longest command name at the start of argv ("admin user create" before "admin"). */
function findCommand(argv: string[]): { name: string; rest: string[] } | null {
  for (let n = 3; n >= 1; n--) {
    const name = argv.slice(0, n).join(' ');
    if (COMMANDS[name]) return { name, rest: argv.slice(n) };
  }
  return null;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    console.log(mainHelp());
    return argv.length === 0 ? 1 : 0;
  }
  if (argv[0] === '--version' || argv[0] === '-v') {
    console.log(VERSION);
    return 0;
  }
  const found = findCommand(argv);
  if (!found) {
    const group = Object.keys(COMMANDS).filter((c) =>
      c.startsWith(`${argv.filter((a) => !a.startsWith('-')).join(' ')} `),
    );
    if (group.length && argv.some((a) => a === '--help' || a === '-h')) {
      console.log(
        `Commands:\n${group.map((c) => `  ${COMMANDS[c]!.usage.padEnd(60)} ${COMMANDS[c]!.summary}`).join('\n')}`,
      );
      return 0;
    }
    console.error(`bulwark: unknown command "${argv.join(' ')}"\n\n${mainHelp()}`);
    return 2;
  }
  const cmd = COMMANDS[found.name]!;
  let parsed;
  try {
    parsed = parseArgs({
      args: found.rest,
      options: { ...COMMON, ...cmd.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    console.error(`bulwark ${found.name}: ${(err as Error).message}\nusage: ${cmd.usage}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(`usage: ${cmd.usage}\n\n${cmd.help}`);
    return 0;
  }
  const expected = cmd.positionals ?? [];
  if (parsed.positionals.length !== expected.length) {
    console.error(
      `bulwark ${found.name}: expected ${expected.length ? expected.join(' ') : 'no arguments'}\nusage: ${cmd.usage}`,
    );
    return 2;
  }
  try {
    return await cmd.run({
      values: parsed.values as Record<string, string | boolean | undefined>,
      positionals: parsed.positionals,
    });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof StartupError) console.error(`bulwark: ${err.message}`);
    else if (err instanceof UsageError) console.error(`bulwark ${found.name}: ${err.message}\nusage: ${cmd.usage}`);
    else if (err instanceof ClientError) console.error(`bulwark ${found.name}: ${err.message}`);
    else console.error(`bulwark ${found.name}: ${(err as Error).stack ?? String(err)}`);
    return err instanceof UsageError ? 2 : 1;
  }
}
