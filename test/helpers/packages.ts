// Builds real npm tarballs and publish documents in memory, shaped exactly as libnpmpublish sends them, so protocol
// tests can publish hundreds of versions over HTTP without spawning npm for each.
import { createHash } from 'node:crypto';
import { tgz } from './tar.ts';

/** An npm tarball holding these files (full paths, normally under package/). */
export const tar = (files: Record<string, string | Buffer>): Buffer =>
  tgz(Object.entries(files).map(([path, data]) => ({ path, data })));

export type Manifest = { name: string; version: string; [k: string]: unknown };

export function packTarball(manifest: Manifest, extra: Record<string, string> = {}): Buffer {
  return tar({
    'package/package.json': JSON.stringify(manifest, null, 2),
    'package/README.md': `# ${manifest.name}\n`,
    ...extra,
  });
}

export type PublishOptions = {
  tag?: string;
  access?: 'public' | 'restricted' | null;
  tarball?: Buffer;
  docManifest?: Partial<Manifest>;
};

/** The PUT body npm sends for `npm publish` (libnpmpublish buildMetadata). */
export function publishDoc(manifest: Manifest, opts: PublishOptions = {}) {
  const tarball = opts.tarball ?? packTarball(manifest);
  const integrity = `sha512-${createHash('sha512').update(tarball).digest('base64')}`;
  const shasum = createHash('sha1').update(tarball).digest('hex');
  const file = `${manifest.name}-${manifest.version}.tgz`;
  const version = {
    ...manifest,
    ...opts.docManifest,
    _id: `${manifest.name}@${manifest.version}`,
    readme: `# ${manifest.name}`,
    dist: { integrity, shasum, tarball: `http://registry/${manifest.name}/-/${file}` },
  };
  return {
    _id: manifest.name,
    name: manifest.name,
    description: manifest.description,
    'dist-tags': { [opts.tag ?? 'latest']: manifest.version },
    versions: { [manifest.version]: version },
    access: opts.access ?? null,
    _attachments: {
      [file]: { content_type: 'application/octet-stream', data: tarball.toString('base64'), length: tarball.length },
    },
    integrity,
    shasum,
    tarball,
  };
}

/** The document without the helper's extra fields, ready to send. */
export function body(doc: ReturnType<typeof publishDoc>) {
  const { integrity: _i, shasum: _s, tarball: _t, ...rest } = doc;
  return rest;
}
