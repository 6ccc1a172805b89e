// OSV records for packages removed as malicious (https://ossf.github.io/osv-schema/). Pure: the record is a function
// of the removals a moderator made, so a second removal of the same package rebuilds one record instead of editing
// text. The shapes follow the OpenSSF malicious-packages database (osv/malicious/npm/…): "Malicious code in NAME
// (npm)", a whole package as a SEMVER range introduced at "0", chosen versions as a list, CWE-506 and the tarballs'
// integrity hashes under affected[].database_specific.
import semver from 'semver';

/** The OSV schema version the records are written against (the vendored test/fixtures/osv/schema.json). */
export const OSV_SCHEMA_VERSION = '1.7.5';
export const DEFAULT_ADVISORY_PREFIX = 'BWK';

/**
 * The registry's database name inside ids. OSV accepts only registered home-database prefixes (MAL, GHSA, PYSEC …)
 * or "x_" for a database OSV.dev does not aggregate, so a self-hosted registry's ids are x_<PREFIX>-MAL-<YEAR>-<N>.
 * Letters and digits only: the id stays one URL path segment and one file name in the zip.
 */
export const ADVISORY_PREFIX = /^[A-Za-z][A-Za-z0-9]{0,15}$/;
/** Any id this registry may have issued (under any prefix it was configured with over time). */
export const ADVISORY_ID = /^x_([A-Za-z][A-Za-z0-9]{0,15})-MAL-([0-9]{4})-([1-9][0-9]{0,9})$/;

export function advisoryId(prefix: string, year: number, n: number): string {
  if (!ADVISORY_PREFIX.test(prefix))
    throw new Error(`advisory prefix "${prefix}" must be 1-16 letters or digits, starting with a letter`);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`advisory number must be a positive integer, not ${n}`);
  return `x_${prefix}-MAL-${year}-${n}`;
}

export const isAdvisoryId = (id: string): boolean => ADVISORY_ID.test(id);

/** RFC 3339 in UTC, as OSV's timestamp pattern requires (…T…Z). */
export const osvTime = (ms: number): string => new Date(ms).toISOString();

/** A removed tarball, named as the OSV malicious-packages entries name them (package_integrity). */
export type RemovedTarball = { version: string; integrity: string; shasum: string };

/** One moderator action, as stored beside the record. actor stays internal: the record does not name moderators. */
export type Removal = {
  at: number;
  /** null: the whole package, every version. */
  versions: string[] | null;
  reason: string;
  evidence: string;
  reporters: string[];
  actor: string;
  tarballs: RemovedTarball[];
  /** the package was restricted when removed: its advisory stays hidden from strangers even if the package row goes. */
  restricted?: boolean;
};

export type OsvReference = { type: 'ADVISORY' | 'PACKAGE' | 'WEB' | 'EVIDENCE' | 'REPORT'; url: string };

export type OsvRecord = {
  schema_version: string;
  id: string;
  modified: string;
  published: string;
  summary: string;
  details: string;
  affected: Array<{
    package: { ecosystem: 'npm'; name: string; purl: string };
    versions?: string[];
    ranges?: Array<{ type: 'SEMVER'; events: Array<{ introduced: string }> }>;
    database_specific: {
      cwes: Array<{ cweId: string; description: string; name: string }>;
      evidence: Array<{ removed: string; versions: string[] | 'all'; summary: string }>;
      indicators?: { package_integrity: Array<{ filename: string; hashes: { sha1: string; sha512_sri: string } }> };
    };
  }>;
  references?: OsvReference[];
  credits?: Array<{ name: string; type: 'REPORTER' }>;
};

// The CWE entry every OpenSSF malicious-packages npm record carries.
const CWE_506 = {
  cweId: 'CWE-506',
  description: 'The product contains code that appears to be malicious in nature.',
  name: 'Embedded Malicious Code',
};

const ADVICE =
  'Any computer that installed or ran an affected version should be considered compromised: rotate every secret and ' +
  'token it held from a different computer, and remove the package. Removing it may not remove what it installed.';

