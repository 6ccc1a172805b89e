#!/usr/bin/env node
// Runs the TypeScript sources in a checkout (Node strips the types) and the compiled JavaScript in an installed
// package, which ships dist/ and no src/.
import { existsSync } from 'node:fs';

const src = new URL('../src/cli/main.ts', import.meta.url);
const entry = existsSync(src) ? src : new URL('../dist/cli/main.js', import.meta.url);
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
