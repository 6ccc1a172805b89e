// What a proxied package is served as: the upstream's full packument, read defensively (it is input from another
// server), with the versions the cooldown holds back left out, tarball links pointing at this registry, the
// upstream's own registry signatures replaced by this registry's, and the integrity this registry first saw for a
// version kept (a version's bytes never change: an upstream that later claims other bytes is not believed). From it
// both forms npm reads, full and abbreviated, exactly as for a hosted package. Pure.
import semver from 'semver';
import { CORGI_FIELDS, tarballUrl } from '../packages/packument.ts';
import { tarballFile } from '../names/syntax.ts';
import type { Cooldown } from './policy.ts';

/** One version of an upstream packument as this registry keeps it in memory: what a tarball request needs. */
export type UpstreamVersion = {
  version: string;
  /** the dist object the upstream gave (integrity, shasum, tarball, its registry signatures). */
  dist: { integrity?: unknown; shasum?: unknown; tarball?: unknown; signatures?: unknown };
  /** the upstream's publication time (ms), NaN when it gives none. */
  publishedAt: number;
  /** the upstream packument's time[version] as given (what npm's signature check reads). */
  time?: unknown;
};

/** An upstream packument after the checks every document from another server passes. */
export type UpstreamDoc = {
  raw: Record<string, unknown>;
  versions: Map<string, Record<string, unknown>>;
  time: Record<string, unknown>;
  distTags: Record<string, unknown>;
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads an upstream's packument for `name`. Versions whose manifest is not an object naming this package and that
 * version are left out; a document for another package, or no document at all, is refused (throws).
 */
export function parseUpstreamDoc(name: string, text: string): UpstreamDoc {
  const raw: unknown = JSON.parse(text);
  if (!isObject(raw)) throw new Error('the packument is not a JSON object');
  if (raw.name !== name) throw new Error(`the packument is for ${JSON.stringify(raw.name)}, not ${name}`);
  const versions = new Map<string, Record<string, unknown>>();
  if (isObject(raw.versions))
    for (const [v, m] of Object.entries(raw.versions))
      if (isObject(m) && m.name === name && m.version === v && semver.valid(v) === v && isObject(m.dist))
        versions.set(v, m);
  return {
    raw,
    versions,
    time: isObject(raw.time) ? raw.time : {},
    distTags: isObject(raw['dist-tags']) ? raw['dist-tags'] : {},
  };
}

export type ServedDocs = {
  full: Record<string, unknown>;
  abbreviated: Record<string, unknown>;
  /** tarball file name → version, for every version offered. */
  files: Map<string, UpstreamVersion>;
};

export type ServeOptions = {
  /** this registry's base URL, for tarball links. */
  base: string;
  cooldown: Cooldown;
  /** integrity first seen per version (from cached tarballs): served instead of whatever the upstream says now. */
  pinned: ReadonlyMap<string, { integrity: string; shasum: string | null }>;
  /** this registry's signatures per version, for versions whose tarball it has checked. */
  signatures: ReadonlyMap<string, Array<{ keyid: string; sig: string }>>;
  now: number;
};

// Top-level fields of an upstream packument that describe its own storage, not the package.
const DROPPED_TOP = new Set(['_rev', '_attachments', 'versions', 'time', 'dist-tags', 'users']);

export function servedDocs(name: string, doc: UpstreamDoc, opts: ServeOptions): ServedDocs {
  const { base, cooldown, pinned, signatures } = opts;
  const versions: Record<string, Record<string, unknown>> = {};
  const files = new Map<string, UpstreamVersion>();
  for (const v of cooldown.visible) {
    const m = doc.versions.get(v);
    if (!m) continue;
    const upstreamDist = m.dist as UpstreamVersion['dist'];
    const dist: Record<string, unknown> = { ...upstreamDist, tarball: tarballUrl(base, name, v) };
    // The upstream's signatures are made with its keys, which this registry's /-/npm/v1/keys does not list.
    delete dist.signatures;
    delete dist.attestations;
    const pin = pinned.get(v);
    if (pin && pin.integrity !== dist.integrity) {
      dist.integrity = pin.integrity;
      if (pin.shasum) dist.shasum = pin.shasum;
      else delete dist.shasum;
    }
    const sigs = signatures.get(v);
    if (sigs?.length) dist.signatures = sigs;
    versions[v] = { ...m, dist };
    const at = typeof doc.time[v] === 'string' ? Date.parse(doc.time[v]) : NaN;
    files.set(tarballFile(name, v), { version: v, dist: upstreamDist, publishedAt: at, time: doc.time[v] });
  }
  const time: Record<string, unknown> = {};
  for (const key of ['created', 'modified']) if (typeof doc.time[key] === 'string') time[key] = doc.time[key];
  for (const v of Object.keys(versions)) if (typeof doc.time[v] === 'string') time[v] = doc.time[v];
  const full: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc.raw)) if (!DROPPED_TOP.has(k)) full[k] = v;
  full._id = name;
  full.name = name;
  full['dist-tags'] = cooldown.distTags;
  full.versions = versions;
  full.time = time;

  const corgis: Record<string, unknown> = {};
  for (const [v, m] of Object.entries(versions)) {
    const corgi: Record<string, unknown> = {};
    for (const f of CORGI_FIELDS) if (m[f] !== undefined) corgi[f] = m[f];
    corgi.dist = m.dist;
    corgis[v] = corgi;
  }
  const modified = typeof time.modified === 'string' ? time.modified : new Date(opts.now).toISOString();
  const abbreviated = { name, modified, 'dist-tags': cooldown.distTags, versions: corgis };
  return { full, abbreviated, files };
}

/**
 * Where to fetch a version's tarball: the upstream's dist.tarball when it is on the upstream's own origin, otherwise
 * the conventional path under the upstream. A packument cannot send this registry to fetch from another host (an
 * address inside the network, say); the bytes are checked against the integrity either way.
 */
export function tarballSource(upstreamUrl: string, name: string, v: UpstreamVersion): string {
  const conventional = tarballUrl(upstreamUrl, name, v.version);
  if (typeof v.dist.tarball !== 'string') return conventional;
  try {
    const given = new URL(v.dist.tarball);
    const origin = new URL(upstreamUrl);
    // npmjs.com's packuments still say http:// for some old versions: the same host is fetched over the upstream's scheme.
    if (given.host !== origin.host) return conventional;
    given.protocol = origin.protocol;
    return given.href;
  } catch {
    return conventional;
  }
}
