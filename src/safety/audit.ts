// What `npm audit` (and the audit after `npm install`) asks the registry, and the answers it reads, built from the
// registry's own OSV advisories (advisories.ts). Pure: requests in, reports out.
//
// npm 11 sends one request, POST /-/npm/v1/security/advisories/bulk, with { name: [installed versions] } (gzipped),
// and reads { name: [{ id, url, title, severity, vulnerable_versions, cwe, cvss }] }: @npmcli/arborist
// lib/audit-report.js prepareBulkData, @npmcli/metavuln-calculator lib/advisory.js. npm 10 falls back to the older
// POST /-/npm/v1/security/audits/quick when the bulk request fails, with the lockfile's dependency tree, and reads only
// the `advisories` object of the answer (AuditReport.auditToBulk: id, url, title, severity, vulnerable_versions,
// module_name).
import semver from 'semver';
import { fail } from '../errors.ts';
import { withReferences, type OsvRecord } from './osv.ts';

/** The severities npm knows, lowest first (npm-audit-report). Malware is always the highest. */
export type Severity = 'info' | 'low' | 'moderate' | 'high' | 'critical';

/** One advisory in npm's bulk shape. */
export type NpmAdvisory = {
  id: string;
  url: string;
  title: string;
  severity: Severity;
  vulnerable_versions: string;
  cwe: string[];
  cvss: { score: number; vectorString: string | null };
};

/** A request's size limits: what the largest real dependency trees need, and no more. */
export const MAX_AUDIT_PACKAGES = 20_000;
export const MAX_VERSIONS_PER_PACKAGE = 200;
const MAX_NAME = 214; // npm's longest package name
const MAX_VERSION = 256;

const invalid = (what: string) =>
  fail('E_INVALID_REQUEST', `the audit request is not what npm sends: ${what} (npm audit sends {"name": ["1.0.0"]})`);

/**
 * The bulk request: package names to the versions installed. Anything else is refused as a whole (400): a malformed
 * request gets no partial answer that would read as "no vulnerabilities".
 */
export function parseBulkRequest(body: unknown): Map<string, string[]> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalid('the body must be a JSON object');
  const entries = Object.entries(body as Record<string, unknown>);
  if (entries.length > MAX_AUDIT_PACKAGES) throw invalid(`more than ${MAX_AUDIT_PACKAGES} packages`);
  const out = new Map<string, string[]>();
  for (const [name, versions] of entries) {
    if (name === '' || name.length > MAX_NAME) throw invalid(`"${name.slice(0, 40)}…" is not a package name`);
    if (!Array.isArray(versions) || versions.length > MAX_VERSIONS_PER_PACKAGE)
      throw invalid(`the versions of ${name} must be a list of at most ${MAX_VERSIONS_PER_PACKAGE}`);
    if (!versions.every((v) => typeof v === 'string' && v.length <= MAX_VERSION))
      throw invalid(`the versions of ${name} must be strings`);
    out.set(name, versions as string[]);
  }
  return out;
}

/** The versions an OSV record says are affected, as an npm semver range ("*" for a whole package). */
export function vulnerableRange(record: OsvRecord): string {
  const affected = record.affected[0];
  if (!affected || affected.ranges?.length) return '*';
  return (affected.versions ?? []).join(' || ') || '<0.0.0-0';
}

/** Whether the installed version is one the record covers. Versions that are not semver match only a whole package. */
export function affects(record: OsvRecord, version: string): boolean {
  const range = vulnerableRange(record);
  if (range === '*') return true;
  return semver.satisfies(version, range, { includePrerelease: true, loose: true });
}

/** The record in npm's bulk shape. Malicious code is "critical", as npm's own registry rates malware. */
export function npmAdvisory(record: OsvRecord, publicUrl: string): NpmAdvisory {
  const served = withReferences(record, publicUrl);
  const url = served.references?.find((r) => r.type === 'ADVISORY')?.url ?? record.id;
  return {
    id: record.id,
    url,
    title: record.summary,
    severity: 'critical',
    vulnerable_versions: vulnerableRange(record),
    cwe: (record.affected[0]?.database_specific.cwes ?? []).map((c) => c.cweId),
    cvss: { score: 0, vectorString: null },
  };
}

/**
 * The bulk answer: for each requested package, the advisories that affect one of its installed versions. Packages
 * with none are left out, as npm's registry leaves them out (an empty object means nothing found).
 */
export function bulkReport(
  request: Map<string, string[]>,
  records: readonly OsvRecord[],
  publicUrl: string,
): Record<string, NpmAdvisory[]> {
  const out: Record<string, NpmAdvisory[]> = {};
  for (const record of records) {
    const name = record.affected[0]?.package.name;
    const versions = name === undefined ? undefined : request.get(name);
    if (!name || !versions?.some((v) => affects(record, v))) continue;
    (out[name] ??= []).push(npmAdvisory(record, publicUrl));
  }
  return out;
}

