// A pool of worker threads for everything that reads inside a tarball (the publish-time read of package.json and
// the malware scan), so no tarball is ever unpacked on the HTTP event loop, each with a time budget. A job over budget
// has its worker terminated and replaced, since a stuck job cannot be interrupted any other way. A worker that dies
// (out of memory on a hostile tarball: each has its own heap limit) ends its job the same way, so publish never fails
// with an error because of what a tarball contains: a scan resolves { verdict: 'timeout' } (publish then holds the
// version for review), a read resolves a refusal.
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { TarballInfo } from '../../tarball/inspect.ts';
import type { VersionDiff } from '../version-diff.ts';
import type { ScanResult } from './scanner.ts';

/** `timeout` also covers a scan that could not finish at all (`failed`: its worker crashed or could not start); `reason` says why. */
export type PoolResult = ScanResult | { verdict: 'timeout'; failed: boolean; reason: string };

/** A tarball's contents as publish needs them, or why it is refused (`timeout`: the read did not finish in time). */
export type InspectResult = { ok: true; info: TarballInfo } | { ok: false; timeout: boolean; reason: string };

export type DiffResult = { ok: true; diff: VersionDiff } | { ok: false; reason: string };

/** What a worker is asked to do (worker.ts answers each kind). */
export type WorkerTask =
  | { kind: 'inspect'; tgz: Buffer }
  | { kind: 'scan'; tgz: Buffer; previous: Buffer | null }
  | { kind: 'diff'; previous: Buffer | null; current: Buffer };

type Job = {
  id: number;
  task: WorkerTask;
  budgetMs: number;
  resolve: (r: unknown) => void;
  /** the job's answer when it ran out of time (failed: false) or its worker died (failed: true). */
  lost: (reason: string, failed: boolean) => unknown;
  reject: (e: Error) => void;
};
type Slot = { worker: Worker; job: Job | null; timer: NodeJS.Timeout | null };

// Compiled builds run worker.js beside this file; a checkout runs the TypeScript source directly.
const WORKER = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);

export class ScanPool {
  readonly #size: number;
  readonly #budgetMs: number;
  readonly #inspectBudgetMs: number;
  readonly #signatureFiles: string[];
  readonly #maxMemoryMb: number;
  readonly #idleMs: number;
  readonly #onIdle: () => void;
  readonly #observe: (task: WorkerTask['kind'], outcome: string, seconds: number) => void;
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  #nextId = 1;
  #closed = false;

  /**
   * idleMs: a worker with nothing to do this long is stopped, so a registry between publishes holds no scanner memory
   * (a worker that has scanned holds 20–45 MB). A burst of publishes keeps it warm; a lone publish starts one (~0.1 s).
   * onIdle: called once the last worker has stopped, that is when publishing has paused, so the process can give the
   * burst's memory back at once.
   */
  constructor(opts: {
    size?: number;
    budgetMs: number;
    inspectBudgetMs?: number;
    signatureFiles?: string[];
    maxMemoryMb?: number;
    idleMs?: number;
    onIdle?: () => void;
    /** told each task's outcome (a scan's verdict; ok, refused, timeout or failed) and time, queueing included. */
    observe?: (task: WorkerTask['kind'], outcome: string, seconds: number) => void;
  }) {
    this.#size = Math.max(1, opts.size ?? Math.max(1, Math.min(2, os.availableParallelism() - 1)));
    this.#budgetMs = opts.budgetMs;
    // Reading is bounded by the reader's own limits (a few seconds at the 512 MiB cap); this only catches the unforeseen.
    this.#inspectBudgetMs = opts.inspectBudgetMs ?? 15_000;
    this.#signatureFiles = opts.signatureFiles ?? [];
    this.#maxMemoryMb = opts.maxMemoryMb ?? 1024;
    this.#idleMs = opts.idleMs ?? 10_000;
    this.#onIdle = opts.onIdle ?? (() => {});
    this.#observe = opts.observe ?? (() => {});
  }

  /**
   * Scans a tarball off the main thread. Resolves { verdict: 'timeout' } when the scan exceeds the budget (time spent
   * waiting for a free worker does not count) or its worker dies. Rejects only when the pool is closed.
   */
  scan(tgz: Buffer, previous?: Buffer | null): Promise<PoolResult> {
    const lost = (reason: string, failed: boolean): PoolResult => ({
      verdict: 'timeout',
      failed,
      reason: failed ? reason : `over the ${this.#budgetMs} ms budget`,
    });
    return this.#run({ kind: 'scan', tgz, previous: previous ?? null }, this.#budgetMs, lost);
  }

  /**
   * Reads what publish needs from a tarball (tarball/inspect.ts) off the main thread. Resolves a refusal for any
   * tarball the strict reader refuses, and for one it could not read within its budget. Rejects only when the pool
   * is closed.
   */
  inspect(tgz: Buffer): Promise<InspectResult> {
    const lost = (reason: string, failed: boolean): InspectResult => ({
      ok: false,
      timeout: !failed,
      reason: failed
        ? `the tarball could not be read (${reason})`
        : `the tarball could not be read within ${this.#inspectBudgetMs / 1000} s`,
    });
    return this.#run({ kind: 'inspect', tgz }, this.#inspectBudgetMs, lost);
  }

