// A minimal zip writer for the advisories' bulk download (like OSV's <ecosystem>/all.zip): deflated entries, UTF-8
// names, no zip64. Written here rather than taken from a dependency because it is a hundred lines of a format that
// has not changed since 1993 (PKWARE APPNOTE.TXT 6.3.10, sections 4.3.7 local header, 4.3.12 central directory,
// 4.3.16 end of central directory).
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const deflateRaw = promisify(zlib.deflateRaw);

export type ZipEntry = { name: string; data: Buffer; mtime: number };

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const VERSION = 20; // 2.0: deflate
const FLAG_UTF8 = 0x0800; // general purpose bit 11: the name is UTF-8
const DEFLATE = 8;
// Without zip64 an archive holds at most 65535 entries and 4 GiB; far beyond any registry's malicious-package count.
const MAX_ENTRIES = 0xffff;
const MAX_OFFSET = 0xffffffff;

/** MS-DOS date and time (2-second resolution, from 1980), in UTC so the bytes do not depend on the server's zone. */
function dosTime(ms: number): { time: number; date: number } {
  const d = new Date(Math.max(ms, Date.UTC(1980, 0, 1)));
  return {
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
  };
}

/** The archive's bytes: the same entries always give the same bytes (no current time, fixed compression level). */
export async function zipFiles(entries: readonly ZipEntry[]): Promise<Buffer> {
  if (entries.length > MAX_ENTRIES)
    throw new Error(`a zip without zip64 holds at most ${MAX_ENTRIES} files, not ${entries.length}`);
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const compressed = await deflateRaw(entry.data, { level: 9 });
    const crc = zlib.crc32(entry.data);
    const { time, date } = dosTime(entry.mtime);
    if (offset + 30 + name.length + compressed.length > MAX_OFFSET || entry.data.length > MAX_OFFSET)
      throw new Error('the advisories archive would exceed 4 GiB, which needs zip64');

    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOCAL_HEADER, 0);
    local.writeUInt16LE(VERSION, 4);
    local.writeUInt16LE(FLAG_UTF8, 6);
    local.writeUInt16LE(DEFLATE, 8);
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28); // no extra field
    parts.push(local, name, compressed);

    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(CENTRAL_HEADER, 0);
    dir.writeUInt16LE(VERSION, 4); // made by: MS-DOS/FAT attributes, version 2.0
    dir.writeUInt16LE(VERSION, 6);
    dir.writeUInt16LE(FLAG_UTF8, 8);
    dir.writeUInt16LE(DEFLATE, 10);
    dir.writeUInt16LE(time, 12);
    dir.writeUInt16LE(date, 14);
    dir.writeUInt32LE(crc, 16);
    dir.writeUInt32LE(compressed.length, 20);
    dir.writeUInt32LE(entry.data.length, 24);
    dir.writeUInt16LE(name.length, 28);
    // extra length, comment length, disk number, internal and external attributes stay 0
    dir.writeUInt32LE(offset, 42);
    central.push(dir, name);
    offset += local.length + name.length + compressed.length;
  }
  const centralBytes = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(END_OF_CENTRAL_DIRECTORY, 0);
  end.writeUInt16LE(entries.length, 8); // entries on this disk
  end.writeUInt16LE(entries.length, 10); // entries in all
  end.writeUInt32LE(centralBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, centralBytes, end]);
}