/** One installed copy of a package in the quick-audit request's tree, and where it sits ("a>b>c"). */
export type Installed = { name: string; version: string; readonly path: string; dev: boolean };

/** Paths listed per advisory in a quick-audit answer at most (npm 10 reads none of them: auditToBulk drops them). */
export const MAX_PATHS_PER_ADVISORY = 100;

type TreeNode = { name: string; parent: TreeNode | null };

function pathOf(node: TreeNode): string {
  const names: string[] = [];
  for (let n: TreeNode | null = node; n; n = n.parent) names.push(n.name);
  return names.reverse().join('>');
}

/**
 * The quick-audit request (npm ≤ 10's fallback, from the lockfile): `dependencies` is the lockfile's tree, each entry
 * { version, dev?, dependencies? } nested under its parent. Every installed copy is returned with its path.
 */
export function parseQuickRequest(body: unknown): Installed[] {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw fail('E_INVALID_REQUEST', 'the audit request must be a JSON object (npm audit sends the lockfile tree)');
  const out: Installed[] = [];
  // A path is spelled out only when an answer lists it: every copy's path made at once costs the product of the
  // tree's depth and breadth (a 0.6 MB request made half a gigabyte of paths).
  const walk = (deps: unknown, parent: TreeNode | null) => {
    if (deps === undefined || deps === null) return;
    if (typeof deps !== 'object' || Array.isArray(deps)) throw invalid('"dependencies" must be an object');
    for (const [name, entry] of Object.entries(deps as Record<string, unknown>)) {
      if (out.length >= MAX_AUDIT_PACKAGES) throw invalid(`more than ${MAX_AUDIT_PACKAGES} installed packages`);
      if (name === '' || name.length > MAX_NAME) throw invalid(`"${name.slice(0, 40)}…" is not a package name`);
      if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw invalid(`the entry of ${name}`);
      const e = entry as { version?: unknown; dev?: unknown; dependencies?: unknown };
      const node: TreeNode = { name, parent };
      if (typeof e.version === 'string' && e.version.length <= MAX_VERSION)
        out.push({
          name,
          version: e.version,
          dev: e.dev === true,
          get path() {
            return pathOf(node);
          },
        });
      walk(e.dependencies, node);
    }
  };
  walk((body as { dependencies?: unknown }).dependencies, null);
  return out;
}

const SEVERITIES: readonly Severity[] = ['info', 'low', 'moderate', 'high', 'critical'];

/**
 * The quick-audit answer in the shape npm's registry gave it: advisories by id, each with the installed versions it
 * was found in and their paths (findings), and counts in metadata. `actions` stays empty: the only remedy for malware
 * is to remove the package, which `npm audit fix` cannot express as an update.
 */
export function quickReport(installed: readonly Installed[], records: readonly OsvRecord[], publicUrl: string) {
  const advisories: Record<string, Record<string, unknown>> = {};
  const vulnerabilities = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  const byName = new Map<string, Installed[]>();
  for (const i of installed) {
    const list = byName.get(i.name);
    if (list) list.push(i);
    else byName.set(i.name, [i]);
  }
  for (const record of records) {
    const name = record.affected[0]?.package.name;
    const hits = (name === undefined ? [] : (byName.get(name) ?? [])).filter((i) => affects(record, i.version));
    if (!name || !hits.length) continue;
    const advisory = npmAdvisory(record, publicUrl);
    const byVersion = new Map<string, Installed[]>();
    for (const h of hits) {
      const list = byVersion.get(h.version);
      if (list) list.push(h);
      else byVersion.set(h.version, [h]);
    }
    let listed = 0;
    const findings = [...byVersion].map(([version, copies]) => {
      const shown = copies.slice(0, Math.max(0, MAX_PATHS_PER_ADVISORY - listed));
      listed += shown.length;
      return { version, paths: shown.map((h) => h.path) };
    });
    advisories[record.id] = {
      ...advisory,
      module_name: name,
      overview: record.details,
      recommendation: `Remove ${name}: no version of it is known to be safe to install in its place.`,
      patched_versions: '<0.0.0',
      created: record.published,
      updated: record.modified,
      references: advisory.url,
      findings,
    };
    vulnerabilities[advisory.severity] += hits.length;
  }
  const dev = installed.filter((i) => i.dev).length;
  return {
    actions: [],
    advisories,
    muted: [],
    metadata: {
      vulnerabilities,
      dependencies: installed.length - dev,
      devDependencies: dev,
      optionalDependencies: 0,
      totalDependencies: installed.length,
    },
  };
}

/**
 * Whether a JSON text nests deeper than maxDepth, found by one pass over its bytes (strings skipped). Asked before
 * parsing a body anyone may send: a megabyte of "[" costs JSON.parse tens of milliseconds, this a few.
 */
export function nestsDeeperThan(text: Buffer, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return false;
}
