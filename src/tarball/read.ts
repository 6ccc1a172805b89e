// The one reader of package tarballs. Everything that looks inside a tarball (the manifest read at publish, the
// malware scanner, the version diff) reads it here, so nothing can be checked in one reading and installed in another.
//
// It reads the archive with node-tar's own Parser and Header, the code npm installs with (pacote extracts with
// node-tar, strip 1), so the entries seen here are the entries npm writes to disk. On top of that reading it names
// every problem: anything ambiguous (two tar readers could disagree on it) or that `npm pack` never produces. Publish
// refuses a tarball with any problem; the scanner reports them and still scans what npm would install.
//
// Work is bounded before it is done: inflation stops at a cap on unpacked bytes and on the compression ratio (a gzip
// bomb costs a few milliseconds), framing stops at the end-of-archive marker, and what follows it may only be a little
// zero padding. Synchronous by design: callers run it in a worker thread (safety/scan/pool.ts), never on the event
// loop that serves requests.
import { createHash } from 'node:crypto';
import { posix, win32 } from 'node:path';
import { Unzip } from 'minizlib';
import { Header, Parser, type ReadEntry } from 'tar';

export type TarFile = {
  /** the path inside the package, as npm extracts it (the top folder stripped): "package.json", "lib/index.js". */
  path: string;
  size: number;
  mode: number;
  /** hex SHA-256 of the file's bytes, and its first 64 bytes: kept for every file. */
  sha256: string;
  head: Buffer;
  /** the file's bytes, or null when the caller's `keep` left them out. */
  data: Buffer | null;
};

/**
 * A reason to refuse the tarball: the entry it concerns (its path in the archive), or null for the archive itself.
 * `unusual`: never made by npm pack, but read the same way by every tar reader (old tarballs on the public registry
 * put everything under another top folder); every other problem can hide content from some reader, or is damage.
 */
export type TarProblem = { entry: string | null; reason: string; unusual?: true };

export type TarContents = {
  /** the files npm would install, in archive order; for a path that occurs twice, the last one (npm overwrites). */
  files: TarFile[];
  /** every problem found; empty for a tarball `npm pack` could have made. Reading stops at a fatal one. */
  problems: TarProblem[];
  /** the sum of the sizes of all file entries, and how many there were. */
  unpackedSize: number;
  fileCount: number;
};

export type TarLimits = {
  /** unpacked bytes at most (the whole tar stream). */
  maxUnpacked: number;
  /** unpacked / compressed at most, checked as inflation goes, once more than ratioFloor bytes are unpacked. */
  maxRatio: number;
  ratioFloor: number;
  /** headers at most, of any kind. */
  maxEntries: number;
  /** zero bytes allowed after the end-of-archive marker (tar writers pad to a record; GNU tar's is 10 KiB). */
  maxTrailing: number;
};

export const DEFAULT_LIMITS: TarLimits = {
  maxUnpacked: 512 * 1024 * 1024,
  // node-tar, and so npm, refuses to extract past 1000:1; real packages stay far below 100:1.
  maxRatio: 200,
  ratioFloor: 32 * 1024 * 1024,
  maxEntries: 100_000,
  maxTrailing: 64 * 1024,
};

/** Thrown by strict readers (publish): the first problem, worded for the publisher. */
export class TarballRefused extends Error {
  readonly problem: TarProblem;
  constructor(problem: TarProblem) {
    super(describeProblem(problem));
    this.problem = problem;
  }
}

export const describeProblem = (p: TarProblem): string =>
  p.entry === null ? p.reason : `${JSON.stringify(p.entry)}: ${p.reason}`;

class Fatal extends Error {}

const isGzip = (b: Buffer) => b.length > 2 && b[0] === 0x1f && b[1] === 0x8b;
const INPUT_SLICE = 64 * 1024;

