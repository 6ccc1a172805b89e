// The htpasswd file Verdaccio's default auth plugin keeps: `name:hash[:comment]` per line (its parseHTPasswd splits
// on the first two colons and trims; a name listed twice takes its last line, as there). Pure.
import { legacyKind, type LegacyKind } from '../accounts/legacy-passwords.ts';

export type HtpasswdEntry = { name: string; hash: string; kind: LegacyKind | null };

export function parseHtpasswd(text: string): HtpasswdEntry[] {
  const entries = new Map<string, HtpasswdEntry>();
  for (const line of text.split(/\r?\n/)) {
    const [name, hash] = line.split(':', 3).map((s) => s.trim());
    if (!name || hash === undefined || name.startsWith('#')) continue;
    entries.set(name, { name, hash, kind: legacyKind(hash) });
  }
  return [...entries.values()];
}
