// What every operator command that works on a registry's data shares: the storage flags (the same as serve's), their
// help text, and opening the store those settings name.
import { SETTINGS, loadSettings, type Settings } from '../config.ts';
import { openStore, type Store } from '../store/db.ts';

export type Values = Record<string, string | boolean | undefined>;

export type StoreCommand = {
  usage: string;
  summary: string;
  help: string;
  options: Record<string, { type: 'string' | 'boolean' }>;
  positionals?: string[];
  run(args: { values: Values; positionals: string[] }): Promise<number>;
};

export const STORE_OPTIONS = { ...Object.fromEntries(SETTINGS.map((x) => [x.flag, { type: 'string' as const }])), config: { type: 'string' as const } };
export const STORE_HELP = `Storage options (same as for serve):
  --data-dir <path>        folder holding the SQLite database (env BULWARK_DATA_DIR)
  --database <url>         postgres:// URL instead of SQLite (env BULWARK_DATABASE_URL)
  --config <file>          JSON config file whose keys are the option names (env BULWARK_CONFIG)`;

export function settingsOf(values: Values): Settings {
  const flags = Object.fromEntries(SETTINGS.filter((x) => typeof values[x.flag] === 'string').map((x) => [x.flag, values[x.flag] as string]));
  return loadSettings({ flags, env: process.env, file: typeof values.config === 'string' ? values.config : undefined });
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
