// The upstream proxy: packages not hosted here are fetched from the configured upstream registries, checked, cached
// and served through the same read path as hosted ones (docs/upstream.md). Packuments are kept (the upstream's body,
// its ETag and Last-Modified) in the database and revalidated after the max age; tarballs are checked against the
// integrity the upstream promised, scanned for malware like a publish, and kept for good in the blob store by their
// sha512. Before any of that, a version's registry signature must verify with the upstream's /-/npm/v1/keys
// (signatures.ts), and a version served for the first time is logged in the transparency log with its upstream (an
// event in the same transaction as its row). Concurrent misses for one packument or one tarball share one upstream
// request. When the upstream is down or slow, what is cached is served, marked stale; a miss is a 502 or 504, never a
// hang.
//
// Dependency confusion: this module is only asked about names not hosted here (the route checks first), and refuses
// again, without asking any upstream, a name that was ever published here, falls under a reservation, or lies in a
// scope that is an organisation, a user or a claimed scope here. Such a name answers exactly as a missing one.
import type { Logger } from 'pino';
import { ClientError, fail, notFound } from '../errors.ts';
import { LruCache, Representation, quotedTag } from '../packages/cache.ts';
import type { ScanOutcome } from '../packages/service.ts';
import type { VersionSigner } from '../packages/visible.ts';
import { scopeOf, tarballFile } from '../names/syntax.ts';
import { EventKind, recordEvent } from '../store/events.ts';
import { Reservations, type Reservation } from '../names/reservations.ts';
import { withNames } from '../names/tables.ts';
import { queueScanFinding } from '../safety/moderation.ts';
import { withAdvisories } from '../safety/advisories.ts';
import type { FsBlobStore } from '../store/blobs.ts';
import type { Db } from '../store/db.ts';
import { UpstreamFailure, upstreamGet, type FetchFn } from './fetch.ts';
import { expectedHash, integrityProblem, sha512Sri } from './integrity.ts';
import { parseUpstreamDoc, servedDocs, tarballSource, type UpstreamVersion } from './packument.ts';
import { applyCooldown, cooldownMessage } from './policy.ts';
import { matchesAny, upstreamFor, type UpstreamRule } from './rules.ts';
import { parseKeysDocument, signatureProblem, type UpstreamKeys } from './signatures.ts';
import { trxWithUpstream, withUpstream, type UpstreamPackumentsTable, type UpstreamTarballsTable } from './tables.ts';

export type UpstreamOptions = {
  db: Db;
  blobs: FsBlobStore;
  /** routing rules, first match wins; empty turns the proxy off. */
  rules: readonly UpstreamRule[];
  /** how long a packument is served before the upstream is asked whether it changed. */
  maxAgeMs: number;
  /** how long one upstream request may take, body included. */
  timeoutMs: number;
  /** the cooldown: versions younger than this are not offered (0 turns it off). */
  minReleaseAgeMs: number;
  /** names and patterns the cooldown does not apply to. */
  cooldownExempt: readonly string[];
  /** the operator's reservations (--reserved-names); those made with `bulwark names reserve` are read from the database. */
  reservedNames: readonly Reservation[];
  maxTarballSize: number;
  publicUrl: () => string;
  logger: Logger;
  clock?: () => number;
  /** the publish-time malware scan (safety/scan/pool.ts). */
  scanner: { scan(tgz: Buffer, previous: Buffer | null): Promise<ScanOutcome> };
  /** this registry's npm registry signatures, made for each version whose tarball it has checked. */
  signer?: VersionSigner;
  /**
   * Upstream URLs whose versions are served although the upstream publishes no signing keys (its /-/npm/v1/keys
   * answers 404): a private registry without signatures, opted into by the operator. Every other upstream without
   * keys is refused.
   */
  unsignedAllowed?: readonly string[];
  /** memory for proxied packuments and for tarball bytes, in bytes each. */
  cacheBytes: number;
  fetch?: FetchFn;
  /** told each upstream request's upstream, kind, outcome (the status, timeout or unavailable) and time. */
  observe?: (upstream: string, kind: 'packument' | 'tarball' | 'keys', outcome: string, seconds: number) => void;
};

