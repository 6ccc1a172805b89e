// What a new package claims to be. A look-alike whose package.json points at the imitated package's own repository
// or home page (copied from it, as squatters copy the whole package.json) is not a project of its own that happens
// to have a similar name: the guard refuses it instead of holding it for review. Pure.
import { npmKey, type Verdict } from './similarity.ts';

/** The repository, home page and issue tracker URLs a manifest gives, lower case. */
function claimedUrls(manifest: Record<string, unknown>): string[] {
  const urlOf = (v: unknown): string | null =>
    typeof v === 'string'
      ? v
      : v && typeof v === 'object' && typeof (v as { url?: unknown }).url === 'string'
        ? (v as { url: string }).url
        : null;
  return [manifest.repository, manifest.homepage, manifest.bugs]
    .map(urlOf)
    .filter((u): u is string => u !== null)
    .map((u) => u.toLowerCase());
}

/** The last path segment of a URL or "owner/name" shorthand: the repository's name ("express" of expressjs/express). */
function repositoryName(url: string): string {
  const path = url
    .replace(/[#?].*$/, '')
    .replace(/\/+$/, '')
    .replace(/\.git$/, '')
    .replace(/\/issues$/, '');
  return path.slice(path.lastIndexOf('/') + 1).replace(/^.*:/, '');
}

/**
 * The protected name a look-alike's manifest claims: its repository, home page or issue tracker is named after the
 * package it resembles rather than after itself.
 */
export function claimedTarget(name: string, manifest: Record<string, unknown>, verdict: Verdict): string | null {
  const own = npmKey(name.slice(name.indexOf('/') + 1));
  const repos = claimedUrls(manifest).map((u) => npmKey(repositoryName(u)));
  for (const r of verdict.reasons) {
    const target = npmKey(r.similar_to.slice(r.similar_to.indexOf('/') + 1));
    if (target !== own && repos.includes(target)) return r.similar_to;
  }
  return null;
}

/** A review verdict made a refusal when the manifest claims the package it resembles. */
export function withClaims(name: string, manifest: Record<string, unknown>, verdict: Verdict): Verdict {
  if (verdict.verdict !== 'review') return verdict;
  const claimed = claimedTarget(name, manifest, verdict);
  if (claimed === null) return verdict;
  return {
    name,
    verdict: 'block',
    reasons: [
      { rule: 'claims', similar_to: claimed, tier: 'block' },
      ...verdict.reasons.filter((r) => r.similar_to !== claimed),
    ],
  };
}
