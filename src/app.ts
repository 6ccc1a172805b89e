// The one composition root: every service is built here, once, from the settings, for `bulwark serve` and for every
// CLI command alike, so a command-line action takes exactly the path a request does (a version released from the
// command line is signed as one released on the web page is). Entry points (http/, web/, cli/) receive services;
// nothing below them builds its own.
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { signupSummary } from './accounts/signup.ts';
import { setPasswordHashParams } from './accounts/passwords.ts';
import { accessSync, constants, existsSync } from 'node:fs';
import { StartupError, type Settings } from './config.ts';
import { loadSecretKey } from './crypto/secret-key.ts';
import { Gate } from './http/gate.ts';
import { releaseFreedMemory } from './http/memory.ts';
import { DownloadCounter } from './packages/downloads.ts';
import { Lifecycle } from './packages/lifecycle.ts';
import { NameGuard } from './names/guard.ts';
import { Packages } from './packages/service.ts';
import { advisoryRecorder } from './safety/advisories.ts';
import { ScanPool } from './safety/scan/pool.ts';
import { loadSignatures } from './safety/scan/signatures.ts';
import { BlobSweeper } from './store/blob-sweeper.ts';
import { FsBlobStore } from './store/blobs.ts';
import { openStore, type Store } from './store/db.ts';
import { RegistrySigner, backfillSignatures, ensureSigningKey } from './trust/signing-keys.ts';
import { startHttp, type HttpApp } from './http/server.ts';
import { registerWebUi } from './web/ui.ts';
import { originFor } from './trust/tlog/store.ts';
import { startSequencer } from './trust/tlog/sequencer.ts';
import { createMailer } from './notify/mailer.ts';
import { startNotifier } from './notify/notifications.ts';
import { startModerationConsumer } from './safety/moderation-consumer.ts';
import { Upstream } from './upstream/service.ts';
import { Metrics } from './metrics.ts';

export type Services = {
  settings: Settings;
  store: Store;
  blobs: FsBlobStore;
  logger: Logger;
  clock: () => number;
  /** the instance key that seals secrets at rest (see crypto/secret-key.ts). */
  secretKey: Buffer;
  /** makes npm registry signatures for a version the moment it becomes visible (CLI-1). */
  signer: RegistrySigner;
  /** worker threads for everything that reads inside a tarball: the publish-time read, the malware scan, diffs. */
  tarballs: ScanPool;
  packages: Packages;
  /** the name guard the publish path and the names pages consult (names/guard.ts). */
  names: NameGuard;
  lifecycle: Lifecycle;
  /** the upstream proxy for packages not hosted here (docs/upstream.md); null when --upstream is none. */
  upstream: Upstream | null;
  gate: Gate;
  /** Prometheus metrics (metrics.ts); null with --metrics off, when nothing is counted. */
  metrics: Metrics | null;
  downloads: DownloadCounter;
  /** gives memory a burst of work freed back to the system (http/memory.ts). */
  memory: ReturnType<typeof releaseFreedMemory>;
  /** the public URL, known once the server listens (tarball links, emails, the log's origin). */
  publicUrl: () => string;
  setPublicUrl(url: string): void;
  /** stops the workers and closes the store. */
  close(): Promise<void>;
};

export type ServiceDeps = {
  settings: Settings;
  store: Store;
  blobs: FsBlobStore;
  logger: Logger;
  secretKey: Buffer;
  clock?: () => number;
};

