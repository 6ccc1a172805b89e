// The hot read path: each package's packuments are serialized once per change and kept as bytes (plain, and gzip or
// brotli on first request for that encoding) with strong ETags, in a byte-bounded LRU. Local writes invalidate at
// once; other nodes' writes arrive through the event stream (see watchEvents in service.ts).
import { createHash } from 'node:crypto';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

export type Encoding = 'identity' | 'gzip' | 'br';

export class Representation {
  readonly body: Buffer;
  readonly #etag: string;
  #gzip: Buffer | undefined;
  #br: Buffer | undefined;
  constructor(body: Buffer) {
    this.body = body;
    this.#etag = createHash('sha256').update(body).digest('base64url').slice(0, 27);
  }
  /** A strong ETag per encoding: the compressed bytes differ from the plain ones. */
  etag(enc: Encoding): string {
    return enc === 'identity' ? `"${this.#etag}"` : `"${this.#etag}-${enc}"`;
  }
  bytes(enc: Encoding): Buffer {
    if (enc === 'gzip') return (this.#gzip ??= gzipSync(this.body, { level: 6 }));
    if (enc === 'br') return (this.#br ??= brotliCompressSync(this.body, { params: { [constants.BROTLI_PARAM_QUALITY]: 6, [constants.BROTLI_PARAM_SIZE_HINT]: this.body.length } }));
    return this.body;
  }
  get size(): number {
    return this.body.length + (this.#gzip?.length ?? 0) + (this.#br?.length ?? 0);
  }
}

/** Picks the encoding to send: brotli, then gzip, when the client accepts it and the body is worth compressing. */
export function negotiateEncoding(acceptEncoding: string | undefined, size: number): Encoding {
  if (!acceptEncoding || size < 1024) return 'identity';
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
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

type Sized = { size: number };

/**
 * A least-recently-used map bounded by total size (as reported when an entry is stored); concurrent misses for one
 * key share a single load.
 */
export class LruCache<V extends Sized> {
  readonly #max: number;
  readonly #map = new Map<string, { value: V; size: number }>();
  readonly #loading = new Map<string, Promise<V>>();
  #bytes = 0;
  constructor(maxBytes: number) {
    this.#max = maxBytes;
  }

  async get(key: string, load: (key: string) => Promise<V>): Promise<V> {
    const hit = this.#map.get(key);
    if (hit) {
      this.#map.delete(key);
      this.#map.set(key, hit);
      return hit.value;
    }
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
    const size = value.size;
    this.#map.set(key, { value, size });
    this.#bytes += size;
    for (const [k, v] of this.#map) {
      if (this.#bytes <= this.#max || this.#map.size <= 1) break;
      this.#map.delete(k);
      this.#bytes -= v.size;
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
}
