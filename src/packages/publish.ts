// Validation of npm's publish document (PUT /:name, built by libnpmpublish). Pure: everything here works on the
// document and the decoded tarball, so each rule is tested without a server.
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import semver from 'semver';
import { fail } from '../errors.ts';
import { nameProblem, tagProblem } from '../names/syntax.ts';
import { MAX_MANIFEST_DEPTH, nestsDeeperThan, type TarballInfo } from '../tarball/inspect.ts';

export type Access = 'public' | 'restricted';

export type PublishRequest = {
  name: string;
  version: string;
  /** the version document as the client sent it (npm's normalized package.json plus dist). */
  manifest: Record<string, unknown>;
  tag: string;
  /** null when the client left it to the registry's default. */
  access: Access | null;
  tarball: Buffer;
  integrity: string;
  shasum: string;
};

/** A version document weighs kilobytes; this bounds what every packument read then carries. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks a publish document against the package name in the URL and returns what to store. */
export function parsePublish(doc: unknown, urlName: string, maxTarballSize: number): PublishRequest {
  if (!isObject(doc)) throw fail('E_PUBLISH_INVALID', 'the request body must be a JSON package document');
  const problem = nameProblem(urlName);
  if (problem) throw fail('E_NAME_INVALID', problem);
  if (doc.name !== urlName)
    throw fail(
      'E_PUBLISH_INVALID',
      `the document's name "${String(doc.name)}" does not match the package name in the URL "${urlName}"`,
    );
  if (doc._id !== undefined && doc._id !== urlName)
    throw fail(
      'E_PUBLISH_INVALID',
      `the document's _id "${String(doc._id)}" does not match the package name "${urlName}"`,
    );

  if (!isObject(doc.versions)) throw fail('E_PUBLISH_INVALID', 'the document has no "versions" object');
  const versionKeys = Object.keys(doc.versions);
  if (versionKeys.length !== 1)
    throw fail('E_PUBLISH_INVALID', `a publish must contain exactly one version (this one has ${versionKeys.length})`);
  const version = versionKeys[0]!;
  if (semver.valid(version) !== version)
    throw fail('E_PUBLISH_INVALID', `invalid version "${version}": it must be a valid semver version such as 1.2.3`);
  const manifest = doc.versions[version];
  if (!isObject(manifest)) throw fail('E_PUBLISH_INVALID', `versions["${version}"] must be an object`);
  if (nestsDeeperThan(manifest, MAX_MANIFEST_DEPTH))
    throw fail('E_PUBLISH_INVALID', `versions["${version}"] nests deeper than ${MAX_MANIFEST_DEPTH} levels`);
  if (manifest.name !== urlName) throw fail('E_PUBLISH_INVALID', `versions["${version}"].name must be "${urlName}"`);
  if (manifest.version !== version)
    throw fail('E_PUBLISH_INVALID', `versions["${version}"].version must be "${version}"`);

  const tag = parseTag(doc['dist-tags'], version);
  const access = parseAccess(doc.access, urlName);
  const { tarball, integrity, shasum } = parseAttachment(doc._attachments, manifest, maxTarballSize);
  return { name: urlName, version, manifest, tag, access, tarball, integrity, shasum };
}

function parseTag(distTags: unknown, version: string): string {
  if (distTags === undefined) return 'latest';
  if (!isObject(distTags)) throw fail('E_PUBLISH_INVALID', '"dist-tags" must be an object');
  const entries = Object.entries(distTags);
  if (entries.length === 0) return 'latest';
  if (entries.length > 1) throw fail('E_DIST_TAG_INVALID', 'a publish may set exactly one dist-tag');
  const [tag, target] = entries[0]!;
  if (target !== version)
    throw fail('E_DIST_TAG_INVALID', `the dist-tag "${tag}" must point at the published version ${version}`);
  const problem = tagProblem(tag, semver.validRange);
  if (problem) throw fail('E_PUBLISH_INVALID', problem);
  return tag;
}

function parseAccess(access: unknown, name: string): Access | null {
  if (access === undefined || access === null || access === 'default') return null;
  if (access !== 'public' && access !== 'restricted')
    throw fail('E_PUBLISH_INVALID', `"access" must be "public" or "restricted", not ${JSON.stringify(access)}`);
  if (access === 'restricted' && !name.startsWith('@'))
    throw fail(
      'E_PUBLISH_INVALID',
      `unscoped packages cannot be restricted: "${name}" can only be public (publish it under a scope to keep it private)`,
    );
  return access;
}

