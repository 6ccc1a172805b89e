// The server hands memory glibc keeps after it was freed back to the system (http/memory.ts). The test fragments the
// allocator as a publish burst does — many buffers of mixed sizes, most of them freed — and checks the process
// shrinks once the releaser has run, and does not while it is stopped; and that settle(), called at the end of a burst,
// collects and returns the burst's garbage at once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { releaseFreedMemory } from '../../src/http/memory.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const MB = 1e6;
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** Allocates ~150 MB in buffers below glibc's mmap threshold, keeps every fourth, and collects the rest. */
function fragment(): Buffer[] {
  const all = Array.from({ length: 12_000 }, (_, i) => Buffer.allocUnsafeSlow(1000 + ((i * 7919) % 24_000)).fill(i));
  const kept = all.filter((_, i) => i % 4 === 0);
  all.length = 0;
  gc();
  return kept;
}

describe('releasing freed native memory', { skip: process.platform !== 'linux' && 'glibc only' }, () => {
  it('returns the free pages of a fragmented heap once the process has grown', async () => {
    const released = releaseFreedMemory(50);
    try {
      const kept = fragment();
      const before = process.memoryUsage.rss();
      await sleep(1000);
      const after = process.memoryUsage.rss();
      assert.ok(before - after > 40 * MB, `RSS went from ${(before / MB).toFixed(0)} to ${(after / MB).toFixed(0)} MB`);
      assert.equal(kept.length, 3000, 'the buffers still in use are untouched');
      assert.ok(kept.every((b, i) => b[0] === (i * 4) % 256));
    } finally {
      released.stop();
    }
  });

  it('settles at once at the end of a burst: collects what the burst left and returns it to the system', async () => {
    // Checked once an hour: only settle() can trim here.
    const released = releaseFreedMemory(3_600_000);
    try {
      // Garbage the collector has not yet been asked for: buffers reachable only from objects nothing references.
      let burst: Array<{ body: Buffer }> | null = Array.from({ length: 12_000 }, (_, i) => ({ body: Buffer.allocUnsafeSlow(1000 + ((i * 7919) % 24_000)).fill(i) }));
      const kept = burst.filter((_, i) => i % 4 === 0).map((x) => x.body);
      burst = null;
      const before = process.memoryUsage.rss();
      released.settle();
      const after = process.memoryUsage.rss();
      assert.ok(before - after > 40 * MB, `RSS went from ${(before / MB).toFixed(0)} to ${(after / MB).toFixed(0)} MB`);
      assert.ok(kept.every((b, i) => b[0] === (i * 4) % 256), 'the buffers still in use are untouched');
    } finally {
      released.stop();
    }
  });

  it('does nothing once stopped', async () => {
    releaseFreedMemory(50).stop();
    const kept = fragment();
    const before = process.memoryUsage.rss();
    await sleep(1000);
    assert.ok(before - process.memoryUsage.rss() < 10 * MB, 'nothing trimmed the heap');
    assert.equal(kept.length, 3000);
  });
});
