// `bulwark admin user …`: accounts as an operator manages them (create, roles, verification, listing, disabling,
// deleting, recovery), against the registry's own database, with every action recorded as the web pages record it.
import { readFileSync } from 'node:fs';
import * as admin from '../accounts/admin.ts';
import { setModerator } from '../access/orgs.ts';
import { securityHistory } from '../accounts/security-history.ts';
import { createUser, markEmailVerified, mustFindUser } from '../accounts/users.ts';
import type { Store } from '../store/db.ts';
import { STORE_HELP, usageError, withServices, type Command } from './command.ts';

export const USER_COMMANDS: Record<string, Command> = {
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
        const user = await mustFindUser(store.db, positionals[0]!);
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
        const { users, total } = await admin.listUsers(store.db, {
          text: typeof values.query === 'string' ? values.query : '',
          status: status as admin.UserQuery['status'],
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
        const d = await admin.userDetail(store.db, positionals[0]!);
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
      const r = await admin.disableUser(db, name, admin.OPERATOR, reason);
      return `disabled ${name}: revoked ${r.sessions} session(s) and ${r.tokens} token(s)`;
    },
  ),
  'admin user enable': adminAction(
    'enable',
    'enable a disabled account again',
    'Enables a disabled account. Its old sessions and tokens stay revoked.',
    async (db, name, reason) => {
      await admin.enableUser(db, name, admin.OPERATOR, reason);
      return `enabled ${name}`;
    },
  ),
  'admin user delete': adminAction(
    'delete',
    'delete an account for good (its name stays reserved)',
    'Deletes the account: its email, password, second factor, sessions and tokens are removed; its name stays reserved so no one else can take it. Published versions stay. Packages it maintained alone are listed: give them a maintainer.',
    async (db, name, reason) => {
      const r = await admin.deleteUser(db, name, admin.OPERATOR, reason);
      return `deleted ${name}${r.orphaned.length ? `\npackages now without a maintainer: ${r.orphaned.join(', ')}` : ''}`;
    },
  ),
  'admin user force-reset': adminAction(
    'force-reset',
    'force a password reset (signs out everything)',
    'Makes the password unusable, revokes every session and token, and emails a reset link to the verified address. Use it when an account may be compromised.',
    async (db, name, reason) => {
      const r = await admin.forcePasswordReset(db, name, admin.OPERATOR, reason);
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
  2. complete: bulwark admin user recover NAME --complete        (only after the ${admin.RECOVERY_WAIT_MS / 3_600_000}-hour waiting period)
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
          const done = await admin.completeRecovery(store.db, name, admin.OPERATOR);
          console.log(
            `recovered ${name}${done.newEmail ? `: a verification link is being sent to ${done.newEmail}` : ''}${done.disableMfa ? '; two-factor authentication removed' : ''}; the owner now sets a password with "Forgot password"`,
          );
        } else if (values.cancel) {
          await admin.cancelRecovery(store.db, name, admin.OPERATOR, reason);
          console.log(`cancelled the pending recovery of ${name}`);
        } else {
          const plan = await admin.startRecovery(store.db, name, admin.OPERATOR, {
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
};

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
