// Removes what crashes leave in the blob folder: temporary files of writes that never finished, and blobs no version
// references (publish writes the tarball before its transaction, so a publish that failed or was killed in between
// leaves its blob behind; so does an administrator's deletion of a package). Runs when `bulwark serve` starts and
// every hour after.
//
// It must never remove a blob a committed version needs, including one whose publish commits while the sweep runs.
// What makes that so:
// - Only files older than the grace period are touched, and the grace period is longer than any publish: a publish
//   writes its blob moments before its transaction, so a blob some publish is about to reference is young.
// - A publish whose tarball is already stored does not write it again; FsBlobStore.put moves the blob's modification
//   time to now instead (and writes it afresh if it is gone), before the publish's transaction.
// - A blob judged unreferenced is first renamed aside, which takes exactly the file that was under its name at that
//   moment. Then the moved file is examined: if it is not the file the sweep judged (another inode) or its
//   modification time moved (a publish adopted it before the rename), or a version references the key by now, it is
//   put back; otherwise it is deleted. A publish that looks after the rename finds no blob and writes its own.
// A sweep interrupted between the two renames leaves a `.sweep` file, always a whole blob: the next sweep puts it
// back under its name (or drops it, if the name holds the same bytes again) and judges it afresh.
import { randomBytes } from 'node:crypto';
import { lstat, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { BLOB_KEY, PROBE_PREFIX, type FsBlobStore } from './blobs.ts';
import type { Database } from './schema.ts';

/** How often `bulwark serve` sweeps, after the sweep at start. */
export const SWEEP_INTERVAL_MS = 60 * 60_000;

/** How many keys one reference query asks about. */
const BATCH = 200;

const SHARD = /^[0-9a-f]{2}$/;
const TEMPORARY = /^[0-9a-f]{128}\.[0-9a-f]+\.tmp$/;
const ASIDE = /^([0-9a-f]{128})\.[0-9a-f]+\.sweep$/;

/** A file the sweep looked at: what it was when listed, to tell later whether it is still the same file, untouched. */
export type SweptFile = { path: string; key: string | null; ino: number; mtimeMs: number; size: number };

export type SweepPlan = {
  /** temporary files (unfinished writes, leftover write probes) older than the grace period. */
  temporary: SweptFile[];
  /** blobs older than the grace period that no version referenced when the plan was made. */
  unreferenced: SweptFile[];
  /** whole blobs renamed aside by a sweep that stopped before it deleted or restored them. */
  aside: SweptFile[];
};

export type SweepResult = {
  temporary: string[];
  unreferenced: string[];
  /** bytes freed. */
  bytes: number;
  /** blobs judged unreferenced that a publish adopted meanwhile, or that a version references by now: kept. */
  kept: string[];
  /** blobs put back from an interrupted sweep. */
  restored: string[];
};

type SweepLog = { info(obj: object, msg: string): void; error(obj: object, msg: string): void };

export type BlobSweeperOptions = {
  db: Kysely<Database>;
  blobs: FsBlobStore;
  /** files younger than this are never touched (Settings.blobGrace). */
  graceMs: number;
  clock?: () => number;
  log?: SweepLog;
};

export class BlobSweeper {
  readonly #db: Kysely<Database>;
  readonly #blobs: FsBlobStore;
  readonly #graceMs: number;
  readonly #clock: () => number;
  readonly #log: SweepLog | null;
  /** set when start()'s stop is called: a sweep in progress stops at the next file, its work so far being safe. */
  #stopping = false;
  constructor(opts: BlobSweeperOptions) {
    this.#db = opts.db;
    this.#blobs = opts.blobs;
    this.#graceMs = opts.graceMs;
    this.#clock = opts.clock ?? Date.now;
    this.#log = opts.log ?? null;
  }

  /** Finds the litter: lists the blob folder and asks the database which old blobs versions reference. */
  async plan(): Promise<SweepPlan> {
    const cutoff = this.#clock() - this.#graceMs;
    const plan: SweepPlan = { temporary: [], unreferenced: [], aside: [] };
    let batch: SweptFile[] = [];
    const flush = async () => {
      const referenced = await this.#referenced(batch.map((f) => f.key!));
      plan.unreferenced.push(...batch.filter((f) => !referenced.has(f.key!)));
      batch = [];
    };
    const root = this.#blobs.root;
    const top = await list(root);
    for (const name of top.filter((n) => n.startsWith(PROBE_PREFIX))) {
      const f = await file(path.join(root, name), null);
      if (f && f.mtimeMs < cutoff) plan.temporary.push(f);
    }
    for (const shard of top.filter((n) => SHARD.test(n)).sort()) {
      for (const sub of (await list(path.join(root, shard))).filter((n) => SHARD.test(n)).sort()) {
        const dir = path.join(root, shard, sub);
        if (this.#stopping) return plan;
        for (const name of await list(dir)) {
          const aside = ASIDE.exec(name);
          const key = BLOB_KEY.test(name) ? name : (aside?.[1] ?? null);
          if (!key && !TEMPORARY.test(name)) continue; // not ours: never removed
          const f = await file(path.join(dir, name), key);
          if (!f) continue;
          if (aside) plan.aside.push(f);
          else if (!key) {
            if (f.mtimeMs < cutoff) plan.temporary.push(f);
          } else if (f.mtimeMs < cutoff) {
            batch.push(f);
            if (batch.length >= BATCH) await flush();
          }
        }
      }
    }
    if (batch.length) await flush();
    return plan;
  }

  /** Removes what the plan found, checking each file again first (see the top of this file). */
  async apply(plan: SweepPlan): Promise<SweepResult> {
    const result: SweepResult = { temporary: [], unreferenced: [], bytes: 0, kept: [], restored: [] };
    for (const f of plan.aside) {
      const final = this.#blobs.path(f.key!);
      if (await file(final, f.key)) await rm(f.path, { force: true });
      else if (await renamed(f.path, final)) result.restored.push(f.key!);
    }
    for (const f of plan.temporary) {
      const now = await file(f.path, null);
      // A temporary file is never written to again once old, but check it is the one listed and still old.
      if (!now || now.ino !== f.ino || now.mtimeMs !== f.mtimeMs) continue;
      await rm(f.path, { force: true });
      result.temporary.push(f.path);
      result.bytes += f.size;
    }
    for (let i = 0; i < plan.unreferenced.length; i += BATCH) {
      if (this.#stopping) break;
      const moved: Array<{ f: SweptFile; aside: string }> = [];
      for (const f of plan.unreferenced.slice(i, i + BATCH)) {
        const aside = `${f.path}.${randomBytes(6).toString('hex')}.sweep`;
        if (!(await renamed(f.path, aside))) continue; // gone already
        const now = await file(aside, f.key);
        if (!now) continue; // another node's sweep put it back meanwhile
        if (now.ino !== f.ino || now.mtimeMs !== f.mtimeMs) {
          await putBack(aside, f.path);
          result.kept.push(f.key!);
        } else moved.push({ f, aside });
      }
      // A publish that took longer than the grace period between writing its blob and committing (it should not):
      // the blob is referenced now, and stays.
      const referenced = await this.#referenced(moved.map((m) => m.f.key!));
      for (const { f, aside } of moved) {
        if (referenced.has(f.key!)) {
          await putBack(aside, f.path);
          result.kept.push(f.key!);
          continue;
        }
        await rm(aside, { force: true });
        result.unreferenced.push(f.key!);
        result.bytes += f.size;
      }
    }
    return result;
  }

  /** One sweep: plan, apply, and log what was removed. */
  async sweep(): Promise<SweepResult> {
    const result = await this.apply(await this.plan());
    const log = this.#log;
    if (log) {
      for (const key of result.restored)
        log.info({ blob: key }, 'blob sweep: put back a blob an interrupted sweep had set aside');
      for (const p of result.temporary)
        log.info({ file: path.relative(this.#blobs.root, p) }, 'blob sweep: removed a temporary file');
      for (const key of result.unreferenced)
        log.info({ blob: key }, 'blob sweep: removed a blob no version references');
      for (const key of result.kept)
        log.info({ blob: key }, 'blob sweep: kept a blob a publish took up during the sweep');
      if (result.temporary.length || result.unreferenced.length)
        log.info(
          { temporary: result.temporary.length, unreferenced: result.unreferenced.length, bytes: result.bytes },
          'blob sweep done',
        );
    }
    return result;
  }

  /**
   * Sweeps now and every intervalMs, one sweep at a time, on a timer that does not keep the process alive.
   * Returns a function that stops the timer and waits for a sweep in progress to finish.
   */
  start(intervalMs: number = SWEEP_INTERVAL_MS): () => Promise<void> {
    let running: Promise<void> | null = null;
    const run = () => {
      running ??= this.sweep()
        .then(
          () => undefined,
          (err: unknown) => this.#log?.error({ err }, 'blob sweep failed'),
        )
        .finally(() => (running = null));
    };
    run();
    const timer = setInterval(run, intervalMs);
    timer.unref();
    return async () => {
      clearInterval(timer);
      this.#stopping = true;
      await running;
    };
  }

  async #referenced(keys: string[]): Promise<Set<string>> {
    if (!keys.length) return new Set();
    const rows = await this.#db.selectFrom('versions').select('blob').where('blob', 'in', keys).execute();
    // Tarballs of proxied versions (upstream/tables.ts) are kept for good too.
    const proxied = await this.#db
      .withTables<{ upstream_tarballs: { blob: string | null } }>()
      .selectFrom('upstream_tarballs')
      .select('blob')
      .where('blob', 'in', keys)
      .execute();
    return new Set([...rows, ...proxied].map((r) => r.blob).filter((b): b is string => b !== null));
  }
}

async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR')
      return [];
    throw err;
  }
}

/** The regular file at p, or null when there is none (gone meanwhile, or not a regular file). */
async function file(p: string, key: string | null): Promise<SweptFile | null> {
  try {
    const st = await lstat(p);
    return st.isFile() ? { path: p, key, ino: st.ino, mtimeMs: st.mtimeMs, size: st.size } : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Renames from to to; false when from is gone (another sweep took it). */
async function renamed(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Puts a blob set aside back under its name. A publish may have written the same bytes there meanwhile: replacing
 * them with identical bytes is harmless, and the rename is atomic, so a reader sees one whole file or the other.
 */
async function putBack(aside: string, final: string): Promise<void> {
  await renamed(aside, final);
}