/** Gunzips with the limits applied as bytes come out, so a bomb is stopped after its first few megabytes. */
function inflate(tgz: Buffer, limits: TarLimits): Buffer {
  if (!isGzip(tgz)) throw new Fatal('not a gzip stream: npm packs tarballs as .tgz (gzip-compressed tar)');
  const chunks: Buffer[] = [];
  let out = 0;
  let consumed = 0;
  let failure: string | null = null;
  // minizlib, as node-tar uses it: synchronous, so 'data' arrives inside write().
  const unzip = new Unzip({});
  unzip.on('data', (chunk: Buffer) => {
    out += chunk.length;
    if (out > limits.maxUnpacked) throw new Fatal(`unpacks to more than ${limits.maxUnpacked >> 20} MiB`);
    if (out > limits.ratioFloor && out > consumed * limits.maxRatio)
      throw new Fatal(`compression ratio over ${limits.maxRatio}:1 (a decompression bomb)`);
    chunks.push(chunk);
  });
  unzip.on('error', (err: unknown) => (failure ??= err instanceof Error ? err.message : String(err)));
  try {
    for (let off = 0; off < tgz.length && failure === null; off += INPUT_SLICE) {
      consumed = Math.min(tgz.length, off + INPUT_SLICE);
      unzip.write(tgz.subarray(off, off + INPUT_SLICE));
    }
    if (failure === null) unzip.end();
  } catch (err) {
    if (err instanceof Fatal) throw err;
    failure ??= (err as Error).message;
  } finally {
    // Frees zlib's native state now rather than at the next full collection.
    unzip.close();
  }
  if (failure !== null) throw new Fatal(`not a valid gzip stream (${failure})`);
  return Buffer.concat(chunks, out);
}

const META_TYPES = new Set([
  'NextFileHasLongLinkpath',
  'NextFileHasLongPath',
  'OldGnuLongPath',
  'GlobalExtendedHeader',
  'ExtendedHeader',
  'OldExtendedHeader',
]);
// Fields of a pax header that change how an entry is framed or where it goes.
const PAX_PLACEMENT = ['path', 'linkpath', 'size'] as const;
const SPECIAL_BITS = 0o7000;
// npm pack's deepest real-world paths are a few dozen folders; these bound the work per entry too.
const MAX_PATH_DEPTH = 256;
const MAX_PATH_LENGTH = 4096;
// What npm pack's pax headers carry (node-tar's Pax), and nothing that other readers might take differently.
const PAX_KEYS = new Set([
  'path',
  'size',
  'mtime',
  'atime',
  'ctime',
  'uid',
  'gid',
  'uname',
  'gname',
  'charset',
  'comment',
  'dev',
  'ino',
  'nlink',
]);
// Numeric header fields (offset, length): plain octal, as npm pack writes them. Other encodings (GNU base-256,
// leading NULs) are read differently by different tar readers.
const NUMERIC_FIELDS: Array<[string, number, number]> = [
  ['mode', 100, 8],
  ['uid', 108, 8],
  ['gid', 116, 8],
  ['size', 124, 12],
  ['mtime', 136, 12],
];
// eslint-disable-next-line no-control-regex -- control characters in a path are exactly what is refused
const CONTROL = /[\u0000-\u001f\u007f]/;

/** One key per path as a case-insensitive, normalisation-insensitive file system (macOS, Windows) sees it. */
const foldKey = (p: string) => p.normalize('NFC').toUpperCase().toLowerCase().normalize('NFC');

/** What is wrong with an entry's path, or null: it must be a relative path, plainly written. */
function pathProblem(p: string, directory: boolean): string | null {
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return 'absolute path';
  if (p.includes('\\')) return 'backslash in path (Windows reads it as a folder separator)';
  // node-tar strips a drive or other Windows root ("C:") from the path left after its first folder, on every
  // platform: "package/C:package.json" is installed over package.json.
  if (p.includes(':')) return 'colon in path (a Windows drive or stream name)';
  if (CONTROL.test(p)) return 'control character in path';
  if (p.length > MAX_PATH_LENGTH) return `path longer than ${MAX_PATH_LENGTH} characters`;
  const parts = (directory && p.endsWith('/') ? p.slice(0, -1) : p).split('/');
  if (parts.length > MAX_PATH_DEPTH) return `path deeper than ${MAX_PATH_DEPTH} folders`;
  if (parts.includes('..')) return "'..' in path";
  if (parts.some((s) => s === '' || s === '.')) return 'empty or "." path segment';
  return null;
}

