#!/usr/bin/env node
// Runs the TypeScript sources in a checkout (Node strips the types) and the compiled JavaScript in an installed
// package, which ships dist/ and no src/.
import { existsSync } from 'node:fs';
import v8 from 'node:v8';

/**
 * Garbage-collector settings for `bulwark serve`, made before any of the registry is loaded (the other commands run
 * for a moment and keep Node's defaults): the young generation stays at its initial size (1 MB semi-spaces) instead
 * of doubling to 16 MB while the application loads and keeping those pages for good (http/memory.ts stops the growth
 * only once the server listens, too late). A registry's requests allocate little that outlives them. Measured with
 * bench/rss.ts and bench/probe.ts (bench/RESULTS.md, 2026-11-30): 8–10 MB less at start, 145–156 MB instead of
 * 163–170 MB after publishing 1,800 versions, read-path CPU per request unchanged within the noise.
 *
 * An operator's own young-generation flags (NODE_OPTIONS or node's command line) win.
 */
export function tuneServerProcess(args) {
  if (args[0] !== 'serve') return;
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
  if (!/semi-space/.test(given)) v8.setFlagsFromString('--semi-space-growth-factor=1');
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
