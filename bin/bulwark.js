#!/usr/bin/env node
// Runs the TypeScript sources in a checkout (Node strips the types) and the compiled JavaScript in an installed
// package, which ships dist/ and no src/.
import { existsSync } from 'node:fs';
import v8 from 'node:v8';

/**
 * Garbage-collector settings for `bulwark serve`, made before any of the registry is loaded (the other commands run
 * for a moment and keep Node's defaults). Measured with bench/rss.ts (bench/RESULTS.md, 2026-11-30): 97–100 MB at
 * start instead of 107 MB; after seeding 1,000 packages over HTTP and the benchmark's load tests 147 MB instead of 177 MB;
 * with 2,000 packages 145–152 MB instead of 224 MB. Read-path CPU per request unchanged within the noise.
 *
 * - The young generation stays at its initial size (1 MB semi-spaces) instead of doubling to 16 MB while the
 *   application loads and keeping those pages for good: a registry's requests allocate little that outlives them.
 * - Buffers count towards the heap limit: the memory behind Buffers (request bodies, tarballs, socket reads) is
 *   otherwise only reclaimed after tens of megabytes of it have piled up, and the allocator then keeps the pages.
 *
 * An operator's own flags win: nothing is changed that NODE_OPTIONS or node's command line already sets.
 */
export function tuneServerProcess(args) {
  if (args[0] !== 'serve') return;
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].join(' ');
  if (!/semi-space/.test(given)) v8.setFlagsFromString('--semi-space-growth-factor=1');
  // The flag is V8 14's (Node 26); older V8 would print "unrecognized flag" and run as before.
  const v8Major = Number(process.versions.v8.split('.')[0]);
  if (v8Major >= 14 && !/external-memory/.test(given)) v8.setFlagsFromString('--external-memory-accounted-in-global-limit');
}

// Imported (by the benchmark's launcher, for tuneServerProcess) it runs nothing; older Node has no import.meta.main.
if (import.meta.main !== false) {
  const args = process.argv.slice(2);
  tuneServerProcess(args);
  const src = new URL('../src/cli/main.ts', import.meta.url);
  const entry = existsSync(src) ? src : new URL('../dist/cli/main.js', import.meta.url);
  const { main } = await import(entry.href);
  process.exitCode = await main(args);
}