function parseAttachment(attachments: unknown, manifest: Record<string, unknown>, maxTarballSize: number) {
  if (!isObject(attachments)) throw fail('E_PUBLISH_INVALID', 'the document has no "_attachments": nothing to publish');
  const keys = Object.keys(attachments);
  if (keys.length !== 1)
    throw fail(
      'E_PUBLISH_INVALID',
      `a publish must carry exactly one attachment, the tarball (this one has ${keys.length})`,
    );
  const key = keys[0]!;
  if (!key.endsWith('.tgz')) throw fail('E_PUBLISH_INVALID', `the attachment "${key}" is not a .tgz tarball`);
  const att = attachments[key];
  if (!isObject(att) || typeof att.data !== 'string')
    throw fail('E_PUBLISH_INVALID', `the attachment "${key}" must have base64 "data"`);
  const data = att.data;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data) || data.length % 4 !== 0)
    throw fail('E_PUBLISH_INVALID', `the attachment "${key}" is not valid base64`);
  const tarball = Buffer.from(data, 'base64');
  if (tarball.length === 0) throw fail('E_PUBLISH_INVALID', `the attachment "${key}" is empty`);
  if (tarball.length > maxTarballSize)
    throw fail(
      'E_TARBALL_TOO_LARGE',
      `the tarball is ${tarball.length} bytes; this registry accepts at most ${maxTarballSize}`,
    );
  if (att.length !== undefined && att.length !== tarball.length) {
    throw fail(
      'E_PUBLISH_INVALID',
      `the attachment "${key}" declares length ${String(att.length)} but holds ${tarball.length} bytes`,
    );
  }
  const integrity = `sha512-${createHash('sha512').update(tarball).digest('base64')}`;
  const shasum = createHash('sha1').update(tarball).digest('hex');
  const dist = isObject(manifest.dist) ? manifest.dist : {};
  if (dist.integrity !== undefined && dist.integrity !== integrity) {
    throw fail(
      'E_TARBALL_MISMATCH',
      `dist.integrity does not match the uploaded tarball (declared ${String(dist.integrity)}, computed ${integrity})`,
    );
  }
  if (dist.shasum !== undefined && dist.shasum !== shasum) {
    throw fail(
      'E_TARBALL_MISMATCH',
      `dist.shasum does not match the uploaded tarball (declared ${String(dist.shasum)}, computed ${shasum})`,
    );
  }
  return { tarball, integrity, shasum };
}

const DEPENDENCY_FIELDS = ['dependencies', 'optionalDependencies', 'peerDependencies'] as const;

/**
 * The tarball's package.json must agree with the document: same name and version, and the same dependencies.
 * Without the dependency check a publisher could show one dependency list in the registry and install another
 * ("manifest confusion").
 */
export function checkTarballAgrees(req: PublishRequest, info: TarballInfo): void {
  const inner = info.manifest;
  if (inner.name !== req.name)
    throw fail(
      'E_TARBALL_MISMATCH',
      `package.json inside the tarball names "${String(inner.name)}", but the publish is for "${req.name}"`,
    );
  if (inner.version !== req.version)
    throw fail(
      'E_TARBALL_MISMATCH',
      `package.json inside the tarball has version "${String(inner.version)}", but the publish is for ${req.version}`,
    );
  for (const field of DEPENDENCY_FIELDS) {
    const declared = normalizeDeps(req.manifest, field);
    const packed = normalizeDeps(inner, field);
    if (!sameDependencies(declared, packed)) {
      throw fail(
        'E_TARBALL_MISMATCH',
        `"${field}" in the publish document differs from package.json inside the tarball: publish the tarball npm packed, unmodified`,
      );
    }
  }
}

// npm's normalization copies optionalDependencies into dependencies; compare the sets with that undone.
function normalizeDeps(
  manifest: Record<string, unknown>,
  field: (typeof DEPENDENCY_FIELDS)[number],
): Record<string, unknown> {
  const value = manifest[field];
  const deps: Record<string, unknown> = isObject(value) ? { ...value } : {};
  if (field === 'dependencies') {
    const optional = isObject(manifest.optionalDependencies) ? manifest.optionalDependencies : {};
    for (const name of Object.keys(optional)) delete deps[name];
  }
  return Object.fromEntries(Object.entries(deps).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

// npm canonicalizes git and URL specs (github:user/repo → git+https://…) while packing; registry ranges it keeps.
function sameDependencies(declared: Record<string, unknown>, packed: Record<string, unknown>): boolean {
  const names = Object.keys(declared);
  if (!isDeepStrictEqual(names, Object.keys(packed))) return false;
  return names.every((n) => {
    const a = declared[n];
    const b = packed[n];
    if (a === b) return true;
    return typeof b === 'string' && /[:/]/.test(b) && typeof a === 'string' && /[:/]/.test(a);
  });
}

const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'];

/** The version document as the registry stores it: client-only fields removed, registry-owned fields set. */
export function storedManifest(
  req: PublishRequest,
  info: TarballInfo,
  publisher: { name: string; email: string },
): Record<string, unknown> {
  const m: Record<string, unknown> = { ...req.manifest };
  // readme lives once per package in the packument; gitHead and the like are kept as npm does.
  delete m.readme;
  delete m.readmeFilename;
  for (const key of Object.keys(m))
    if (key.startsWith('_') && !['_nodeVersion', '_npmVersion'].includes(key)) delete m[key];
  const scripts = isObject(m.scripts) ? m.scripts : {};
  m._id = `${req.name}@${req.version}`;
  m._npmUser = { name: publisher.name, email: publisher.email };
  m._hasShrinkwrap = info.hasShrinkwrap;
  if (INSTALL_SCRIPTS.some((s) => typeof scripts[s] === 'string')) m.hasInstallScript = true;
  else delete m.hasInstallScript;
  m.dist = { integrity: req.integrity, shasum: req.shasum, fileCount: info.fileCount, unpackedSize: info.unpackedSize };
  return m;
}