/** The block decoded as node-tar decodes it, or null where its decoder throws (its Parser then reads on). */
function decodeHeader(block: Buffer): Header | null {
  try {
    return new Header(block);
  } catch {
    return null;
  }
}

/** The folders a path lies in, innermost first: "a/b/c" → ["a/b", "a"]. */
function ancestors(p: string): string[] {
  const out: string[] = [];
  for (let dir = posix.dirname(p); dir !== '.'; dir = posix.dirname(dir)) out.push(dir);
  return out;
}

/** The path npm extracts an entry to (pacote: node-tar with strip 1), or null when npm would skip it. */
function installedPath(p: string): string | null {
  const parts = p.split('/').slice(1);
  // node-tar skips entries deeper than 1024 folders.
  if (parts.length > 1024) return null;
  // Then it strips any root, Windows ones included, and skips '..' (with backslashes read as separators too).
  let rest = parts.join('/');
  for (let parsed = win32.parse(rest); win32.isAbsolute(rest) || parsed.root; parsed = win32.parse(rest)) {
    rest = rest.slice(rest.charAt(0) === '/' && rest.slice(0, 4) !== '//?/' ? 1 : parsed.root.length);
  }
  if (rest.replaceAll('\\', '/').split('/').includes('..')) return null;
  const rel = posix.normalize(rest).replace(/^\/+/, '').replace(/\/$/, '');
  return rel === '' || rel === '.' ? null : rel;
}

/**
 * Reads a gzipped npm tarball. Never throws: a fatal problem (invalid gzip, an over-limit stream, a damaged header)
 * ends the reading, and what was read so far is returned with the problems.
 * keep: which files' bytes to hold (by installed path and size); all of them by default.
 */
