// `bulwark org create`: turns a scope into an organisation with a first owner (the web pages and npm org manage it
// from then on).
import { createOrg } from '../access/orgs.ts';
import { STORE_HELP, usageError, withServices, type Command } from './command.ts';

export const ORG_COMMANDS: Record<string, Command> = {
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
};
