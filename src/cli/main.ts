// The bulwark command: finds the command named on the command line among the groups below (one file each), parses
// its options, prints help, and turns its refusals into one line on stderr. `serve` runs the registry; the others
// work against the same data directory or database.
import { parseArgs } from 'node:util';
import { ConfigError, StartupError } from '../config.ts';
import { ClientError } from '../errors.ts';
import { WRITE_DEFAULT_DAYS } from '../tokens/scope.ts';
import { APPROVAL_COMMANDS } from './approval-commands.ts';
import { IMPORT_COMMANDS } from './import-commands.ts';
import { STORE_OPTIONS, VERSION, type Command } from './command.ts';
import { KEYS_COMMANDS } from './keys-commands.ts';
import { LOG_COMMANDS } from './log-commands.ts';
import { NAMES_COMMANDS } from './names-commands.ts';
import { ORG_COMMANDS } from './org-commands.ts';
import { PACKAGE_COMMANDS } from './package-commands.ts';
import { REPORT_COMMANDS } from './report-commands.ts';
import { SCAN_COMMANDS } from './scan-commands.ts';
import { SERVE_COMMANDS } from './serve-command.ts';
import { TOKEN_COMMANDS } from './token-commands.ts';
import { USER_COMMANDS } from './user-commands.ts';

const COMMON = { ...STORE_OPTIONS, help: { type: 'boolean' as const, short: 'h' } };

const COMMANDS: Record<string, Command> = {
  ...SERVE_COMMANDS,
  // Accounts and their roles, as an operator manages them.
  ...USER_COMMANDS,
  ...ORG_COMMANDS,
  // Tokens an operator issues for a user (scoped as npm token create's, CLI-2).
  ...TOKEN_COMMANDS,
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
  // Moving from another registry: Verdaccio's storage, users and access rules.
  ...IMPORT_COMMANDS,
};

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
    else if (err instanceof ClientError)
      console.error(`bulwark ${found.name}: ${err.message}${err.code === 'E_USAGE' ? `\nusage: ${cmd.usage}` : ''}`);
    else console.error(`bulwark ${found.name}: ${(err as Error).stack ?? String(err)}`);
    return err instanceof ClientError && err.code === 'E_USAGE' ? 2 : 1;
  }
}
