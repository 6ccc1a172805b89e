// Writes tar archives byte by byte, so tests can build exactly the archives a packer never makes: links, devices,
// duplicate paths, pax and GNU headers that rename entries, zero blocks in the middle, data after the end.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { x as extract } from 'tar';

export type TarEntry = {
  path: string;
  data?: string | Buffer;
  /** the type flag: '0' file (default), '1' hard link, '2' symlink, '3' character device, '5' directory, '6' FIFO,
   * 'x' pax header, 'g' global pax header, 'L' GNU long name, 'S' sparse … */
  type?: string;
  mode?: number;
  linkpath?: string;
  /** the ustar prefix field (joined to the name with '/'). */
  prefix?: string;
  /** the size written in the header, when it should differ from the data's length. */
  size?: number;
  /** pax records for an extended header written before this entry. */
  pax?: Record<string, string>;
};

const octal = (n: number, width: number) => n.toString(8).padStart(width - 1, '0') + '\0';

export function tarHeader(e: {
  path: string;
  size: number;
  type?: string;
  mode?: number;
  linkpath?: string;
  prefix?: string;
}): Buffer {
  const h = Buffer.alloc(512);
  h.write(e.path, 0, 100, 'utf8');
  h.write(octal(e.mode ?? 0o644, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(e.size, 12), 124);
  h.write(octal(0, 12), 136);
  h.write('        ', 148);
  h.write(e.type ?? '0', 156);
  if (e.linkpath) h.write(e.linkpath, 157, 100, 'utf8');
  h.write('ustar\0' + '00', 257);
  if (e.prefix) h.write(e.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148);
  return h;
}

const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);

/** "<len> key=value\n" records, len counting itself. */
export function paxBody(records: Record<string, string>): Buffer {
  let out = '';
  for (const [k, v] of Object.entries(records)) {
    const rest = ` ${k}=${v}\n`;
    let len = Buffer.byteLength(rest) + 1;
    while (String(len).length + Buffer.byteLength(rest) !== len) len++;
    out += `${len}${rest}`;
  }
  return Buffer.from(out);
}

/** One entry's blocks: header, data and padding (a pax header first when asked). */
export function tarEntry(e: TarEntry): Buffer {
  const parts: Buffer[] = [];
  if (e.pax) parts.push(tarEntry({ path: 'PaxHeader/x', type: 'x', data: paxBody(e.pax) }));
  const data = e.data === undefined ? Buffer.alloc(0) : Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data);
  parts.push(tarHeader({ ...e, size: e.size ?? data.length }), data, pad(data.length));
  return Buffer.concat(parts);
}

export const END_OF_ARCHIVE = Buffer.alloc(1024);

/** A raw tar stream: the entries, then `end` (the end-of-archive marker unless given). */
export function tarStream(entries: Array<TarEntry | Buffer>, end: Buffer = END_OF_ARCHIVE): Buffer {
  return Buffer.concat([...entries.map((e) => (Buffer.isBuffer(e) ? e : tarEntry(e))), end]);
}

/** The same, gzipped, as an uploaded .tgz. */
export const tgz = (entries: Array<TarEntry | Buffer>, end?: Buffer): Buffer => gzipSync(tarStream(entries, end));

/** Files laid out as `npm pack` writes them: each under package/, in the order given. */
export const packFiles = (files: Record<string, string | Buffer>): Buffer =>
  tgz(Object.entries(files).map(([path, data]) => ({ path: `package/${path}`, data })));

/** What npm writes to disk for these bytes: node-tar, strip 1, links dropped (pacote's tarxOptions). */
export function npmInstalls(bytes: Buffer): Map<string, string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bulwark-tar-'));
  const file = path.join(dir, 'pkg.tgz');
  const out = path.join(dir, 'out');
  try {
    writeFileSync(file, bytes);
    mkdirSync(out);
    extract({
      sync: true,
      file,
      cwd: out,
      strip: 1,
      noChmod: true,
      noMtime: true,
      filter: (_p, entry) => !/Link$/.test((entry as { type: string }).type),
    });
    const files = new Map<string, string>();
    const walk = (d: string, rel: string) => {
      for (const name of readdirSync(d)) {
        const full = path.join(d, name);
        if (statSync(full).isDirectory()) walk(full, `${rel}${name}/`);
        else files.set(`${rel}${name}`, readFileSync(full, 'latin1'));
      }
    };
    walk(out, '');
    return files;
  } catch {
    // node-tar gave up on the archive (bad gzip): the reader must have refused it.
    return new Map([['<npm could not extract>', '']]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
