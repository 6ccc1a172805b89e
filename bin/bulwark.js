#!/usr/bin/env node
// Runs the TypeScript sources in a checkout (Node strips the types) and the compiled JavaScript in an installed
// package, which ships dist/ and no src/.
import { existsSync } from 'node:fs';
import v8 from 'node:v8';

/**
 * Garbage-collector settings for `bulwark serve`, made before any of the registry is loaded (the other commands run
 * for a moment and keep Node's defaults). Measured with bench/rss.ts and bench/probe.ts (bench/RESULTS.md, 2026-11-30):
 * - the young generation stays at its initial size (1 MB semi-spaces) instead of doubling to 16 MB while the
 *   application loads and keeping those pages for good: 8–10 MB less at start, read-path CPU per request unchanged;
 * - the old generation may grow to 1.2 times what survived the last full collection before the next one, instead of
 *   V8's up to 4 times, which a publish or read burst reaches: with 10,000 packages the heap stayed at 45 MB instead
 *   of reaching 100 MB, and the buffers and streams its garbage held (another 40–60 MB outside the heap) were freed
 *   sooner. Publishing costs ~15% more CPU; reads were no slower.
 *
 * An operator's own flags for either (NODE_OPTIONS or node's command line) win.
 */
export function tuneServerProcess(args) {
  if (args[0] !== 'serve') return;
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
  if (!/semi-space/.test(given)) v8.setFlagsFromString('--semi-space-growth-factor=1');
  if (!/heap-growing-percent/.test(given)) v8.setFlagsFromString('--heap-growing-percent=20');
}

/**
 * Node 22 calls node:sqlite experimental and says so on stderr at every start of every command; an operator can do
 * nothing about it (the SQLite store is tested on Node 22, 24 and 26), so that one warning is dropped. Every other
 * warning is printed as usual.
 */
export function quietSqliteWarning() {
  const emitWarning = process.emitWarning;
  process.emitWarning = function (warning, ...rest) {
    const text = typeof warning === 'string' ? warning : warning?.message;
    if (typeof text === 'string' && text.startsWith('SQLite is an experimental feature')) return;
    return emitWarning.call(this, warning, ...rest);
  };
}

// Imported (by the benchmark's launcher, for tuneServerProcess) it runs nothing; older Node has no import.meta.main.
if (import.meta.main !== false) {
  const args = process.argv.slice(2);
  quietSqliteWarning();
  tuneServerProcess(args);
  const src = new URL('../src/cli/main.ts', import.meta.url);
  const entry = existsSync(src) ? src : new URL('../dist/cli/main.js', import.meta.url);
  const { main } = await import(entry.href);
  process.exitCode = await main(args);
}
