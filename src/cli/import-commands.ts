// `bulwark import verdaccio`: moving a Verdaccio registry here (docs/import-verdaccio.md). Progress goes to stderr (a
// bar redrawn in place on a terminal, one line per package otherwise); the report to stdout, as text or --json.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { importVerdaccio, type ImportReport } from '../import/verdaccio.ts';
import { parseVerdaccioConfig, type VerdaccioConfig } from '../import/verdaccio-config.ts';
import { ensureSigningKey } from '../trust/signing-keys.ts';
import { STORE_HELP, usageError, withServices, type Command, type Values } from './command.ts';

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw usageError(`cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** `name email` per line (or `name,email`): the addresses htpasswd does not keep. */
export function parseEmails(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const [name, email] = line.trim().split(/[\s,]+/);
    if (name && email && !name.startsWith('#')) map.set(name, email);
  }
  return map;
}

function progressPrinter(stream: NodeJS.WriteStream) {
  const tty = stream.isTTY;
  return ({ done, total, current }: { done: number; total: number; current: string }) => {
    if (!tty) {
      if (done > 0) stream.write(`[${done}/${total}] ${current}\n`);
      return;
    }
    const width = 30;
    const filled = total ? Math.round((done / total) * width) : width;
    stream.write(`\r\x1b[K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${current}`);
    if (done === total) stream.write('\n');
  };
}

export function reportText(r: ImportReport): string {
  const list = (title: string, items: Array<{ item: string; reason: string }>) =>
    items.length ? [`${title}:`, ...items.map((x) => `  ${x.item}: ${x.reason}`)] : [];
  const legacy = Object.entries(r.users.legacy)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  return [
    `packages: ${r.packages.imported} imported, ${r.packages.unchanged} already here, ${r.packages.cached.length} skipped as uplink caches, ${r.packages.failed.length} failed`,
    `versions: ${r.versions.imported} imported (${r.versions.held.length} held for review), ${r.versions.present} already here, ${r.versions.corrupt.length} corrupt, ${r.versions.refused.length} refused`,
    `tarballs: ${r.tarballs.count} (${r.tarballs.bytes} bytes); dist-tags set: ${r.distTags.set}; owners added: ${r.owners.added}; access changed: ${r.access.changed}`,
    `users: ${r.users.created} created${legacy ? ` (old hashes accepted once: ${legacy})` : ''}, ${r.users.present} already here, ${r.users.mustReset.length} must reset their password by email, ${r.users.refused.length} refused`,
    ...(r.packages.cached.length
      ? [`skipped as uplink caches (the upstream proxy serves them): ${r.packages.cached.join(', ')}`]
      : []),
    ...list('failed packages', r.packages.failed),
    ...list('corrupt versions (skipped)', r.versions.corrupt),
    ...list('refused versions (skipped)', r.versions.refused),
    ...list('held versions (imported, not installable until a moderator releases them)', r.versions.held),
    ...list('accounts that must reset their password by email', r.users.mustReset),
    ...list('users not imported', r.users.refused),
    ...(r.users.withoutEmail.length
      ? [
          `accounts without an email address (given one ending in @no-email.invalid; pass --emails, or set it on the account page): ${r.users.withoutEmail.join(', ')}`,
        ]
      : []),
    ...(r.access.unmapped.length
      ? ['access rules not carried over as they were:', ...r.access.unmapped.map((u) => `  ${u}`)]
      : []),
    ...r.warnings.map((w) => `warning: ${w}`),
  ].join('\n');
}

async function importCommand(values: Values, storageDir: string): Promise<number> {
  let config: VerdaccioConfig | null = null;
  const configFile = typeof values.config === 'string' ? values.config : null;
  if (configFile) {
    try {
      config = parseVerdaccioConfig(await readText(configFile, 'Verdaccio config'));
    } catch (err) {
      throw usageError(`the Verdaccio config ${configFile} cannot be read: ${(err as Error).message}`);
    }
  }
  const htpasswdFile =
    typeof values.htpasswd === 'string'
      ? values.htpasswd
      : config?.htpasswd && configFile
        ? path.resolve(path.dirname(configFile), config.htpasswd)
        : null;
  const htpasswd = htpasswdFile ? await readText(htpasswdFile, 'htpasswd file') : null;
  const emails =
    typeof values.emails === 'string' ? parseEmails(await readText(values.emails, 'emails file')) : new Map();
  // --config here is Verdaccio's config.yaml; Bulwark's own config file comes from BULWARK_CONFIG.
  const storeValues = { ...values, config: undefined };
  return withServices(storeValues, async (services) => {
    // Imported versions are signed as they are stored: the key a first `serve` would make is made now.
    await ensureSigningKey(services.store.db, services.secretKey, services.clock());
    const report = await importVerdaccio(
      { db: services.store.db, packages: services.packages, clock: services.clock },
      {
        storageDir,
        htpasswd,
        config,
        owner: typeof values.owner === 'string' ? values.owner : null,
        emails,
        acceptWeakHashes: values['accept-weak-hashes'] === true,
        requireReset: values['require-reset'] === true,
        onProgress: progressPrinter(process.stderr),
      },
    );
    console.log(values.json ? JSON.stringify(report, null, 2) : reportText(report));
    return report.packages.failed.length || report.versions.corrupt.length || report.versions.refused.length ? 1 : 0;
  });
}

export const IMPORT_COMMANDS: Record<string, Command> = {
  'import verdaccio': {
    usage:
      'bulwark import verdaccio STORAGE_DIR [--htpasswd FILE] [--config config.yaml] [--owner USER] [--emails FILE] [--accept-weak-hashes] [--require-reset] [--json]',
    summary: 'import packages, users and access rules from a Verdaccio storage folder',
    help: `Imports every package published to a Verdaccio registry (STORAGE_DIR is its "storage" folder): each version
through the publish path (tarball read and integrity checked, malware scan, registry signature, transparency log),
with its original publish time, plus dist-tags, readmes and owners. Packages Verdaccio only cached from an uplink are
skipped: point --upstream at npmjs.com and the proxy serves them. Running it again imports only what is new.

  --htpasswd <file>        Verdaccio's htpasswd file: its users become accounts (default: the one config.yaml names)
  --config <file>          Verdaccio's config.yaml: its packages rules become owners and access where they map
                           (Bulwark's own config file is then given with BULWARK_CONFIG)
  --owner <user>           owner of packages whose owner nothing names (Verdaccio 6 records none)
  --emails <file>          "name email" lines: the users' addresses (htpasswd has none)
  --accept-weak-hashes     accept unsalted SHA-1 and DES crypt hashes for one sign-in; by default those accounts
                           must reset their password by email
  --require-reset          every imported account must reset its password by email (no old hash is kept)
  --json                   the report as JSON

bcrypt hashes are accepted once: the first sign-in replaces them with argon2id. Exits 1 when anything was skipped
(corrupt tarballs, refused versions, packages without an owner); the report says what and why.

${STORE_HELP}`,
    options: {
      htpasswd: { type: 'string' },
      owner: { type: 'string' },
      emails: { type: 'string' },
      'accept-weak-hashes': { type: 'boolean' },
      'require-reset': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    positionals: ['STORAGE_DIR'],
    run: ({ values, positionals }) => importCommand(values, positionals[0]!),
  },
};
