// Reading a Verdaccio storage folder (its default local-storage plugin): one folder per package (@scope/name for
// scoped ones) holding package.json, a full packument with Verdaccio's bookkeeping (_attachments, _distfiles,
// _uplinks), and the tarballs beside it; .verdaccio-db.json lists the packages published locally. What is a hosted
// package and what is only a cache of an uplink (npmjs.com) is decided here, from those marks:
// - a package is local when .verdaccio-db.json lists it (Verdaccio adds a name on publish, removes it on unpublish);
//   without that file (an old or copied storage), when it has no uplink record;
// - a version is local when its tarball's _attachments entry names it (Verdaccio sets `version` there when the
//   version is published) or, failing that, when no _distfiles entry says it came from an uplink.
// planPackage is pure; the reads are in the two small functions below it.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import semver from 'semver';

export type StoredVersion = {
  version: string;
  /** the tarball's file name in the package folder. */
  file: string;
  manifest: Record<string, unknown>;
  /** when Verdaccio recorded the publish (ms), or null when its packument has no time for it. */
  publishedAt: number | null;
};

export type PackagePlan = {
  name: string;
  /** local: published to Verdaccio; cached: only an uplink's copy (served by Bulwark's upstream proxy instead). */
  kind: 'local' | 'cached';
  /** local versions, oldest first. */
  versions: StoredVersion[];
  /** versions that only an uplink provided (skipped). */
  cachedVersions: string[];
  distTags: Record<string, string>;
  /** user names the packument names as maintainers or publishers (older Verdaccio and npm clients recorded them). */
  owners: string[];
  createdAt: number | null;
  /** problems with single versions (no tarball file named, an unsafe file name…), by version. */
  problems: Array<{ version: string; reason: string }>;
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const timeOf = (v: unknown): number | null => {
  const t = typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isFinite(t) ? t : null;
};

/** The tarball's file name from dist.tarball, refused when it could name anything outside the package folder. */
function tarballFileOf(manifest: Record<string, unknown>): string | null {
  const dist = isObject(manifest.dist) ? manifest.dist : {};
  if (typeof dist.tarball !== 'string') return null;
  const file = decodeURIComponent(dist.tarball.replace(/[?#].*$/, '').replace(/^.*\//, ''));
  return /^[A-Za-z0-9._@+-]+\.tgz$/.test(file) && !file.startsWith('.') ? file : null;
}

function namesIn(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.flatMap((m) => (isObject(m) && typeof m.name === 'string' ? [m.name] : []));
}

/** What to import of one package document. `localList` is .verdaccio-db.json's list, or null without one. Pure. */
export function planPackage(name: string, doc: unknown, localList: ReadonlySet<string> | null): PackagePlan {
  const d = isObject(doc) ? doc : {};
  const versions = isObject(d.versions) ? d.versions : {};
  const time = isObject(d.time) ? d.time : {};
  const attachments = isObject(d._attachments) ? d._attachments : {};
  const distfiles = isObject(d._distfiles) ? d._distfiles : {};
  const uplinks = isObject(d._uplinks) ? Object.keys(d._uplinks) : [];
  const listed = localList ? localList.has(name) : uplinks.length === 0;
  const plan: PackagePlan = {
    name,
    kind: listed ? 'local' : 'cached',
    versions: [],
    cachedVersions: [],
    distTags: {},
    owners: [],
    createdAt: timeOf(time.created),
    problems: [],
  };
  const owners = new Set(namesIn(d.maintainers));
  for (const [version, manifest] of Object.entries(versions)) {
    if (!isObject(manifest) || semver.valid(version) !== version) {
      plan.problems.push({ version, reason: 'not a valid version document' });
      continue;
    }
    const file = tarballFileOf(manifest);
    const attachment = file ? attachments[file] : undefined;
    const published = isObject(attachment) && attachment.version === version;
    if (!listed || (!published && file !== null && file in distfiles)) {
      plan.cachedVersions.push(version);
      continue;
    }
    if (!file) {
      plan.problems.push({ version, reason: 'its dist.tarball names no tarball file in the package folder' });
      continue;
    }
    for (const n of namesIn(manifest.maintainers)) owners.add(n);
    if (isObject(manifest._npmUser) && typeof manifest._npmUser.name === 'string') owners.add(manifest._npmUser.name);
    plan.versions.push({ version, file, manifest, publishedAt: timeOf(time[version]) });
  }
  // Oldest first, so each version is compared with the one before it (the scan) and "latest" ends where it was.
  plan.versions.sort((a, b) => (a.publishedAt ?? 0) - (b.publishedAt ?? 0) || semver.compare(a.version, b.version));
  const local = new Set(plan.versions.map((v) => v.version));
  if (isObject(d['dist-tags']))
    for (const [tag, v] of Object.entries(d['dist-tags']))
      if (typeof v === 'string' && local.has(v)) plan.distTags[tag] = v;
  plan.owners = [...owners];
  return plan;
}

/** The names of .verdaccio-db.json's list, or null when the storage has none. */
export async function readLocalList(storageDir: string): Promise<Set<string> | null> {
  try {
    const db = JSON.parse(await readFile(path.join(storageDir, '.verdaccio-db.json'), 'utf8')) as { list?: unknown };
    return new Set(Array.isArray(db.list) ? db.list.filter((x): x is string => typeof x === 'string') : []);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`.verdaccio-db.json in ${storageDir} cannot be read: ${(err as Error).message}`, { cause: err });
  }
}

/** Every package folder (one holding package.json) in the storage: `name` and `@scope/name`, sorted. */
export async function listPackageDirs(storageDir: string): Promise<string[]> {
  const names: string[] = [];
  const has = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).includes('package.json');
  for (const entry of await readdir(storageDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    if (entry.name.startsWith('@')) {
      for (const sub of await readdir(path.join(storageDir, entry.name), { withFileTypes: true }))
        if (sub.isDirectory() && (await has(path.join(storageDir, entry.name, sub.name))))
          names.push(`${entry.name}/${sub.name}`);
    } else if (await has(path.join(storageDir, entry.name))) names.push(entry.name);
  }
  return names.sort();
}