/** Builds every service over an open store. Nothing here writes to the store or starts background work. */
export async function buildServices({
  settings,
  store,
  blobs,
  logger,
  secretKey,
  clock = Date.now,
}: ServiceDeps): Promise<Services> {
  // Every password hashed from here on (sign-up, sign-in upgrades, admin user create) uses the configured cost.
  setPasswordHashParams(settings.passwordHash);
  // An operator's signature file with a mistake stops the start here, rather than failing every publish later.
  if (settings.scanSignatures.length) loadSignatures(settings.scanSignatures);
  const signer = new RegistrySigner(store.db, secretKey);
  const base = { url: settings.publicUrl ?? '' };
  const publicUrl = () => base.url;
  // Memory that a burst of publishes (or other work) freed goes back to the system; the last tarball worker stopping
  // marks the end of a burst.
  const memory = releaseFreedMemory();
  // The caches it reads at scrape time are made below; it is asked only once the server runs.
  const metrics: Metrics | null =
    settings.metrics === 'off'
      ? null
      : new Metrics({
          db: store.db,
          clock,
          caches: () => ({
            ...prefixed('hosted', packages.cacheStats()),
            ...(upstream ? prefixed('proxied', upstream.cacheStats()) : {}),
          }),
        });
  // Every uploaded tarball is read (package.json) and scanned for malware (GEN-2c) in these workers, never on the
  // thread that serves requests; they start with the first publish.
  const tarballs = new ScanPool({
    budgetMs: settings.scanBudget,
    signatureFiles: settings.scanSignatures,
    onIdle: () => memory.settle(),
    ...(metrics ? { observe: metrics.scan.bind(metrics) } : {}),
  });
  // The read caches share --cache-size: hosted packuments and tarballs, and with a proxy, proxied ones too.
  const cacheShare = Math.floor(settings.cacheSize / (settings.upstream.length ? 4 : 2));
  // Name safety (typosquats, reserved names) with the operator's settings, for every publish: HTTP, imports, the CLI.
  const names = new NameGuard(settings, clock);
  const packages = new Packages({
    db: store.db,
    names,
    blobs,
    publicUrl,
    maxTarballSize: settings.maxTarballSize,
    cacheBytes: cacheShare,
    tarballCacheBytes: cacheShare,
    clock,
    signer,
    nameHoldMs: settings.nameHold,
    tarballs,
    scanner: tarballs,
  });
  const lifecycle = new Lifecycle({
    db: store.db,
    clock,
    invalidate: (name) => packages.invalidate(name),
    unpublishWindowMs: settings.unpublishWindow,
    recordAdvisory: advisoryRecorder(settings.advisoryPrefix),
    signer,
  });
  const upstream = settings.upstream.length
    ? new Upstream({
        db: store.db,
        blobs,
        rules: settings.upstream,
        maxAgeMs: settings.upstreamMaxAge,
        timeoutMs: settings.upstreamTimeout,
        minReleaseAgeMs: settings.minReleaseAge,
        cooldownExempt: settings.minReleaseAgeExempt,
        reservedNames: settings.reservedNames,
        maxTarballSize: settings.maxTarballSize,
        publicUrl,
        logger,
        clock,
        scanner: tarballs,
        signer,
        unsignedAllowed: settings.upstreamUnsignedAllowed,
        cacheBytes: cacheShare,
        ...(metrics ? { observe: metrics.upstreamRequest.bind(metrics) } : {}),
      })
    : null;
  return {
    settings,
    store,
    blobs,
    logger,
    clock,
    secretKey,
    signer,
    tarballs,
    packages,
    names,
    lifecycle,
    upstream,
    metrics,
    gate: new Gate(store.db, { readAccess: settings.readAccess, emailVerification: settings.emailVerification }),
    downloads: new DownloadCounter(store.db, clock),
    memory,
    publicUrl,
    setPublicUrl: (url) => void (base.url = url),
    async close() {
      memory.stop();
      await tarballs.close();
    },
  };
}

/**
 * Opens the store the settings name and builds the services over it: what `bulwark serve` and every CLI command that
 * works on a registry's data start from. close() also closes the store.
 */
