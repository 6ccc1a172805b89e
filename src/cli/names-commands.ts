// `bulwark names …`: explain the name-safety verdict on a name (typosquatting, reserved names), let an administrator
// allow a refused name, and reserve name patterns for an organisation (dependency confusion). A thin shell over
// names/guard.ts and names/admin.ts; check uses the same protected set as the server.
import { allowName, listAllowed, listReservations, reserve, unreserve } from '../names/admin.ts';
import { NameGuard } from '../names/guard.ts';
import { englishWords, shippedPopularNames } from '../names/popular.ts';
import { ProtectedNames, type Verdict } from '../names/similarity.ts';
import { Reservations } from '../names/reservations.ts';
import { nameProblem } from '../names/syntax.ts';
import {
  STORE_HELP,
  STORE_OPTIONS,
  settingsOf,
  usageError,
  withServices,
  type Command,
  type Values,
} from './command.ts';

/** Whether the command was pointed at a registry's data (then its own names count too) or runs on the shipped list. */
function targetsRegistry(values: Values): boolean {
  return (
    ['data-dir', 'database', 'config'].some((k) => typeof values[k] === 'string') ||
    ['BULWARK_DATA_DIR', 'BULWARK_DATABASE_URL', 'BULWARK_CONFIG'].some((k) => process.env[k])
  );
}

/** Exit status: 0 allow, 1 block, 3 review (the first version would be held for a moderator); 2 is an error. */
function print(verdict: Verdict, reserved: Array<{ pattern: string; org: string }>, json: boolean): number {
  const outcome = reserved.length > 0 ? 'block' : verdict.verdict;
  const reasons = [
    ...reserved.map((r) => ({ rule: 'reserved', similar_to: r.pattern, org: r.org })),
    ...verdict.reasons,
  ];
  if (json) console.log(JSON.stringify({ name: verdict.name, verdict: outcome, reasons }));
  else if (outcome === 'allow') console.log(`allow: "${verdict.name}" is not confusingly similar to a protected name`);
  else {
    console.log(
      outcome === 'block'
        ? `block: "${verdict.name}" would be refused`
        : `review: the first version of "${verdict.name}" would be held for a moderator`,
    );
    for (const r of reserved) console.log(`  reserved: matches "${r.pattern}", reserved for the organisation ${r.org}`);
    for (const r of verdict.reasons)
      console.log(
        `  ${r.rule}: looks like "${r.similar_to}"${r.cost !== undefined ? ` (typing-slip cost ${r.cost} within its budget ${r.budget!.toFixed(2)}: ${r.tier})` : ''}`,
      );
  }
  return outcome === 'allow' ? 0 : outcome === 'block' ? 1 : 3;
}

export const NAMES_COMMANDS: Record<string, Command> = {
  'names check': {
    usage: 'bulwark names check NAME [--json]',
    summary: 'explain whether a new package name would be refused as a look-alike or a reserved name',
    positionals: ['NAME'],
    options: { json: { type: 'boolean' }, ...STORE_OPTIONS },
    help: `Explains the verdict the registry gives a new package NAME on first publish: exit 0 allow, 1 block (refused),
3 review (the first version is held for a moderator), 2 error. With --json prints
{"name","verdict":"allow"|"block"|"review","reasons":[{"rule","similar_to","cost","budget","tier"}]}; cost and budget
come with the scored rules (docs/names.md).

Without storage options the protected set is the shipped list of popular npm names plus --protected-names; pointed at
a registry's data (--data-dir, --database or --config) it also holds that registry's most-downloaded packages, and
names that exist there or that an administrator allowed are not look-alikes of anything.

${STORE_HELP}`,
    async run({ values, positionals }) {
      const name = positionals[0]!;
      try {
        const problem = nameProblem(name);
        if (problem) throw new Error(problem);
        if (!targetsRegistry(values)) {
          const settings = settingsOf(values);
          const operator = settings.protectedNames;
          const index = new ProtectedNames([...operator.filter((n) => !/^@[^/]+$/.test(n)), ...shippedPopularNames()], {
            scopes: operator.filter((n) => /^@[^/]+$/.test(n)),
            words: englishWords(),
          });
          return print(
            index.check(name),
            new Reservations(settings.reservedNames).matching(name),
            values.json === true,
          );
        }
        return await withServices(values, async ({ store, settings }) => {
          const guard = new NameGuard(settings);
          return print(
            await guard.verdict(store.db, name),
            (await guard.reservations(store.db)).matching(name),
            values.json === true,
          );
        });
      } catch (err) {
        console.error(`bulwark names check: ${(err as Error).message}`);
        return 2;
      }
    },
  },
  'names allow': {
    usage: 'bulwark names allow NAME --reason TEXT',
    summary: 'let NAME be published although it looks like a protected name (recorded)',
    positionals: ['NAME'],
    options: { reason: { type: 'string' }, ...STORE_OPTIONS },
    help: `Allows a new package NAME that the typosquatting check refuses, after an appeal. The decision and its reason are
recorded as an event. Reserved names stay reserved: reservations are changed with "bulwark names reserve".

${STORE_HELP}`,
    async run({ values, positionals }) {
      if (typeof values.reason !== 'string') throw usageError('--reason is required: it is recorded with the decision');
      const reason = values.reason;
      return withServices(values, async ({ store }) => {
        await allowName(store.db, positionals[0]!, null, reason, Date.now());
        console.log(`allowed ${positionals[0]!}`);
        return 0;
      });
    },
  },
  'names reserve': {
    usage: 'bulwark names reserve PATTERN (--org ORG | --remove)',
    summary: 'reserve @scope, a name or a prefix-* for an organisation (dependency confusion)',
    positionals: ['PATTERN'],
    options: { org: { type: 'string' }, remove: { type: 'boolean' }, ...STORE_OPTIONS },
    help: `Reserves PATTERN for the organisation ORG: only its members may publish names matching it, look-alikes included.
PATTERN is @scope (its packages, unscoped names starting with "scope-" and look-alike scopes), a package name (it
and its look-alikes) or a prefix ending in * ("acme-*"). --remove deletes a reservation; "bulwark names reservations" lists them. Reservations given
in --reserved-names apply as well.

${STORE_HELP}`,
    async run({ values, positionals }) {
      const pattern = positionals[0]!;
      return withServices(values, async ({ store }) => {
        if (values.remove) {
          await unreserve(store.db, pattern, null, Date.now());
          console.log(`removed the reservation ${pattern}`);
          return 0;
        }
        if (typeof values.org !== 'string')
          throw usageError('--org is required: the organisation whose members may publish matching names');
        await reserve(store.db, pattern, values.org.replace(/^@/, ''), null, Date.now());
        console.log(`reserved ${pattern} for the organisation ${values.org.replace(/^@/, '')}`);
        return 0;
      });
    },
  },
  'names reservations': {
    usage: 'bulwark names reservations',
    summary: 'list reserved name patterns and names administrators allowed',
    options: { ...STORE_OPTIONS },
    help: `Lists the reserved name patterns with their organisations, and the names allowed despite the typosquatting check.

${STORE_HELP}`,
    async run({ values }) {
      return withServices(values, async ({ store, settings }) => {
        for (const r of settings.reservedNames) console.log(`reserved  ${r.pattern}  ${r.org}  (setting)`);
        for (const r of await listReservations(store.db)) console.log(`reserved  ${r.pattern}  ${r.org}`);
        for (const a of await listAllowed(store.db)) console.log(`allowed   ${a.name}  ${a.reason}`);
        return 0;
      });
    },
  },
};
