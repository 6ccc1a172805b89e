// Builds real npm tarballs and publish documents in memory, shaped exactly as libnpmpublish sends them, so protocol
// tests can publish hundreds of versions over HTTP without spawning npm for each.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

/** A minimal ustar archive writer: enough for package/ files with regular content. */
export function tar(files: Record<string, string | Buffer>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const header = Buffer.alloc(512);
    header.write(name, 0, 100, 'utf8');
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
    header.write('00000000000\0', 136);
    header.write('        ', 148);
    header.write('0', 156);
    header.write('ustar\0', 257);
    header.write('00', 263);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

export type Manifest = { name: string; version: string; [k: string]: unknown };

export function packTarball(manifest: Manifest, extra: Record<string, string> = {}): Buffer {
  return tar({ 'package/package.json': JSON.stringify(manifest, null, 2), 'package/README.md': `# ${manifest.name}\n`, ...extra });
}

export type PublishOptions = { tag?: string; access?: 'public' | 'restricted' | null; tarball?: Buffer; docManifest?: Partial<Manifest> };

/** The PUT body npm sends for `npm publish` (libnpmpublish buildMetadata). */
export function publishDoc(manifest: Manifest, opts: PublishOptions = {}) {
  const tarball = opts.tarball ?? packTarball(manifest);
  const integrity = `sha512-${createHash('sha512').update(tarball).digest('base64')}`;
  const shasum = createHash('sha1').update(tarball).digest('hex');
  const file = `${manifest.name}-${manifest.version}.tgz`;
  const version = { ...manifest, ...opts.docManifest, _id: `${manifest.name}@${manifest.version}`, readme: `# ${manifest.name}`, dist: { integrity, shasum, tarball: `http://registry/${manifest.name}/-/${file}` } };
  return {
    _id: manifest.name,
    name: manifest.name,
    description: manifest.description,
    'dist-tags': { [opts.tag ?? 'latest']: manifest.version },
    versions: { [manifest.version]: version },
    access: opts.access ?? null,
    _attachments: { [file]: { content_type: 'application/octet-stream', data: tarball.toString('base64'), length: tarball.length } },
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