/** A version whose tarball has been checked here: its pinned integrity, blob and verdict. */
type Checked = {
  integrity: string;
  shasum: string | null;
  blob: string | null;
  size: number;
  verdict: string;
  reason: string | null;
  signatures: Array<{ keyid: string; sig: string }>;
};

/** A proxied package as the read path serves it, or a name the upstream does not have (`missing`). */
export type ProxiedEntry = {
  name: string;
  missing: boolean;
  upstream: string;
  full: Representation | null;
  abbreviated: Representation | null;
  /** tarball file → version, for the versions offered. */
  files: Map<string, UpstreamVersion>;
  /** tarball file → version held back by the cooldown, with when it becomes available. */
  hidden: Map<string, { version: string; availableAt: number }>;
  /** tarball file → version left out because its upstream registry signature does not verify, and why. */
  unverified: Map<string, { version: string; reason: string }>;
  /** why nothing of this package is served (an upstream without signing keys the operator did not allow), or null. */
  refusal: string | null;
  checked: Map<string, Checked>;
  /** the registry's own malicious-package advisory for the name: the versions it covers, null for all of them. */
  advisory: { id: string; versions: Set<string> | null } | null;
  /** served from the cache because the upstream could not be asked. */
  stale: boolean;
  /** when the entry must be rebuilt: the max age, or the moment a held-back version comes of age. */
  expiresAt: number;
  size: number;
};

export type TarballAnswer = { bytes: Buffer; etag: string; stale: boolean };

// How long a packument served stale waits before the upstream is asked again: requests meanwhile are answered at
// once instead of each waiting for the timeout.
const STALE_RETRY_MS = 30_000;
// A packument larger than this is refused (the largest on npmjs.com are tens of MB).
const MAX_PACKUMENT_BYTES = 64 * 1024 * 1024;
const ENTRY_OVERHEAD = 1024;
const VERSION_OVERHEAD = 200;
// An upstream's keys document is a few hundred bytes; versions whose signature check is remembered, per key set.
const MAX_KEYS_BYTES = 1024 * 1024;
const MAX_VERIFIED = 200_000;

/** An upstream's signing keys as last fetched: null when it publishes none (404). */
type KeysHeld = { keys: UpstreamKeys | null; expiresAt: number };

export class Upstream {
  readonly #o: UpstreamOptions;
  readonly #clock: () => number;
  readonly #entries: LruCache<ProxiedEntry>;
  readonly #tarballs: LruCache<{ bytes: Buffer; size: number }>;
  readonly #fetching = new Map<string, Promise<Checked>>();
  readonly #keys = new Map<string, KeysHeld>();
  readonly #keysLoading = new Map<string, Promise<KeysHeld>>();
  readonly #verified = new WeakMap<UpstreamKeys, Map<string, string | null>>();
  #requests = 0;

  constructor(opts: UpstreamOptions) {
    this.#o = opts;
    this.#clock = opts.clock ?? Date.now;
    this.#entries = new LruCache(opts.cacheBytes);
    this.#tarballs = new LruCache(opts.cacheBytes, Math.floor(opts.cacheBytes / 8));
  }

  /** Sizes and hit counts of the proxy's two caches (for operators' metrics). */
  cacheStats() {
    return { packuments: this.#entries.stats(), tarballs: this.#tarballs.stats() };
  }

  /** One upstream request, counted and observed. */
  async #get(
    kind: 'packument' | 'tarball' | 'keys',
    upstream: string,
    url: string,
    opts: Parameters<typeof upstreamGet>[1],
  ) {
    this.#requests++;
    const started = performance.now();
    const observe = (outcome: string) =>
      this.#o.observe?.(new URL(upstream).host, kind, outcome, (performance.now() - started) / 1000);
    try {
      const res = await upstreamGet(url, opts);
      observe(String(res.status));
      return res;
    } catch (err) {
      observe(err instanceof UpstreamFailure ? err.kind : 'unavailable');
      throw err;
    }
  }

