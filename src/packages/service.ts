// Packages: publish, dist-tags and the precomputed read path. HTTP handlers call this; authorization decisions are
// made by the write gate with the facts this service loads.
import semver from 'semver';
import type { PackageFacts } from '../access/decide.ts';
import type { Principal } from '../access/principal.ts';
import { fail, notFound } from '../errors.ts';
import type { FsBlobStore } from '../store/blobs.ts';
import { isUniqueViolation, type Db } from '../store/db.ts';
import { blockMessage, type NameGuard } from '../names/guard.ts';
import { withClaims } from '../names/claims.ts';
import type { Verdict } from '../names/similarity.ts';
import { queueScanFinding } from '../safety/moderation.ts';
import { previousVersion, type VersionDiff } from '../safety/version-diff.ts';
import { EventKind, eventsAfter, latestSeq, recordEvent } from '../store/events.ts';
import { LruCache, Representation, quotedTag } from './cache.ts';
import { dependencyEdges } from './dependencies.ts';
import { scopeOf, tagProblem, tarballFile } from '../names/syntax.ts';
import { touchPackage, upsertTag } from './package-rows.ts';
import { makeVisible, signManifest, type VersionSigner } from './visible.ts';
import { abbreviatedPackument, fullPackument, type PackageData } from './packument.ts';
import { starredBy } from './stars.ts';
import type { ListedFile, TarballInfo } from '../tarball/inspect.ts';
import { decodeFiles, encodeFiles } from './version-files.ts';
import { checkTarballAgrees, MAX_MANIFEST_BYTES, parsePublish, storedManifest, type Access } from './publish.ts';

/** An uploaded tarball read (off the main thread) for publish, or why it is refused. */
export type Inspection = { ok: true; info: TarballInfo } | { ok: false; timeout: boolean; reason: string };

export type ScanOutcome =
  | { verdict: 'clean' | 'suspicious' | 'malicious'; score: number; findings: unknown[] }
  | { verdict: 'timeout'; failed: boolean; reason: string };

export type TarballRef = { blob: string; size: number; version: string; packageId: number; etag: string };

/** Everything the read path needs about one package, precomputed. A missing package has facts.access === null. */
export type PackageEntry = {
  name: string;
  facts: PackageFacts & { id: number | null };
  full: Representation | null;
  abbreviated: Representation | null;
  tarballs: Map<string, TarballRef>;
  distTags: Record<string, string>;
  size: number;
};

export type PackagesOptions = {
  db: Db;
  /** the name guard (typosquats, reserved names) with the operator's settings, built once in app.ts. */
  names: NameGuard;
  blobs: FsBlobStore;
  /** base URL for dist.tarball links, without a trailing slash (known once the server listens). */
  publicUrl: () => string;
  maxTarballSize: number;
  /** memory for cached packuments (serialized and compressed), in bytes; DEFAULT_CACHE_BYTES by default. */
  cacheBytes?: number;
  /** memory for cached tarball bytes; DEFAULT_CACHE_BYTES by default. */
  tarballCacheBytes?: number;
  clock?: () => number;
  /** how long a fully unpublished name stays reserved for its previous maintainers (DEFAULT_NAME_HOLD_MS). */
  nameHoldMs?: number;
  /**
   * Reads inside tarballs in worker threads (safety/scan/pool.ts), so that none is unpacked on the event loop that
   * serves requests: package.json and the readme of an upload (tarball/inspect.ts), and what changed between two
   * versions (safety/version-diff.ts).
   */
  tarballs: {
    inspect(tgz: Buffer): Promise<Inspection>;
    diff(previous: Buffer | null, current: Buffer): Promise<VersionDiff>;
  };
  /**
   * The publish-time malware scan (safety/scan/pool.ts), run off the event loop within a time budget. Without one,
   * versions become visible unscanned.
   */
  scanner?: { scan(tgz: Buffer, previous: Buffer | null): Promise<ScanOutcome> };
  /** makes each new version's dist.signatures (npm registry signatures, trust/signing-keys.ts); none when absent. */
  signer?: VersionSigner;
};

/**
 * Installs read the same few hundred packuments and tarballs over and over; a registry with 10k packages must still
 * run in well under 150 MB, so each cache gets a modest default (`--cache-size` raises both for large installs).
 */
export const DEFAULT_CACHE_BYTES = 16 * 1024 * 1024;

