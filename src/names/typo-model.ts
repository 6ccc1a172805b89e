// How likely is one name a mistyped or dressed-up copy of another? A noisy-channel view of typing, after the typo
// classes catalogued for npm (Taylor et al. 2020, "SpellBound"; Vu et al. 2020; Neupane et al. 2023): each edit that
// turns the target into the candidate has a cost that is low for the slips people and squatters make (a doubled or
// dropped repeated letter, two letters swapped, a neighbouring key, a look-alike digit) and high for edits that make
// another word (a changed digit is another version: json3 / json5). Pure functions, no I/O.

// QWERTY rows: a key's neighbours are beside it and, staggered, above and below.
const ROWS = ['1234567890', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm'];
const NEIGHBOURS = new Map<string, Set<string>>();
for (let r = 0; r < ROWS.length; r++) {
  for (let c = 0; c < ROWS[r]!.length; c++) {
    const near = new Set<string>();
    const at = (rr: number, cc: number) => {
      const ch = ROWS[rr]?.[cc];
      if (ch !== undefined) near.add(ch);
    };
    at(r, c - 1);
    at(r, c + 1);
    at(r - 1, c);
    at(r - 1, c + 1);
    at(r + 1, c - 1);
    at(r + 1, c);
    NEIGHBOURS.set(ROWS[r]![c]!, near);
  }
}
// Characters that read alike (digits for letters, as in "1odash", "bryp4t") and that sound alike (c/k, s/z, i/y).
const LOOK_ALIKE = ['0o', '1l', '1i', 'il', '3e', '4a', '5s', '7t', '8b', '9g', '2z', 'uv', 'vw'];
const SOUND_ALIKE = ['ck', 'sz', 'iy', 'kq', 'cs', 'fv', 'dt', 'bp', 'mn', 'gj', 'xz'];
const pairSet = (pairs: string[]) => new Set(pairs.flatMap((p) => [p, p[1]! + p[0]!]));
const LOOK = pairSet(LOOK_ALIKE);
const SOUND = pairSet(SOUND_ALIKE);
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

export const COST = {
  /** two neighbouring letters swapped ("lodahs") */
  transposition: 0.5,
  /** a letter doubled or a double letter made single ("expresss", "comander") */
  repetition: 0.5,
  /** a look-alike character ("1odash", "c0mmander") */
  lookAlike: 0.5,
  /** a neighbouring key ("chalc"), or a letter that sounds the same ("kolors") */
  neighbour: 0.75,
  /** a letter dropped or added, or changed for an unrelated one */
  plain: 1,
  /** a digit added, dropped or changed: how versions and forks name themselves ("listr2", "json5") */
  digit: 3,
} as const;

function substitutionOf(a: string, b: string): number {
  if (a === b) return 0;
  if (LOOK.has(a + b)) return COST.lookAlike;
  if (isDigit(a) || isDigit(b)) return COST.digit;
  if (NEIGHBOURS.get(a)?.has(b) || SOUND.has(a + b)) return COST.neighbour;
  return COST.plain;
}

// Every pair of ASCII characters' substitution cost, computed once: the alignment below looks it up in its inner loop.
const SUB = new Float64Array(128 * 128).fill(COST.plain);
for (let x = 0; x < 128; x++)
  for (let y = 0; y < 128; y++) SUB[x * 128 + y] = substitutionOf(String.fromCharCode(x), String.fromCharCode(y));
const substitution = (a: number, b: number): number =>
  a < 128 && b < 128 ? SUB[a * 128 + b]! : a === b ? 0 : COST.plain;

/** Cost of the candidate holding the extra character s[i] (an insertion typo), s being the candidate. */
function extra(s: string, i: number): number {
  const ch = s[i]!;
  if (isDigit(ch)) return COST.digit;
  if (s[i - 1] === ch || s[i + 1] === ch) return COST.repetition;
  if ((s[i - 1] !== undefined && NEIGHBOURS.get(s[i - 1]!)?.has(ch)) || NEIGHBOURS.get(s[i + 1] ?? '')?.has(ch))
    return COST.neighbour;
  return COST.plain;
}

/** Cost of the candidate missing t[j] (an omission), t being the target. */
function missing(t: string, j: number): number {
  const ch = t[j]!;
  if (isDigit(ch)) return COST.digit;
  if (t[j - 1] === ch || t[j + 1] === ch) return COST.repetition;
  return COST.plain;
}

/**
 * The cheapest way to type `target` and get `candidate` (weighted optimal string alignment), or Infinity once every
 * alignment costs more than max. Both are npm keys (lower case, no separators).
 */
export function typoCost(candidate: string, target: string, max = 2): number {
  const a = candidate;
  const b = target;
  if (Math.abs(a.length - b.length) > max / COST.repetition) return Infinity;
  const ex = Array.from(a, (_, i) => extra(a, i));
  const mi = Array.from(b, (_, j) => missing(b, j));
  let prev2: number[] = [];
  let prev: number[] = [0];
  for (let j = 1; j <= b.length; j++) prev.push(prev[j - 1]! + mi[j - 1]!);
  for (let i = 1; i <= a.length; i++) {
    const ai = a.charCodeAt(i - 1);
    const cur: number[] = [prev[0]! + ex[i - 1]!];
    let rowMin = cur[0]!;
    for (let j = 1; j <= b.length; j++) {
      const bj = b.charCodeAt(j - 1);
      let d = Math.min(prev[j]! + ex[i - 1]!, cur[j - 1]! + mi[j - 1]!, prev[j - 1]! + substitution(ai, bj));
      if (i > 1 && j > 1 && ai === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === bj && ai !== a.charCodeAt(i - 2))
        d = Math.min(d, prev2[j - 2]! + COST.transposition);
      cur.push(d);
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > max) return Infinity;
    prev2 = prev;
    prev = cur;
  }
  const d = prev[b.length]!;
  return d > max ? Infinity : d;
}

/** A 26-bit mask of the letters (and one bit for any digit) in a key: a cheap filter before typoCost. */
export function letterMask(key: string): number {
  let m = 0;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    m |= c >= 97 && c <= 122 ? 1 << (c - 97) : 1 << 26;
  }
  return m;
}

