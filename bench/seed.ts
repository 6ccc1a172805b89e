// What the benchmark publishes: N synthetic packages with a few versions each (real gzipped tarballs and publish
// documents shaped as libnpmpublish sends them), plus the real express@4 dependency closure from the test fixtures.
// The same bytes go to every registry.
import { readFileSync } from 'node:fs';
import semver from 'semver';
import { inspectTarball } from '../src/tarball/inspect.ts';
import { loadExpressClosure } from '../test/helpers/fixtures.ts';
import { body, packTarball, publishDoc, type Manifest } from '../test/helpers/packages.ts';

/** One package's publish requests, oldest version first (they are sent in order, one at a time). */
export type PackageUploads = { name: string; versions: string[]; bodies: Buffer[] };

export const pkgName = (i: number): string => `bench-pkg-${String(i).padStart(5, '0')}`;
export const syntheticVersion = (k: number): string => `1.${k}.0`;

function syntheticPackage(i: number, versionCount: number): PackageUploads {
  const name = pkgName(i);
  const dependencies: Record<string, string> = {};
  if (i >= 1) dependencies[pkgName(i - 1)] = '^1.0.0';
  if (i >= 4) dependencies[pkgName(Math.floor(i / 2))] = '^1.1.0';
  const versions: string[] = [];
  const bodies: Buffer[] = [];
  for (let k = 0; k < versionCount; k++) {
    const version = syntheticVersion(k);
    const manifest: Manifest = {
      name,
      version,
      description: `Synthetic package ${i} for the Bulwark benchmark`,
      main: 'index.js',
      license: 'MIT',
      keywords: ['bulwark-bench', `group-${i % 50}`],
      author: 'Bench Mark <bench@example.com>',
      repository: { type: 'git', url: `git+https://example.com/bench/${name}.git` },
      scripts: { test: 'node --test' },
      engines: { node: '>=18' },
      dependencies,
    };
    const readme = [
      `# ${name}`,
      '',
      `Version ${version} of a synthetic package used to load-test registries.`,
      '',
      ...Array.from({ length: 12 }, (_, n) => `- item ${n}: ${name} does thing number ${n * i} reliably.`),
      '',
    ].join('\n');
    const code = [
      `'use strict';`,
      `// ${name}@${version}`,
      ...Array.from({ length: 30 }, (_, n) => `exports.f${n} = (x) => x * ${n + 1} + ${i} + ${k};`),
      '',
    ].join('\n');
    const tarball = packTarball(manifest, { 'package/README.md': readme, 'package/index.js': code });
    versions.push(version);
    bodies.push(Buffer.from(JSON.stringify(body(publishDoc(manifest, { tarball })))));
  }
  return { name, versions, bodies };
}

/** Synthetic packages 0..count-1 (deterministic: the same bytes on every run). */
export function syntheticPackages(count: number, versionCount: number): PackageUploads[] {
  return Array.from({ length: count }, (_, i) => syntheticPackage(i, versionCount));
}

/** The express closure's tarballs as publish documents (package.json read from each tarball), by package. */
export async function expressPackages(): Promise<{
  rootVersion: string;
  packages: PackageUploads[];
  tarballs: number;
}> {
  const closure = loadExpressClosure();
  const byName = new Map<string, Array<{ version: string; body: Buffer }>>();
  for (const pkg of closure.packages) {
    const tarball = readFileSync(pkg.path);
    const info = inspectTarball(tarball);
    const manifest = info.manifest as Manifest;
    if (manifest.name !== pkg.name || manifest.version !== pkg.version)
      throw new Error(`${pkg.file}: package.json says ${manifest.name}@${manifest.version}`);
    const doc = publishDoc(manifest, { tarball });
    if (doc.integrity !== pkg.integrity) throw new Error(`${pkg.file} does not match its recorded integrity`);
    const list = byName.get(pkg.name) ?? [];
    list.push({ version: pkg.version, body: Buffer.from(JSON.stringify(body(doc))) });
    byName.set(pkg.name, list);
  }
  const packages = [...byName].map(([name, list]) => {
    list.sort((a, b) => semver.compare(a.version, b.version));
    return { name, versions: list.map((v) => v.version), bodies: list.map((v) => v.body) };
  });
  return { rootVersion: closure.rootVersion, packages, tarballs: closure.packages.length };
}

export type PublishTarget = { label: string; url: string; token: string };

async function put(target: PublishTarget, name: string, version: string, payload: Buffer): Promise<void> {
  const res = await fetch(`${target.url}/${name.replace('/', '%2f')}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${target.token}` },
    body: new Uint8Array(payload),
  });
  const text = await res.text();
  if (res.status !== 200 && res.status !== 201)
    throw new Error(`${target.label}: publishing ${name}@${version} answered ${res.status}: ${text.slice(0, 500)}`);
}

/**
 * Publishes the packages with `concurrency` requests in flight (each package's versions in order, one at a time) and
 * reports progress every `every` packages. Returns the number of versions published and the elapsed time.
 */
export async function publishAll(
  target: PublishTarget,
  packages: PackageUploads[],
  opts: { concurrency: number; every?: number; what?: string },
): Promise<{ versions: number; seconds: number }> {
  const started = performance.now();
  let next = 0;
  let done = 0;
  let versions = 0;
  const every = opts.every ?? Math.max(1, Math.ceil(packages.length / 10));
  const worker = async () => {
    while (next < packages.length) {
      const pkg = packages[next++]!;
      for (let v = 0; v < pkg.bodies.length; v++) {
        await put(target, pkg.name, pkg.versions[v]!, pkg.bodies[v]!);
        versions++;
      }
      done++;
      if (done % every === 0 || done === packages.length) {
        const seconds = (performance.now() - started) / 1000;
        console.log(
          `  ${target.label}: seeded ${done}/${packages.length} ${opts.what ?? 'packages'} (${versions} versions, ${(versions / seconds).toFixed(0)} publishes/s)`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, packages.length) }, worker));
  return { versions, seconds: (performance.now() - started) / 1000 };
}