export const DEFAULT_NAME_HOLD_MS = 30 * 24 * 3600_000;

type Bytes = { bytes: Buffer; size: number };

// Per cached package, besides the packument bytes: the entry, its facts, and per version a tarball reference.
const ENTRY_OVERHEAD = 1024;
const VERSION_OVERHEAD = 320;

export class Packages {
  readonly #db: Db;
  readonly #blobs: FsBlobStore;
  readonly #publicUrl: () => string;
  readonly #maxTarballSize: number;
  readonly #clock: () => number;
  readonly #entries: LruCache<PackageEntry>;
  readonly #tarballs: LruCache<Bytes>;
  readonly #signer: PackagesOptions['signer'];
  readonly #nameHoldMs: number;
  readonly #scanner: PackagesOptions['scanner'];
  readonly #tarballReader: PackagesOptions['tarballs'];
  readonly #listing = new Map<string, Promise<ListedFile[] | null>>();
  readonly #names: NameGuard;

  constructor(opts: PackagesOptions) {
    this.#signer = opts.signer;
    this.#db = opts.db;
    this.#names = opts.names;
    this.#blobs = opts.blobs;
    this.#publicUrl = opts.publicUrl;
    this.#maxTarballSize = opts.maxTarballSize;
    this.#clock = opts.clock ?? Date.now;
    this.#nameHoldMs = opts.nameHoldMs ?? DEFAULT_NAME_HOLD_MS;
    this.#scanner = opts.scanner;
    this.#tarballReader = opts.tarballs;
    this.#entries = new LruCache(opts.cacheBytes ?? DEFAULT_CACHE_BYTES);
    // A tarball bigger than an eighth of the budget would evict many small hot ones: it is read from the blob store
    // each time instead.
    const tarballBytes = opts.tarballCacheBytes ?? DEFAULT_CACHE_BYTES;
    this.#tarballs = new LruCache(tarballBytes, Math.floor(tarballBytes / 8));
  }

  get db(): Db {
    return this.#db;
  }

  get maxTarballSize(): number {
    return this.#maxTarballSize;
  }

  /** The cached read-path entry for a package. */
  entry(name: string): Promise<PackageEntry> {
    return this.#entries.get(name, (n) => this.#build(n));
  }

  /**
   * The entry when it is already in memory, without waiting (the hot path). Entries are only ever made for names
   * that passed isServableName, so a hit also means the name is valid.
   */
  cached(name: string): PackageEntry | undefined {
    return this.#entries.peek(name);
  }

  /** Tarball bytes when they are in memory. */
  cachedTarball(ref: TarballRef): Buffer | undefined {
    return this.#tarballs.peek(ref.blob)?.bytes;
  }

