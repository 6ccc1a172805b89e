// Downloads the full dependency closure of express@4 from the public npm
// registry into test/fixtures/express-closure/, so end-to-end tests can
// publish/install a realistic package graph without network access.
//
// Usage: node scripts/fetch-fixtures.ts
//
// The closure is computed by the real npm CLI (not by our own resolver) so
// the fixture is exactly what `npm install express@4` would install, and any
// bug in Bulwark's resolution logic cannot silently shape its own test data.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import semver from 'semver';

const ROOT = 'express';
const ROOT_RANGE = '^4';
const REGISTRY = 'https://registry.npmjs.org/';

const repoRoot = resolve(import.meta.dirname, '..');
const fixtureDir = join(repoRoot, 'test', 'fixtures', 'express-closure');
const tarballDir = join(fixtureDir, 'tarballs');
const manifestPath = join(fixtureDir, 'manifest.json');
const npmCli = join(repoRoot, 'node_modules', 'npm11', 'bin', 'npm-cli.js');

interface ManifestPackage {
  name: string;
  version: string;
  file: string;
  integrity: string;
  shasum: string;
}

interface Manifest {
  root: string;
  rootVersion: string;
  fetchedAt: string;
  packages: ManifestPackage[];
}

interface Closure {
  rootVersion: string;
  packages: LockedPackage[];
}

interface LockedPackage {
  name: string;
  version: string;
  resolved: string;
  integrity: string;
}

class FixtureError extends Error {}

/** `@scope/name` + `1.2.3` -> `scope-name-1.2.3.tgz` (flat, filesystem-safe, unique). */
function tarballFileName(name: string, version: string): string {
  return `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
}

/** Picks the sha512 entry out of an SRI string, which may list several hashes. */
function sha512Of(integrity: string, what: string): string {
  const entry = integrity.split(/\s+/).find((part) => part.startsWith('sha512-'));
  if (!entry) throw new FixtureError(`${what}: no sha512 in integrity "${integrity}"`);
  return entry;
}

function sriSha512(bytes: Uint8Array): string {
  return `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True only if the manifest parses and every tarball it lists is present and intact. */
async function fixturesUpToDate(): Promise<boolean> {
  if (!existsSync(manifestPath)) return false;
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest;
  } catch {
    return false;
  }
  if (manifest.root !== ROOT || !Array.isArray(manifest.packages) || manifest.packages.length === 0) return false;
  for (const pkg of manifest.packages) {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(tarballDir, pkg.file));
    } catch {
      return false;
    }
    if (sriSha512(bytes) !== pkg.integrity) return false;
  }
  return true;
}

/**
 * Runs `npm install --package-lock-only` in a scratch dir and returns the
 * deduplicated list of packages from the resulting lockfile.
 */
