// Package names as npm's own validate-npm-package-name defines them, plus the URL forms clients send.
import validate from 'validate-npm-package-name';

export function nameProblem(name: string): string | null {
  const r = validate(name);
  if (r.validForNewPackages) return null;
  return `invalid package name "${name}": ${[...(r.errors ?? []), ...(r.warnings ?? [])].join('; ')}`;
}

/** Names that may exist in a registry: npm's rules for old packages (which allowed capitals and longer names). */
export function isServableName(name: string): boolean {
  return name.length <= 214 && validate(name).validForOldPackages;
}

export function scopeOf(name: string): string | null {
  return name.startsWith('@') ? name.slice(1, name.indexOf('/')) : null;
}

/** The file name npm gives a tarball: the unscoped part of the name, a dash, the version. */
export function tarballFile(name: string, version: string): string {
  return `${name.slice(name.lastIndexOf('/') + 1)}-${version}.tgz`;
}

/** Tag names must be URL-safe and must not parse as a semver range, so `npm install name@tag` is unambiguous. */
export function tagProblem(tag: string, validRange: (t: string) => unknown): string | null {
  if (!tag || tag.length > 128 || encodeURIComponent(tag) !== tag)
    return `invalid dist-tag "${tag}": use letters, digits, "-", "_" or "."`;
  if (validRange(tag) !== null) return `invalid dist-tag "${tag}": a tag must not be a valid semver range`;
  return null;
}