  /** What changed between two versions' tarballs (version-diff.ts), for moderators. Rejects when it cannot finish. */
  async diff(previous: Buffer | null, current: Buffer): Promise<VersionDiff> {
    const lost = (reason: string, failed: boolean): DiffResult => ({
      ok: false,
      reason: failed
        ? `the diff could not be made (${reason})`
        : `the diff took longer than ${this.#inspectBudgetMs / 1000} s`,
    });
    const result = await this.#run({ kind: 'diff', previous, current }, this.#inspectBudgetMs, lost);
    if (!result.ok) throw new Error(result.reason);
    return result.diff;
  }

  #run<T>(task: WorkerTask, budgetMs: number, lost: (reason: string, failed: boolean) => T): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('scan pool is closed'));
    // No time at all (--scan-budget 0s: every version waits for a moderator) is over budget at once, whether or not
    // a warm worker could have answered first.
    if (budgetMs <= 0) return Promise.resolve(lost('', false));
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const done = (r: unknown) => {
        this.#observe(
          task.kind,
          outcomeOf(r as PoolResult | InspectResult | DiffResult),
          (performance.now() - started) / 1000,
        );
        resolve(r as T);
      };
      this.#queue.push({ id: this.#nextId++, task, budgetMs, resolve: done, lost, reject });
      this.#pump();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(new Error('scan pool is closed'));
    await Promise.all(
      this.#slots.splice(0).map((s) => {
        if (s.timer) clearTimeout(s.timer);
        s.job?.reject(new Error('scan pool is closed'));
        return s.worker.terminate();
      }),
    );
  }

  #spawn(): Slot {
    const slot: Slot = {
      worker: new Worker(WORKER, {
        workerData: { signatureFiles: this.#signatureFiles },
        resourceLimits: { maxOldGenerationSizeMb: this.#maxMemoryMb },
      }),
      job: null,
      timer: null,
    };
    slot.worker.unref();
    slot.worker.on('message', (msg: { id: number; result?: unknown; error?: string }) => {
      const job = slot.job;
      if (!job || job.id !== msg.id) return;
      this.#finish(slot);
      job.resolve(msg.result ?? job.lost(`${job.task.kind} failed: ${msg.error}`, true));
    });
    const died = (why: string) => {
      const job = slot.job;
      if (!this.#slots.includes(slot)) return;
      this.#replace(slot);
      if (job) job.resolve(job.lost(why, true));
    };
    slot.worker.on('error', (err: Error) => died(`scan worker failed: ${err.message}`));
    slot.worker.on('exit', (code) => died(`scan worker exited with code ${code}`));
    this.#slots.push(slot);
    return slot;
  }

  #finish(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.job = null;
    this.#pump();
    if (!slot.job) {
      slot.timer = setTimeout(() => this.#retire(slot), this.#idleMs);
      slot.timer.unref();
    }
  }

  /** Stops an idle worker; the next scan starts a fresh one. */
  #retire(slot: Slot): void {
    const i = this.#slots.indexOf(slot);
    if (i === -1 || slot.job) return;
    // Out of the pool first, so its exit is not taken for a crash.
    this.#slots.splice(i, 1);
    void slot.worker.terminate().then(() => {
      if (!this.#slots.length && !this.#closed) this.#onIdle();
    });
  }

  /** How many workers are running (for tests and operators). */
  get workers(): number {
    return this.#slots.length;
  }

  #replace(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    const i = this.#slots.indexOf(slot);
    if (i !== -1) this.#slots.splice(i, 1);
    slot.job = null;
    void slot.worker.terminate();
    if (!this.#closed) this.#pump();
  }

  #pump(): void {
    while (this.#queue.length) {
      const slot = this.#slots.find((s) => !s.job) ?? (this.#slots.length < this.#size ? this.#spawn() : null);
      if (!slot) return;
      const job = this.#queue.shift()!;
      slot.job = job;
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = setTimeout(() => {
        this.#replace(slot);
        job.resolve(job.lost('', false));
      }, job.budgetMs);
      // Copies, not transfers: the caller keeps its buffers (publish stores the tarball after the scan).
      slot.worker.postMessage({ id: job.id, task: job.task });
    }
  }
}

/** A task's outcome for the metrics: a scan's verdict, or whether a read or diff worked. */
function outcomeOf(r: PoolResult | InspectResult | DiffResult): string {
  if ('verdict' in r) return r.verdict === 'timeout' && r.failed ? 'failed' : r.verdict;
  if (r.ok) return 'ok';
  return 'timeout' in r ? (r.timeout ? 'timeout' : 'refused') : 'failed';
}
