// The hot read path: each package's packuments are serialized once per change and kept as bytes (plain, and gzip or
// brotli on first request for that encoding) with strong ETags, in a byte-bounded LRU. Local writes invalidate at
// once; other nodes' writes arrive through the event stream (see watchEvents in service.ts).
import { createHash } from 'node:crypto';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

export type Encoding = 'identity' | 'gzip' | 'br';

/**
 * A buffer that owns exactly its bytes. Small Buffers from Buffer.from() are slices of a shared 8 KiB pool, and
 * zlib's sync output is a slice of a 16 KiB (or larger) chunk: kept in a cache, such a slice pins the whole block,
 * several times its own size.
 */
export function ownBytes(bytes: Buffer | string): Buffer {
  if (typeof bytes === 'string') {
    const out = Buffer.allocUnsafeSlow(Buffer.byteLength(bytes));
    out.write(bytes);
    return out;
  }
  if (bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length) return bytes;
  const out = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(out);
  return out;
}

/**
 * An ETag as one flat string. A quoted slice is a string of pieces, and node:http, which checks every header value
 * with a regular expression, would have V8 join the pieces again on every response.
 */
export function quotedTag(tag: string): string {
  return Buffer.from(`"${tag}"`, 'latin1').toString('latin1');
}

export class Representation {
  readonly body: Buffer;
  readonly #etags: Record<Encoding, string>;
  readonly #grew: (bytes: number) => void;
  #gzip: Buffer | undefined;
  #br: Buffer | undefined;
  /** `grew` is told how many bytes a compressed form added, so the cache holding this stays within its budget. */
  constructor(body: Buffer | string, grew: (bytes: number) => void = () => {}) {
    this.body = ownBytes(body);
    this.#grew = grew;
    const tag = createHash('sha256').update(this.body).digest('base64url').slice(0, 27);
    // A strong ETag per encoding: the compressed bytes differ from the plain ones.
    this.#etags = { identity: quotedTag(tag), gzip: quotedTag(`${tag}-gzip`), br: quotedTag(`${tag}-br`) };
  }
  etag(enc: Encoding): string {
    return this.#etags[enc];
  }
  bytes(enc: Encoding): Buffer {
    if (enc === 'gzip') return (this.#gzip ??= this.#keep(gzipSync(this.body, { level: 6 })));
    if (enc === 'br')
      return (this.#br ??= this.#keep(
        brotliCompressSync(this.body, {
          params: { [constants.BROTLI_PARAM_QUALITY]: 6, [constants.BROTLI_PARAM_SIZE_HINT]: this.body.length },
        }),
      ));
    return this.body;
  }
  #keep(compressed: Buffer): Buffer {
    const own = ownBytes(compressed);
    this.#grew(own.length);
    return own;
  }
  get size(): number {
    return this.body.length + (this.#gzip?.length ?? 0) + (this.#br?.length ?? 0);
  }
}

// Clients send the same few Accept-Encoding values over and over ("gzip, deflate, br", "gzip,deflate"): parse each
// once. Bounded, because the header is client-chosen.
const preferences = new Map<string, Encoding>();

/** Picks the encoding to send: brotli, then gzip, when the client accepts it and the body is worth compressing. */
export function negotiateEncoding(acceptEncoding: string | undefined, size: number): Encoding {
  if (!acceptEncoding || size < 1024) return 'identity';
  let pref = preferences.get(acceptEncoding);
  if (pref === undefined) {
    pref = preferredEncoding(acceptEncoding);
    if (preferences.size >= 256) preferences.clear();
    preferences.set(acceptEncoding, pref);
  }
  return pref;
}

function preferredEncoding(acceptEncoding: string): Encoding {
  const accepted = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [token, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)).find(Boolean);
    accepted.set(token!, q ? Number(q[1]) : 1);
  }
  const ok = (e: string) => (accepted.get(e) ?? accepted.get('*') ?? 0) > 0;
  if (ok('br')) return 'br';
  if (ok('gzip')) return 'gzip';
  return 'identity';
}

/** True when an If-None-Match header names this ETag (weak comparison, as RFC 9110 asks for GET). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch === etag) return true;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

type Sized = { size: number };

/**
 * A map bounded by total size (as reported when an entry is stored, plus what grow() adds) that evicts what was not
 * used recently; concurrent misses for one key share a single load. Recency is a second-chance bit rather than
 * moving the entry to the end of the map: a hit then changes no map structure (a delete and re-insert per hit was a
 * few percent of a cached read), and eviction skips, once, each entry used since it was last passed.
 */
export class LruCache<V extends Sized> {
  readonly #max: number;
  readonly #maxItem: number;
  readonly #map = new Map<string, { value: V; size: number; used: boolean }>();
  readonly #loading = new Map<string, Promise<V>>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;
  /** Values larger than maxItemBytes are returned to their callers but not kept. */
  constructor(maxBytes: number, maxItemBytes = maxBytes) {
    this.#max = maxBytes;
    this.#maxItem = Math.min(maxBytes, maxItemBytes);
  }

  /** The cached value, made most recently used, or undefined. Synchronous, for the hot path. */
  peek(key: string): V | undefined {
    const hit = this.#map.get(key);
    if (!hit) return undefined;
    hit.used = true;
    this.#hits++;
    return hit.value;
  }

  async get(key: string, load: (key: string) => Promise<V>): Promise<V> {
    const hit = this.peek(key);
    if (hit) return hit;
    this.#misses++;
    const pending = this.#loading.get(key);
    if (pending) return pending;
    const promise = load(key);
    this.#loading.set(key, promise);
    // Still ours means no invalidation happened during the load, so the value is current and may be kept; a stale
    // value is still returned once to the requests that were already waiting for it.
    const settle = (): boolean => {
      const current = this.#loading.get(key) === promise;
      if (current) this.#loading.delete(key);
      return current;
    };
    let value: V;
    try {
      value = await promise;
    } catch (err) {
      settle();
      throw err;
    }
    if (settle()) this.#store(key, value);
    return value;
  }

  #store(key: string, value: V): void {
    if (value.size > this.#maxItem) return;
    this.#map.set(key, { value, size: value.size, used: false });
    this.#bytes += value.size;
    this.#evict();
  }

  /** Counts bytes a cached value took on after it was stored (a compressed form made on first request). */
  grow(key: string, value: V, bytes: number): void {
    const held = this.#map.get(key);
    if (held?.value !== value) return;
    held.size += bytes;
    this.#bytes += bytes;
    this.#evict();
  }

  #evict(): void {
    while (this.#bytes > this.#max) {
      const oldest = this.#map.entries().next();
      if (oldest.done) return;
      const [k, v] = oldest.value;
      this.#map.delete(k);
      if (v.used) {
        v.used = false;
        this.#map.set(k, v);
      } else {
        this.#bytes -= v.size;
      }
    }
  }

  invalidate(key: string): void {
    const old = this.#map.get(key);
    if (old) {
      this.#map.delete(key);
      this.#bytes -= old.size;
    }
    this.#loading.delete(key);
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Entries, bytes held, and lookups answered from memory or loaded since the start. */
  stats(): { entries: number; bytes: number; hits: number; misses: number } {
    return { entries: this.#map.size, bytes: this.#bytes, hits: this.#hits, misses: this.#misses };
  }
}
