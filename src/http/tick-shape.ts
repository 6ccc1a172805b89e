// Keeps process.nextTick fast in a long-running server.
//
// Node builds each queued tick as an object literal with computed symbol keys. The hidden classes of that literal
// live only while some tick object does, and a tick lives for microseconds, so a full garbage collection at a quiet
// moment usually finds none and frees them. The next tick makes new ones; the literal's inline caches do not reuse
// the freed entries, so after a few such collections they are megamorphic and every nextTick defines its properties
// through the V8 runtime: about 6 times slower (60 → 360 ns on Node 26), several times per request. A registry that
// has done any real work (publishes, scans) has had those collections; a freshly started one has not, which is why
// the publishing process served reads a fifth slower than the same build restarted (bench/RESULTS.md, 2026-11-30).
// Holding one tick object keeps its hidden classes, and the caches stay monomorphic.
import { createHook } from 'node:async_hooks';

let kept: object | undefined;

/** Holds on to one of Node's tick objects for the life of the process. True when one was caught. */
export function keepTickShape(): boolean {
  if (kept) return true;
  const hook = createHook({
    init(_id, type, _trigger, resource) {
      if (type === 'TickObject') kept ??= resource as object;
    },
  });
  hook.enable();
  try {
    process.nextTick(() => {});
  } finally {
    hook.disable();
  }
  return kept !== undefined;
}
