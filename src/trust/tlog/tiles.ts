// c2sp.org/tlog-tiles layout, pure: tile and entry-bundle paths, which node hashes a tile holds, and bundle bytes.
// A tile at level L holds the hashes of the complete subtrees of height 8·L, 256 to a full tile.
import type { NodeId } from './merkle.ts';

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;

export type TileRef =
  | { kind: 'hashes'; level: number; index: number; width: number | null }
  | { kind: 'entries'; index: number; width: number | null };

/** 1234067 → "x001/x234/067": 3-digit groups, all but the last prefixed with x. */
export function encodeTileIndex(n: number): string {
  const digits = String(n);
  const groups: string[] = [];
  for (let end = digits.length; end > 0; end -= 3)
    groups.unshift(digits.slice(Math.max(0, end - 3), end).padStart(3, '0'));
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

export function tilePath(ref: TileRef): string {
  const base =
    ref.kind === 'entries'
      ? `tile/entries/${encodeTileIndex(ref.index)}`
      : `tile/${ref.level}/${encodeTileIndex(ref.index)}`;
  return ref.width === null ? base : `${base}.p/${ref.width}`;
}

/** Parses what follows "tile/" in a URL; null for anything the spec does not allow (leading zeros, bad groups, W ∉ 1..255). */
export function parseTilePath(rest: string): TileRef | null {
  const parts = rest.split('/');
  const head = parts.shift();
  let level: number | null;
  if (head === 'entries') level = null;
  else if (head !== undefined && /^(0|[1-9][0-9]?)$/.test(head) && Number(head) <= 63) level = Number(head);
  else return null;
  let width: number | null = null;
  if (parts.length >= 2 && parts.at(-2)!.endsWith('.p')) {
    const w = parts.pop()!;
    if (!/^[1-9][0-9]{0,2}$/.test(w) || Number(w) > 255) return null;
    width = Number(w);
    parts[parts.length - 1] = parts.at(-1)!.slice(0, -2);
  }
  if (parts.length === 0) return null;
  let digits = '';
  for (const [i, p] of parts.entries()) {
    const last = i === parts.length - 1;
    const m = last ? /^([0-9]{3})$/.exec(p) : /^x([0-9]{3})$/.exec(p);
    if (!m) return null;
    digits += m[1];
  }
  // "x000/001" would be a second spelling of 1: only the canonical encoding is a tile.
  const index = Number(digits);
  if (!Number.isSafeInteger(index) || encodeTileIndex(index) !== parts.join('/')) return null;
  return level === null ? { kind: 'entries', index, width } : { kind: 'hashes', level, index, width };
}

/** How many hashes the tile at this level has for a tree of `size` leaves: 256 when full, 0 when it does not exist. */
export function tileWidthAt(level: number, index: number, size: number): number {
  const nodesAtLevel = Math.floor(size / TILE_WIDTH ** level);
  return Math.max(0, Math.min(TILE_WIDTH, nodesAtLevel - index * TILE_WIDTH));
}

/** The node hashes a tile of the given width holds, in order. */
export function tileNodes(level: number, index: number, width: number): NodeId[] {
  return Array.from({ length: width }, (_, i) => ({ level: level * TILE_HEIGHT, index: index * TILE_WIDTH + i }));
}

/** An entry bundle: each entry as a big-endian uint16 length and its bytes. */
export function encodeBundle(entries: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.length > 0xffff) throw new RangeError('an entry in a bundle must be under 64 KiB');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(e.length, 0);
    parts.push(len, Buffer.from(e));
  }
  return Buffer.concat(parts);
}

export function decodeBundle(bytes: Uint8Array): Buffer[] {
  const b = Buffer.from(bytes);
  const out: Buffer[] = [];
  let at = 0;
  while (at < b.length) {
    if (at + 2 > b.length) throw new RangeError('truncated entry bundle');
    const len = b.readUInt16BE(at);
    if (at + 2 + len > b.length) throw new RangeError('truncated entry bundle');
    out.push(b.subarray(at + 2, at + 2 + len));
    at += 2 + len;
  }
  return out;
}
