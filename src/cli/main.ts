// The bulwark command: `serve` runs the registry; `admin …` manages users and tokens against the same data
// directory or database. Every command answers --help.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import pino from 'pino';
import { createUser, findUser, markEmailVerified } from '../accounts/users.ts';
import { ConfigError, SETTINGS, loadSettings, settingsHelp, type Settings } from '../config.ts';
import { loadSecretKey } from '../crypto/secret-key.ts';
import { ClientError } from '../errors.ts';
import { startApp } from '../http/server.ts';
import { FsBlobStore } from '../store/blobs.ts';
import { openStore, type Store } from '../store/db.ts';
import { createToken } from '../tokens/service.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const SETTING_OPTIONS = Object.fromEntries(SETTINGS.map((s) => [s.flag, { type: 'string' as const }]));
const COMMON = { ...SETTING_OPTIONS, config: { type: 'string' as const }, help: { type: 'boolean' as const, short: 'h' } };

type Command = {
  usage: string;
  summary: string;
  help: string;
  options?: ParseArgsConfig['options'];
  positionals?: string[];
  run(args: { values: Record<string, string | boolean | undefined>; positionals: string[] }): Promise<number>;
};

const STORE_HELP = `Storage options (same as for serve):
  --data-dir <path>        folder holding the SQLite database and blobs (env BULWARK_DATA_DIR, default ./data)
  --database <url>         postgres:// URL instead of SQLite (env BULWARK_DATABASE_URL)
  --config <file>          JSON config file whose keys are the option names (env BULWARK_CONFIG)`;

