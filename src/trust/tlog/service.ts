// Reads of the transparency log for the HTTP layer: the latest checkpoint, tiles and entry bundles, proofs, and the
// changes feed. Who may see what is decided by the caller (http/log-proof-routes.ts and changes-routes.ts, through the gate); this module returns
// data and says which entries are sealed so the caller can withhold their openings.
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.ts';
import {
  consistencyProof,
  foldRange,
  inclusionPlan,
  inclusionProof,
  type Hash,
  type HashSource,
  type NodeId,
} from './merkle.ts';
import { ed25519Verifier, encodeVerifierKey } from './note.ts';
import { dbHashSource, latestCheckpoint, logDb, type LogDb } from './store.ts';
import { encodeBundle, tileNodes, tileWidthAt, type TileRef, TILE_WIDTH } from './tiles.ts';

export type LogEntry = {
  index: number;
  eventSeq: number;
  package: string;
  type: string;
  version: string | null;
  leaf: string;
  record: string;
  salt: string | null;
};

/** Nodes at or above this level (subtrees of 256+ leaves) are few and shared by most proofs: worth keeping in memory. */
const CACHED_LEVEL = 8;
const CACHE_LIMIT = 200_000;
// The records that say which bytes a version is: published here, or served from an upstream (a name is one or the other).
const VERSION_TYPES = ['version-published', 'version-proxied'];

