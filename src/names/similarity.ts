// Typosquatting: is a new package name confusingly similar to a protected one? Pure and index-based. Exact rules
// (npm's own punctuation-insensitive key, UTS #39 confusable skeletons, look-alike scopes, unscoped copies of scoped
// names) refuse outright. Everything fuzzier is scored (typo-model.ts): the cheapest typing slip that turns a
// protected name into the candidate, measured against a budget that grows with the protected name's length and
// popularity, is discounted when the candidate's changed word is itself a word other packages use ("math" is not a
// typo of "mpath"). The verdict has three tiers: block (refused), review (held for a moderator) and allow.
import { CONFUSABLES } from './confusables-table.ts';
import { bitCount, coresOf, letterMask, NOISE_AFFIXES, tokensOf, typoCost } from './typo-model.ts';

export const Rule = {
  NpmNormalized: 'npm-normalized',
  Confusable: 'confusable',
  EditDistance: 'edit-distance',
  RepeatedCharacter: 'repeated-character',
  Affix: 'affix',
  Plural: 'plural',
  Scope: 'scope',
  /** a look-alike whose package.json points at the imitated package's repository (claims.ts) */
  Claims: 'claims',
} as const;
export type RuleValue = (typeof Rule)[keyof typeof Rule];

/** cost and budget: the scored rules' typing-slip cost and the protected name's budget; tier: what this reason alone asks. */
export type Reason = { rule: RuleValue; similar_to: string; cost?: number; budget?: number; tier?: 'block' | 'review' };
export type Verdict = { name: string; verdict: 'allow' | 'review' | 'block'; reasons: Reason[] };

export type IndexOptions = {
  /** fuzzy (scored) look-alikes are looked for around the first `fuzzyTop` names only. */
  fuzzyTop?: number;
  /** shortest npm key of a protected name for which any edit is scored (shorter names are other words). */
  minEditLength?: number;
  /** words of the language names are made of (an English word list): a changed word that is one is not a slip */
  words?: ReadonlySet<string>;
};

export const DEFAULT_FUZZY_TOP = Infinity;
export const DEFAULT_MIN_EDIT_LENGTH = 4;

/**
 * The scoring's knobs, chosen on the tuning half of test/fixtures/names-eval (docs/names.md says how). A pair is
 * refused when its cost is at least `blockMargin` under the budget and held for review when under the budget.
 */
export const TUNING = {
  /** budget by the protected key's length: [minimum length, budget], longest first */
  budgetByLength: [
    [12, 2],
    [9, 1.5],
    [7, 1.25],
    [6, 1],
    [5, 0.75],
    [4, 0.5],
  ] as Array<[number, number]>,
  /** every budget multiplied by this */
  scale: 1.25,
  /** budget added per tenfold popularity: log10(pivotRank / (rank + 100)) times this */
  popularity: 0.5,
  pivotRank: 3000,
  /** the first letter changed: more often another word than a slip */
  firstLetter: 0.5,
  /** the last letter changed, added or dropped: how long-tail packages name themselves apart (diacritic/s) */
  lastLetter: 0.5,
  /** the changed word is a word other protected names use */
  word: 1.5,
  /** an affix that names a companion package (x-cli, x-utils) rather than noise (x-js, node-x) */
  companionAffix: Infinity,
  noiseAffix: 0.25,
  /** a noise affix and nothing else ("x-js" for x): at most held for review, never refused */
  affixOnly: 1.5,
  blockMargin: 0.5,
  /** held for review up to this many times the budget */
  reviewStretch: 1,
};

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

/** A protected name in the scored pool: its key (scoped names: scope and name joined), rank and letter mask. */
type Entry = { key: string; name: string; budget: number; mask: number; tokens: string[] };

export function budgetFor(keyLength: number, rank: number): number {
  const found = TUNING.budgetByLength.find(([min]) => keyLength >= min)?.[1] ?? 0;
  if (found === 0) return 0;
  // Squatters copy what people install: a look-alike is about ten times likelier around the first few hundred names
  // than in the long tail (measured on the tuning half), so the budget grows with the log of popularity.
  return found * TUNING.scale + TUNING.popularity * Math.log10(TUNING.pivotRank / (rank + 100));
}

/**
 * The protected names, indexed. Names are given most important first (operator-configured, the registry's own most
 * downloaded, then the shipped popular list in popularity order), so a reason names the most likely target.
 */
