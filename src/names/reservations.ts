// Dependency confusion: name patterns an operator reserved for an organisation. Pure matching; guard.ts does the I/O.
// A reservation covers its names and their look-alikes, scoped or not: "@acme" reserves @acme/*, the unscoped
// "acme-…" names people mistake for them and look-alike scopes such as "@acrne"; "acme-*" reserves that prefix; a
// plain name reserves itself and its look-alikes.
import { ProtectedNames, npmKey, skeleton } from './similarity.ts';

export type Reservation = { pattern: string; org: string };

export function reservationProblem(pattern: string): string | null {
  const bare = pattern.replace(/\/\*$/, '').replace(/\*$/, '');
  if (!/^(@?[a-z0-9][a-z0-9._-]*)$/.test(bare) && !/^@[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*$/.test(bare))
    return `"${pattern}" is not a reservable pattern: use @scope, a package name, or a prefix ending in *`;
  return null;
}

const scopeOfPattern = (p: string): string | null =>
  /^@[^/]+(\/\*)?$/.test(p) ? p.slice(1).replace(/\/\*$/, '') : null;

export class Reservations {
  readonly #list: Reservation[];
  readonly #lookalikes: Array<{ res: Reservation; index: ProtectedNames }>;

  constructor(list: Reservation[]) {
    this.#list = list;
    this.#lookalikes = list.map((res) => {
      const scope = scopeOfPattern(res.pattern);
      const names = scope === null && !res.pattern.endsWith('*') ? [res.pattern] : [];
      return {
        res,
        index: new ProtectedNames(names, {
          scopes: scope ? [scope] : [],
          fuzzyTop: Infinity,
          minEditLength: 4,
        }),
      };
    });
  }

  get size(): number {
    return this.#list.length;
  }

  /** The reservations a name falls under. */
  matching(name: string): Reservation[] {
    return this.#lookalikes
      .filter(({ res, index }) => covers(res.pattern, name) || index.check(name).verdict !== 'allow')
      .map(({ res }) => res);
  }
}

function covers(pattern: string, name: string): boolean {
  const scope = scopeOfPattern(pattern);
  const lower = name.toLowerCase();
  if (scope !== null) {
    if (lower.startsWith(`@${scope}/`)) return true;
    if (lower.startsWith('@')) return false;
    // Unscoped copies of the scope's names: "acme-billing", "acme.billing", "acmebilling".
    const key = npmKey(scope);
    return (
      npmKey(lower) === key ||
      (key.length >= 3 &&
        (skeleton(lower).startsWith(skeleton(scope)) || new RegExp(`^${escapeRe(scope)}[-._]`).test(lower)))
    );
  }
  if (pattern.endsWith('*')) {
    const prefix = pattern.slice(0, -1);
    const bare = lower.startsWith('@') ? lower.slice(lower.indexOf('/') + 1) : lower;
    return lower.startsWith(prefix) || bare.startsWith(prefix) || skeleton(bare).startsWith(skeleton(prefix));
  }
  return lower === pattern || npmKey(lower) === npmKey(pattern);
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