export class LogReader {
  readonly #db: LogDb;
  readonly #source: HashSource;
  readonly #upper = new Map<string, Hash>();
  constructor(db: Kysely<Database>) {
    this.#db = logDb(db);
    const stored = dbHashSource(this.#db);
    // A stored node hash never changes (the tree only grows), so the upper levels can be remembered for good.
    this.#source = async (ids) => {
      const missing = ids.filter((id) => id.level < CACHED_LEVEL || !this.#upper.has(`${id.level}/${id.index}`));
      const fetched = missing.length ? await stored(missing) : [];
      const got = new Map(missing.map((id, i) => [`${id.level}/${id.index}`, fetched[i]!]));
      if (this.#upper.size > CACHE_LIMIT) this.#upper.clear();
      for (const id of missing)
        if (id.level >= CACHED_LEVEL) this.#upper.set(`${id.level}/${id.index}`, got.get(`${id.level}/${id.index}`)!);
      return ids.map((id) => got.get(`${id.level}/${id.index}`) ?? this.#upper.get(`${id.level}/${id.index}`)!);
    };
  }

  async checkpoint(): Promise<{ size: number; root: Buffer; note: string } | null> {
    const cp = await latestCheckpoint(this.#db);
    return cp ? { size: Number(cp.size), root: Buffer.from(cp.root, 'hex'), note: cp.note } : null;
  }

  /** The verifier key of the log (c2sp.org/signed-note vkey), or null before the first start. */
  async verifierKey(): Promise<string | null> {
    const row = await this.#db
      .selectFrom('log_keys')
      .select(['origin', 'public_key'])
      .where('id', '=', 'log')
      .executeTakeFirst();
    if (!row) return null;
    return encodeVerifierKey(ed25519Verifier(row.origin, Buffer.from(row.public_key, 'base64')));
  }

  /** A tile's bytes, or null when the signed tree does not (yet) hold that tile at that width. */
  async tile(ref: TileRef): Promise<Buffer | null> {
    const cp = await this.checkpoint();
    if (!cp) return null;
    const level = ref.kind === 'hashes' ? ref.level : 0;
    const available = tileWidthAt(level, ref.index, cp.size);
    const width = ref.width ?? TILE_WIDTH;
    // A full tile only once it is full; a partial one of any width the signed tree already covers (its hashes never change).
    if (available === 0 || width > available || (ref.width === null && available < TILE_WIDTH)) return null;
    if (ref.kind === 'entries') {
      const start = ref.index * TILE_WIDTH;
      const rows = await this.#db
        .selectFrom('log_leaves')
        .select('leaf')
        .where('idx', '>=', start)
        .where('idx', '<', start + width)
        .orderBy('idx')
        .execute();
      if (rows.length !== width) return null;
      return encodeBundle(rows.map((r) => Buffer.from(r.leaf, 'utf8')));
    }
    const ids = tileNodes(ref.level, ref.index, width);
    const hashes = await this.#source(ids);
    return Buffer.concat(hashes);
  }

  /** The entry of name@version (published here, or served from an upstream), if it was logged. */
  async versionEntry(name: string, version: string): Promise<LogEntry | null> {
    const row = await this.#db
      .selectFrom('log_leaves')
      .selectAll()
      .where('package', '=', name)
      .where('version', '=', version)
      .where('type', 'in', VERSION_TYPES)
      .orderBy('idx')
      .limit(1)
      .executeTakeFirst();
    return row ? toEntry(row) : null;
  }

  /** A package's entries, newest first. */
  async packageEntries(name: string, limit: number): Promise<LogEntry[]> {
    const rows = await this.#db
      .selectFrom('log_leaves')
      .selectAll()
      .where('package', '=', name)
      .orderBy('idx', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toEntry);
  }

  /** The version entries of many name@version pairs at once (a lockfile's worth). */
  async versionEntries(pairs: readonly { name: string; version: string }[]): Promise<Map<string, LogEntry>> {
    const wanted = new Set(pairs.map((p) => `${p.name}@${p.version}`));
    const names = [...new Set(pairs.map((p) => p.name))];
    const found = new Map<string, LogEntry>();
    for (let i = 0; i < names.length; i += 200) {
      const rows = await this.#db
        .selectFrom('log_leaves')
        .selectAll()
        .where('type', 'in', VERSION_TYPES)
        .where('package', 'in', names.slice(i, i + 200))
        .orderBy('idx')
        .execute();
      for (const r of rows) {
        const key = `${r.package}@${r.version}`;
        if (wanted.has(key) && !found.has(key)) found.set(key, toEntry(r));
      }
    }
    return found;
  }

  /** Inclusion proofs of many entries in one tree, fetching each node hash once however many proofs share it. */
  async inclusionProofs(indexes: readonly number[], size: number): Promise<Hash[][]> {
    const plans = indexes.map((i) => inclusionPlan(i, size));
    const ids = new Map<string, NodeId>();
    for (const id of plans.flat(2)) ids.set(`${id.level}/${id.index}`, id);
    const list = [...ids.values()];
    const hashes = await this.#source(list);
    const byId = new Map(list.map((id, i) => [`${id.level}/${id.index}`, hashes[i]!]));
    return plans.map((plan) => plan.map((range) => foldRange(range.map((id) => byId.get(`${id.level}/${id.index}`)!))));
  }

  inclusionProof(index: number, size: number): Promise<Hash[]> {
    return inclusionProof(index, size, this.#source);
  }

  consistencyProof(from: number, to: number): Promise<Hash[]> {
    return consistencyProof(from, to, this.#source);
  }

  /**
   * Entries of events after `since`, whole events only (an event's entries are never split between pages), up to the
   * signed tree size so every index returned already has a proof.
   */
  async changes(since: number, limit: number, size: number): Promise<LogEntry[]> {
    const rows = await this.#db
      .selectFrom('log_leaves')
      .selectAll()
      .where('event_seq', '>', since)
      .where('idx', '<', size)
      .orderBy('idx')
      .limit(limit + 1)
      .execute();
    let page = rows;
    if (rows.length > limit) {
      const cut = rows[limit]!.event_seq;
      page = rows.slice(0, limit).filter((r) => r.event_seq !== cut);
      if (page.length === 0) page = rows.filter((r) => r.event_seq === cut);
    }
    return page.map(toEntry);
  }
}

function toEntry(r: {
  idx: number;
  event_seq: number;
  package: string;
  type: string;
  version: string | null;
  leaf: string;
  record: string;
  salt: string | null;
}): LogEntry {
  return {
    index: Number(r.idx),
    eventSeq: Number(r.event_seq),
    package: r.package,
    type: r.type,
    version: r.version,
    leaf: r.leaf,
    record: r.record,
    salt: r.salt,
  };
}
