// Reads every file of an npm tarball into memory, synchronously, so the scanner stays a pure function that a worker
// thread can run. packages/tarball.ts reads only the few files publish needs, through a streaming parser; the scanner
// needs all of them, and the same caps: the unpacked size is bounded before anything is inflated (a gzip bomb stops at
// the cap) and so is the number of entries.
import { gunzipSync } from 'node:zlib';

export type ArchiveFile = { path: string; size: number; data: Buffer };
export type Archive = { files: ArchiveFile[]; problems: string[] };

export const MAX_UNPACKED = 512 * 1024 * 1024;
const MAX_ENTRIES = 100_000;

const isGzip = (b: Buffer) => b.length > 2 && b[0] === 0x1f && b[1] === 0x8b;

function cstring(b: Buffer, start: number, len: number): string {
  const slice = b.subarray(start, start + len);
  const nul = slice.indexOf(0);
  return slice.subarray(0, nul === -1 ? slice.length : nul).toString('utf8');
}

function octal(b: Buffer, start: number, len: number): number {
  // GNU base-256 for sizes over 8 GiB: the high bit of the first byte is set.
  if ((b[start]! & 0x80) !== 0) {
    let n = 0;
    for (let i = start + 1; i < start + len; i++) n = n * 256 + b[i]!;
    return n;
  }
  const s = cstring(b, start, len).trim();
  return s ? parseInt(s, 8) : 0;
}

function paxPath(body: Buffer): string | null {
  // Records are "<len> key=value\n".
  let off = 0;
  let found: string | null = null;
  while (off < body.length) {
    const sp = body.indexOf(0x20, off);
    if (sp === -1) break;
    const len = parseInt(body.subarray(off, sp).toString('utf8'), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const rec = body.subarray(sp + 1, off + len - 1).toString('utf8');
    if (rec.startsWith('path=')) found = rec.slice(5);
    off += len;
  }
  return found;
}

/**
 * gunzip's output buffer, sized from the unpacked size gzip records in its last four bytes (a hint: a forged one only
 * costs more chunks, and maxOutputLength bounds the total). A fixed 1 MiB buffer for every tarball, most of them a few
 * kilobytes, left the scan worker's heap full of 1 MiB holes.
 */
function outputChunk(gz: Buffer): number {
  const unpacked = gz.length >= 18 ? gz.readUInt32LE(gz.length - 4) : 0;
  return Math.min(4 * 1024 * 1024, Math.max(16 * 1024, unpacked + 1024));
}

/**
 * Unpacks a (gzipped) tar archive held in memory. Never throws on a malformed archive: what could be read is
 * returned, and `problems` says what could not — the scanner turns that into a finding, since a tarball the scanner
 * cannot read fully must not pass as clean.
 */
export function readArchive(bytes: Buffer): Archive {
  const problems: string[] = [];
  let tar: Buffer;
  try {
    tar = isGzip(bytes) ? gunzipSync(bytes, { maxOutputLength: MAX_UNPACKED, chunkSize: outputChunk(bytes) }) : bytes;
  } catch (err) {
    const message = err instanceof RangeError ? `unpacks to more than ${MAX_UNPACKED >> 20} MiB` : `not a valid gzip stream (${(err as Error).message})`;
    return { files: [], problems: [message] };
  }
  const files: ArchiveFile[] = [];
  let longName: string | null = null;
  let off = 0;
  while (off + 512 <= tar.length) {
    const header = tar.subarray(off, off + 512);
    if (header[0] === 0 && header.every((x) => x === 0)) break;
    if (files.length >= MAX_ENTRIES) {
      problems.push(`more than ${MAX_ENTRIES} entries`);
      break;
    }
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] || 0x30);
    let name = cstring(header, 0, 100);
    const prefix = cstring(header, 257, 6).startsWith('ustar') ? cstring(header, 345, 155) : '';
    if (prefix) name = `${prefix}/${name}`;
    const bodyStart = off + 512;
    const bodyEnd = bodyStart + size;
    if (!Number.isFinite(size) || size < 0 || bodyEnd > tar.length) {
      problems.push(`truncated entry ${JSON.stringify(name)}`);
      break;
    }
    const body = tar.subarray(bodyStart, bodyEnd);
    if (type === 'x') longName = paxPath(body) ?? longName;
    else if (type === 'L') longName = cstring(body, 0, body.length);
    else if (type !== 'g') {
      if ((type === '0' || type === '7') ) files.push({ path: (longName ?? name).replace(/^\.\//, ''), size, data: body });
      longName = null;
    }
    off = bodyStart + Math.ceil(size / 512) * 512;
  }
  return { files, problems };
}

/** Path inside the package: npm packs everything under one top-level folder, normally "package/". */
export const packagePath = (p: string) => p.replace(/^[^/]+\//, '');