export function readTarball(
  tgz: Buffer,
  opts: { keep?: (path: string, size: number) => boolean; limits?: Partial<TarLimits> } = {},
): TarContents {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const keep = opts.keep ?? (() => true);
  const problems: TarProblem[] = [];
  const installed = new Map<string, TarFile>();
  let unpackedSize = 0;
  let fileCount = 0;
  try {
    walk(inflate(tgz, limits));
  } catch (err) {
    if (!(err instanceof Fatal)) throw err;
    problems.push({ entry: null, reason: err.message });
  }
  return { files: [...installed.values()], problems, unpackedSize, fileCount };

  function walk(tar: Buffer): void {
    const seenFiles = new Map<string, string>();
    const seenDirs = new Map<string, string>();
    const installedDirs = new Set<string>();
    // Entries whose first segment is not package/, and the first segments seen.
    const foreign: string[] = [];
    const tops = new Set<string>();
    let loneNullBlock = false;
    let eof = false;
    let headers = 0;
    // The header block being written and where it starts, for the handlers.
    let block: Buffer = Buffer.alloc(0);
    let pos = 0;
    // Whether the header before this one was a pax header (which applies to the next entry, and only to a file's).
    let afterPax = false;
    // The body node-tar expects after the header just written, as its handlers report it; null until one does.
    let body: number | null;
    // Raw tar only: what follows the first header is never to be sniffed as another compression.
    // Like npm, read on past a damaged header (node-tar warns and takes the next block as a header), so that what is
    // reported is what npm would install; the damage itself is a problem.
    const parser = new Parser({
      brotli: false,
      zstd: false,
      onwarn: (code: string, message: string | Error) => {
        body = 0;
        problems.push({
          entry: null,
          reason: `damaged tar header at byte ${pos} (${code}: ${message instanceof Error ? message.message : message})`,
        });
      },
    });
    parser.on('nullBlock', () => (loneNullBlock = true));
    parser.on('eof', () => (eof = true));
    parser.on('ignoredEntry', (entry: ReadEntry) => {
      // Skipped, body and all.
      body = entry.startBlockSize;
      problems.push({
        entry: entry.path,
        reason: entry.meta
          ? 'extended header larger than any tar writer makes'
          : `unsupported entry type ${entry.type}`,
      });
    });
    parser.on('entry', (entry: ReadEntry) => {
      body = entry.startBlockSize;
      const note = (reason: string) => problems.push({ entry: entry.path, reason });
      checkEntry(entry, block, note);
      const top = entry.path.split('/')[0]!;
      tops.add(top);
      if (top !== 'package' || (!entry.path.includes('/') && entry.type !== 'Directory')) foreign.push(entry.path);
      const directory = entry.type === 'Directory';
      // pacote installs every type whose name ends in "File" (File, OldFile, ContiguousFile) and no link.
      const file = /File$/.test(entry.type);
      const to = file || directory ? installedPath(entry.path) : null;
      if (to !== null) {
        const key = foldKey(to);
        if (seenFiles.has(key) || seenDirs.has(key)) {
          if (file || seenFiles.has(key))
            note(
              `the same path as the earlier entry ${JSON.stringify(seenFiles.get(key) ?? seenDirs.get(key))} (duplicate paths, also by case or Unicode form, are ambiguous)`,
            );
        }
        if (file) seenFiles.set(key, entry.path);
        for (const dir of directory ? [to, ...ancestors(to)] : ancestors(to)) {
          const k = foldKey(dir);
          if (seenFiles.has(k)) note(`a folder at the path of the file entry ${JSON.stringify(seenFiles.get(k))}`);
          if (!seenDirs.has(k)) seenDirs.set(k, entry.path);
        }
      }
      if (!file) return void entry.resume();
      fileCount++;
      unpackedSize += entry.size;
      // node-tar cannot put a file below a file, or over a folder that holds files: npm skips it.
      if (to === null || installedDirs.has(to) || ancestors(to).some((d) => installed.has(d)))
        return void entry.resume();
      const kept = keep(to, entry.size);
      const hash = createHash('sha256');
      const chunks: Buffer[] = [];
      let head = Buffer.alloc(0);
      entry.on('data', (c: Buffer) => {
        hash.update(c);
        if (head.length < 64) head = Buffer.concat([head, c.subarray(0, 64 - head.length)]);
        if (kept) chunks.push(c);
      });
      // A later entry at the same path replaces the earlier one, as it does on disk (and moves to its place in order).
      entry.on('end', () => {
        for (const dir of ancestors(to)) installedDirs.add(dir);
        installed.delete(to);
        installed.set(to, {
          path: to,
          size: entry.size,
          mode: entry.mode ?? 0,
          sha256: hash.digest('hex'),
          head,
          data: kept ? Buffer.concat(chunks) : null,
        });
      });
    });

    while (!eof) {
      if (pos + 512 > tar.length)
        throw new Fatal(
          pos === tar.length ? 'no end-of-archive marker (npm pack always writes one)' : 'truncated tar stream',
        );
      if (++headers > limits.maxEntries) throw new Fatal(`more than ${limits.maxEntries} entries`);
      block = tar.subarray(pos, pos + 512);
      // node-tar's Parser treats a block its Header cannot decode as a damaged header and reads on.
      const header = decodeHeader(block);
      const isNull = header?.nullBlock === true;
      if (!isNull) {
        const issue = header ? headerProblem(block, header, afterPax) : 'a header no tar reader decodes alike';
        if (issue) problems.push({ entry: header?.path ?? null, reason: `${issue} (at byte ${pos})` });
      }
      afterPax = header?.type === 'ExtendedHeader';
      if (loneNullBlock && !isNull) {
        // npm reads on; GNU tar, and tools built like it, stop here and see none of what follows.
        problems.push({
          entry: null,
          reason: `a zero block inside the archive at byte ${pos - 512} (tar readers disagree on whether the archive ends there)`,
        });
        loneNullBlock = false;
      }
      body = null;
      parser.write(block);
      pos += 512;
      // File entries are framed by what node-tar made of the header, pax size included (the entry handler said so
      // during the write above); an accepted meta entry (pax, GNU long name) by its own header's size, which no
      // extended header changes.
      body ??= header && META_TYPES.has(header.type) ? 512 * Math.ceil((header.size ?? 0) / 512) : 0;
      if (body > 0) {
        if (pos + body > tar.length) throw new Fatal(`truncated entry ${JSON.stringify(header?.path ?? '')}`);
        if (header?.type === 'ExtendedHeader' || header?.type === 'GlobalExtendedHeader') {
          const records = tar.subarray(pos, pos + (header.size ?? 0));
          const issue = paxProblem(records);
          if (issue) problems.push({ entry: header.path ?? null, reason: `${issue} (at byte ${pos - 512})` });
          // git archive (GitHub's tarballs) starts with a global header holding only the commit as a comment: never
          // written by npm pack, but read alike everywhere. Anything else in one, tar readers apply differently.
          else if (header.type === 'GlobalExtendedHeader') {
            const onlyComment = /^\d+ comment=[^\n]*\n\0*$/.test(records.toString('latin1'));
            problems.push({
              entry: header.path ?? null,
              reason: `a global pax header${onlyComment ? ' holding only a comment' : ' (tar readers disagree on whether it applies)'} (at byte ${pos - 512})`,
              ...(onlyComment ? { unusual: true as const } : {}),
            });
          }
        }
        parser.write(tar.subarray(pos, pos + body));
        pos += body;
      }
    }
    if (foreign.length) {
      // npm strips whatever the first segment is: one other top folder throughout reads the same everywhere; two
      // top folders put two files at one installed path, or a file where npm installs nothing.
      if (tops.size === 1)
        problems.push({
          entry: null,
          reason: `everything is under "${[...tops][0]}/", not the package/ folder npm pack writes`,
          unusual: true,
        });
      else
        for (const path of foreign.slice(0, 20))
          problems.push({ entry: path, reason: 'outside the package/ folder that npm pack writes everything into' });
    }
    const trailing = tar.subarray(pos);
    if (trailing.some((b) => b !== 0))
      problems.push({ entry: null, reason: `data after the end-of-archive marker at byte ${pos}` });
    else if (trailing.length > limits.maxTrailing)
      problems.push({
        entry: null,
        reason: `${trailing.length} bytes of padding after the end-of-archive marker (more than any tar writer adds)`,
        unusual: true,
      });
  }
}

