// Typosquatting: is a new package name confusingly similar to a protected one? Pure and index-based: the protected
// names are turned into hash maps once (npm keys, UTS #39 skeletons, symmetric-delete neighbourhoods for edit
// distance 1 and, around long famous names, 2; collapsed repeats), and a check is a few hundred map look-ups at most,
// whatever the number of protected names.
import { CONFUSABLES } from './confusables-table.ts';

export const Rule = {
  NpmNormalized: 'npm-normalized',
  Confusable: 'confusable',
  EditDistance: 'edit-distance',
  RepeatedCharacter: 'repeated-character',
  Affix: 'affix',
  Plural: 'plural',
  Scope: 'scope',
} as const;
export type RuleValue = (typeof Rule)[keyof typeof Rule];

export type Reason = { rule: RuleValue; similar_to: string };
export type Verdict = { name: string; verdict: 'allow' | 'block'; reasons: Reason[] };

export type IndexOptions = {
  /**
   * Fuzzy rules (edit distance, repeats, affixes, plurals, scope look-alikes) compare against the first `fuzzyTop`
   * names only: attackers imitate names people actually type, and comparing every new name with the long tail of
   * moderately popular names mostly refuses legitimate ones (see docs/names.md for the measured trade-off).
   */
  fuzzyTop?: number;
  /** shortest npm key (name without . - _) for which one edit is considered a typo rather than a different word. */
  minEditLength?: number;
  /** affixes ("x-js", "node-x", "x-cli") are only looked for around the first `affixTop` names, the famous ones. */
  affixTop?: number;
  /**
   * A dropped letter ("mogodb", "good-listene") is looked for in the first `omissionTop` names, beyond the fuzzy tier:
   * a name one letter short of a well-known one is rarely a package of its own, unlike one with a letter added.
   */
  omissionTop?: number;
  /** two edits ("yargs-parxe", "lodash.isstgrng") are looked for around the first `edit2Top` names, long ones only. */
  edit2Top?: number;
  /** shortest npm key (of the protected name) for which two edits still read as that name rather than another word. */
  edit2MinLength?: number;
  /**
   * Beyond the fuzzy tier, one edit inside a long name ("dizcordjs" for "discord.js") still counts when the protected
   * key has at least this many characters and the last letter is the same: changing or adding the last letter is how
   * legitimate long-tail names differ ("diacritic"/"diacritics", "markdown-it-sub"/"-sup", "eslint-plugin-jsonc").
   */
  tailEditMinLength?: number;
};

export const DEFAULT_FUZZY_TOP = 3000;
export const DEFAULT_MIN_EDIT_LENGTH = 5;
export const DEFAULT_AFFIX_TOP = 1000;
export const DEFAULT_OMISSION_TOP = 10_000;
export const DEFAULT_EDIT2_TOP = 3000;
export const DEFAULT_EDIT2_MIN_LENGTH = 10;
export const DEFAULT_TAIL_EDIT_MIN_LENGTH = 9;

// Words people add to a famous name to make a look-alike ("node-x", "x-js", "x.js", "x-cli" …).
const PREFIXES = ['node-', 'node.', 'node_', 'nodejs-', 'js-', 'npm-', 'get-', 'the-', 'real-', 'official-'];
const SUFFIXES = [
  '-js',
  '.js',
  '_js',
  '-node',
  '-nodejs',
  '-cli',
  '-utils',
  '-util',
  '-lib',
  '-core',
  '-api',
  '-sdk',
  '-dev',
  '-next',
  '-pro',
  '-plus',
  '-official',
  '-latest',
];
// Glued forms compared on the npm key (separators already removed): "xjs", "nodex".
const KEY_SUFFIXES = ['js', 'node'];
const KEY_PREFIXES = ['node'];

// Scopes are short words (aws, vue, nestjs): one edit makes another organisation's name unless the scope is long.
const SCOPE_MIN_EDIT = 7;

const CONFUSABLE_MAP = new Map<string, string>(CONFUSABLES.map(([cp, proto]) => [String.fromCodePoint(cp), proto]));

/** npm's own rule: names are the same when they are equal after lower-casing and removing ".", "-" and "_". */
export function npmKey(name: string): string {
  return name.toLowerCase().replace(/[._-]/g, '');
}

