// The shipped default list of popular npm names (lists/npm-popular.txt, with its source in its header), most popular
// first, and the English words the typosquat scoring treats as real words (the word-list package, MIT).
import { readFileSync } from 'node:fs';
import wordListPath from 'word-list';

let cached: string[] | null = null;
let words: ReadonlySet<string> | null = null;

export function shippedPopularNames(): string[] {
  cached ??= readFileSync(new URL('./lists/npm-popular.txt', import.meta.url), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  return cached;
}

/** English words of three letters or more: a changed word that is one names something else ("axiom" / "axios"). */
export function englishWords(): ReadonlySet<string> {
  words ??= new Set(
    readFileSync(wordListPath, 'utf8')
      .split('\n')
      .filter((w) => w.length >= 3),
  );
  return words;
}