export class ProtectedNames {
  readonly #all = new Set<string>();
  readonly #byKey = new Map<string, string>();
  readonly #bySkeleton = new Map<string, string>();
  readonly #scopes = new Set<string>();
  readonly #scopeByKey = new Map<string, string>();
  readonly #scopeBySkeleton = new Map<string, string>();
  readonly #scopeByDeletion = new Map<string, string[]>();
  readonly #byScopedBare = new Map<string, string>();
  /** scored pool, by key length */
  readonly #pool = new Map<number, Entry[]>();
  /** how many protected names use each word (3+ letters) */
  readonly #words = new Map<string, number>();
  readonly #minEdit: number;

  readonly #dictionary: ReadonlySet<string>;

  constructor(names: Iterable<string>, opts: IndexOptions & { scopes?: Iterable<string> } = {}) {
    this.#dictionary = opts.words ?? new Set();
    const fuzzyTop = opts.fuzzyTop ?? DEFAULT_FUZZY_TOP;
    this.#minEdit = opts.minEditLength ?? DEFAULT_MIN_EDIT_LENGTH;
    for (const scope of opts.scopes ?? []) this.#addScope(scope.replace(/^@/, '').replace(/\/.*$/, ''));
    let rank = 0;
    for (const raw of names) {
      const name = raw.trim();
      if (!name || this.#all.has(name)) continue;
      this.#all.add(name);
      const thisRank = rank++;
      const key = npmKey(name);
      if (!this.#byKey.has(key)) this.#byKey.set(key, name);
      const skel = skeleton(name);
      if (!this.#bySkeleton.has(skel)) this.#bySkeleton.set(skel === key ? key : skel, name);
      const tokens = tokensOf(name);
      for (const t of new Set(tokens)) if (t.length >= 3) this.#words.set(t, (this.#words.get(t) ?? 0) + 1);
      const { scope, bare } = splitName(name);
      let poolKey = key;
      if (scope !== null) {
        this.#addScope(scope);
        // @types packages are themselves copies of unscoped names.
        if (scope === 'types') continue;
        // "@babel/core" copied unscoped as "babel-core".
        poolKey = npmKey(scope + bare);
        if (!this.#byScopedBare.has(poolKey)) this.#byScopedBare.set(poolKey, name);
      }
      if (thisRank >= fuzzyTop || poolKey.length < this.#minEdit) continue;
      const budget = budgetFor(poolKey.length, thisRank);
      if (budget <= 0) continue;
      const entry: Entry = { key: poolKey, name, budget, mask: letterMask(poolKey), tokens };
      const held = this.#pool.get(poolKey.length);
      if (held) held.push(entry);
      else this.#pool.set(poolKey.length, [entry]);
    }
  }

  #addScope(scope: string): void {
    if (!scope || this.#scopes.has(scope)) return;
    this.#scopes.add(scope);
    const key = npmKey(scope);
    if (!this.#scopeByKey.has(key)) this.#scopeByKey.set(key, scope);
    const skel = skeleton(scope);
    if (!this.#scopeBySkeleton.has(skel)) this.#scopeBySkeleton.set(skel, scope);
    if (key.length >= SCOPE_MIN_EDIT)
      for (const d of [key, ...deletions(key)]) {
        const held = this.#scopeByDeletion.get(d);
        if (!held) this.#scopeByDeletion.set(d, [scope]);
        else if (!held.includes(scope)) held.push(scope);
      }
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
    const asNew = opts.asNew === true && this.#all.has(name);
    if (this.#all.has(name) && !asNew) return { name, verdict: 'allow', reasons: [] };
    const reasons: Reason[] = [];
    const add = (rule: RuleValue, similar: string | undefined) => {
      if (similar === undefined || similar === name || reasons.some((r) => r.similar_to === similar)) return;
      reasons.push({ rule, similar_to: similar });
    };
    const { scope } = splitName(name);
    // Inside one scope only its owners publish: two of their names alike are their own business ("@types/isurl").
    const otherScope = (similar: string | undefined) =>
      similar !== undefined && scope !== null && splitName(similar).scope === scope ? undefined : similar;
    add(Rule.NpmNormalized, otherScope(this.#byKey.get(npmKey(name))));
    add(Rule.Confusable, otherScope(this.#bySkeleton.get(skeleton(name))));
    if (scope !== null) this.#checkScoped(scope, add);
    else add(Rule.Scope, this.#byScopedBare.get(npmKey(name)));
    if (reasons.length) return { name, verdict: 'block', reasons };
    // Scope imitation, held for review: "types-node" for "@types/node", "@axios/axios" for "axios".
    const imitated =
      scope === null
        ? /^types[._-]?(.+)$/.exec(name.toLowerCase())?.[1]
        : !this.#scopes.has(scope) && npmKey(scope) === npmKey(splitName(name).bare)
          ? splitName(name).bare
          : undefined;
    const target =
      imitated === undefined
        ? undefined
        : scope === null
          ? this.#byKey.get(npmKey(`@types/${imitated}`))
          : this.#unscopedByKey(npmKey(imitated));
    if (target !== undefined && target !== name)
      return { name, verdict: 'review', reasons: [{ rule: Rule.Scope, similar_to: target, tier: 'review' }] };
    if (scope !== null) return { name, verdict: 'allow', reasons };
    const scored = this.#scored(name, asNew);
    if (!scored.length) return { name, verdict: 'allow', reasons };
    const margin = (r: Reason) => r.budget! - r.cost!;
    scored.sort((a, b) => (a.tier === b.tier ? margin(b) - margin(a) : a.tier === 'block' ? -1 : 1));
    return { name, verdict: scored[0]!.tier!, reasons: scored.slice(0, 4) };
  }

  #unscopedByKey(key: string): string | undefined {
    const found = this.#byKey.get(key);
    return found !== undefined && !found.startsWith('@') ? found : undefined;
  }

  /** Scored look-alikes: every protected name whose typo cost (plus affix and word costs) fits its budget. */
  #scored(name: string, asNew: boolean): Reason[] {
    const out = new Map<string, Reason>();
    const nameTokens = tokensOf(name);
    const own = new Set(nameTokens);
    const isWord = (t: string) =>
      t.length >= 3 && (this.#dictionary.has(t) || (this.#words.get(t) ?? 0) - (asNew && own.has(t) ? 1 : 0) > 0);
    for (const core of coresOf(name, this.#minEdit)) {
      const noise = core.affix !== null && NOISE_AFFIXES.includes(core.affix);
      const affixCost = core.affix === null ? 0 : noise ? TUNING.noiseAffix : TUNING.companionAffix;
      const mask = letterMask(core.key);
      for (let len = core.key.length - 2; len <= core.key.length + 2; len++) {
        for (const e of this.#pool.get(len) ?? []) {
          if (bitCount(mask ^ e.mask) > 4 || e.name === name) continue;
          const budget = e.budget;
          if (budget < affixCost) continue;
          if (core.key === e.key && (!noise || TUNING.affixOnly === Infinity)) continue;
          let cost = core.key === e.key ? TUNING.affixOnly : affixCost;
          if (core.key !== e.key) {
            const typo = typoCost(core.key, e.key, budget * TUNING.reviewStretch - affixCost);
            if (typo === Infinity) continue;
            cost += typo;
            if (core.key[0] !== e.key[0]) cost += TUNING.firstLetter;
            const tokens = nameTokens.filter((t) => t !== core.affix);
            // The protected name's words all there, with a word of its own added ("ast-types-x", "bootstrap-vue-3"):
            // a companion or a fork named as such, not a slip.
            // …or one of its words dropped ("reduce" / "p-reduce").
            const whole = (xs: string[], ys: string[]) => xs.length > 0 && xs.every((t) => ys.includes(t));
            if (whole(e.tokens, tokens) || (tokens.length > 1 && whole(tokens, e.tokens))) continue;
            // The changed word is one other packages use, or a whole short word swapped ("eslint-plugin-i" / "-n"):
            // another name, not a slip ("math" / "mpath").
            const added = tokens.filter((t) => !e.tokens.includes(t));
            const swappedShort =
              tokens.length === e.tokens.length && tokens.length > 1 && added.length === 1 && added[0]!.length <= 2;
            if (swappedShort || added.some(isWord)) cost += TUNING.word;
            if (core.key.at(-1) !== e.key.at(-1)) cost += TUNING.lastLetter;
          }
          if (cost > budget * TUNING.reviewStretch) continue;
          const tier = budget - cost >= TUNING.blockMargin && core.key !== e.key ? 'block' : 'review';
          const held = out.get(e.name);
          if (held && (held.tier === 'block' || tier === 'review') && held.budget! - held.cost! >= budget - cost)
            continue;
          const rule =
            core.affix !== null
              ? Rule.Affix
              : collapseRepeats(core.key) === collapseRepeats(e.key)
                ? Rule.RepeatedCharacter
                : Rule.EditDistance;
          const round = (x: number) => Math.round(x * 100) / 100;
          out.set(e.name, { rule, similar_to: e.name, cost: round(cost), budget: round(budget), tier });
        }
      }
    }
    return [...out.values()];
  }

  #checkScoped(scope: string, add: (rule: RuleValue, similar: string | undefined) => void): void {
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
        for (const s of this.#scopeByDeletion.get(d) ?? [])
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
