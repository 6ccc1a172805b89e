// Keeps the server's memory flat after bursts. The garbage collector's settings for `bulwark serve` are made by the
// launcher (bin/bulwark.js), before any of the registry is loaded; this module returns what the allocator keeps.
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

type Ffi = {
  dlopen(
    path: string,
    defs: Record<string, { arguments: string[]; return: string }>,
  ): { functions: Record<string, (...args: unknown[]) => unknown> };
};

/**
 * glibc's malloc_trim(0), reached through node:ffi, or null where it cannot be (another OS or libc, a Node without
 * node:ffi, FFI refused by the permission model).
 */
function loadMallocTrim(): (() => void) | null {
  if (process.platform !== 'linux') return null;
  // node:ffi announces itself as experimental when loaded; the server uses one libc function from it, and only this.
  const emitWarning = process.emitWarning;
  process.emitWarning = () => {};
  try {
    const ffi = process.getBuiltinModule('node:ffi') as Ffi | undefined;
    if (!ffi) return null;
    const { malloc_trim } = ffi.dlopen('libc.so.6', {
      malloc_trim: { arguments: ['uint64'], return: 'int32' },
    }).functions;
    return () => void malloc_trim!(0n);
  } catch {
    return null;
  } finally {
    process.emitWarning = emitWarning;
  }
}

/**
 * Gives back to the system the memory glibc's allocator keeps after it was freed. Buffers, zlib streams, SQLite and
 * the scan workers allocate outside V8's heap, and glibc returns a freed region only when it lies at the top of its
 * heap: a burst of publishes left 60–160 MB resident that nothing used (bench/RESULTS.md, 2026-11-30). malloc_trim(0)
 * releases the free pages inside the heaps too. It runs when the process has grown since the last trim, checked every
 * `checkMs`, so an idle registry does nothing and a busy one trims every few seconds (about a millisecond per 100 MB
 * of heap). Without glibc this does nothing.
 */
export function releaseFreedMemory(checkMs = 2_000): { stop(): void; settle(): void } {
  const trim = loadMallocTrim();
  if (!trim) return { stop() {}, settle() {} };
  let floor = process.memoryUsage.rss();
  let again = false;
  const timer = setInterval(() => {
    const rss = process.memoryUsage.rss();
    const grew = rss >= floor + 2_000_000;
    if (grew || again) {
      trim();
      floor = process.memoryUsage.rss();
    } else floor = Math.min(floor, rss);
    // The garbage collector frees buffers on a background thread, some of them after the trim: a second one a tick
    // later releases those.
    again = grew;
  }, checkMs);
  timer.unref();
  return {
    stop: () => clearInterval(timer),
    /**
     * For the end of a burst (the scan pool calls it when publishing pauses): collects the garbage the burst left and
     * gives the freed memory back now, rather than when V8 next decides to shrink its heap, many seconds later.
     */
    settle() {
      fullCollection();
      trim();
      floor = process.memoryUsage.rss();
    },
  };
}

/** V8's gc() of a context made with --expose-gc; it takes options saying which collection to run. */
let collect: ((opts: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void) | undefined;

/**
 * A full garbage collection. Node exposes gc() only to contexts made after --expose-gc is set, so one such context
 * is made, once, and its gc() kept. Contexts and worker threads made later get a gc() global too; the registry runs
 * no code but its own (the scanner parses packages, it never runs them), so that hands nothing to anyone.
 */
function fullCollection(): void {
  if (!collect) {
    v8.setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as typeof collect;
  }
  // 'last-resort' is V8's collection of all it can, which also shrinks the heap's spaces: what the memory reducer does
  // some seconds after the allocation rate falls.
  collect!({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}
