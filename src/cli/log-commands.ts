// `bulwark log verify` and `bulwark log prove`: the monitor and the inclusion check of the transparency log, as a
// thin shell over log/monitor.ts. The last verified checkpoint is remembered in a state file, so the next run can
// prove the registry only appended since.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MonitorError, proveVersion, verifyLockfile, verifyLog, type MonitorState } from '../trust/tlog/monitor.ts';
import { NoteError } from '../trust/tlog/note.ts';
import { LogReader } from '../trust/tlog/service.ts';
import { addWitness, listWitnesses, removeWitness } from '../trust/tlog/witness-client.ts';
import { STORE_OPTIONS, withServices, type Command, type Values } from './command.ts';

const OPTIONS = {
  registry: { type: 'string' as const },
  key: { type: 'string' as const },
  state: { type: 'string' as const },
  token: { type: 'string' as const },
  witness: { type: 'string' as const, multiple: true },
};

const OPTIONS_HELP = `Options:
  --registry <url>   the registry to check (required)
  --key <vkey>       the log's verifier key, as the operator publishes it (default: the one remembered, or on
                     first use the one the registry serves at /-/log/key)
  --state <file>     where the last verified checkpoint is remembered (default: ~/.config/bulwark/log/<host>.json)
  --token <token>    a token for registries that need one to read (env BULWARK_TOKEN)
  --witness <vkey>   require a valid cosignature by this witness on the checkpoint used; may be repeated`;

function registryOf(values: Values): string {
  const given = values.registry;
  if (typeof given !== 'string' || !given) throw new MonitorError('--registry <url> is required');
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new MonitorError(`--registry must be a URL, not ${given}`);
  }
  return url.href.replace(/\/+$/, '');
}

function statePath(values: Values, registry: string): string {
  if (typeof values.state === 'string' && values.state) return path.resolve(values.state);
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'bulwark', 'log', `${encodeURIComponent(new URL(registry).host)}.json`);
}

function readState(file: string): MonitorState | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return JSON.parse(text) as MonitorState;
}

