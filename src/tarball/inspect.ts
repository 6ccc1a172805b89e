// What the registry keeps from an uploaded tarball: package.json, the readme, and size figures. Strict: a tarball
// with any problem the reader names is refused, with the entry it concerns, since the registry must describe exactly
// what npm will install.
import { readTarball, TarballRefused, type TarLimits } from './read.ts';

/** One file npm installs from the tarball: its path inside the package and its size in bytes. */
export type ListedFile = { path: string; size: number };

export type TarballInfo = {
  manifest: Record<string, unknown>;
  readme: string;
  readmeFilename: string;
  fileCount: number;
  unpackedSize: number;
  hasShrinkwrap: boolean;
  /** what the package page lists, in path order; at most MAX_LISTED_FILES (fileCount says how many there are). */
  files: ListedFile[];
};

/**
 * Real packages hold tens to a few thousand files; the list is kept with the version row, so a tarball of 100,000
 * tiny files (within the reader's limits) must not make a row of megabytes. Past this, the page says how many more.
 */
export const MAX_LISTED_FILES = 5000;

/** Real package.json files nest a few levels (exports conditions); far deeper ones only exhaust stacks. */
export const MAX_MANIFEST_DEPTH = 64;

/** Whether a parsed JSON value nests deeper than `limit` (iterative: the value may be deeper than the stack). */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(v))
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return false;
}

const README = /^readme(\.(md|markdown|txt))?$/i;
const MAX_KEPT_FILE = 4 * 1024 * 1024;

/** @throws TarballRefused for any problem, and for a missing, oversized or malformed package.json. */
export function inspectTarball(tgz: Buffer, limits?: Partial<TarLimits>): TarballInfo {
  const contents = readTarball(tgz, {
    keep: (p, size) => (p === 'package.json' || README.test(p)) && size <= MAX_KEPT_FILE,
    limits,
  });
  const [problem] = contents.problems;
  if (problem) throw new TarballRefused(problem);
  const manifestFile = contents.files.find((f) => f.path === 'package.json');
  if (!manifestFile) throw new TarballRefused({ entry: null, reason: 'no package.json at package/package.json' });
  if (!manifestFile.data)
    throw new TarballRefused({ entry: 'package/package.json', reason: `larger than ${MAX_KEPT_FILE >> 20} MiB` });
  let manifest: unknown;
  try {
    manifest = JSON.parse(manifestFile.data.toString('utf8'));
  } catch {
    throw new TarballRefused({ entry: 'package/package.json', reason: 'not valid JSON' });
  }
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest))
    throw new TarballRefused({ entry: 'package/package.json', reason: 'must hold a JSON object' });
  if (nestsDeeperThan(manifest, MAX_MANIFEST_DEPTH))
    throw new TarballRefused({
      entry: 'package/package.json',
      reason: `nests deeper than ${MAX_MANIFEST_DEPTH} levels`,
    });
  const readmeFile = contents.files.find((f) => README.test(f.path) && f.data);
  return {
    manifest: manifest as Record<string, unknown>,
    readme: readmeFile?.data?.toString('utf8') ?? '',
    readmeFilename: readmeFile?.path ?? '',
    fileCount: contents.fileCount,
    unpackedSize: contents.unpackedSize,
    hasShrinkwrap: contents.files.some((f) => f.path === 'npm-shrinkwrap.json'),
    files: contents.files
      .map((f) => ({ path: f.path, size: f.size }))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .slice(0, MAX_LISTED_FILES),
  };
}
