// What every `bulwark` subcommand shares: its shape (usage, help, options, run), and for those that work on a
// registry's data, the storage flags (the same as serve's), their help text, and opening the store they name.
import { readFileSync } from 'node:fs';
import type { ParseArgsConfig } from 'node:util';
import { SETTINGS, loadSettings, type Settings } from '../config.ts';
import { fail } from '../errors.ts';
import type { Services } from '../app.ts';

export const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** A command used wrongly: the dispatcher prints the message with the command's usage line. */
export const usageError = (message: string) => fail('E_USAGE', message);

export type Values = Record<string, string | boolean | undefined>;

export type Command = {
  usage: string;
  summary: string;
  help: string;
  options?: ParseArgsConfig['options'];
  positionals?: string[];
  run(args: { values: Values; positionals: string[] }): Promise<number>;
};

export const STORE_OPTIONS = {
  ...Object.fromEntries(SETTINGS.map((x) => [x.flag, { type: 'string' as const }])),
  config: { type: 'string' as const },
};
export const STORE_HELP = `Storage options (same as for serve):
  --data-dir <path>        folder holding the SQLite database and blobs (env BULWARK_DATA_DIR, default ./data)
  --database <url>         postgres:// URL instead of SQLite (env BULWARK_DATABASE_URL)
  --config <file>          JSON config file whose keys are the option names (env BULWARK_CONFIG)`;

export function settingsOf(values: Values): Settings {
  const flags = Object.fromEntries(
    SETTINGS.filter((x) => typeof values[x.flag] === 'string').map((x) => [x.flag, values[x.flag] as string]),
  );
  return loadSettings({ flags, env: process.env, file: typeof values.config === 'string' ? values.config : undefined });
}

/** Runs a command over the registry's services (app.ts, as `bulwark serve` builds them), and closes them after. */
export async function withServices(values: Values, fn: (services: Services) => Promise<number>): Promise<number> {
  const settings = settingsOf(values);
  const { openServices } = await import('../app.ts');
  const services = await openServices(settings, { poolSize: 2 });
  try {
    return await fn(services);
  } finally {
    await services.close();
  }
}