  /** Sizes and hit counts of the two caches (for operators and the benchmark). */
  cacheStats() {
    return { packuments: this.#entries.stats(), tarballs: this.#tarballs.stats() };
  }

  invalidate(name: string): void {
    this.#entries.invalidate(name);
  }

  /** Tarball bytes by blob key, verified against their hash when first read from the blob store. */
  async tarball(ref: TarballRef): Promise<Buffer> {
    const { bytes } = await this.#tarballs.get(ref.blob, async (key) => {
      const bytes = await this.#blobs.get(key);
      if (!bytes) throw new Error(`blob ${key.slice(0, 16)}… of a published version is missing from the blob store`);
      return { bytes, size: bytes.length };
    });
    return bytes;
  }

  /**
   * The files a visible version installs, for its page: the list stored at publish, or, for a version published
   * before lists were kept, read once from its tarball by the worker pool (the reader publish uses, off the event
   * loop) and stored. null when the version is not visible, or its tarball cannot be read: the page says "unknown".
   */
  async versionFiles(packageId: number, version: string): Promise<ListedFile[] | null> {
    const row = await this.#db
      .selectFrom('versions')
      .select(['files', 'blob', 'size'])
      .where('package_id', '=', packageId)
      .where('version', '=', version)
      .where('state', '=', 'visible')
      .executeTakeFirst();
    if (!row) return null;
    if (row.files !== null) return decodeFiles(row.files);
    // Many viewers of one old version at once read its tarball once.
    const key = `${packageId}\0${version}`;
    let pending = this.#listing.get(key);
    if (!pending) {
      pending = this.#listFiles(packageId, version, row.blob, row.size).finally(() => this.#listing.delete(key));
      this.#listing.set(key, pending);
    }
    return pending;
  }

  async #listFiles(packageId: number, version: string, blob: string, size: number): Promise<ListedFile[] | null> {
    const bytes = await this.tarball({ blob, size, version, packageId, etag: '' });
    const inspected = await this.#tarballReader.inspect(bytes);
    if (!inspected.ok) return null;
    await this.#db
      .updateTable('versions')
      .set({ files: encodeFiles(inspected.info.files) })
      .where('package_id', '=', packageId)
      .where('version', '=', version)
      .where('files', 'is', null)
      .execute();
    return inspected.info.files;
  }

  /** Authorization facts read straight from the database (writes must not decide on a cached view). */
  async facts(name: string): Promise<PackageFacts & { id: number | null }> {
    const scope = scopeOf(name);
    const pkg = await this.#db
      .selectFrom('packages')
      .select(['id', 'access', 'unpublished_at'])
      .where('name', '=', name)
      .executeTakeFirst();
    const maintainerIds = pkg
      ? (await this.#db.selectFrom('maintainers').select('user_id').where('package_id', '=', pkg.id).execute()).map(
          (m) => m.user_id,
        )
      : [];
    const since = pkg?.unpublished_at ?? null;
    const nameHold =
      since === null
        ? null
        : { since, until: since + this.#nameHoldMs, open: this.#clock() < since + this.#nameHoldMs };
    return {
      id: pkg?.id ?? null,
      name,
      access: (pkg?.access as Access | undefined) ?? null,
      maintainerIds,
      scope,
      nameHold,
      ...(await this.#scopeOwners(scope)),
    };
  }

  async #scopeOwners(scope: string | null): Promise<{ scopeOwnerId: number | null; scopeNamesakeId: number | null }> {
    if (scope === null) return { scopeOwnerId: null, scopeNamesakeId: null };
    const owner = await this.#db
      .selectFrom('scopes')
      .select('owner_user_id')
      .where('name', '=', scope)
      .executeTakeFirst();
    const namesake = await this.#db.selectFrom('users').select('id').where('name', '=', scope).executeTakeFirst();
    return { scopeOwnerId: owner?.owner_user_id ?? null, scopeNamesakeId: namesake?.id ?? null };
  }

  async #build(name: string): Promise<PackageEntry> {
    const facts = await this.facts(name);
    const empty: PackageEntry = {
      name,
      facts,
      full: null,
      abbreviated: null,
      tarballs: new Map(),
      distTags: {},
      size: 256,
    };
    if (facts.id === null) return empty;
    const db = this.#db;
    const pkg = await db.selectFrom('packages').selectAll().where('id', '=', facts.id).executeTakeFirst();
    if (!pkg) return empty;
    const [all, tags, maintainers, starred] = await Promise.all([
      db
        .selectFrom('versions')
        .select(['version', 'manifest', 'readme', 'published_at', 'blob', 'size', 'state', 'deprecated'])
        .where('package_id', '=', pkg.id)
        .orderBy('id')
        .execute(),
      db.selectFrom('dist_tags').select(['tag', 'version']).where('package_id', '=', pkg.id).orderBy('tag').execute(),
      db
        .selectFrom('maintainers')
        .innerJoin('users', 'users.id', 'maintainers.user_id')
        .select(['users.name', 'users.email'])
        .where('package_id', '=', pkg.id)
        .orderBy('users.name')
        .execute(),
      starredBy(db, pkg.id),
    ]);
    const versions = all.filter((v) => v.state === 'visible');
    const data: PackageData = {
      name,
      rev: pkg.rev,
      createdAt: pkg.created_at,
      modifiedAt: pkg.modified_at,
      versions: versions.map((v) => ({
        version: v.version,
        manifest: withDeprecation(v.manifest, v.deprecated),
        readme: v.readme,
        publishedAt: v.published_at,
      })),
      // npm keeps an unpublished version's time: `npm view name time` still shows when it existed.
      unpublishedVersions: all
        .filter((v) => v.state === 'unpublished')
        .map((v) => ({ version: v.version, publishedAt: v.published_at })),
      unpublishedAt: pkg.unpublished_at,
      distTags: Object.fromEntries(tags.map((t) => [t.tag, t.version])),
      maintainers,
      starredBy: starred,
    };
    // A package with no version left is served as npm serves one: a full document saying when it was unpublished
    // (npm view prints "Unpublished on …"), and no abbreviated one, so installers get a 404.
    if (versions.length === 0 && pkg.unpublished_at === null) return empty;
    // Compressed forms are made on first request for them; the cache then counts their bytes too.
    const grew = (bytes: number) => this.#entries.grow(name, entry, bytes);
    const full = new Representation(JSON.stringify(fullPackument(data, this.#publicUrl())), grew);
    const abbreviated = versions.length
      ? new Representation(JSON.stringify(abbreviatedPackument(data, this.#publicUrl())), grew)
      : null;
    const tarballs = new Map(
      versions.map((v) => [
        tarballFile(name, v.version),
        { blob: v.blob, size: v.size, version: v.version, packageId: pkg.id, etag: quotedTag(v.blob.slice(0, 40)) },
      ]),
    );
    const size =
      ENTRY_OVERHEAD + VERSION_OVERHEAD * versions.length + full.body.length + (abbreviated?.body.length ?? 0);
    const entry: PackageEntry = { name, facts, full, abbreviated, tarballs, distTags: data.distTags, size };
    return entry;
  }

  /**
   * Publishes one version. The caller has passed the write gate with facts(name). The tarball blob is written before
   * the metadata transaction, so a crash leaves at most an unreferenced blob, never a version without its bytes.
   */
  /**
   * `publishedAt` keeps a version's original publish time when it is imported from another registry (import/); a
   * publish made here is timed by the clock.
   */
  async publish(
    principal: Principal,
    name: string,
    doc: unknown,
    opts: { publishedAt?: number } = {},
  ): Promise<{ version: string; rev: number }> {
    const req = parsePublish(doc, name, this.#maxTarballSize);
    const inspected = await this.#tarballReader.inspect(req.tarball);
    if (!inspected.ok)
      throw inspected.timeout
        ? fail('E_TARBALL_TOO_LARGE', `${inspected.reason}: publish a smaller package`)
        : fail('E_TARBALL_INVALID', `the tarball is refused: ${inspected.reason}`);
    const { info } = inspected;
    checkTarballAgrees(req, info);
    const manifest = storedManifest(req, info, { name: principal.name, email: principal.email });
    const taken = await this.#db
      .selectFrom('published_versions')
      .select('version')
      .where('name', '=', name)
      .where('version', '=', req.version)
      .executeTakeFirst();
    if (taken)
      throw fail('E_VERSION_EXISTS', `You cannot publish over the previously published versions: ${req.version}.`);
    // Scanned before anything is stored; a version the scan stops is kept (as evidence) but never served
    // (docs/malware-scanning.md, "Publish states").
    // A scanner that fails holds the version, as one that runs out of time does: the scan fails closed.
    const scan = this.#scanner
      ? await this.#scanner
          .scan(req.tarball, await this.#previousTarball(name, req.version))
          .catch((err: Error): ScanOutcome => ({ verdict: 'timeout', failed: true, reason: err.message }))
      : null;
    const scanHeld = scan !== null && (scan.verdict === 'malicious' || scan.verdict === 'timeout');
    // A new name the name guard is unsure of (names/similarity.ts, tier "review") is published held, like a scan's
    // hold: the first version waits for a moderator. Names it refuses are refused in the transaction below.
    // A look-alike whose package.json claims the imitated package's repository is refused instead (names/claims.ts).
    const guarded = await this.#names.publishVerdict(this.#db, name);
    const nameVerdict = withClaims(name, manifest, guarded);
    if (nameVerdict !== guarded) throw fail('E_NAME_CONFUSABLE', blockMessage(nameVerdict));
    const nameHeld = nameVerdict.verdict === 'review';
    // A package none of whose versions a moderator has let through yet (its first was held, by the scan or for its
    // name) gets no visible version by publishing another: the next version waits too, or a hold would last one
    // publish. The guard allows names that exist, so this is decided here.
    const waiting = !scanHeld && !nameHeld && (await this.#awaitsReview(name));
    const held = scanHeld || nameHeld || waiting;
    // Signed once here and stored with the version, so reads serve it without signing. A held version is signed when
    // a moderator releases it, like any version the moment it becomes visible (visible.ts).
    const signed = await signManifest(held ? undefined : this.#signer, name, req.version, req.integrity, manifest);
    // Everything that can refuse the publish is done before the blob is written, so a refused one leaves nothing.
    const { stored } = signed;
    if (Buffer.byteLength(stored) > MAX_MANIFEST_BYTES)
      throw fail(
        'E_TARBALL_TOO_LARGE',
        `the version document is ${Buffer.byteLength(stored)} bytes; this registry accepts at most ${MAX_MANIFEST_BYTES}`,
      );
    const blob = await this.#blobs.put(req.tarball);
    const now = this.#clock();
    const scope = scopeOf(name);
    try {
      const rev = await this.#db.transaction().execute(async (trx) => {
        const taken = await trx
          .selectFrom('published_versions')
          .select('version')
          .where('name', '=', name)
          .where('version', '=', req.version)
          .executeTakeFirst();
        if (taken)
          throw fail('E_VERSION_EXISTS', `You cannot publish over the previously published versions: ${req.version}.`);
        let pkg = await trx.selectFrom('packages').selectAll().where('name', '=', name).executeTakeFirst();
        if (!pkg) {
          // Name safety (names/guard.ts): reserved names and look-alikes of protected ones are refused here.
          await this.#names.checkNewPackage(this.#db, trx, principal, name);
          pkg = await trx
            .insertInto('packages')
            .values({
              name,
              scope,
              access: req.access ?? (scope ? 'restricted' : 'public'),
              description: '',
              keywords: '',
              latest_version: null,
              rev: 0,
              created_at: opts.publishedAt ?? now,
              modified_at: now,
            })
            .returningAll()
            .executeTakeFirstOrThrow();
          await trx.insertInto('maintainers').values({ package_id: pkg.id, user_id: principal.userId }).execute();
          if (scope) {
            await trx
              .insertInto('scopes')
              .values({ name: scope, owner_user_id: principal.userId, created_at: now })
              .onConflict((oc) => oc.column('name').doNothing())
              .execute();
          }
          await recordEvent(
            trx,
            { kind: EventKind.PackageCreated, subject: name, actorId: principal.userId, data: { access: pkg.access } },
            now,
          );
        }
        await trx
          .insertInto('published_versions')
          .values({ name, version: req.version, integrity: req.integrity, published_at: opts.publishedAt ?? now })
          .execute();
        await trx
          .insertInto('versions')
          .values({
            package_id: pkg.id,
            version: req.version,
            manifest: stored,
            integrity: req.integrity,
            shasum: req.shasum,
            blob,
            size: req.tarball.length,
            readme: info.readme,
            files: encodeFiles(info.files),
            published_at: opts.publishedAt ?? now,
            publisher_id: principal.userId,
            state: held ? 'held' : 'visible',
            scan_verdict: scan?.verdict ?? null,
            scan_score: scan && 'score' in scan ? Math.round(scan.score) : null,
            held_tag: held ? req.tag : null,
          })
          .execute();
        const edges = dependencyEdges(manifest).map((d) => ({ package_id: pkg.id, version: req.version, ...d }));
        if (edges.length) await trx.insertInto('dependency_edges').values(edges).execute();
        if (scan && scan.verdict !== 'clean')
          await queueScanFinding(trx, scanFinding(name, req.version, scan, principal.userId), now);
        if (nameHeld) await queueScanFinding(trx, nameFinding(req.version, nameVerdict, principal.userId), now);
        if (waiting) await queueScanFinding(trx, waitingFinding(name, req.version, principal.userId), now);
        if (held) {
          // Nothing a reader sees changes: no tag moves, no log entry; moderators are alerted through the event.
          await trx
            .updateTable('packages')
            .set({ rev: pkg.rev + 1, modified_at: now })
            .where('id', '=', pkg.id)
            .execute();
          await recordEvent(
            trx,
            {
              kind: EventKind.VersionHeld,
              subject: name,
              actorId: principal.userId,
              data: scanHeld
                ? { version: req.version, verdict: scan.verdict, score: 'score' in scan ? scan.score : null }
                : { version: req.version, verdict: waiting ? 'awaiting-review' : 'name-review', score: null },
            },
            now,
          );
          return pkg.rev + 1;
        }
        return makeVisible(
          trx,
          signed,
          {
            pkg,
            tag: req.tag,
            tagMoves: 'always',
            publisherId: principal.userId,
            tokenId: principal.tokenId,
            released: false,
          },
          now,
        );
      });
      if (waiting)
        throw fail(
          'E_VERSION_HELD',
          `${name}@${req.version} is held for review: no version of ${name} has been let through by the registry's moderators yet, so new versions wait with the first. They have been alerted.`,
        );
      if (nameHeld && !scanHeld) {
        const like = nameVerdict.reasons[0]!.similar_to;
        throw fail(
          'E_VERSION_HELD',
          `${name}@${req.version} is held for review: the new name looks like the existing package "${like}", so its first version waits for the registry's moderators, who have been alerted and will release or remove it. If the name is legitimate, they can also allow it (bulwark names allow ${name}).`,
        );
      }
      if (scanHeld) {
        const why =
          scan.verdict !== 'timeout'
            ? 'the malware scan found signs of malicious code'
            : scan.failed
              ? 'the malware scan could not be completed'
              : 'the malware scan did not finish within its time budget';
        throw fail(
          'E_VERSION_HELD',
          `${name}@${req.version} is held for security review: ${why}. It is not installable; the registry's moderators have been alerted and will release or remove it.`,
        );
      }
      return { version: req.version, rev };
    } catch (err) {
      if (isUniqueViolation(err))
        throw fail(
          'E_PACKAGE_CHANGED',
          `another publish of ${name}@${req.version} happened at the same moment; run the publish again`,
        );
      throw err;
    } finally {
      this.invalidate(name);
    }
  }

  /** What a new version is compared with: the highest visible version below it, else the highest one. */
  /** True when the package exists, has a held version, and no version was ever visible (released or published). */
  async #awaitsReview(name: string): Promise<boolean> {
    const states = await this.#db
      .selectFrom('versions')
      .innerJoin('packages', 'packages.id', 'versions.package_id')
      .select('versions.state')
      .distinct()
      .where('packages.name', '=', name)
      .execute();
    return states.length === 1 && states[0]!.state === 'held';
  }

  async #previousTarball(name: string, version: string): Promise<Buffer | null> {
    return (await this.#previous(await this.#versionBlobs(name), version))?.bytes ?? null;
  }

  async #previous(
    blobs: Map<string, { blob: string; state: string }>,
    version: string,
  ): Promise<{ version: string; bytes: Buffer | null } | null> {
    const visible = [...blobs].filter(([, v]) => v.state === 'visible').map(([v]) => v);
    const previous = previousVersion(visible, version);
    return previous ? { version: previous, bytes: await this.#blobs.get(blobs.get(previous)!.blob) } : null;
  }

  async #versionBlobs(name: string): Promise<Map<string, { blob: string; state: string }>> {
    const rows = await this.#db
      .selectFrom('versions')
      .innerJoin('packages', 'packages.id', 'versions.package_id')
      .select(['versions.version', 'versions.blob', 'versions.state'])
      .where('packages.name', '=', name)
      .execute();
    return new Map(rows.map((r) => [r.version, { blob: r.blob, state: r.state }]));
  }

  /**
   * For moderators: what changed in name@version (whatever its state) since the version before it among those
   * readers could install, or null when the version is unknown.
   */
  async versionDiff(name: string, version: string): Promise<{ previous: string | null; diff: VersionDiff } | null> {
    const blobs = await this.#versionBlobs(name);
    const own = blobs.get(version);
    if (!own) return null;
    const [previous, after] = await Promise.all([this.#previous(blobs, version), this.#blobs.get(own.blob)]);
    if (!after) return null;
    return {
      previous: previous?.version ?? null,
      diff: await this.#tarballReader.diff(previous?.bytes ?? null, after),
    };
  }

  async setDistTag(
    principal: Principal,
    packageId: number,
    name: string,
    tag: string,
    version: unknown,
  ): Promise<void> {
    const problem = tagProblem(tag, semver.validRange);
    if (problem) throw fail('E_DIST_TAG_INVALID', problem);
    if (typeof version !== 'string' || !semver.valid(version))
      throw fail('E_DIST_TAG_INVALID', 'the request body must be a JSON string holding a version, e.g. "1.2.3"');
    const now = this.#clock();
    await this.#db.transaction().execute(async (trx) => {
      const exists = await trx
        .selectFrom('versions')
        .select('id')
        .where('package_id', '=', packageId)
        .where('version', '=', version)
        .where('state', '=', 'visible')
        .executeTakeFirst();
      if (!exists) throw notFound(`${name}@${version} does not exist: publish it before tagging it`);
      await upsertTag(trx, packageId, tag, version);
      await touchPackage(trx, packageId, now, tag === 'latest' ? { latest_version: version } : {});
      await recordEvent(
        trx,
        { kind: EventKind.DistTagSet, subject: name, actorId: principal.userId, data: { tag, version } },
        now,
      );
    });
    this.invalidate(name);
  }

  async removeDistTag(principal: Principal, packageId: number, name: string, tag: string): Promise<void> {
    if (tag === 'latest')
      throw fail('E_DIST_TAG_INVALID', 'the "latest" dist-tag cannot be removed: point it at another version instead');
    const now = this.#clock();
    await this.#db.transaction().execute(async (trx) => {
      const res = await trx
        .deleteFrom('dist_tags')
        .where('package_id', '=', packageId)
        .where('tag', '=', tag)
        .executeTakeFirst();
      if (Number(res.numDeletedRows) === 0) throw notFound(`${name} has no dist-tag "${tag}"`);
      await touchPackage(trx, packageId, now);
      await recordEvent(
        trx,
        { kind: EventKind.DistTagRemoved, subject: name, actorId: principal.userId, data: { tag } },
        now,
      );
    });
    this.invalidate(name);
  }

  /**
   * Follows the event stream and drops cached entries changed by any node. Local writes already invalidated their
   * entry; this catches writes made by other nodes sharing the database.
   */
  watchEvents(intervalMs = 1000): { stop(): void } {
    let last = -1;
    let running = false;
    const tick = async () => {
      if (running) return;
      running = true;
      try {
        if (last < 0) last = await latestSeq(this.#db);
        for (;;) {
          const events = await eventsAfter(this.#db, last, 500);
          for (const e of events) if (e.kind.startsWith('package.')) this.invalidate(e.subject);
          if (events.length) last = events.at(-1)!.seq;
          if (events.length < 500) break;
        }
      } catch {
        // The database being briefly unreachable only delays invalidation; /-/ready reports the outage.
      } finally {
        running = false;
      }
    };
    void tick();
    const timer = setInterval(() => void tick(), intervalMs);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }
}

/** A scan that flagged or held a version, as the moderation queue shows it (risk orders the queue). */
function scanFinding(name: string, version: string, scan: ScanOutcome, publisherId: number) {
  if (scan.verdict === 'timeout')
    return {
      package: name,
      version,
      risk: 100,
      summary: `the malware scan did not finish (${scan.reason}): held for review`,
      evidence: { verdict: 'timeout', reason: scan.reason },
      publisherId,
    };
  const rules = [...new Set((scan.findings as Array<{ rule?: string }>).map((f) => f.rule).filter(Boolean))];
  return {
    package: name,
    version,
    risk: Math.round(scan.score),
    summary: `scan: ${scan.verdict} (score ${Math.round(scan.score)}): ${rules.slice(0, 6).join(', ')}`,
    evidence: { verdict: scan.verdict, score: scan.score, findings: scan.findings },
    publisherId,
  };
}

/** A version held because its package has no version a moderator let through yet. */
function waitingFinding(name: string, version: string, publisherId: number) {
  return {
    package: name,
    version,
    risk: 50,
    summary: 'published while the package’s first version waits for review: held with it',
    evidence: { verdict: 'awaiting-review' },
    publisherId,
  };
}

/** A new name held for review by the name guard, as the moderation queue shows it. */
function nameFinding(version: string, v: Verdict, publisherId: number) {
  const r = v.reasons[0]!;
  return {
    package: v.name,
    version,
    risk: 50,
    summary: `new name looks like "${r.similar_to}" (${r.rule}${r.cost !== undefined ? `, typing-slip cost ${r.cost} of budget ${r.budget}` : ''}): held for review`,
    evidence: { verdict: 'name-review', reasons: v.reasons },
    publisherId,
  };
}

/** The stored manifest with the version's current deprecation (the manifest itself never changes after publish). */
function withDeprecation(manifest: string, deprecated: string | null): Record<string, unknown> {
  const m = JSON.parse(manifest) as Record<string, unknown>;
  if (deprecated !== null) m.deprecated = deprecated;
  return m;
}