async function resolveClosure(): Promise<Closure> {
  const work = await mkdtemp(join(tmpdir(), 'bulwark-fixtures-'));
  try {
    await writeFile(
      join(work, 'package.json'),
      JSON.stringify({ name: 'fixture-root', version: '0.0.0', private: true, dependencies: { [ROOT]: ROOT_RANGE } }),
    );
    // Empty user/global configs: the developer's ~/.npmrc (e.g.
    // omit-lockfile-registry-resolved, a private registry) must not change
    // what gets resolved or strip `resolved` URLs from the lockfile.
    // npm refuses to load one file as both user and global config, so two files.
    const userRc = join(work, 'user-npmrc');
    const globalRc = join(work, 'global-npmrc');
    await writeFile(userRc, '');
    await writeFile(globalRc, '');
    // Likewise drop npm_config_* env vars, which npm treats as config too
    // (they are set whenever this script itself runs under `npm run`).
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_config_')),
    );
    console.log(`resolving ${ROOT}@${ROOT_RANGE} with npm...`);
    try {
      execFileSync(
        process.execPath,
        [
          npmCli,
          'install',
          '--package-lock-only',
          '--ignore-scripts',
          '--no-audit',
          '--no-fund',
          `--registry=${REGISTRY}`,
          `--userconfig=${userRc}`,
          `--globalconfig=${globalRc}`,
        ],
        { cwd: work, env, stdio: ['ignore', 'ignore', 'pipe'] },
      );
    } catch (err) {
      const stderr = isRecord(err) && Buffer.isBuffer(err.stderr) ? err.stderr.toString('utf8') : String(err);
      throw new FixtureError(`npm install --package-lock-only failed:\n${stderr}`);
    }
    return parseLockfile(JSON.parse(await readFile(join(work, 'package-lock.json'), 'utf8')));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function parseLockfile(lock: unknown): Closure {
  if (!isRecord(lock) || !isRecord(lock.packages)) throw new FixtureError('package-lock.json has no "packages" map');
  const byId = new Map<string, LockedPackage>();
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '') continue; // the scratch project itself
    if (!isRecord(entry)) throw new FixtureError(`lockfile entry ${path} is not an object`);
    // The installed name is the path segment after the last node_modules/;
    // entry.name only appears for aliases, which would not be what we publish.
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const { version, resolved, integrity } = entry;
    if (typeof version !== 'string' || typeof resolved !== 'string' || typeof integrity !== 'string') {
      throw new FixtureError(`lockfile entry ${path} lacks version/resolved/integrity`);
    }
    const pkg: LockedPackage = { name, version, resolved, integrity: sha512Of(integrity, `${name}@${version}`) };
    const id = `${name}@${version}`;
    const seen = byId.get(id);
    if (seen && seen.integrity !== pkg.integrity)
      throw new FixtureError(`${id} appears with two different integrities`);
    byId.set(id, pkg);
  }
  // The top-level copy is the one the root range selected.
  const top = lock.packages[`node_modules/${ROOT}`];
  if (!isRecord(top) || typeof top.version !== 'string') throw new FixtureError(`${ROOT} missing from lockfile`);
  const packages = [...byId.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : semver.compare(a.version, b.version),
  );
  return { rootVersion: top.version, packages };
}

async function download(pkg: LockedPackage): Promise<ManifestPackage> {
  const id = `${pkg.name}@${pkg.version}`;
  let res: Response;
  try {
    res = await fetch(pkg.resolved);
  } catch (err) {
    throw new FixtureError(`${id}: request to ${pkg.resolved} failed: ${String(err)}`);
  }
  if (!res.ok) throw new FixtureError(`${id}: GET ${pkg.resolved} returned HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const actual = sriSha512(bytes);
  if (actual !== pkg.integrity) {
    throw new FixtureError(`${id}: integrity mismatch\n  expected ${pkg.integrity}\n  got      ${actual}`);
  }
  const file = tarballFileName(pkg.name, pkg.version);
  await writeFile(join(tarballDir, file), bytes);
  const shasum = createHash('sha1').update(bytes).digest('hex');
  return { name: pkg.name, version: pkg.version, file, integrity: pkg.integrity, shasum };
}

async function main(): Promise<void> {
  if (await fixturesUpToDate()) {
    console.log('fixtures up to date');
    return;
  }

  const { rootVersion, packages: locked } = await resolveClosure();
  await mkdir(tarballDir, { recursive: true });

  // Sequential on purpose: ~70 small files, and one line per package in a
  // stable order makes failures easy to read.
  const packages: ManifestPackage[] = [];
  for (const [i, pkg] of locked.entries()) {
    const entry = await download(pkg);
    packages.push(entry);
    console.log(`[${i + 1}/${locked.length}] ${pkg.name}@${pkg.version} -> ${entry.file}`);
  }

  // Remove tarballs left over from a previous closure so the folder matches the manifest.
  const wanted = new Set(packages.map((p) => p.file));
  for (const file of await readdir(tarballDir)) {
    if (!wanted.has(file)) await unlink(join(tarballDir, file));
  }

  const manifest: Manifest = { root: ROOT, rootVersion, fetchedAt: new Date().toISOString(), packages };
  // Written last, so an interrupted run never leaves a manifest that claims missing files.
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`wrote ${packages.length} packages for ${ROOT}@${rootVersion} to ${fixtureDir}`);
}

try {
  await main();
} catch (err) {
  console.error(
    `fetch-fixtures: ${err instanceof FixtureError ? err.message : String(err instanceof Error ? err.stack : err)}`,
  );
  process.exitCode = 1;
}
