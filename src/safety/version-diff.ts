// What changed between a version and the one before it, as a moderator reviewing a flagged publish needs to see it:
// files added, removed and changed, the install scripts and dependencies that changed, and a unified diff of the
// changed text files. Account takeovers (chalk/debug, Shai-Hulud) show up here as a small patch release that adds
// a lifecycle script or one obfuscated file. Pure: two tarballs in, a bounded description out.
import { createPatch } from 'diff';
import semver from 'semver';
import { readPackageFiles, type PackageFile } from '../tarball/read.ts';

export type FileChange = { path: string; before: number | null; after: number | null; patch: string | null };
export type FieldChange = { name: string; before: string | null; after: string | null };
export type VersionDiff = {
  added: FileChange[];
  removed: FileChange[];
  changed: FileChange[];
  scripts: FieldChange[];
  dependencies: FieldChange[];
  /** what was left out to keep the diff readable (too many files, binary or huge files). */
  omitted: string[];
};

// Enough to read the change in a page; the scanner, not the moderator, reads whole files.
const MAX_PATCHED_FILES = 20;
const MAX_PATCHED_BYTES = 256 * 1024;
const MAX_PATCH_CHARS = 20_000;
const LIFECYCLE = new Set([
  'preinstall',
  'install',
  'postinstall',
  'preuninstall',
  'uninstall',
  'postuninstall',
  'prepare',
  'prepublish',
  'preprepare',
  'postprepare',
]);

const isText = (b: Buffer) => !b.subarray(0, 8000).includes(0);

function manifestOf(files: Map<string, PackageFile>): Record<string, unknown> {
  try {
    return JSON.parse(files.get('package.json')?.data.toString('utf8') ?? '{}') as Record<string, unknown>;
  } catch {
    return {};
  }
}

function fieldChanges(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  keep: (k: string) => boolean,
): FieldChange[] {
  const str = (v: unknown) => (v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v));
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(keep).sort();
  return names
    .map((name) => ({ name, before: str(before[name]), after: str(after[name]) }))
    .filter((c) => c.before !== c.after);
}

const record = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** previous null: the first version; everything in it is "added". */
export function diffTarballs(previous: Buffer | null, current: Buffer): VersionDiff {
  const load = (tgz: Buffer | null) =>
    tgz ? readPackageFiles(tgz, MAX_PATCHED_BYTES).files : new Map<string, PackageFile>();
  const before = load(previous);
  const after = load(current);
  const omitted: string[] = [];
  let patched = 0;
  const patchOf = (path: string, before: PackageFile | null, after: PackageFile | null): string | null => {
    // Files over MAX_PATCHED_BYTES were read for their hash only.
    if (
      (before?.size ?? 0) + (after?.size ?? 0) > MAX_PATCHED_BYTES ||
      before?.whole === false ||
      after?.whole === false
    ) {
      omitted.push(`${path}: too large to show`);
      return null;
    }
    const a = before?.data ?? null;
    const b = after?.data ?? null;
    if ((a && !isText(a)) || (b && !isText(b))) {
      omitted.push(`${path}: binary`);
      return null;
    }
    if (patched >= MAX_PATCHED_FILES) {
      omitted.push(`${path}: more than ${MAX_PATCHED_FILES} changed files`);
      return null;
    }
    patched++;
    const patch = createPatch(path, a?.toString('utf8') ?? '', b?.toString('utf8') ?? '', '', '', { context: 3 });
    return patch.length > MAX_PATCH_CHARS
      ? `${patch.slice(0, MAX_PATCH_CHARS)}\n… (cut at ${MAX_PATCH_CHARS} characters)`
      : patch;
  };
  const added: FileChange[] = [];
  const changed: FileChange[] = [];
  const removed: FileChange[] = [];
  // Added and changed files first in path order, so a new install script's target is read before noise.
  for (const [path, file] of [...after].sort(([a], [b]) => a.localeCompare(b))) {
    const old = before.get(path);
    if (!old) added.push({ path, before: null, after: file.size, patch: previous ? patchOf(path, null, file) : null });
    else if (old.sha256 !== file.sha256)
      changed.push({ path, before: old.size, after: file.size, patch: patchOf(path, old, file) });
  }
  for (const [path, file] of [...before].sort(([a], [b]) => a.localeCompare(b)))
    if (!after.has(path)) removed.push({ path, before: file.size, after: null, patch: null });
  const mBefore = manifestOf(before);
  const mAfter = manifestOf(after);
  const deps = (m: Record<string, unknown>) => ({
    ...record(m.dependencies),
    ...record(m.optionalDependencies),
    ...record(m.peerDependencies),
  });
  return {
    added,
    removed,
    changed,
    scripts: fieldChanges(record(mBefore.scripts), record(mAfter.scripts), (k) => LIFECYCLE.has(k)),
    dependencies: fieldChanges(deps(mBefore), deps(mAfter), () => true),
    omitted,
  };
}

/** The version a new one is compared with: the highest of `versions` below it, else the highest. */
export function previousVersion(versions: string[], version: string): string | null {
  const sorted = versions.filter((v) => v !== version && semver.valid(v)).sort(semver.compare);
  return sorted.filter((v) => semver.lt(v, version)).at(-1) ?? sorted.at(-1) ?? null;
}
