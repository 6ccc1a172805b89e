// Builds the two packument documents npm clients read: the full one (npm view, publish tooling) and the abbreviated
// "corgi" one (Accept: application/vnd.npm.install-v1+json) that installers use. Pure: rows in, bytes out.
import { createHash } from 'node:crypto';
import { tarballFile } from '../names/syntax.ts';

export type VersionData = {
  version: string;
  manifest: Record<string, unknown>;
  readme: string;
  publishedAt: number;
};

export type PackageData = {
  name: string;
  rev: number;
  createdAt: number;
  modifiedAt: number;
  /** in publish order. */
  versions: VersionData[];
  /** versions their maintainers unpublished: gone from `versions`, still in `time`. */
  unpublishedVersions?: Array<{ version: string; publishedAt: number }>;
  /** when the last version went; the document then says so instead of listing versions. */
  unpublishedAt?: number | null;
  distTags: Record<string, string>;
  maintainers: Array<{ name: string; email: string }>;
  /** the users who starred the package (npm star), by name: the full document's `users`. */
  starredBy?: string[];
};

// The fields pacote and arborist read from an abbreviated packument (npm/pacote README, "corgi" documents).
export const CORGI_FIELDS = [
  'name',
  'version',
  'deprecated',
  'dependencies',
  'optionalDependencies',
  'devDependencies',
  'bundleDependencies',
  'peerDependencies',
  'peerDependenciesMeta',
  'acceptDependencies',
  'bin',
  'directories',
  'engines',
  'os',
  'cpu',
  'libc',
  'funding',
  'license',
  '_hasShrinkwrap',
  'hasInstallScript',
] as const;

// Package-level fields npm view shows from the top of the document, taken from the latest version.
const TOP_LEVEL_FIELDS = [
  'description',
  'keywords',
  'license',
  'homepage',
  'repository',
  'bugs',
  'author',
  'contributors',
] as const;

export const tarballUrl = (base: string, name: string, version: string) =>
  `${base}/${name}/-/${tarballFile(name, version)}`;

export function revision(data: PackageData): string {
  return `${data.rev}-${createHash('sha256').update(`${data.name}\0${data.rev}\0${data.modifiedAt}`).digest('hex').slice(0, 32)}`;
}

/** Whether a revision a client sent back (`_rev` as revision() made it) is the package's current one. */
export const isCurrentRevision = (sent: string, rev: number): boolean =>
  sent === String(rev) || sent.startsWith(`${rev}-`);

function withTarball(v: VersionData, name: string, base: string): Record<string, unknown> {
  const dist = { ...(v.manifest.dist as Record<string, unknown>), tarball: tarballUrl(base, name, v.version) };
  return { ...v.manifest, dist };
}

export function fullPackument(data: PackageData, base: string): Record<string, unknown> {
  const iso = (ms: number) => new Date(ms).toISOString();
  const gone = Object.fromEntries((data.unpublishedVersions ?? []).map((v) => [v.version, iso(v.publishedAt)]));
  if (data.versions.length === 0 && data.unpublishedAt) {
    // The shape registry.npmjs.org serves for an unpublished package (npm view reads time.unpublished), plus empty
    // `dist-tags` and `versions`: yarn 4 reads every packument with Object.entries(versions) (yarn add, yarn npm
    // audit) and stops with a TypeError on a document without them; with them it says "No candidates found".
    const unpublished = { time: iso(data.unpublishedAt), versions: Object.keys(gone) };
    return {
      _id: data.name,
      _rev: revision(data),
      name: data.name,
      'dist-tags': {},
      versions: {},
      time: { created: iso(data.createdAt), modified: iso(data.modifiedAt), ...gone, unpublished },
    };
  }
  const latest = data.versions.find((v) => v.version === data.distTags.latest) ?? data.versions.at(-1);
  const doc: Record<string, unknown> = { _id: data.name, _rev: revision(data), name: data.name };
  for (const f of TOP_LEVEL_FIELDS) if (latest?.manifest[f] !== undefined) doc[f] = latest.manifest[f];
  doc['dist-tags'] = data.distTags;
  doc.versions = Object.fromEntries(data.versions.map((v) => [v.version, withTarball(v, data.name, base)]));
  doc.time = {
    created: iso(data.createdAt),
    modified: iso(data.modifiedAt),
    ...Object.fromEntries(
      [...Object.entries(gone), ...data.versions.map((v) => [v.version, iso(v.publishedAt)])].sort((a, b) =>
        a[1]!.localeCompare(b[1]!),
      ),
    ),
  };
  doc.maintainers = data.maintainers;
  // npm's shape for stars, read back by npm star and npm unstar; absent when nobody starred, as on npm's registry.
  if (data.starredBy?.length) doc.users = Object.fromEntries(data.starredBy.map((u) => [u, true]));
  doc.readme = latest?.readme ?? '';
  return doc;
}

export function abbreviatedPackument(data: PackageData, base: string): Record<string, unknown> {
  const versions: Record<string, unknown> = {};
  for (const v of data.versions) {
    const m = withTarball(v, data.name, base);
    const corgi: Record<string, unknown> = {};
    for (const f of CORGI_FIELDS) if (m[f] !== undefined) corgi[f] = m[f];
    corgi.dist = m.dist;
    versions[v.version] = corgi;
  }
  return { name: data.name, modified: new Date(data.modifiedAt).toISOString(), 'dist-tags': data.distTags, versions };
}