/**
 * What in a header block (other than a zero block) `npm pack` never writes and tar readers decode differently, or
 * null: numeric fields other than plain octal, a name that starts with NUL, GNU long-name and global pax headers, a
 * pax header followed by another meta header, a folder with a body.
 */
function headerProblem(block: Buffer, header: Header, afterPax: boolean): string | null {
  for (const [field, offset, length] of NUMERIC_FIELDS) {
    // npm pack leaves uid, gid and the like empty; the size must be written out.
    const text = block.subarray(offset, offset + length).toString('latin1');
    if (!(field === 'size' ? /^ *[0-7]+[ \0]*$/ : /^( *[0-7]+)?[ \0]*$/).test(text))
      return `the ${field} field is not plain octal`;
  }
  if (block[0] === 0) return 'a header whose name field is empty';
  const type = header.type;
  if (type === 'NextFileHasLongPath' || type === 'OldGnuLongPath' || type === 'NextFileHasLongLinkpath')
    return `a GNU ${type} header (npm pack writes long names in pax headers)`;
  if (afterPax && META_TYPES.has(type)) return 'a pax header followed by another extended header';
  if (
    type === 'Directory' &&
    block.subarray(124, 136).toString('latin1').replace(/[ \0]/g, '').replace(/^0+/, '') !== ''
  )
    return 'a folder entry with a body';
  return null;
}

