// Reads what the registry needs from an uploaded tarball without extracting it: package.json, the readme, and size
// figures. Sizes are capped so a small gzip bomb cannot exhaust memory.
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { badRequest } from '../errors.ts';

export type TarballInfo = {
  manifest: Record<string, unknown>;
  readme: string;
  readmeFilename: string;
  fileCount: number;
  unpackedSize: number;
  hasShrinkwrap: boolean;
};

const MAX_UNPACKED = 512 * 1024 * 1024;
const MAX_KEPT_FILE = 4 * 1024 * 1024;

const isGzip = (bytes: Buffer) => bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

export async function inspectTarball(bytes: Buffer): Promise<TarballInfo> {
  let manifestText: string | null = null;
  let readme = '';
  let readmeFilename = '';
  let fileCount = 0;
  let unpackedSize = 0;
  let hasShrinkwrap = false;
  let failure: Error | null = null;

  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        if (entry.type !== 'File' && entry.type !== 'OldFile') {
          entry.resume();
          return;
        }
        fileCount++;
        unpackedSize += entry.size;
        if (unpackedSize > MAX_UNPACKED) failure ??= badRequest('tarball unpacks to more than 512 MiB');
        // npm packs everything under one top-level folder (normally "package/").
        const rel = entry.path.replace(/^[^/]+\//, '');
        const keep = rel === 'package.json' || (/^readme(\.(md|markdown|txt))?$/i.test(rel) && !readmeFilename) || rel === 'npm-shrinkwrap.json';
        if (rel === 'npm-shrinkwrap.json') hasShrinkwrap = true;
        if (!keep || entry.size > MAX_KEPT_FILE) {
          entry.resume();
          return;
        }
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (rel === 'package.json') manifestText ??= text;
          else if (rel !== 'npm-shrinkwrap.json' && !readmeFilename) {
            readme = text;
            readmeFilename = rel;
          }
        });
      },
    });
    const invalid = (err: Error) => reject(badRequest(`tarball is not a valid gzipped tar archive: ${err.message}`));
    parser.on('error', invalid);
    parser.on('close', () => resolve());
    if (!isGzip(bytes)) {
      parser.end(bytes);
      return;
    }
    // Gunzipped here rather than by the parser: its zlib wrapper never closes its native stream, which then holds
    // ~40 KB of native memory until a full garbage collection; a busy publisher grew by tens of megabytes that way.
    // Node's own stream frees it as soon as it ends.
    const gunzip = createGunzip();
    gunzip.on('data', (chunk: Buffer) => parser.write(chunk));
    gunzip.on('end', () => parser.end());
    gunzip.on('error', invalid);
    gunzip.end(bytes);
  });
  if (failure) throw failure;
  if (manifestText === null) throw badRequest('tarball has no package.json at package/package.json');
  let manifest: unknown;
  try {
    manifest = JSON.parse(manifestText);
  } catch {
    throw badRequest('package.json inside the tarball is not valid JSON');
  }
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) throw badRequest('package.json inside the tarball must be a JSON object');
  return { manifest: manifest as Record<string, unknown>, readme, readmeFilename, fileCount, unpackedSize, hasShrinkwrap };
}