  /** Whether a name not hosted here is looked for upstream at all (some rule covers it). */
  covers(name: string): boolean {
    return upstreamFor(this.#o.rules, name) !== null;
  }

  /**
   * Whether an upstream serves this name: then no account here may create a package of it, since a hosted name always
   * wins and the new package would replace the upstream's for every client of this registry (a name taken over by
   * whoever publishes it first). False when no rule covers the name, or when it must stay internal (never asked
   * upstream: reserved, an org's or a user's scope, ever published here). Throws 502/504 when the upstream cannot be
   * asked: nothing is assumed.
   */
  async serves(name: string): Promise<boolean> {
    if (!this.covers(name)) return false;
    try {
      await this.packument(name);
      return true;
    } catch (err) {
      if (err instanceof ClientError && err.code === 'E_NOT_FOUND') return false;
      // The upstream has the name; that it is not served unsigned does not make it free to take here.
      if (err instanceof ClientError && err.code === 'E_UPSTREAM_UNSIGNED') return true;
      throw err;
    }
  }

  /** How many requests this node has made to upstreams (for tests and operators). */
  get upstreamRequests(): number {
    return this.#requests;
  }

  /** The entry when it is in memory and fresh: what the fast read path may serve without waiting. */
  cached(name: string): ProxiedEntry | undefined {
    const hit = this.#entries.peek(name);
    return hit && !hit.refusal && this.#clock() < hit.expiresAt ? hit : undefined;
  }

  /** Tarball bytes of a checked version, when they are in memory. */
  cachedTarball(entry: ProxiedEntry, file: string): TarballAnswer | undefined {
    const v = entry.files.get(file);
    const checked = v && entry.checked.get(v.version);
    if (!v || !checked?.blob || this.#refusal(entry, v.version, checked)) return undefined;
    const bytes = this.#tarballs.peek(checked.blob)?.bytes;
    return bytes && { bytes, etag: etagOf(checked.blob), stale: entry.stale };
  }

  /**
   * The packument of a name not hosted here. Throws 404 when no upstream has it or it may not be proxied, 502/504
   * when the upstream fails and nothing is cached.
   */
  async packument(name: string): Promise<ProxiedEntry> {
    const held = this.#entries.peek(name);
    if (held && this.#clock() < held.expiresAt) {
      // Remembered as missing upstream: a 404 again, until the max age says to ask again.
      if (held.missing) throw notFound();
      if (held.refusal) throw fail('E_UPSTREAM_UNSIGNED', held.refusal);
      return held;
    }
    // An expired entry is dropped and reloaded; concurrent requests share the one load (LruCache.get). Only the
    // request that finds it expired drops it: dropping again would forget the load under way.
    if (held) this.#entries.invalidate(name);
    const entry = await this.#entries.get(name, (n) => this.#load(n));
    if (entry.missing) throw notFound();
    if (entry.refusal) throw fail('E_UPSTREAM_UNSIGNED', entry.refusal);
    return entry;
  }

  /** A tarball of a proxied version, fetched, checked and scanned on first request; refused with the reason why. */
  async tarball(name: string, file: string): Promise<TarballAnswer> {
    const entry = await this.packument(name);
    const v = entry.files.get(file);
    if (!v) {
      const held = entry.hidden.get(file);
      if (held)
        throw fail(
          'E_UPSTREAM_TOO_NEW',
          cooldownMessage(name, held.version, held.availableAt, this.#o.minReleaseAgeMs),
        );
      const unverified = entry.unverified.get(file);
      if (unverified) throw fail('E_UPSTREAM_SIGNATURE', unverifiedMessage(unverified.reason));
      throw notFound(`${name} has no tarball named ${file}`);
    }
    let checked = entry.checked.get(v.version);
    const refusal = this.#refusal(entry, v.version, checked);
    if (refusal) throw fail('E_UPSTREAM_REFUSED', refusal);
    if (!checked) {
      const key = `${name}@${v.version}`;
      let pending = this.#fetching.get(key);
      if (!pending) {
        pending = this.#fetchTarball(entry, v).finally(() => this.#fetching.delete(key));
        this.#fetching.set(key, pending);
      }
      checked = await pending;
      entry.checked.set(v.version, checked);
      const refused = this.#refusal(entry, v.version, checked);
      if (refused) throw fail('E_UPSTREAM_REFUSED', refused);
    }
    const blob = checked.blob!;
    const { bytes } = await this.#tarballs.get(blob, async (k) => {
      const bytes = await this.#o.blobs.get(k);
      if (!bytes) throw new Error(`blob ${k.slice(0, 16)}… of a proxied version is missing from the blob store`);
      return { bytes, size: bytes.length };
    });
    return { bytes, etag: etagOf(blob), stale: entry.stale };
  }

  /** Why a version is not served, or null: a malicious verdict, or the registry's own MAL advisory. */
  #refusal(entry: ProxiedEntry, version: string, checked: Checked | undefined): string | null {
    if (checked?.verdict === 'malicious')
      return `${entry.name}@${version} is refused: ${checked.reason ?? 'the malware scan found signs of malicious code'}. The registry's moderators have been alerted.`;
    const adv = entry.advisory;
    if (adv && (adv.versions === null || adv.versions.has(version)))
      return `${entry.name}@${version} is refused: it is listed as malicious in this registry's advisory ${adv.id}`;
    return null;
  }