/** What is wrong with a pax header's records, or null: exact lengths, known keys, decimal sizes, one record per key. */
function paxProblem(body: Buffer): string | null {
  const seen = new Set<string>();
  let off = 0;
  while (off < body.length) {
    // Padding after the last record is allowed only as NULs.
    if (body[off] === 0)
      return body.subarray(off).every((b) => b === 0) ? null : 'a pax header with data after its padding';
    const space = body.indexOf(0x20, off);
    const lengthText = space === -1 ? '' : body.subarray(off, space).toString('latin1');
    if (!/^[1-9]\d{0,6}$/.test(lengthText)) return 'a pax record without a valid length';
    const end = off + Number(lengthText);
    if (end > body.length || body[end - 1] !== 0x0a) return 'a pax record whose length does not end at its newline';
    const record = body.subarray(space + 1, end - 1).toString('utf8');
    const eq = record.indexOf('=');
    const key = eq === -1 ? '' : record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (!PAX_KEYS.has(key)) return `a pax record with the key "${key.slice(0, 40)}" (npm pack writes none)`;
    if (seen.has(key)) return `a pax header that sets "${key}" twice`;
    seen.add(key);
    if (key === 'size' && !/^\d{1,15}$/.test(value))
      return `a pax size that is not a plain decimal number ("${value.slice(0, 20)}")`;
    off = end;
  }
  return null;
}

/** Problems of one entry beyond its path's placement among the others (type, mode, path, extended headers). */
function checkEntry(entry: ReadEntry, block: Buffer, note: (reason: string) => void): void {
  const type = entry.type;
  if (type !== 'File' && type !== 'OldFile' && type !== 'Directory') {
    note(
      /Link$/.test(type)
        ? `${type === 'Link' ? 'hard link' : 'symbolic link'} (npm pack never writes links)`
        : `${type} entry (npm pack writes only files)`,
    );
  }
  const pathIssue = pathProblem(entry.path, type === 'Directory');
  if (pathIssue) note(pathIssue);
  if (((entry.mode ?? 0) & SPECIAL_BITS) !== 0)
    note(`setuid, setgid or sticky bit in mode ${(entry.mode ?? 0).toString(8)}`);
  const global = entry.globalExtended as Record<string, unknown> | undefined;
  for (const key of PAX_PLACEMENT)
    if (global && global[key] !== undefined)
      note(`a global pax header sets "${key}" (tar readers disagree on whether it applies)`);
  const ex = entry.extended as Record<string, unknown> | undefined;
  if (ex) {
    // The header as written, without the extended header applied.
    const plain = new Header(block);
    if (ex.size !== undefined && Number(ex.size) !== plain.size)
      note(`a pax header gives size ${String(ex.size)} but the tar header says ${String(plain.size)}`);
    // node-tar puts a ustar prefix in front of a pax or GNU long path; other readers take the long path alone.
    if (ex.path !== undefined && block.subarray(257, 263).toString('latin1') === 'ustar\0' && block[345] !== 0) {
      note('a long path (pax or GNU) together with a ustar prefix (tar readers join them differently)');
    }
  }
}

/** A file as the scanner and the diff read it: `data` is empty for a file over their size limit (`whole` false). */
export type PackageFile = TarFile & { data: Buffer; whole: boolean };

/**
 * Every file npm would install, by path, with the bytes of those up to maxKept bytes (the rest are hashed only, so a
 * tarball of huge files does not fill memory twice), and the problems that could hide content from some reader, as
 * sentences: what the scanner and the version diff read.
 */
export function readPackageFiles(
  tgz: Buffer,
  maxKept = Infinity,
): { files: Map<string, PackageFile>; problems: string[] } {
  const contents = readTarball(tgz, { keep: (_path, size) => size <= maxKept });
  return {
    files: new Map(
      contents.files.map((f) => [f.path, { ...f, data: f.data ?? Buffer.alloc(0), whole: f.data !== null }]),
    ),
    problems: contents.problems.filter((p) => !p.unusual).map(describeProblem),
  };
}
