// A pool of worker threads for the scanner, so scanning a large tarball never blocks the HTTP event loop, with a
// time budget per scan. A scan over budget resolves { verdict: 'timeout' } (publish then holds the version for
// review); its worker is terminated and replaced, since a stuck scan cannot be interrupted any other way. A worker
// that dies (out of memory on a hostile tarball: each has its own heap limit) resolves the same way, so publish
// never fails with an error because of what a tarball contains.
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ScanResult } from './scanner.ts';

/** `timeout` also covers a scan that could not finish at all (`failed`: its worker crashed or could not start); `reason` says why. */
export type PoolResult = ScanResult | { verdict: 'timeout'; failed: boolean; reason: string };

type Job = { id: number; tgz: Buffer; previous: Buffer | null; resolve: (r: PoolResult) => void; reject: (e: Error) => void };
type Slot = { worker: Worker; job: Job | null; timer: NodeJS.Timeout | null };

// Compiled builds run worker.js beside this file; a checkout runs the TypeScript source directly.
const WORKER = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);

export class ScanPool {
  readonly #size: number;
  readonly #budgetMs: number;
  readonly #signatureFiles: string[];
  readonly #maxMemoryMb: number;
  readonly #idleMs: number;
  readonly #onIdle: () => void;
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
  constructor(opts: { size?: number; budgetMs: number; signatureFiles?: string[]; maxMemoryMb?: number; idleMs?: number; onIdle?: () => void }) {
    this.#size = Math.max(1, opts.size ?? Math.max(1, Math.min(2, os.availableParallelism() - 1)));
    this.#budgetMs = opts.budgetMs;
    this.#signatureFiles = opts.signatureFiles ?? [];
    this.#maxMemoryMb = opts.maxMemoryMb ?? 1024;
    this.#idleMs = opts.idleMs ?? 10_000;
    this.#onIdle = opts.onIdle ?? (() => {});
  }

  /**
   * Scans a tarball off the main thread. Resolves { verdict: 'timeout' } when the scan exceeds the budget (time spent
   * waiting for a free worker does not count) or its worker dies. Rejects only when the pool is closed.
   */
  scan(tgz: Buffer, previous?: Buffer | null): Promise<PoolResult> {
    if (this.#closed) return Promise.reject(new Error('scan pool is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, tgz, previous: previous ?? null, resolve, reject });
      this.#pump();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(new Error('scan pool is closed'));
    await Promise.all(this.#slots.splice(0).map((s) => {
      if (s.timer) clearTimeout(s.timer);
      s.job?.reject(new Error('scan pool is closed'));
      return s.worker.terminate();
    }));
  }

  #spawn(): Slot {
    const slot: Slot = { worker: new Worker(WORKER, { workerData: { signatureFiles: this.#signatureFiles }, resourceLimits: { maxOldGenerationSizeMb: this.#maxMemoryMb } }), job: null, timer: null };
    slot.worker.unref();
    slot.worker.on('message', (msg: { id: number; result?: ScanResult; error?: string }) => {
      const job = slot.job;
      if (!job || job.id !== msg.id) return;
      this.#finish(slot);
      job.resolve(msg.result ?? { verdict: 'timeout', failed: true, reason: `scan failed: ${msg.error}` });
    });
    const died = (why: string) => {
      const job = slot.job;
      if (!this.#slots.includes(slot)) return;
      this.#replace(slot);
      job?.resolve({ verdict: 'timeout', failed: true, reason: why });
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
        job.resolve({ verdict: 'timeout', failed: false, reason: `over the ${this.#budgetMs} ms budget` });
      }, this.#budgetMs);
      // Copies, not transfers: the caller keeps its buffers (publish stores the tarball after the scan).
      slot.worker.postMessage({ id: job.id, tgz: job.tgz, previous: job.previous });
    }
  }
}