/** The UTS #39 skeleton of a name (confusable characters replaced by their prototypes), then npmKey'd. */
export function skeleton(name: string): string {
  let out = '';
  for (const ch of name.normalize('NFD')) out += CONFUSABLE_MAP.get(ch) ?? ch;
  // Combining marks left after decomposition (an accent on a Latin letter) do not change how a name reads.
  return npmKey(out.normalize('NFD').replace(/\p{M}/gu, ''));
}

/** Runs of one character collapsed to one ("jquerry" → "jquery", "expres" and "express" → "expres"). */
export function collapseRepeats(key: string): string {
  return key.replace(/(.)\1+/g, '$1');
}

/**
 * Whether two names one edit apart (compared on their npm keys) differ in a way people mistype. An edit of the first
 * character ("recharts" / "echarts", "verror" / "error", "preact" / "react"), of the first character of a word both
 * names start there ("lodash.get" / "lodash.set", "eslint-plugin-jsdoc" / "-tsdoc") or of a digit ("json3" / "json5",
 * "listr2") is how legitimate packages name themselves apart; typos happen inside a word already started right.
 */
export function typoLike(a: string, b: string, aName = a, bName = b): boolean {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (i === 0) return false;
  if (wordStarts(aName).has(i) && wordStarts(bName).has(i)) return false;
  let j = 0;
  while (j < a.length - i && j < b.length - i && a[a.length - 1 - j] === b[b.length - 1 - j]) j++;
  const changed = a.slice(i, a.length - j) + b.slice(i, b.length - j);
  return !/\d/.test(changed);
}

/** Positions, counted in the npm key, where a word of the name starts (after ".", "-", "_" or "/"). */
function wordStarts(name: string): Set<number> {
  const out = new Set<number>([0]);
  let k = 0;
  for (const ch of name.toLowerCase()) {
    if (ch === '.' || ch === '-' || ch === '_' || ch === '/' || ch === '@') out.add(k);
    else k++;
  }
  return out;
}

/** Optimal string alignment distance, capped: returns max+1 as soon as the distance is known to exceed max. */
export function editDistance(a: string, b: string, max = 1): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const prev2 = new Array<number>(b.length + 1).fill(0);
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = new Array<number>(b.length + 1);
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = d;
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > max) return max + 1;
    for (let j = 0; j <= b.length; j++) prev2[j] = prev[j]!;
    prev = cur;
  }
  return prev[b.length]!;
}

function deletions(key: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < key.length; i++) out.push(key.slice(0, i) + key.slice(i + 1));
  return out;
}

const splitName = (name: string): { scope: string | null; bare: string } =>
  name.startsWith('@') && name.includes('/')
    ? { scope: name.slice(1, name.indexOf('/')), bare: name.slice(name.indexOf('/') + 1) }
    : { scope: null, bare: name };

/**
 * A map from a key to one or more names. Nearly every key has a single name (of 24,000 deletion keys of the shipped
 * list, 700 have more), so a lone name is stored as itself rather than in an array: an array per key was a sixth of
 * the index's memory.
 */
type MultiMap = Map<string, string | string[]>;

function push(map: MultiMap, key: string, value: string): void {
  const held = map.get(key);
  if (held === undefined) map.set(key, value);
  else if (typeof held === 'string') {
    if (held !== value) map.set(key, [held, value]);
  } else if (!held.includes(value)) held.push(value);
}

const NONE: readonly string[] = [];

/**
 * Names grouped by the first letter and length of their key. A typo keeps the first letter (see typoLike), so the
 * names within k edits of a key are in the 2k+1 groups of its first letter and lengths within k: a few dozen names,
 * each compared with a capped edit distance. A symmetric-delete index gives the same answers for two edits with
 * 30 MB more memory.
 */
type Buckets = Map<string, [string, string][]>;

function addToBucket(buckets: Buckets, key: string, name: string): void {
  const bucket = `${key[0]}${key.length}`;
  const held = buckets.get(bucket);
  if (held === undefined) buckets.set(bucket, [[key, name]]);
  else held.push([key, name]);
}

function* bucketsAround(buckets: Buckets, key: string, k: number): Generator<[string, string]> {
  for (let len = key.length - k; len <= key.length + k; len++) yield* buckets.get(`${key[0]}${len}`) ?? [];
}

