// Access to the offline express@4 dependency closure produced by
// scripts/fetch-fixtures.ts (tarballs are committed, never fetched by tests).

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface FixturePackage {
  name: string;
  version: string;
  /** File name inside the fixture's tarballs/ folder. */
  file: string;
  /** sha512 SRI string, as the public registry reports it. */
  integrity: string;
  /** sha1 hex of the tarball bytes (the legacy `dist.shasum`). */
  shasum: string;
  /** Absolute path to the tarball. */
  path: string;
}

export interface FixtureClosure {
  root: string;
  rootVersion: string;
  packages: FixturePackage[];
}

// Resolved from this file rather than process.cwd() so tests work from any directory.
const fixtureDir = resolve(import.meta.dirname, '..', 'fixtures', 'express-closure');

export function loadExpressClosure(): FixtureClosure {
  const manifestPath = join(fixtureDir, 'manifest.json');
  let text: string;
  try {
    text = readFileSync(manifestPath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw err;
    throw new Error(
      `express fixture closure not found at ${manifestPath}; run \`node scripts/fetch-fixtures.ts\` from the repository root to download it`,
      { cause: err },
    );
  }
  const manifest = JSON.parse(text) as Omit<FixtureClosure, 'packages'> & {
    packages: Array<Omit<FixturePackage, 'path'>>;
  };
  return {
    root: manifest.root,
    rootVersion: manifest.rootVersion,
    packages: manifest.packages.map((pkg) => ({ ...pkg, path: join(fixtureDir, 'tarballs', pkg.file) })),
  };
}
