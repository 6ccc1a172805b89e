// The shipped default list of popular npm names (lists/npm-popular.txt, with its source in its header), most popular first.
import { readFileSync } from 'node:fs';

let cached: string[] | null = null;

export function shippedPopularNames(): string[] {
  cached ??= readFileSync(new URL('./lists/npm-popular.txt', import.meta.url), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  return cached;
}