  async #load(name: string): Promise<ProxiedEntry> {
    const rule = upstreamFor(this.#o.rules, name);
    if (!rule || !(await this.#mayProxy(name))) throw notFound();
    const now = this.#clock();
    const db = withUpstream(this.#o.db);
    const row = await db.selectFrom('upstream_packuments').selectAll().where('name', '=', name).executeTakeFirst();
    const same = row && row.upstream === rule.url ? row : undefined;
    // Fetched recently by this node before a restart, or by another node: no need to ask again yet.
    if (same && now - Number(same.checked_at) < this.#o.maxAgeMs) return this.#build(name, rule, same, false);
    let res;
    try {
      res = await this.#get('packument', rule.url, `${rule.url}/${name.replace('/', '%2f')}`, {
        timeoutMs: this.#o.timeoutMs,
        maxBytes: MAX_PACKUMENT_BYTES,
        fetch: this.#o.fetch,
        headers: {
          accept: 'application/json',
          ...(same?.etag ? { 'if-none-match': same.etag } : {}),
          ...(same?.last_modified ? { 'if-modified-since': same.last_modified } : {}),
        },
      });
      if (res.status === 200) parseUpstreamDoc(name, res.body.toString('utf8'));
      else if (res.status === 304 && !same)
        throw new UpstreamFailure('unavailable', 'the upstream answered 304 to a plain request');
    } catch (err) {
      const failure =
        err instanceof UpstreamFailure
          ? err
          : new UpstreamFailure(
              'unavailable',
              `the upstream ${new URL(rule.url).host} sent an unusable packument (${(err as Error).message})`,
            );
      if (same) {
        this.#o.logger.warn(
          { package: name, upstream: rule.url, err: failure.message },
          'upstream: serving a stale packument',
        );
        return this.#build(name, rule, same, true);
      }
      this.#o.logger.warn(
        { package: name, upstream: rule.url, err: failure.message },
        'upstream: packument unavailable',
      );
      throw failure.kind === 'timeout'
        ? fail('E_UPSTREAM_TIMEOUT', `${name} is not hosted here, and ${failure.message}; try again later`)
        : fail('E_UPSTREAM_UNAVAILABLE', `${name} is not hosted here, and ${failure.message}; try again later`);
    }
    if (res.status === 404) {
      await db.deleteFrom('upstream_packuments').where('name', '=', name).execute();
      return this.#missing(name, rule, now);
    }
    if (res.status === 304) {
      await db.updateTable('upstream_packuments').set({ checked_at: now }).where('name', '=', name).execute();
      return this.#build(name, rule, { ...same!, checked_at: now }, false);
    }
    const fresh: UpstreamPackumentsTable = {
      name,
      upstream: rule.url,
      body: res.body.toString('utf8'),
      etag: res.headers.get('etag'),
      last_modified: res.headers.get('last-modified'),
      fetched_at: now,
      checked_at: now,
    };
    const { name: _key, ...changes } = fresh;
    await db
      .insertInto('upstream_packuments')
      .values(fresh)
      .onConflict((oc) => oc.column('name').doUpdateSet(changes))
      .execute();
    return this.#build(name, rule, fresh, false);
  }

