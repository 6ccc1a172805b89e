// Which upstream registry, if any, a package name is fetched from, and which names a policy exempts: the same small
// pattern language as Verdaccio's `packages:` keys, checked in order, first match wins. Pure.

/** One routing rule: names matching `pattern` are fetched from `url` (no trailing slash). */
export type UpstreamRule = { pattern: string; url: string };

/**
 * Patterns: `*` or `**` (every name), `@scope/*` or `@scope` (every name in the scope), `prefix*` (names starting so,
 * scoped names included when the prefix starts with @), or one exact name.
 */
export function matchesPattern(pattern: string, name: string): boolean {
  const n = name.toLowerCase();
  const p = pattern.toLowerCase();
  if (p === '*' || p === '**') return true;
  if (/^@[^/]+$/.test(p)) return n.startsWith(`${p}/`);
  if (/^@[^/]+\/\*\*?$/.test(p)) return n.startsWith(p.slice(0, p.indexOf('/') + 1));
  if (p.endsWith('*')) return n.startsWith(p.replace(/\*+$/, ''));
  return n === p;
}

/** The upstream a name is fetched from, or null when no rule covers it (then it is only ever served if hosted). */
export function upstreamFor(rules: readonly UpstreamRule[], name: string): UpstreamRule | null {
  return rules.find((r) => matchesPattern(r.pattern, name)) ?? null;
}

export const matchesAny = (patterns: readonly string[], name: string): boolean =>
  patterns.some((p) => matchesPattern(p, name));