export async function openServices(
  settings: Settings,
  opts: { logger?: Logger; env?: NodeJS.ProcessEnv; poolSize?: number; clock?: () => number } = {},
): Promise<Services> {
  const logger = opts.logger ?? pino({ level: 'warn' }, pino.destination(2));
  const env = opts.env ?? process.env;
  // What the data directory will hold (the SQLite database, blobs, a generated key) must be writable, and the
  // database reachable, before anything is written: a failed start leaves nothing behind.
  if (!settings.database || env.BULWARK_SECRET_KEY === undefined) checkWritable(settings.dataDir);
  const store = await openStore({
    dataDir: settings.dataDir,
    database: settings.database,
    ...(opts.poolSize ? { poolSize: opts.poolSize } : {}),
  }).catch((err: unknown) => {
    throw new StartupError(
      settings.database
        ? `cannot use the PostgreSQL database ${redactedUrl(settings.database)} (--database): ${reason(err)}`
        : `cannot open the SQLite database in ${settings.dataDir} (--data-dir): ${reason(err)}`,
    );
  });
  let secretKey: Buffer;
  try {
    secretKey = loadSecretKey(settings.dataDir, env, (msg) => logger.warn(msg)).key;
  } catch (err) {
    await store.close();
    throw err;
  }
  try {
    const services = await buildServices({
      settings,
      store,
      blobs: new FsBlobStore(path.join(settings.dataDir, 'blobs')),
      logger,
      secretKey,
      ...(opts.clock ? { clock: opts.clock } : {}),
    });
    return {
      ...services,
      async close() {
        await services.close();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** A running registry: its services, the HTTP server over them, and the background work. */
export type Registry = Services & HttpApp;

/**
 * Starts serving: HTTP, then the background work of a registry (cache invalidation across nodes, download counts,
 * email notifications, the transparency-log sequencer, the blob sweeper). close() stops all of it and closes the
 * services (and so the store, when openServices opened it). A failed start closes the services too.
 */
export async function startRegistry(services: Services): Promise<Registry> {
  const { store, logger, clock, secretKey, packages, downloads, settings } = services;
  let http: HttpApp;
  try {
    // The registry signing key is made on first start; versions stored before it existed are signed now (CLI-1).
    await ensureSigningKey(store.db, secretKey, clock());
    const backfilled = await backfillSignatures(store.db, services.signer, clock());
    if (backfilled)
      logger.info({ versions: backfilled }, 'signed versions stored before the registry had a signing key');
    http = await startHttp(services, (parts) => registerWebUi(services, parts));
  } catch (err) {
    await services.close();
    throw err;
  }
  // Whether people can sign up, how their accounts get verified, and how to change it: one line an operator reads.
  logger.info({ signup: settings.signup, emailVerification: settings.emailVerification }, signupSummary(settings));
  const watcher = packages.watchEvents();
  downloads.start();
  const notifier = startNotifier({
    db: store.db,
    mailer: createMailer(settings.smtpUrl, settings.mailFrom),
    publicUrl: services.publicUrl,
    logger,
    clock,
    emailVerification: settings.emailVerification,
  });
  // The moderation queue follows the event stream (security-form reports, removals made outside the queue).
  const moderation = startModerationConsumer({ db: store.db, logger, clock });
  // The log's origin is the registry's public name, fixed by the first start (see log/store.ts loadLogKey).
  const logSequencer = startSequencer({
    db: store.db,
    dialect: store.dialect,
    secretKey,
    origin: () => originFor(services.publicUrl()),
    logger,
    clock,
  });
  // The key exists before the app reports ready, so a first client never finds the log "not started".
  await logSequencer.sequencer.catch((err: unknown) =>
    logger.error({ err }, 'transparency log: its key could not be loaded; the log is not running'),
  );
  // Temporary files and blobs no version references, left by crashes: removed now and every hour.
  const stopSweeper = new BlobSweeper({
    db: store.db,
    blobs: services.blobs,
    graceMs: settings.blobGrace,
    log: logger,
  }).start();
  return {
    ...services,
    ...http,
    async close() {
      watcher.stop();
      await http.close();
      await downloads.stop();
      await notifier.stop();
      await moderation.stop();
      await logSequencer.stop();
      await stopSweeper();
      await services.close();
    },
  };
}

/** Builds the services over an open store and starts serving them (what tests start a registry with). */
export async function startApp(deps: ServiceDeps): Promise<Registry> {
  return startRegistry(await buildServices(deps));
}

/** A service's caches named for the metrics: hosted_packuments, proxied_tarballs. */
function prefixed<T>(prefix: string, caches: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(caches).map(([name, stats]) => [`${prefix}_${name}`, stats]));
}

/** Refuses a data directory this process cannot write to (or create), naming the setting and what to do. */
function checkWritable(dir: string): void {
  let existing = path.resolve(dir);
  while (!existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  try {
    accessSync(existing, constants.W_OK);
  } catch (err) {
    const what = existing === path.resolve(dir) ? dir : `${existing}, where ${dir} would be made,`;
    throw new StartupError(
      `the data directory ${what} is not writable by this user (${(err as NodeJS.ErrnoException).code}): set --data-dir (BULWARK_DATA_DIR) to a folder it may write, or fix its permissions`,
    );
  }
}

const reason = (err: unknown): string => {
  const e = err as { code?: string; message?: string; errors?: Array<{ message?: string }> };
  // pg reports a refused connection to each address as an AggregateError with an empty message.
  const message = e.message || e.errors?.map((x) => x.message).join('; ') || String(err);
  return e.code && !message.includes(e.code) ? `${e.code}: ${message}` : message;
};

/** A database URL without its password, for messages. */
function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.href;
  } catch {
    return '(an invalid URL)';
  }
}