  #missing(name: string, rule: UpstreamRule, now: number): ProxiedEntry {
    return {
      name,
      missing: true,
      upstream: rule.url,
      full: null,
      abbreviated: null,
      files: new Map(),
      hidden: new Map(),
      unverified: new Map(),
      refusal: null,
      checked: new Map(),
      advisory: null,
      stale: false,
      expiresAt: now + this.#o.maxAgeMs,
      size: ENTRY_OVERHEAD,
    };
  }

  async #build(name: string, rule: UpstreamRule, row: UpstreamPackumentsTable, stale: boolean): Promise<ProxiedEntry> {
    const now = this.#clock();
    const doc = parseUpstreamDoc(name, row.body);
    const [checked, advisory, keys] = await Promise.all([
      this.#checked(name),
      this.#advisory(name),
      this.#keysFor(rule.url, !stale),
    ]);
    // Versions whose upstream signature does not verify are left out before the cooldown, so `latest` falls back
    // past them as it does past a too-young one. Without the keys at hand (the upstream could not be asked), nothing
    // is left out here: the tarball request checks again and fails while the keys cannot be had.
    const unverified = new Map<string, { version: string; reason: string }>();
    const refusal = keys === null && !this.#unsignedAllowed(rule.url) ? unsignedMessage(name, rule.url) : null;
    if (keys)
      for (const [v, m] of doc.versions) {
        const reason = this.#signatureProblem(keys, name, v, m.dist as UpstreamVersion['dist'], doc.time[v]);
        if (reason) unverified.set(tarballFile(name, v), { version: v, reason });
      }
    const unverifiedVersions = new Set([...unverified.values()].map((u) => u.version));
    const minAge = matchesAny(this.#o.cooldownExempt, name) ? 0 : this.#o.minReleaseAgeMs;
    const cooldown = applyCooldown(
      {
        versions: [...doc.versions.keys()].filter((v) => !unverifiedVersions.has(v)),
        time: doc.time,
        distTags: doc.distTags,
      },
      minAge,
      now,
    );
    const pinned = new Map([...checked].map(([v, c]) => [v, { integrity: c.integrity, shasum: c.shasum }]));
    const signatures = new Map([...checked].map(([v, c]) => [v, c.signatures]));
    const served = servedDocs(name, doc, { base: this.#o.publicUrl(), cooldown, pinned, signatures, now });
    for (const [v, c] of checked) {
      const upstreamSri = expectedHash(doc.versions.get(v)?.dist ?? {})?.sri;
      if (upstreamSri && upstreamSri.startsWith('sha512-') && upstreamSri !== c.integrity)
        this.#o.logger.warn(
          { package: name, version: v, pinned: c.integrity, upstream: upstreamSri },
          'upstream: the upstream now gives another integrity for a version checked before; the first one is kept',
        );
    }
    const hidden = new Map<string, { version: string; availableAt: number }>();
    let nextChange = Infinity;
    for (const [v, availableAt] of cooldown.hidden) {
      hidden.set(tarballFile(name, v), { version: v, availableAt });
      if (Number.isFinite(availableAt)) nextChange = Math.min(nextChange, availableAt);
    }
    // Compressed forms are made on first request; the cache then counts their bytes too.
    const made: { entry?: ProxiedEntry } = {};
    const grew = (bytes: number) => made.entry && this.#entries.grow(name, made.entry, bytes);
    const full = new Representation(JSON.stringify(served.full), grew);
    const abbreviated = new Representation(JSON.stringify(served.abbreviated), grew);
    const expiresAt = stale
      ? now + Math.min(STALE_RETRY_MS, this.#o.maxAgeMs)
      : Math.min(Number(row.checked_at) + this.#o.maxAgeMs, nextChange);
    const entry: ProxiedEntry = {
      name,
      missing: false,
      upstream: rule.url,
      full,
      abbreviated,
      files: refusal ? new Map() : served.files,
      hidden,
      unverified,
      refusal,
      checked,
      advisory,
      stale,
      expiresAt,
      size: ENTRY_OVERHEAD + VERSION_OVERHEAD * doc.versions.size + full.body.length + abbreviated.body.length,
    };
    made.entry = entry;
    return entry;
  }

  #unsignedAllowed(url: string): boolean {
    return (this.#o.unsignedAllowed ?? []).some((u) => u.replace(/\/+$/, '') === url.replace(/\/+$/, ''));
  }

  /**
   * An upstream's signing keys (null: it publishes none), fetched at most once per max age, one request for
   * concurrent callers. undefined when they cannot be had: never fetched and `fetchIfOld` false, or the upstream failed
   * and nothing was fetched before (keys fetched before are used however old: a key list only grows).
   */
  async #keysFor(url: string, fetchIfOld: boolean): Promise<UpstreamKeys | null | undefined> {
    const held = this.#keys.get(url);
    if (held && (!fetchIfOld || this.#clock() < held.expiresAt)) return held.keys;
    if (!fetchIfOld) return undefined;
    let loading = this.#keysLoading.get(url);
    if (!loading) {
      loading = this.#loadKeys(url, held).finally(() => this.#keysLoading.delete(url));
      this.#keysLoading.set(url, loading);
    }
    try {
      return (await loading).keys;
    } catch (err) {
      this.#o.logger.warn({ upstream: url, err: (err as Error).message }, 'upstream: signing keys unavailable');
      return held?.keys;
    }
  }

  async #loadKeys(url: string, held: KeysHeld | undefined): Promise<KeysHeld> {
    const res = await this.#get('keys', url, `${url}/-/npm/v1/keys`, {
      timeoutMs: this.#o.timeoutMs,
      maxBytes: MAX_KEYS_BYTES,
      fetch: this.#o.fetch,
      headers: { accept: 'application/json' },
    });
    if (res.status === 304) throw new UpstreamFailure('unavailable', 'the upstream answered 304 to a plain request');
    let keys: UpstreamKeys | null = null;
    if (res.status === 200) {
      try {
        keys = parseKeysDocument(res.body.toString('utf8'));
      } catch (err) {
        throw new UpstreamFailure('unavailable', `its /-/npm/v1/keys is unusable (${(err as Error).message})`);
      }
      // The same keys as before keep their object, and with it the signatures already verified with them.
      if (held?.keys && sameKeys(held.keys, keys)) keys = held.keys;
    }
    const fresh = { keys, expiresAt: this.#clock() + this.#o.maxAgeMs };
    this.#keys.set(url, fresh);
    return fresh;
  }

  /** signatureProblem, remembered per key set: an ECDSA verification per version of a large packument adds up. */
  #signatureProblem(keys: UpstreamKeys, name: string, version: string, dist: UpstreamVersion['dist'], time: unknown) {
    let memo = this.#verified.get(keys);
    if (!memo) this.#verified.set(keys, (memo = new Map()));
    const d = dist as Record<string, unknown>;
    const key = JSON.stringify([name, version, d.integrity, d.shasum, d.signatures, time]);
    let problem = memo.get(key);
    if (problem === undefined) {
      problem = signatureProblem(keys, name, version, d, time);
      // Bounded: a registry proxying everything forgets and verifies again rather than grow without end.
      if (memo.size >= MAX_VERIFIED) memo.clear();
      memo.set(key, problem);
    }
    return problem;
  }

  async #checked(name: string): Promise<Map<string, Checked>> {
    const rows = await withUpstream(this.#o.db)
      .selectFrom('upstream_tarballs')
      .selectAll()
      .where('name', '=', name)
      .execute();
    return new Map(rows.map((r) => [r.version, toChecked(r)]));
  }

  async #advisory(name: string): Promise<ProxiedEntry['advisory']> {
    const row = await withAdvisories(this.#o.db)
      .selectFrom('advisories')
      .select(['id', 'record'])
      .where('package_name', '=', name)
      .executeTakeFirst();
    if (!row) return null;
    const record = JSON.parse(row.record) as { affected?: Array<{ versions?: string[]; ranges?: unknown[] }> };
    const affected = record.affected ?? [];
    if (affected.some((a) => a.ranges?.length)) return { id: row.id, versions: null };
    return { id: row.id, versions: new Set(affected.flatMap((a) => a.versions ?? [])) };
  }

  /**
   * Whether a name may be resolved upstream at all (dependency confusion). Never when it was ever published here
   * (hosted, unpublished or held), when a reservation covers it, or when its scope is an organisation, a user or a
   * scope someone claimed here.
   */
  async #mayProxy(name: string): Promise<boolean> {
    const db = this.#o.db;
    // Old npm names may have capitals, new ones (everything published here) may not: "Internal-Utils" or
    // "@ACME/x" asked upstream would be another spelling of a name that is internal here.
    const spellings = [...new Set([name, name.toLowerCase()])];
    const hosted = await db
      .selectFrom('published_versions')
      .select('name')
      .where('name', 'in', spellings)
      .limit(1)
      .executeTakeFirst();
    const pkg = await db.selectFrom('packages').select('id').where('name', 'in', spellings).executeTakeFirst();
    if (hosted || pkg) return false;
    const scope = scopeOf(name);
    if (scope !== null) {
      const scopes = [...new Set([scope, scope.toLowerCase()])];
      const org = await db.selectFrom('orgs').select('name').where('name', 'in', scopes).executeTakeFirst();
      const claimed = await db.selectFrom('scopes').select('name').where('name', 'in', scopes).executeTakeFirst();
      const user = await db.selectFrom('users').select('id').where('name', 'in', scopes).executeTakeFirst();
      if (org || claimed || user) return false;
    }
    const stored = await withNames(db).selectFrom('name_reservations').select(['pattern', 'org']).execute();
    return new Reservations([...this.#o.reservedNames, ...stored]).matching(name).length === 0;
  }

  /** Fetches, checks and scans one version's tarball, and records the verdict. Throws when it cannot be served. */
  async #fetchTarball(entry: ProxiedEntry, v: UpstreamVersion): Promise<Checked> {
    const { name } = entry;
    const url = tarballSource(entry.upstream, name, v);
    // The upstream's signature is checked before its bytes are fetched: with the keys at hand when the packument was
    // built this version was already offered only if it verified; without them, this is where it is checked.
    const keys = await this.#keysFor(entry.upstream, true);
    if (keys === undefined)
      throw fail(
        'E_UPSTREAM_UNAVAILABLE',
        `${name}@${v.version} is not cached here, and the signing keys of the upstream ${new URL(entry.upstream).host} could not be fetched to verify it; try again later`,
      );
    if (keys === null && !this.#unsignedAllowed(entry.upstream))
      throw fail('E_UPSTREAM_UNSIGNED', unsignedMessage(name, entry.upstream));
    const unverified = keys && this.#signatureProblem(keys, name, v.version, v.dist, v.time);
    if (unverified) {
      this.#o.logger.error({ package: name, version: v.version, problem: unverified }, 'upstream: signature refused');
      throw fail('E_UPSTREAM_SIGNATURE', unverifiedMessage(unverified));
    }
    let res;
    try {
      res = await this.#get('tarball', entry.upstream, url, {
        timeoutMs: this.#o.timeoutMs,
        maxBytes: this.#o.maxTarballSize,
        fetch: this.#o.fetch,
      });
    } catch (err) {
      const failure = err as UpstreamFailure;
      this.#o.logger.warn({ package: name, version: v.version, err: failure.message }, 'upstream: tarball unavailable');
      throw fail(
        failure.kind === 'timeout' ? 'E_UPSTREAM_TIMEOUT' : 'E_UPSTREAM_UNAVAILABLE',
        `${name}@${v.version} is not cached here, and ${failure.message}; try again later`,
      );
    }
    if (res.status !== 200)
      throw fail('E_UPSTREAM_UNAVAILABLE', `the upstream ${new URL(url).host} has no tarball for ${name}@${v.version}`);
    const bytes = res.body;
    const problem = integrityProblem(bytes, v.dist);
    if (problem) {
      this.#o.logger.error({ package: name, version: v.version, url, problem }, 'upstream: tarball integrity mismatch');
      throw fail(
        'E_UPSTREAM_INTEGRITY',
        `${name}@${v.version} from the upstream is refused: ${problem}. Nothing was cached; the registry's operators should find out why`,
      );
    }
    const scan = await this.#o.scanner
      .scan(bytes, null)
      .catch((err: Error): ScanOutcome => ({ verdict: 'timeout', failed: true, reason: err.message }));
    if (scan.verdict === 'timeout')
      throw fail(
        'E_UPSTREAM_SCAN',
        `${name}@${v.version} could not be checked for malware (${scan.reason}); it is not served unchecked: try again later`,
      );
    const integrity = sha512Sri(bytes);
    const shasum = typeof v.dist.shasum === 'string' ? v.dist.shasum.toLowerCase() : null;
    const now = this.#clock();
    const malicious = scan.verdict === 'malicious';
    const reason = malicious ? `the malware scan found signs of malicious code (${rulesOf(scan).join(', ')})` : null;
    const blob = malicious ? null : await this.#o.blobs.put(bytes);
    const signatures =
      !malicious && this.#o.signer ? await this.#o.signer.signaturesFor(name, v.version, integrity) : [];
    const checked: Checked = { integrity, shasum, blob, size: bytes.length, verdict: scan.verdict, reason, signatures };
    await this.#o.db.transaction().execute(async (trx) => {
      const inserted = await trxWithUpstream(trx)
        .insertInto('upstream_tarballs')
        .values({
          name,
          version: v.version,
          integrity,
          shasum,
          blob,
          size: bytes.length,
          verdict: scan.verdict,
          reason,
          signatures: JSON.stringify(signatures),
          upstream: entry.upstream,
          fetched_at: now,
        })
        // Another node checked the same version meanwhile: its row stands (it holds the same bytes).
        .onConflict((oc) => oc.columns(['name', 'version']).doNothing())
        .executeTakeFirst();
      const first = Number(inserted.numInsertedOrUpdatedRows ?? 1n) > 0;
      // Logged once, by the node whose row stands: what this registry now serves under the name, and where from.
      if (first && !malicious)
        await recordEvent(
          trx,
          {
            kind: EventKind.UpstreamVersionAdmitted,
            subject: name,
            actorId: null,
            data: { version: v.version, integrity, upstream: entry.upstream },
          },
          now,
        );
      if (first && scan.verdict !== 'clean')
        await queueScanFinding(
          trx,
          {
            package: name,
            version: v.version,
            risk: Math.round(scan.score),
            summary: `upstream ${new URL(entry.upstream).host}: scan ${scan.verdict} (score ${Math.round(scan.score)}): ${rulesOf(scan).slice(0, 6).join(', ')}${malicious ? ' — refused, not cached' : ' — served'}`,
            evidence: { verdict: scan.verdict, score: scan.score, findings: scan.findings, upstream: url },
            publisherId: null,
          },
          now,
        );
    });
    if (scan.verdict !== 'clean')
      this.#o.logger.warn(
        { package: name, version: v.version, verdict: scan.verdict },
        'upstream: scan finding queued for moderators',
      );
    return checked;
  }
}