function writeState(file: string, state: MonitorState): void {
  mkdirSync(path.dirname(file), { recursive: true });
  // Write then rename, so an interrupted run never leaves a half-written state behind.
  writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

const token = (values: Values) =>
  (typeof values.token === 'string' ? values.token : process.env.BULWARK_TOKEN) || undefined;

async function guarded(fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof MonitorError || err instanceof NoteError) {
      console.error(`FAILED: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

export const LOG_COMMANDS: Record<string, Command> = {
  'log verify': {
    usage: 'bulwark log verify --registry <url> [--key <vkey>] [--state <file>]',
    summary: "replay a registry's transparency log and check it against its packuments and the last run",
    help: `Fetches the signed checkpoint and every entry of the transparency log, recomputes the Merkle root, checks every
published version in the log against the packument the registry serves now (and every served version against the
log), and checks that the log only grew since the last verified checkpoint remembered in the state file. Exits 1 and
names each problem if anything does not match: altered entries, a split view, a rewritten history.

${OPTIONS_HELP}`,
    options: OPTIONS,
    async run({ values }) {
      return guarded(async () => {
        const registry = registryOf(values);
        const file = statePath(values, registry);
        const key = typeof values.key === 'string' ? values.key : undefined;
        const witnesses = (values as Record<string, unknown>).witness as string[] | undefined;
        const report = await verifyLog({
          registry,
          fetch,
          state: readState(file),
          ...(key ? { key } : {}),
          ...(token(values) ? { token: token(values)! } : {}),
          ...(witnesses ? { witnesses } : {}),
        });
        for (const n of report.notes) console.log(`note: ${n}`);
        if (!report.ok) {
          for (const p of report.problems) console.error(`PROBLEM: ${p}`);
          console.error(
            `FAILED: ${report.problems.length} problem(s) in the log of ${registry} at size ${report.size}; the remembered checkpoint was kept`,
          );
          return 1;
        }
        writeState(file, report.state!);
        console.log(
          `verified: ${report.size} entries, root ${report.root}, ${report.checkedVersions} versions match their packuments, ${report.sealed} sealed entries (state in ${file})`,
        );
        return 0;
      });
    },
  },
  'log prove': {
    usage: 'bulwark log prove <name@version> --registry <url> [--key <vkey>]',
    summary: 'print and check the transparency-log inclusion proof of one version',
    help: `Fetches the inclusion proof of one published version, checks the checkpoint's signature, the proof against the
signed root, and that the logged entry is what the packument says (integrity, publisher, time).

${OPTIONS_HELP}`,
    options: OPTIONS,
    positionals: ['<name@version>'],
    async run({ values, positionals }) {
      return guarded(async () => {
        const spec = positionals[0]!;
        const at = spec.lastIndexOf('@');
        if (at <= 0) throw new MonitorError(`give the version as name@version, not ${spec}`);
        const registry = registryOf(values);
        const key = typeof values.key === 'string' ? values.key : undefined;
        const witnesses = (values as Record<string, unknown>).witness as string[] | undefined;
        const r = await proveVersion({
          registry,
          fetch,
          state: readState(statePath(values, registry)),
          name: spec.slice(0, at),
          version: spec.slice(at + 1),
          ...(key ? { key } : {}),
          ...(token(values) ? { token: token(values)! } : {}),
          ...(witnesses ? { witnesses } : {}),
        });
        console.log(`entry ${r.index} of ${r.size}${r.sealed ? ' (sealed, opened)' : ''}: ${r.entry}`);
        console.log('inclusion proof:');
        for (const p of r.proof) console.log(`  ${p}`);
        console.log(`checkpoint:\n${r.checkpoint.replace(/^/gm, '  ').trimEnd()}`);
        console.log(`verified: ${spec} is entry ${r.index} of the signed log and matches its packument`);
        return 0;
      });
    },
  },
  'log verify-lockfile': {
    usage: 'bulwark log verify-lockfile <package-lock.json> --registry <url> [--key <vkey>] [--token <token>]',
    summary: "check every package of a lockfile against the registry's transparency log",
    help: `Asks the registry, in one request, for the inclusion proofs of every package the lockfile resolves from it, checks
each proof against the signed checkpoint, and checks that the integrity the lockfile pins is the one the log recorded
when the version was published. Exits 1 and names every package that is missing from the log or pinned to another
integrity. Packages from other hosts, git or the file system are skipped.

${OPTIONS_HELP}`,
    options: OPTIONS,
    positionals: ['<package-lock.json>'],
    async run({ values, positionals }) {
      return guarded(async () => {
        const registry = registryOf(values);
        let lockfile: unknown;
        try {
          lockfile = JSON.parse(readFileSync(positionals[0]!, 'utf8'));
        } catch (err) {
          throw new MonitorError(`cannot read ${positionals[0]}: ${(err as Error).message}`);
        }
        const key = typeof values.key === 'string' ? values.key : undefined;
        const witnesses = (values as Record<string, unknown>).witness as string[] | undefined;
        const r = await verifyLockfile({
          registry,
          fetch,
          lockfile,
          state: readState(statePath(values, registry)),
          ...(key ? { key } : {}),
          ...(token(values) ? { token: token(values)! } : {}),
          ...(witnesses ? { witnesses } : {}),
        });
        if (r.problems.length) {
          for (const p of r.problems) console.error(`PROBLEM: ${p}`);
          console.error(
            `FAILED: ${r.problems.length} of ${r.problems.length + r.checked} packages do not match the transparency log of ${registry}`,
          );
          return 1;
        }
        console.log(
          `verified: ${r.checked} packages are in the signed log of ${r.size} entries with the integrity the lockfile pins (${r.skipped} entries from elsewhere skipped)`,
        );
        return 0;
      });
    },
  },
  'log witness add': {
    usage: 'bulwark log witness add --url <url> --key <vkey> [storage options]',
    summary: "have a witness cosign the log's checkpoints (c2sp.org/tlog-witness)",
    help: `Adds (or updates) a witness: each new checkpoint is submitted to <url>/add-checkpoint with a consistency
proof, and the cosignature it returns is added to the checkpoint served at /-/log/checkpoint. The key is the witness's
Ed25519 cosignature vkey (type 0x04). The witness must be configured with this log's origin and key (bulwark log
witness list prints them).

Options:
  --url <url>              the witness's submission prefix
  --key <vkey>             the witness's cosigning key
  --data-dir, --database, --config   which registry, as for serve`,
    options: { ...STORE_OPTIONS, url: { type: 'string' }, key: { type: 'string' } },
    async run({ values }) {
      return guarded(async () => {
        if (typeof values.url !== 'string' || typeof values.key !== 'string')
          throw new MonitorError('--url and --key are required');
        const { url, key } = values;
        return withServices(values, async ({ store }) => {
          let name: string;
          try {
            ({ name } = await addWitness(store.db, { url, vkey: key }));
          } catch (err) {
            throw new MonitorError(`cannot add the witness: ${(err as Error).message}`);
          }
          console.log(`witness ${name} added; new checkpoints will be submitted to ${url}`);
          return 0;
        });
      });
    },
  },
  'log witness list': {
    usage: 'bulwark log witness list [storage options]',
    summary: "list the witnesses that cosign the log's checkpoints, and the log's own key",
    help: "Lists the configured witnesses with the latest tree size each has cosigned, and the log's origin and verifier key.",
    options: STORE_OPTIONS,
    async run({ values }) {
      return withServices(values, async ({ store }) => {
        console.log(
          `log key: ${(await new LogReader(store.db).verifierKey()) ?? '(not generated yet: start the registry once)'}`,
        );
        for (const w of await listWitnesses(store.db))
          console.log(`${w.name}  ${w.url}  cosigned size ${w.cosignedSize}  ${w.vkey}`);
        return 0;
      });
    },
  },
  'log witness remove': {
    usage: 'bulwark log witness remove <name> [storage options]',
    summary: 'stop submitting checkpoints to a witness',
    help: 'Removes a witness by its key name; checkpoints it already cosigned keep its cosignature.',
    options: STORE_OPTIONS,
    positionals: ['<name>'],
    async run({ values, positionals }) {
      return withServices(values, async ({ store }) => {
        if (!(await removeWitness(store.db, positionals[0]!))) {
          console.error(`no witness named ${positionals[0]}`);
          return 1;
        }
        console.log(`witness ${positionals[0]} removed`);
        return 0;
      });
    },
  },
};
