// `bulwark admin user pending|approve|reject`: the queue of accounts waiting for an administrator's approval
// (--email-verification admin; docs/operating.md), the same queue as the web page /-/web/admin/approvals. The
// operator at the command line is the actor, as for the other `admin user` commands.
import { OPERATOR } from '../accounts/admin.ts';
import { approveAccount, pendingAccounts, rejectAccount } from '../accounts/approval.ts';
import { STORE_HELP, withServices, type Command } from './command.ts';

export const APPROVAL_COMMANDS: Record<string, Command> = {
  'admin user pending': {
    usage: 'bulwark admin user pending',
    summary: 'list the accounts waiting for approval (email not verified yet)',
    help: `Lists the live accounts whose email address is not verified yet, oldest first, one a line: name, email address,
when the account was made. With --email-verification admin, new accounts wait here until an administrator approves
them ("bulwark admin user approve NAME") or rejects them ("bulwark admin user reject NAME --reason TEXT"); the web page
/-/web/admin/approvals shows the same queue.

${STORE_HELP}`,
    async run({ values }) {
      return withServices(values, async ({ store }) => {
        const { accounts, total } = await pendingAccounts(store.db);
        for (const a of accounts) console.log(`${a.name}\t${a.email}\t${new Date(a.createdAt).toISOString()}`);
        console.error(`${total} account${total === 1 ? '' : 's'} waiting for approval`);
        return 0;
      });
    },
  },
  'admin user approve': {
    usage: 'bulwark admin user approve NAME',
    summary: 'approve a waiting account: its email counts as verified, so it may publish',
    positionals: ['NAME'],
    help: `Approves an account waiting for approval: its email address counts as verified from now on, so the account
may publish. The approval is recorded in the account's security history.

${STORE_HELP}`,
    async run({ values, positionals }) {
      return withServices(values, async ({ store }) => {
        const a = await approveAccount(store.db, positionals[0]!, OPERATOR);
        console.log(`approved ${a.name} <${a.email}>: the account may publish now`);
        return 0;
      });
    },
  },
  'admin user reject': {
    usage: 'bulwark admin user reject NAME --reason TEXT',
    summary: 'reject a waiting account: it is deleted (its name stays reserved)',
    positionals: ['NAME'],
    options: { reason: { type: 'string' } },
    help: `Rejects an account waiting for approval: it is deleted as "bulwark admin user delete" does (email, password,
sessions and tokens removed; the name stays reserved). The reason is recorded in the account's security history.

Options:
  --reason <text>          why (required; recorded)

${STORE_HELP}`,
    async run({ values, positionals }) {
      const reason = typeof values.reason === 'string' ? values.reason : '';
      return withServices(values, async ({ store }) => {
        await rejectAccount(store.db, positionals[0]!, OPERATOR, reason);
        console.log(`rejected ${positionals[0]}: the account was deleted`);
        return 0;
      });
    },
  },
};