const etagOf = (blob: string) => quotedTag(blob.slice(0, 40));

function sameKeys(a: UpstreamKeys, b: UpstreamKeys): boolean {
  if (a.size !== b.size) return false;
  for (const [id, k] of b) {
    const old = a.get(id);
    if (!old || old.expires !== k.expires || !old.publicKey !== !k.publicKey) return false;
    if (old.publicKey && k.publicKey && !old.publicKey.equals(k.publicKey)) return false;
  }
  return true;
}

const unverifiedMessage = (reason: string) =>
  `${reason}. This registry serves a version from its upstream only when the upstream's registry signature verifies (as npm audit signatures checks it); the registry's operators should find out why`;

const unsignedMessage = (name: string, url: string) =>
  `${name} is not served: its upstream ${new URL(url).host} publishes no registry signing keys (/-/npm/v1/keys answers 404), so its versions cannot be verified. An administrator can allow this upstream with --upstream-unsigned-allowed ${url}`;

function rulesOf(scan: ScanOutcome): string[] {
  if (scan.verdict === 'timeout') return [];
  return [...new Set((scan.findings as Array<{ rule?: string }>).map((f) => f.rule ?? '').filter(Boolean))];
}

function toChecked(
  r: Pick<UpstreamTarballsTable, 'integrity' | 'shasum' | 'blob' | 'size' | 'verdict' | 'reason' | 'signatures'>,
): Checked {
  return {
    integrity: r.integrity,
    shasum: r.shasum,
    blob: r.blob,
    size: Number(r.size),
    verdict: r.verdict,
    reason: r.reason,
    signatures: r.signatures ? (JSON.parse(r.signatures) as Checked['signatures']) : [],
  };
}
