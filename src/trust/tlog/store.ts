// The transparency log's tables (migration 0008-log) and the reads on them: node hashes as a HashSource, leaves,
// checkpoints, and the log key, generated on first start and kept sealed with the instance key.
import type { Kysely } from 'kysely';
import { open, seal } from '../../crypto/secret-key.ts';
import type { Database } from '../../store/schema.ts';
import type { Hash, HashSource, NodeId } from './merkle.ts';
import { ed25519Signer, generateSeed, type Signer } from './note.ts';

export type LogLeavesTable = {
  idx: number;
  event_seq: number;
  part: number;
  /** the package the entry is about: who may open a sealed entry, or see it in the changes feed, depends on it. */
  package: string;
  type: string;
  version: string | null;
  /** the entry as logged (UTF-8 JSON): the record itself, or its sealed commitment. */
  leaf: string;
  leaf_hash: string;
  /** the clear record; for a sealed entry it is private to the package's readers. */
  record: string;
  /** hex; set only for sealed entries. */
  salt: string | null;
};
export type LogNodesTable = { level: number; idx: number; hash: string };
export type LogCheckpointsTable = { size: number; root: string; note: string; created_at: number };
export type LogKeysTable = { id: string; origin: string; public_key: string; sealed_seed: string; created_at: number };
export type LogWitnessesTable = { name: string; url: string; vkey: string; cosigned_size: number; created_at: number };
export type LogTables = {
  log_leaves: LogLeavesTable;
  log_nodes: LogNodesTable;
  log_checkpoints: LogCheckpointsTable;
  log_keys: LogKeysTable;
  log_witnesses: LogWitnessesTable;
};
export type LogDb = Kysely<Database & LogTables>;

export const logDb = (db: Kysely<Database>): LogDb => db.withTables<LogTables>();

/** The name of the log's durable cursor in consumer_cursors. */
export const LOG_CURSOR = 'transparency-log';

/** Reads complete-subtree hashes from log_nodes, in batches small enough for any database's parameter limit. */
export function dbHashSource(db: LogDb): HashSource {
  return async (ids: readonly NodeId[]) => {
    const found = new Map<string, Hash>();
    for (let i = 0; i < ids.length; i += 200) {
      const chunk = ids.slice(i, i + 200);
      const rows = await db
        .selectFrom('log_nodes')
        .select(['level', 'idx', 'hash'])
        .where((eb) => eb.or(chunk.map((id) => eb.and([eb('level', '=', id.level), eb('idx', '=', id.index)]))))
        .execute();
      for (const r of rows) found.set(`${r.level}/${Number(r.idx)}`, Buffer.from(r.hash, 'hex'));
    }
    return ids.map((id) => {
      const h = found.get(`${id.level}/${id.index}`);
      if (!h) throw new Error(`log node ${id.level}/${id.index} is missing`);
      return h;
    });
  };
}

export async function latestCheckpoint(db: LogDb): Promise<LogCheckpointsTable | undefined> {
  return db.selectFrom('log_checkpoints').selectAll().orderBy('size', 'desc').limit(1).executeTakeFirst();
}

export async function treeSize(db: LogDb): Promise<number> {
  const row = await db
    .selectFrom('log_leaves')
    .select((eb) => eb.fn.max('idx').as('idx'))
    .executeTakeFirst();
  return row?.idx === null || row?.idx === undefined ? 0 : Number(row.idx) + 1;
}

const KEY_PURPOSE = 'transparency-log-key';

export type LogKey = { origin: string; signer: Signer };

/**
 * The log's signing key. The first node to start generates it (named after the registry's public name, which becomes
 * the log's origin for good); every node after that, and every restart, reads the same one. A log whose origin or key
 * changed would be a different log, so a later change of public URL does not rename it.
 */
export async function loadLogKey(db: LogDb, secretKey: Buffer, origin: string, clock: () => number): Promise<LogKey> {
  const read = () => db.selectFrom('log_keys').selectAll().where('id', '=', 'log').executeTakeFirst();
  let row = await read();
  if (!row) {
    const seed = generateSeed();
    const signer = ed25519Signer(origin, seed);
    await db
      .insertInto('log_keys')
      .values({
        id: 'log',
        origin,
        public_key: signer.publicKey.toString('base64'),
        sealed_seed: seal(secretKey, KEY_PURPOSE, seed),
        created_at: clock(),
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    row = await read();
    if (!row) throw new Error('the log key could not be stored');
  }
  const signer = ed25519Signer(row.origin, open(secretKey, KEY_PURPOSE, row.sealed_seed));
  if (signer.publicKey.toString('base64') !== row.public_key)
    throw new Error('the stored log key does not match its public key');
  return { origin: row.origin, signer };
}

/** The origin line for a registry at this URL: the scheme-less URL with no trailing slash (c2sp.org/tlog-tiles). */
export function originFor(publicUrl: string): string {
  const u = new URL(publicUrl);
  return `${u.host}${u.pathname}`.replace(/\/+$/, '');
}
