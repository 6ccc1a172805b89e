// `bulwark admin package …`: the administrator's actions on packages (docs/policies/unpublish.md, section 5). Each
// is recorded with its reason as a domain event (and so in the transparency log); none makes a published
// name@version publishable again. A running server sees the change within a second through the event stream.
import type { Actor, Lifecycle } from '../packages/lifecycle.ts';
import { parseSpec } from '../safety/reports.ts';
import { STORE_HELP, STORE_OPTIONS, usageError, withServices, type Command, type Values } from './command.ts';

const OPERATOR: Actor = { id: null, name: 'operator' };

/** NAME@VERSION for the commands that act on one version. */
function exactVersion(spec: string, verb: string): { name: string; version: string } {
  const { package: name, version } = parseSpec(spec);
  if (!version) throw usageError(`name the version to ${verb}: NAME@VERSION`);
  return { name, version };
}

function reasonOf(values: Values): string {
  const reason = typeof values.reason === 'string' ? values.reason.trim() : '';
  if (!reason) throw usageError('--reason is required: it is recorded with the action');
  return reason;
}

function command(
  usage: string,
  summary: string,
  help: string,
  extra: Command['options'],
  act: (lifecycle: Lifecycle, spec: string, values: Values) => Promise<string>,
): Command {
  return {
    usage,
    summary,
    positionals: ['NAME'],
    options: { reason: { type: 'string' }, ...extra, ...STORE_OPTIONS },
    help: `${help}\n\n${STORE_HELP}`,
    run: ({ values, positionals }) =>
      withServices(values, async ({ lifecycle }) => {
        console.log(await act(lifecycle, positionals[0]!, values));
        return 0;
      }),
  };
}

export const PACKAGE_COMMANDS: Record<string, Command> = {
  'admin package remove-malicious': command(
    'bulwark admin package remove-malicious NAME[@VERSION] --reason TEXT [--evidence TEXT]',
    'remove a version, or a whole package, as malicious (never served or published again)',
    `Removes NAME@VERSION, or with no version every version of NAME, as malicious: it is no longer served, whatever its
age or dependents, and its name@version can never be published again. Removing the whole package also removes its
maintainers, so only an administrator can give the name out again. An OSV advisory is published for it.

Options:
  --reason <text>          why (required; published in the log and the advisory)
  --evidence <text>        a short summary of the evidence, for the advisory`,
    { evidence: { type: 'string' } },
    async (lifecycle, spec, values) => {
      const { package: name, version } = parseSpec(spec);
      const evidence = typeof values.evidence === 'string' ? values.evidence : '';
      const { versions, advisory } = await lifecycle.removeMalicious(OPERATOR, name, version, {
        reason: reasonOf(values),
        evidence,
      });
      return `removed ${versions.length ? versions.map((v) => `${name}@${v}`).join(', ') : name} as malicious${advisory ? `; advisory ${advisory}` : ''}`;
    },
  ),
  'admin package quarantine': command(
    'bulwark admin package quarantine NAME@VERSION --reason TEXT',
    'hide a version while it is reviewed (bulwark admin package release undoes it)',
    `Hides NAME@VERSION from packuments, tarballs and search until it is released or removed; dist-tags that pointed at
it move to the newest remaining version.

Options:
  --reason <text>          why (required; recorded)`,
    {},
    async (lifecycle, spec, values) => {
      const { name, version } = exactVersion(spec, 'quarantine');
      await lifecycle.quarantine(OPERATOR, name, version, reasonOf(values));
      return `quarantined ${name}@${version}`;
    },
  ),
  'admin package release': command(
    'bulwark admin package release NAME@VERSION --reason TEXT',
    'make a quarantined or held version installable',
    `Releases NAME@VERSION from quarantine: its dist-tags are not restored; "latest" is set only if nothing holds it.
A version the publish-time scan held becomes visible for the first time: it is signed, gets the dist-tag its publish
asked for (unless that tag names a newer version) and its publish enters the transparency log.

Options:
  --reason <text>          why (required; recorded)`,
    {},
    async (lifecycle, spec, values) => {
      const { name, version } = exactVersion(spec, 'release');
      await lifecycle.release(OPERATOR, name, version, reasonOf(values));
      return `released ${name}@${version}`;
    },
  ),
  'admin package transfer': command(
    'bulwark admin package transfer NAME --to USER --reason TEXT',
    'give a package, or a held name, to another account',
    `Makes USER the only maintainer of NAME. For a name held after an unpublish this is how it is given out again: the new
owner may publish new versions (never the old ones).

Options:
  --to <user>              the account that receives the package (required)
  --reason <text>          why (required; recorded)`,
    { to: { type: 'string' } },
    async (lifecycle, name, values) => {
      if (typeof values.to !== 'string' || !values.to) throw usageError('--to USER is required');
      const { from } = await lifecycle.transfer(OPERATOR, name, values.to, reasonOf(values));
      return `transferred ${name} from ${from.join(', ') || 'no one'} to ${values.to}`;
    },
  ),
  'admin package delete': command(
    'bulwark admin package delete NAME --reason TEXT',
    'delete a package; its versions can still never be published again',
    `Deletes NAME with its versions, tags and maintainers; the name becomes free. The ledger of published versions stays,
so none of them can be published again by anyone.

Options:
  --reason <text>          why (required; recorded)`,
    {},
    async (lifecycle, name, values) => {
      const versions = await lifecycle.deletePackage(OPERATOR, name, reasonOf(values));
      return `deleted ${name} (${versions.length} version${versions.length === 1 ? '' : 's'}; none can be published again)`;
    },
  ),
};