export function bitCount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/**
 * Words added to a famous name to dress a copy up as its port, wrapper or official build ("node-x", "x-js", "xjs",
 * "x-cli"). `noise` ones say nothing of their own (a copy of x named x-js is still x); the others name a real kind of
 * companion package (x-cli, x-utils), which a project often publishes itself.
 */
export const NOISE_AFFIXES = ['js', 'node', 'nodejs', 'npm', 'official', 'real', 'the', 'get', 'latest', 'pkg'];
export const COMPANION_AFFIXES = ['cli', 'lib', 'core', 'utils', 'util', 'api', 'sdk', 'ts', 'dev', 'pro', 'plus'];
const AFFIXES = [...NOISE_AFFIXES, ...COMPANION_AFFIXES];
// Glued on without a separator ("typescriptjs", "nodesass"), only these are common enough to strip.
const GLUED_SUFFIXES = ['js', 'node', 'npm'];
const GLUED_PREFIXES = ['node', 'npm'];

export type Core = { key: string; affix: string | null };

/**
 * The name's npm key and what is left after removing one affix (as a word, or glued on for the common ones): the
 * cores a look-alike might be hiding.
 */
export function coresOf(name: string, minLength = 3): Core[] {
  const lower = name.toLowerCase();
  const key = lower.replace(/[._-]/g, '');
  const out: Core[] = [{ key, affix: null }];
  const add = (k: string, affix: string) => {
    if (k.length >= minLength && !out.some((c) => c.key === k)) out.push({ key: k, affix });
  };
  const tokens = lower.split(/[._-]+/).filter(Boolean);
  if (tokens.length > 1) {
    if (AFFIXES.includes(tokens[0]!)) add(tokens.slice(1).join(''), tokens[0]!);
    if (AFFIXES.includes(tokens.at(-1)!)) add(tokens.slice(0, -1).join(''), tokens.at(-1)!);
  }
  for (const s of GLUED_SUFFIXES) if (key.endsWith(s)) add(key.slice(0, -s.length), s);
  for (const p of GLUED_PREFIXES) if (key.startsWith(p)) add(key.slice(p.length), p);
  return out;
}

/** The words of a name: split at separators and the scope's slash, lower case. */
export const tokensOf = (name: string): string[] =>
  name
    .toLowerCase()
    .replace(/^@/, '')
    .split(/[./_-]+/)
    .filter(Boolean);
