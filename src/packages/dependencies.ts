// Which packages a version needs when it is installed: the edges unpublish checks before removing a version that
// something else still depends on. Pure: a manifest in, (dependency, range) pairs out.
import semver from 'semver';

// devDependencies are never installed from the registry by a dependent, so they do not pin anything.
const INSTALLED = ['dependencies', 'optionalDependencies', 'peerDependencies'] as const;

export type DependencyEdge = { dependency: string; range: string };

/** Every registry dependency of a manifest; an npm alias ("npm:real@^1") counts as a dependency on the real name. */
export function dependencyEdges(manifest: Record<string, unknown>): DependencyEdge[] {
  const seen = new Map<string, DependencyEdge>();
  for (const field of INSTALLED) {
    const deps = manifest[field];
    if (!deps || typeof deps !== 'object' || Array.isArray(deps)) continue;
    for (const [name, spec] of Object.entries(deps as Record<string, unknown>)) {
      if (typeof spec !== 'string') continue;
      const alias = /^npm:((?:@[^/@]+\/)?[^@]+)(?:@(.*))?$/.exec(spec);
      const edge = alias ? { dependency: alias[1]!, range: alias[2] || '*' } : { dependency: name, range: spec };
      seen.set(`${edge.dependency}\0${edge.range}`, edge);
    }
  }
  return [...seen.values()];
}

/**
 * Whether a dependency written as `range` may resolve to `version`. A range that is not semver (a dist-tag, a URL, a
 * git or file spec) is counted as depending on the version when it is a tag that points at it; URLs and git specs
 * do not come from this registry at all.
 */
export function rangeAdmits(range: string, version: string, distTags: Record<string, string>): boolean {
  const trimmed = range.trim();
  if (trimmed === '' || trimmed === '*' || trimmed === 'x') return true;
  if (semver.validRange(trimmed, { loose: true }) !== null)
    return semver.satisfies(version, trimmed, { loose: true, includePrerelease: true });
  return distTags[trimmed] === version;
}