/** purl-spec npm: the scope is the namespace, its "@" percent-encoded (pkg:npm/%40scope/name). */
export function npmPurl(name: string): string {
  const slash = name.startsWith('@') ? name.indexOf('/') : -1;
  if (slash < 0) return `pkg:npm/${encodeURIComponent(name)}`;
  return `pkg:npm/${encodeURIComponent(name.slice(0, slash))}/${encodeURIComponent(name.slice(slash + 1))}`;
}

/** npm's tarball file name: the unscoped name, a dash, the version. */
const tarballName = (name: string, version: string) => `${name.slice(name.indexOf('/') + 1)}-${version}.tgz`;

const bySemver = (a: string, b: string) =>
  semver.valid(a) && semver.valid(b) ? semver.compare(a, b) : a < b ? -1 : a > b ? 1 : 0;

/**
 * The record for every removal of one package so far, oldest first. published is the first removal, modified the
 * given time (the caller keeps it increasing so mirrors that compare modified times notice every change).
 */
export function maliciousRecord(id: string, name: string, removals: readonly Removal[], modified: number): OsvRecord {
  const first = removals[0];
  if (!first) throw new Error('an advisory needs at least one removal');
  const whole = removals.some((r) => r.versions === null);
  const versions = [...new Set(removals.flatMap((r) => r.versions ?? []))].sort(bySemver);
  const tarballs = new Map<string, RemovedTarball>();
  for (const r of removals) for (const t of r.tarballs) tarballs.set(t.version, t);
  const reporters = [...new Set(removals.flatMap((r) => r.reporters.map((x) => x.trim()).filter(Boolean)))];

  const sections = removals.map((r) => {
    const what =
      r.versions === null
        ? 'every version'
        : r.versions.length === 1
          ? `version ${r.versions[0]}`
          : `versions ${r.versions.join(', ')}`;
    return `## Removed ${osvTime(r.at)}: ${what}\n\n${r.reason.trim()}`;
  });
  const scope = whole
    ? `The package ${name}`
    : versions.length === 1
      ? `${name}@${versions[0]}`
      : `Versions ${versions.join(', ')} of ${name}`;
  const details = `${scope} ${whole || versions.length === 1 ? 'was' : 'were'} removed from this registry by its moderators as malicious. ${ADVICE}\n\n${sections.join('\n\n')}\n`;

  const integrity = [...tarballs.values()]
    .sort((a, b) => bySemver(a.version, b.version))
    .map((t) => ({ filename: tarballName(name, t.version), hashes: { sha1: t.shasum, sha512_sri: t.integrity } }));
  const record: OsvRecord = {
    schema_version: OSV_SCHEMA_VERSION,
    id,
    modified: osvTime(modified),
    published: osvTime(first.at),
    summary: `Malicious code in ${name} (npm)`,
    details,
    affected: [
      {
        package: { ecosystem: 'npm', name, purl: npmPurl(name) },
        // A whole package: every version, including any published later under a name that should never come back.
        ...(whole ? { ranges: [{ type: 'SEMVER' as const, events: [{ introduced: '0' }] }] } : { versions }),
        database_specific: {
          cwes: [CWE_506],
          evidence: removals.map((r) => ({
            removed: osvTime(r.at),
            versions: r.versions ?? 'all',
            summary: r.evidence.trim(),
          })),
          ...(integrity.length ? { indicators: { package_integrity: integrity } } : {}),
        },
      },
    ],
  };
  if (reporters.length) record.credits = reporters.map((n) => ({ name: n, type: 'REPORTER' }));
  return record;
}

/** The served form: the stored record with the links that depend on where the registry is reached. */
export function withReferences(record: OsvRecord, publicUrl: string): OsvRecord {
  if (!/^https?:\/\//.test(publicUrl)) return record;
  const name = record.affected[0]?.package.name;
  const references: OsvReference[] = [{ type: 'ADVISORY', url: `${publicUrl}/-/bulwark/v1/osv/${record.id}` }];
  // npm names are URL-safe as they are (the web UI's route takes the scope's "@" literally).
  if (name) references.push({ type: 'PACKAGE', url: `${publicUrl}/-/web/package/${name}` });
  return { ...record, references };
}
