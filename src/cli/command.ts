// What every `bulwark` subcommand shares: its shape (usage, help, options, run), and for those that work on a
// registry's data, the storage flags (the same as serve's), their help text, and opening the store they name.
import type { ParseArgsConfig } from 'node:util';
import { setPasswordHashParams } from '../accounts/passwords.ts';
import { SETTINGS, loadSettings, type Settings } from '../config.ts';
import { openStore, type Store } from '../store/db.ts';

export type Values = Record<string, string | boolean | undefined>;

export type Command = {
  usage: string;
  summary: string;
  help: string;
  options?: ParseArgsConfig['options'];
  positionals?: string[];
  run(args: { values: Values; positionals: string[] }): Promise<number>;
};

export const STORE_OPTIONS = { ...Object.fromEntries(SETTINGS.map((x) => [x.flag, { type: 'string' as const }])), config: { type: 'string' as const } };
export const STORE_HELP = `Storage options (same as for serve):
  --data-dir <path>        folder holding the SQLite database and blobs (env BULWARK_DATA_DIR, default ./data)
  --database <url>         postgres:// URL instead of SQLite (env BULWARK_DATABASE_URL)
  --config <file>          JSON config file whose keys are the option names (env BULWARK_CONFIG)`;

export function settingsOf(values: Values): Settings {
  const flags = Object.fromEntries(SETTINGS.filter((x) => typeof values[x.flag] === 'string').map((x) => [x.flag, values[x.flag] as string]));
  const settings = loadSettings({ flags, env: process.env, file: typeof values.config === 'string' ? values.config : undefined });
  // Every command that may hash a password (serve, admin user create) uses the configured cost.
  setPasswordHashParams(settings.passwordHash);
  return settings;
}

export async function withStore(values: Values, fn: (store: Store, settings: Settings) => Promise<number>): Promise<number> {
  const settings = settingsOf(values);
  const store = await openStore({ dataDir: settings.dataDir, database: settings.database, poolSize: 2 });
  try {
    return await fn(store, settings);
  } finally {
    await store.close();
  }
}
