// `bulwark admin token create` and `bulwark token …`: tokens an operator issues, lists and revokes for a user, under
// the same rules as npm token create and the web page (tokens/scope.ts).
import { checkOrgRights, ownerPrincipal } from '../access/org-rights.ts';
import { mustFindUser } from '../accounts/users.ts';
import { fail } from '../errors.ts';
import { WRITE_DEFAULT_DAYS, WRITE_MAX_DAYS, planToken, scopeSummary, type ScopeRequest } from '../tokens/scope.ts';
import { createPlannedToken, listTokens, revokeOwnToken } from '../tokens/service.ts';
import { STORE_HELP, usageError, withServices, type Command, type Values } from './command.ts';

export const TOKEN_COMMANDS: Record<string, Command> = {
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
        const user = await mustFindUser(store.db, positionals[0]!);
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
        const user = await mustFindUser(store.db, positionals[0]!);
        const revoked = await revokeOwnToken(store.db, user, positionals[1]!, null, Date.now());
        if (!revoked)
          throw fail(
            'E_NOT_FOUND',
            `no live token of ${user.name} has a key starting with ${positionals[1]} (or more than one has)`,
          );
        console.log(`revoked ${revoked.display}… (${revoked.name}) of ${user.name}`);
        return 0;
      });
    },
  },
};

function daysOption(v: string | boolean | undefined): number | null {
  if (v === undefined) return null;
  const days = Number(v);
  if (!/^\d{1,5}$/.test(String(v))) throw usageError('--expires-days must be a whole number of days');
  return days;
}

/** Checks the request against the token rules (tokens/scope.ts), then makes the token; an operator is the actor. */
async function issueToken(
  values: Values,
  userName: string,
  request: ScopeRequest,
  print: (token: string, summary: string, expiresAt: number | null) => void,
): Promise<number> {
  const now = Date.now();
  const plan = planToken(request, now);
  return withServices(values, async ({ store }) => {
    const user = await mustFindUser(store.db, userName);
    await checkOrgRights(store.db, ownerPrincipal(user), plan.scope);
    const { token } = await createPlannedToken(store.db, user, plan, { actorId: null }, now);
    print(token, scopeSummary(plan.scope, plan.readonly), plan.expiresAt);
    return 0;
  });
}