const COMMANDS: Record<string, Command> = {
  serve: {
    usage: 'bulwark serve [options]',
    summary: 'run the registry',
    help: `Runs the registry. Settings come from options, then environment variables, then the config file, then defaults.

Options:
${settingsHelp()}
  --config <file>          JSON config file whose keys are the option names above (env BULWARK_CONFIG)

Secrets at rest are encrypted with BULWARK_SECRET_KEY (at least 32 characters), or with a key generated into the data
directory on first start: back that file up.`,
    async run({ values }) {
      const settings = settingsFrom(values);
      const logger = pino({ level: settings.logLevel, base: { service: 'bulwark' }, redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["npm-otp"]'] });
      const { key: secretKey } = loadSecretKey(settings.dataDir, process.env, (msg) => logger.warn(msg));
      const store = await openStore({ dataDir: settings.dataDir, database: settings.database });
      const blobs = new FsBlobStore(path.join(settings.dataDir, 'blobs'));
      let app;
      try {
        app = await startApp({ settings, store, blobs, logger, secretKey });
      } catch (err) {
        await store.close();
        throw err;
      }
      logger.info({ url: app.url, database: store.dialect, dataDir: settings.dataDir }, `Bulwark ${VERSION} listening on ${app.url}`);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          logger.info({ signal }, 'shutting down');
          resolve();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await app.close();
      await store.close();
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
      if (!values['password-stdin']) throw usageError('--password-stdin is required: pass the password on standard input, never as an argument');
      const password = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
      return withStore(values, async (store) => {
        const user = await createUser(store.db, { name: name!, email: values.email as string, password, isAdmin: !!values.admin, emailVerified: true, actorId: null });
        console.log(`created ${user.is_admin ? 'administrator' : 'user'} ${user.name} <${user.email}>`);
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
      return withStore(values, async (store) => {
        const user = await findUser(store.db, positionals[0]!);
        if (!user) throw new ClientError(404, `no user named ${positionals[0]}`);
        await markEmailVerified(store.db, user, null);
        console.log(`verified the email address ${user.email} of ${user.name}`);
        return 0;
      });
    },
  },
  'admin token create': {
    usage: 'bulwark admin token create USER [--name NAME] [--readonly] [--expires-days N]',
    summary: 'print a new token for a user (shown once)',
    positionals: ['USER'],
    options: { name: { type: 'string' }, readonly: { type: 'boolean' }, 'expires-days': { type: 'string' } },
    help: `Creates a token for USER and prints it once, alone on its line. Only its SHA-256 hash is stored: it cannot be shown
again. Put it in .npmrc as //HOST/:_authToken=TOKEN.

Options:
  --name <text>            a label to tell tokens apart (default: "created by an operator")
  --readonly               the token can read but not publish or change anything
  --expires-days <n>       the token stops working after n days (default: never)

${STORE_HELP}`,
    async run({ values, positionals }) {
      let expiresAt: number | null = null;
      if (values['expires-days'] !== undefined) {
        const days = Number(values['expires-days']);
        if (!Number.isInteger(days) || days < 1 || days > 3650) throw usageError('--expires-days must be a whole number from 1 to 3650');
        expiresAt = Date.now() + days * 86_400_000;
      }
      return withStore(values, async (store) => {
        const user = await findUser(store.db, positionals[0]!);
        if (!user) throw new ClientError(404, `no user named ${positionals[0]}`);
        const { token } = await createToken(store.db, { userId: user.id, userName: user.name, name: typeof values.name === 'string' ? values.name : 'created by an operator', kind: 'publish', readonly: !!values.readonly, expiresAt, actorId: null });
        console.log(token);
        return 0;
      });
    },
  },
};

class UsageError extends Error {}
const usageError = (msg: string) => new UsageError(msg);

function settingsFrom(values: Record<string, string | boolean | undefined>): Settings {
  const flags = Object.fromEntries(SETTINGS.filter((s) => typeof values[s.flag] === 'string').map((s) => [s.flag, values[s.flag] as string]));
  return loadSettings({ flags, env: process.env, file: typeof values.config === 'string' ? values.config : undefined });
}

async function withStore(values: Record<string, string | boolean | undefined>, fn: (store: Store) => Promise<number>): Promise<number> {
  const settings = settingsFrom(values);
  const store = await openStore({ dataDir: settings.dataDir, database: settings.database, poolSize: 2 });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function mainHelp(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.split(' [')[0]!.length)) + 2;
  return `Bulwark ${VERSION}: a self-hosted npm registry.

Usage: bulwark <command> [options]

Commands:
${Object.values(COMMANDS)
  .map((c) => `  ${c.usage.split(' [')[0]!.replace(/^bulwark /, '').padEnd(width)}${c.summary}`)
  .join('\n')}

Run "bulwark <command> --help" for a command's options. Quick start:
  bulwark serve                                   serve http://127.0.0.1:4873 with state in ./data
  printf '%s' "$PW" | bulwark admin user create admin --email you@example.com --admin --password-stdin
  bulwark admin token create admin                print a token for ~/.npmrc`;
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
    const group = Object.keys(COMMANDS).filter((c) => c.startsWith(`${argv.filter((a) => !a.startsWith('-')).join(' ')} `));
    if (group.length && argv.some((a) => a === '--help' || a === '-h')) {
      console.log(`Commands:\n${group.map((c) => `  ${COMMANDS[c]!.usage.padEnd(60)} ${COMMANDS[c]!.summary}`).join('\n')}`);
      return 0;
    }
    console.error(`bulwark: unknown command "${argv.join(' ')}"\n\n${mainHelp()}`);
    return 2;
  }
  const cmd = COMMANDS[found.name]!;
  let parsed;
  try {
    parsed = parseArgs({ args: found.rest, options: { ...COMMON, ...cmd.options }, allowPositionals: true, strict: true });
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
    console.error(`bulwark ${found.name}: expected ${expected.length ? expected.join(' ') : 'no arguments'}\nusage: ${cmd.usage}`);
    return 2;
  }
  try {
    return await cmd.run({ values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals });
  } catch (err) {
    if (err instanceof ConfigError) console.error(`bulwark: ${err.message}`);
    else if (err instanceof UsageError) console.error(`bulwark ${found.name}: ${err.message}\nusage: ${cmd.usage}`);
    else if (err instanceof ClientError) console.error(`bulwark ${found.name}: ${err.message}`);
    else console.error(`bulwark ${found.name}: ${(err as Error).stack ?? String(err)}`);
    return err instanceof UsageError ? 2 : 1;
  }
}