function namesAt(map: MultiMap, key: string): readonly string[] {
  const held = map.get(key);
  return held === undefined ? NONE : typeof held === 'string' ? [held] : held;
}

/**
 * The protected names, indexed. Names are given most important first (operator-configured, the registry's own most
 * downloaded, then the shipped popular list in popularity order), so a reason names the most likely target.
 */
export class ProtectedNames {
  readonly #all = new Set<string>();
  readonly #byKey = new Map<string, string>();
  readonly #bySkeleton = new Map<string, string>();
  readonly #fuzzyByKey = new Map<string, string>();
  readonly #byDeletion: MultiMap = new Map();
  readonly #byCollapsed: MultiMap = new Map();
  readonly #scopes = new Set<string>();
  readonly #scopeByKey = new Map<string, string>();
  readonly #scopeBySkeleton = new Map<string, string>();
  readonly #scopeByDeletion: MultiMap = new Map();
  readonly #byScopedBare = new Map<string, string>();
  readonly #minEdit: number;
  readonly #affixByKey = new Map<string, string>();
  readonly #transposeByKey = new Map<string, string>();
  readonly #omissionByKey = new Map<string, string>();
  /** long famous names, for two edits: [npm key (scoped: scope and name joined), name]. */
  readonly #twoEditBuckets: Buckets = new Map();
  readonly #edit2Min: number;
  readonly #tailEditMin: number;
  /** long names beyond the fuzzy tier, for one edit inside them. */
  readonly #tailBuckets: Buckets = new Map();

