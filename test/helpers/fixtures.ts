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

/**
 * The publish documents (as libnpmpublish builds them) for every fixture tarball, oldest version of each name first,
 * so publishing them in order leaves "latest" on the newest version.
 */
export async function closurePublishDocs(
  closure: FixtureClosure = loadExpressClosure(),
): Promise<Array<{ name: string; version: string; doc: Record<string, unknown> }>> {
  const { readFile } = await import('node:fs/promises');
  const { inspectTarball } = await import('../../src/tarball/inspect.ts');
  const semver = (await import('semver')).default;
  const sorted = [...closure.packages].sort((a, b) =>
    a.name === b.name ? semver.compare(a.version, b.version) : a.name < b.name ? -1 : 1,
  );
  return Promise.all(
    sorted.map(async (pkg) => {
      const bytes = await readFile(pkg.path);
      const { manifest } = inspectTarball(bytes);
      const file = `${pkg.name}-${pkg.version}.tgz`;
      const doc = {
        _id: pkg.name,
        name: pkg.name,
        description: manifest.description,
        'dist-tags': { latest: pkg.version },
        versions: {
          [pkg.version]: {
            ...manifest,
            _id: `${pkg.name}@${pkg.version}`,
            dist: { integrity: pkg.integrity, shasum: pkg.shasum },
          },
        },
        access: null,
        _attachments: {
          [file]: { content_type: 'application/octet-stream', data: bytes.toString('base64'), length: bytes.length },
        },
      };
      return { name: pkg.name, version: pkg.version, doc };
    }),
  );
}
