// The minimum release age (cooldown) of proxied packages: a version younger than it, by the upstream's own `time`,
// is not offered. Most malicious versions of hijacked packages were live for hours, not days; this is what npm's
// `--before` and pnpm's minimumReleaseAge do on one client, done once for every client of the registry. Pure.
import semver from 'semver';

export type CooldownInput = {
  versions: readonly string[];
  /** the upstream packument's `time`: version → ISO date of its publication. */
  time: Readonly<Record<string, unknown>>;
  distTags: Readonly<Record<string, unknown>>;
};

export type Cooldown = {
  /** versions old enough to be offered, in the upstream's order. */
  visible: string[];
  /** versions held back, and when each becomes available (ms since the epoch; NaN when its age is unknown). */
  hidden: Map<string, number>;
  /** the dist-tags to serve: tags of hidden versions are dropped, `latest` falls back (see below). */
  distTags: Record<string, string>;
};

/**
 * Splits versions into those offered and those held back by the cooldown. A version whose publication time the
 * upstream does not give is held back too (its age cannot be known) unless the cooldown is off. `latest`, when its
 * version is held back, falls back to the newest old-enough version that is not a prerelease and not above it, so
 * a fresh major on another tag never becomes latest by accident; with none, no `latest` is served.
 */
export function applyCooldown(input: CooldownInput, minAgeMs: number, now: number): Cooldown {
  const hidden = new Map<string, number>();
  const visible: string[] = [];
  for (const v of input.versions) {
    if (minAgeMs <= 0) {
      visible.push(v);
      continue;
    }
    const at = typeof input.time[v] === 'string' ? Date.parse(input.time[v]) : NaN;
    if (Number.isFinite(at) && at + minAgeMs <= now) visible.push(v);
    else hidden.set(v, at + minAgeMs);
  }
  const distTags: Record<string, string> = {};
  for (const [tag, v] of Object.entries(input.distTags))
    if (typeof v === 'string' && visible.includes(v)) distTags[tag] = v;
  const latest = input.distTags.latest;
  if (typeof latest === 'string' && !distTags.latest) {
    const ceiling = semver.valid(latest);
    const candidates = visible.filter(
      (v) => semver.valid(v) && !semver.prerelease(v) && (ceiling === null || semver.lte(v, ceiling)),
    );
    const fallback = semver.maxSatisfying(candidates, '*');
    if (fallback) distTags.latest = fallback;
  }
  return { visible, hidden, distTags };
}

/** When a held-back version becomes available, as a sentence for an npm error body. */
export function cooldownMessage(name: string, version: string, availableAt: number, minAgeMs: number): string {
  const age = humanDuration(minAgeMs);
  if (!Number.isFinite(availableAt))
    return `${name}@${version} is not offered: the upstream registry gives no publication time for it, and this registry only serves versions at least ${age} old (minimum release age)`;
  return `${name}@${version} was published less than ${age} ago: this registry serves new versions from its upstream only once they are ${age} old (minimum release age), to keep freshly hijacked releases out. It becomes available at ${new Date(availableAt).toISOString()}; an administrator can exempt the package with --min-release-age-exempt`;
}

export function humanDuration(ms: number): string {
  const units: Array<[number, string]> = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1000, 'second'],
  ];
  for (const [size, unit] of units)
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}${ms / size === 1 ? '' : 's'}`;
  return `${Math.round(ms / 1000)} seconds`;
}