  constructor(names: Iterable<string>, opts: IndexOptions & { scopes?: Iterable<string> } = {}) {
    const fuzzyTop = opts.fuzzyTop ?? DEFAULT_FUZZY_TOP;
    const affixTop = opts.affixTop ?? DEFAULT_AFFIX_TOP;
    this.#minEdit = opts.minEditLength ?? DEFAULT_MIN_EDIT_LENGTH;
    const omissionTop = opts.omissionTop ?? DEFAULT_OMISSION_TOP;
    const edit2Top = opts.edit2Top ?? DEFAULT_EDIT2_TOP;
    this.#edit2Min = opts.edit2MinLength ?? DEFAULT_EDIT2_MIN_LENGTH;
    this.#tailEditMin = opts.tailEditMinLength ?? DEFAULT_TAIL_EDIT_MIN_LENGTH;
    for (const scope of opts.scopes ?? []) this.#addScope(scope.replace(/^@/, '').replace(/\/.*$/, ''));
    let rank = 0;
    for (const raw of names) {
      const name = raw.trim();
      if (!name || this.#all.has(name)) continue;
      this.#all.add(name);
      const key = npmKey(name);
      if (!this.#byKey.has(key)) this.#byKey.set(key, name);
      // Most skeletons equal the key: keeping the key's string lets the skeleton's copy go.
      const skel = skeleton(name);
      if (!this.#bySkeleton.has(skel)) this.#bySkeleton.set(skel === key ? key : skel, name);
      const thisRank = rank++;
      // Every unscoped protected name is guarded against swapped letters ("electorn", "ethres"): people rarely choose
      // such a name for a package of their own, so this costs almost no legitimate names, unlike the other edits.
      if (!name.startsWith('@') && key.length >= this.#minEdit && !this.#transposeByKey.has(key))
        this.#transposeByKey.set(key, name);
      if (!name.startsWith('@') && thisRank < omissionTop && key.length > this.#minEdit) {
        // Not the first letter (another word) nor a digit (a version: "listr2", "listr").
        for (let i = 1; i < key.length; i++) {
          const k = key.slice(0, i) + key.slice(i + 1);
          if (!/\d/.test(key[i]!) && !this.#omissionByKey.has(k)) this.#omissionByKey.set(k, name);
        }
      }
      if (!name.startsWith('@') && thisRank < edit2Top && key.length >= this.#edit2Min)
        addToBucket(this.#twoEditBuckets, key, name);
      if (thisRank >= fuzzyTop) {
        if (!name.startsWith('@') && key.length >= this.#tailEditMin) addToBucket(this.#tailBuckets, key, name);
        continue;
      }
      const { scope, bare } = splitName(name);
      if (scope !== null) {
        this.#addScope(scope);
        // "@babel/core" copied unscoped as "babel-core". (@types packages are themselves copies of unscoped names.)
        const joined = npmKey(scope + bare);
        if (scope !== 'types' && thisRank < affixTop && !this.#byScopedBare.has(joined))
          this.#byScopedBare.set(joined, name);
        // …and with one or two typos ("rollup-pluginuls" for "@rollup/pluginutils"), when long enough to tell.
        if (scope !== 'types' && thisRank < edit2Top && joined.length >= this.#edit2Min)
          addToBucket(this.#twoEditBuckets, joined, name);
        continue;
      }
      if (!this.#fuzzyByKey.has(key)) this.#fuzzyByKey.set(key, name);
      if (thisRank < affixTop && !this.#affixByKey.has(key)) this.#affixByKey.set(key, name);
      if (key.length >= this.#minEdit) for (const d of [key, ...deletions(key)]) push(this.#byDeletion, d, name);
      if (key.length >= 4) push(this.#byCollapsed, collapseRepeats(key), name);
    }
  }

  #addScope(scope: string): void {
    if (!scope || this.#scopes.has(scope)) return;
    this.#scopes.add(scope);
    const key = npmKey(scope);
    if (!this.#scopeByKey.has(key)) this.#scopeByKey.set(key, scope);
    const skel = skeleton(scope);
    if (!this.#scopeBySkeleton.has(skel)) this.#scopeBySkeleton.set(skel, scope);
    if (key.length >= SCOPE_MIN_EDIT) for (const d of [key, ...deletions(key)]) push(this.#scopeByDeletion, d, scope);
  }

  get size(): number {
    return this.#all.size;
  }

  has(name: string): boolean {
    return this.#all.has(name);
  }

  /** The verdict on a name. A protected name is never a typosquat of anything (safe-buffer and safer-buffer are both real). */
  check(name: string, opts: { asNew?: boolean } = {}): Verdict {
    // asNew: judge a protected name as if it were not there yet (leave-one-out evaluation of legitimate names).
    if (this.#all.has(name) && !opts.asNew) return { name, verdict: 'allow', reasons: [] };
    const reasons: Reason[] = [];
    const add = (rule: RuleValue, similar: string | undefined) => {
      if (similar === undefined || similar === name || reasons.some((r) => r.similar_to === similar)) return;
      reasons.push({ rule, similar_to: similar });
    };
    const { scope } = splitName(name);
    if (scope !== null) this.#checkScoped(name, scope, add);
    else {
      this.#checkUnscoped(name, add);
      if (!reasons.length) this.#checkLooser(name, add);
    }
    return { name, verdict: reasons.length ? 'block' : 'allow', reasons };
  }

  #checkUnscoped(name: string, add: (rule: RuleValue, similar: string | undefined) => void): void {
    const key = npmKey(name);
    add(Rule.NpmNormalized, this.#byKey.get(key));
    add(Rule.Confusable, this.#bySkeleton.get(skeleton(name)));
    this.#nearKey(key, name, add, Rule.EditDistance);
    if (key.length >= this.#minEdit) {
      for (let i = 1; i + 1 < key.length; i++) {
        if (key[i] === key[i + 1]) continue;
        add(Rule.EditDistance, this.#transposeByKey.get(key.slice(0, i) + key[i + 1]! + key[i]! + key.slice(i + 2)));
      }
    }
    if (key.length >= 4)
      for (const p of namesAt(this.#byCollapsed, collapseRepeats(key))) add(Rule.RepeatedCharacter, p);
    const lower = name.toLowerCase();
    for (const prefix of PREFIXES) if (lower.startsWith(prefix)) this.#affixRest(lower.slice(prefix.length), add);
    for (const suffix of SUFFIXES) if (lower.endsWith(suffix)) this.#affixRest(lower.slice(0, -suffix.length), add);
    for (const suffix of KEY_SUFFIXES) if (key.endsWith(suffix)) this.#affixRest(key.slice(0, -suffix.length), add);
    for (const prefix of KEY_PREFIXES) if (key.startsWith(prefix)) this.#affixRest(key.slice(prefix.length), add);
    if (key.length >= 4) {
      for (const k of [
        key + 's',
        key.endsWith('s') ? key.slice(0, -1) : '',
        key.endsWith('es') ? key.slice(0, -2) : '',
      ])
        if (k) add(Rule.Plural, this.#fuzzyByKey.get(k));
    }
    add(Rule.Scope, this.#byScopedBare.get(key));
  }

  // What is left after removing an affix: the famous name itself, or one typo of it when long enough to tell.
  #affixRest(rest: string, add: (rule: RuleValue, similar: string | undefined) => void): void {
    const key = npmKey(rest);
    if (key.length < 2) return;
    add(Rule.Affix, this.#affixByKey.get(key));
  }

  #nearKey(
    key: string,
    name: string,
    add: (rule: RuleValue, similar: string | undefined) => void,
    rule: RuleValue,
  ): void {
    if (key.length < this.#minEdit) return;
    for (const d of [key, ...deletions(key)]) {
      for (const p of namesAt(this.#byDeletion, d)) {
        const pk = npmKey(p);
        if (editDistance(key, pk) === 1 && typoLike(key, pk, name, p)) add(rule, p);
      }
    }
  }

  // The looser edits, looked for only when the closer rules found nothing (so a reason names the likeliest target:
  // "expresss" is "express" with a letter repeated, not "express-ws" with a letter dropped).
  #checkLooser(name: string, add: (rule: RuleValue, similar: string | undefined) => void): void {
    const key = npmKey(name);
    if (key.length >= this.#tailEditMin - 1) {
      for (const [pk, p] of bucketsAround(this.#tailBuckets, key, 1)) {
        if (key.at(-1) === pk.at(-1) && editDistance(key, pk) === 1 && typoLike(key, pk, name, p))
          add(Rule.EditDistance, p);
      }
    }
    if (key.length >= this.#minEdit) {
      const p = this.#omissionByKey.get(key);
      if (p !== undefined && typoLike(key, npmKey(p), name, p)) add(Rule.EditDistance, p);
    }
    if (key.length >= this.#edit2Min - 2) this.#twoEdits(key, name, add);
  }

  // Two edits of a long famous name (candidates from the buckets). A name that only adds or drops letters at the end
  // ("estraverse-fb", "markdown" for "markdown-it") is another word, not a typo.
  #twoEdits(key: string, name: string, add: (rule: RuleValue, similar: string | undefined) => void): void {
    for (const [pk, p] of bucketsAround(this.#twoEditBuckets, key, 2)) {
      if (!pk.startsWith(key) && !key.startsWith(pk) && editDistance(key, pk, 2) <= 2 && typoLike(key, pk, name, p))
        add(p.startsWith('@') ? Rule.Scope : Rule.EditDistance, p);
    }
  }

  #checkScoped(name: string, scope: string, add: (rule: RuleValue, similar: string | undefined) => void): void {
    add(Rule.NpmNormalized, this.#byKey.get(npmKey(name)));
    add(Rule.Confusable, this.#bySkeleton.get(skeleton(name)));
    // Publishing inside a protected scope is the scope owner's business, not a look-alike.
    if (this.#scopes.has(scope)) return;
    const key = npmKey(scope);
    const similar = this.#scopeByKey.get(key) ?? this.#scopeBySkeleton.get(skeleton(scope));
    if (similar !== undefined) {
      add(Rule.Scope, `@${similar}`);
      return;
    }
    if (key.length >= SCOPE_MIN_EDIT) {
      for (const d of [key, ...deletions(key)]) {
        for (const s of namesAt(this.#scopeByDeletion, d))
          if (editDistance(key, npmKey(s)) === 1 && typoLike(key, npmKey(s))) add(Rule.Scope, `@${s}`);
      }
    }
    // "@types-x/y", "@typescript_eslinter/…": a protected scope with a few characters glued on. Longer additions
    // ("@react-native-community") are organisations of their own.
    for (const s of this.#scopes) {
      const sk = npmKey(s);
      const extra = key.length - sk.length;
      if (sk.length >= 4 && extra >= 1 && extra <= 2 && key.startsWith(sk)) add(Rule.Scope, `@${s}`);
    }
  }
}
