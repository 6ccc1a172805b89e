// The sequencer: the only writer of the transparency log. It reads the domain-event stream through its durable cursor,
// turns each public package event into log entries, adds them to the tree, and signs a new checkpoint, all in one
// transaction per batch: the entries, the new node hashes, the checkpoint and the cursor commit together or not at
// all, so a process killed mid-batch leaves nothing half-logged, and the next run picks up from the same event.
//
// Exactly one sequencer writes at a time, whatever the number of nodes: on PostgreSQL each batch runs under a
// transaction-scoped advisory lock (a node that cannot take it skips its turn), and the cursor moves only if it still
// holds the position the batch started from. SQLite has a single writer by construction.
//
// Why not store/events.ts's Consumer: a batch must be integrated as a whole (one tree update, one checkpoint), and on
// PostgreSQL event sequence numbers are handed out before commit, so a later number can become visible before an
// earlier one; a cursor that moved past the gap would skip the late event for ever. eventHorizon() closes that gap.
import { randomBytes } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Dialect } from '../../store/db.ts';
import { eventHorizon, eventsAfter } from '../../store/events.ts';
import type { Database } from '../../store/schema.ts';
import { encodeRecord, recordsForEvent, sealedLeaf, userIdentity } from './leaf.ts';
import { EMPTY_ROOT, foldRange, hashChildren, hashLeaf, rangeNodes, type Hash } from './merkle.ts';
import { formatCheckpoint, signNote } from './note.ts';
import { WitnessSubmitter, type WitnessFetch } from './witness-client.ts';
import {
  LOG_CURSOR,
  dbHashSource,
  latestCheckpoint,
  loadLogKey,
  logDb,
  treeSize,
  type LogDb,
  type LogKey,
  type LogLeavesTable,
  type LogNodesTable,
  type LogTables,
} from './store.ts';

export type SequencerOptions = {
  db: Kysely<Database>;
  dialect: Dialect;
  key: LogKey;
  clock?: () => number;
  /** events per transaction. */
  batch?: number;
};

export type RunResult = { events: number; entries: number; size: number };

const INSERT_CHUNK = 400;

type LogTrx = Transaction<Database & LogTables>;

async function insertLeaves(trx: LogTrx, rows: LogLeavesTable[]): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_CHUNK)
    await trx
      .insertInto('log_leaves')
      .values(rows.slice(i, i + INSERT_CHUNK))
      .execute();
}

async function insertNodes(trx: LogTrx, rows: LogNodesTable[]): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_CHUNK)
    await trx
      .insertInto('log_nodes')
      .values(rows.slice(i, i + INSERT_CHUNK))
      .execute();
}

export class Sequencer {
  readonly #events: Kysely<Database>;
  readonly #db: LogDb;
  readonly #dialect: Dialect;
  readonly #key: LogKey;
  readonly #clock: () => number;
  readonly #batch: number;

  constructor(opts: SequencerOptions) {
    this.#events = opts.db;
    this.#db = logDb(opts.db);
    this.#dialect = opts.dialect;
    this.#key = opts.key;
    this.#clock = opts.clock ?? Date.now;
    // Small enough that a batch holds SQLite's one connection for tens of milliseconds, not seconds.
    this.#batch = opts.batch ?? 500;
  }

  get key(): LogKey {
    return this.#key;
  }

  /** Signs the empty tree once, so a new registry serves a checkpoint before its first event. */
  async #ensureFirstCheckpoint(): Promise<void> {
    if (await latestCheckpoint(this.#db)) return;
    const note = this.#sign(0, EMPTY_ROOT);
    await this.#db
      .insertInto('log_checkpoints')
      .values({ size: 0, root: EMPTY_ROOT.toString('hex'), note, created_at: this.#clock() })
      .onConflict((oc) => oc.column('size').doNothing())
      .execute();
  }

  #sign(size: number, root: Hash): string {
    return signNote(formatCheckpoint({ origin: this.#key.origin, size, root }), [this.#key.signer]);
  }

  /** Integrates everything pending, batch by batch. Returns what this call added (zero when another node holds the lock). */
  async runOnce(): Promise<RunResult> {
    await this.#ensureFirstCheckpoint();
    await this.#db
      .insertInto('consumer_cursors')
      .values({ name: LOG_CURSOR, position: 0, lease_owner: null, lease_until: 0 })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const total: RunResult = { events: 0, entries: 0, size: 0 };
    for (;;) {
      const cursor = await this.#db
        .selectFrom('consumer_cursors')
        .select('position')
        .where('name', '=', LOG_CURSOR)
        .executeTakeFirstOrThrow();
      const pending = await this.#db
        .selectFrom('events')
        .select('seq')
        .where('seq', '>', cursor.position)
        .limit(1)
        .executeTakeFirst();
      if (!pending) break;
      const barrier = await eventHorizon(this.#events);
      const r = await this.#db.transaction().execute((trx) => this.#integrate(trx, barrier));
      if (!r) break;
      total.events += r.events;
      total.entries += r.entries;
      total.size = r.size;
      if (r.events < this.#batch) break;
    }
    return total;
  }

  async #integrate(trx: LogTrx, barrier: number): Promise<RunResult | null> {
    if (this.#dialect === 'postgres') {
      // Advisory locks are database-wide: the key includes the schema so registries sharing a database don't contend.
      const { rows } = await sql<{
        ok: boolean;
      }>`select pg_try_advisory_xact_lock(hashtext(current_schema() || ':bulwark-transparency-log')) as ok`.execute(
        trx,
      );
      if (!rows[0]?.ok) return null;
    }
    const cursor = await trx
      .selectFrom('consumer_cursors')
      .select('position')
      .where('name', '=', LOG_CURSOR)
      .executeTakeFirstOrThrow();
    const events = await eventsAfter<Database & LogTables>(trx, cursor.position, this.#batch, barrier);
    if (events.length === 0) return null;

    const actorIds = [...new Set(events.map((e) => e.actor_id).filter((id): id is number => id !== null))].map(Number);
    const actors = new Map<number, string>();
    if (actorIds.length)
      for (const u of await trx.selectFrom('users').select(['id', 'name']).where('id', 'in', actorIds).execute())
        actors.set(Number(u.id), u.name);
    const names = [...new Set(events.filter((e) => e.kind.startsWith('package.')).map((e) => e.subject))];
    const access = new Map<string, string>();
    if (names.length)
      for (const p of await trx.selectFrom('packages').select(['name', 'access']).where('name', 'in', names).execute())
        access.set(p.name, p.access);

    const start = await treeSize(trx);
    let size = start;
    // The right edge of the tree: exactly the complete subtrees whose fold is the current root. Appending only ever
    // combines a new node with one of these.
    const nodes = new Map<string, Hash>();
    if (start > 0) {
      const edge = rangeNodes(0, start);
      const hashes = await dbHashSource(trx)(edge);
      edge.forEach((id, i) => nodes.set(`${id.level}/${id.index}`, hashes[i]!));
    }
    const leafRows: LogLeavesTable[] = [];
    const nodeRows: LogNodesTable[] = [];
    const put = (level: number, index: number, hash: Hash) => {
      nodes.set(`${level}/${index}`, hash);
      nodeRows.push({ level, idx: index, hash: hash.toString('hex') });
    };

    for (const e of events) {
      const actor = e.actor_id === null ? null : actors.get(Number(e.actor_id));
      const records = recordsForEvent({
        kind: e.kind,
        subject: e.subject,
        data: JSON.parse(e.data) as Record<string, unknown>,
        createdAt: Number(e.created_at),
        actor: actor ? userIdentity(actor) : null,
      });
      records.forEach((record, part) => {
        const recordBytes = encodeRecord(record);
        // Only a package known to be public is logged in the clear: restricted, or gone by the time it is logged. A
        // proxied version is public by where it came from (the proxy fetches anonymously) and has no package row here.
        const sealed = record.type !== 'version-proxied' && access.get(record.name) !== 'public';
        const salt = sealed ? randomBytes(32) : null;
        const leaf = salt ? sealedLeaf(salt, recordBytes) : recordBytes;
        const leafHash = hashLeaf(leaf);
        const index = size++;
        leafRows.push({
          idx: index,
          event_seq: Number(e.seq),
          part,
          package: record.name,
          type: record.type,
          version: 'version' in record ? record.version : null,
          leaf: leaf.toString('utf8'),
          leaf_hash: leafHash.toString('hex'),
          record: recordBytes.toString('utf8'),
          salt: salt ? salt.toString('hex') : null,
        });
        put(0, index, leafHash);
        let level = 0;
        let at = index;
        let hash = leafHash;
        while (at % 2 === 1) {
          const left = nodes.get(`${level}/${at - 1}`);
          if (!left) throw new Error(`log node ${level}/${at - 1} is missing from the right edge`);
          hash = hashChildren(left, hash);
          level++;
          at = (at - 1) / 2;
          put(level, at, hash);
        }
      });
    }

    await insertLeaves(trx, leafRows);
    await insertNodes(trx, nodeRows);
    if (size > start) {
      const root = foldRange(rangeNodes(0, size).map((id) => nodes.get(`${id.level}/${id.index}`)!));
      await trx
        .insertInto('log_checkpoints')
        .values({ size, root: root.toString('hex'), note: this.#sign(size, root), created_at: this.#clock() })
        .execute();
    }
    const moved = await trx
      .updateTable('consumer_cursors')
      .set({ position: Number(events.at(-1)!.seq) })
      .where('name', '=', LOG_CURSOR)
      .where('position', '=', cursor.position)
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1)
      throw new Error('the log cursor moved under this batch; it will be retried');
    return { events: events.length, entries: leafRows.length, size };
  }
}

export type SequencerService = { sequencer: Promise<Sequencer>; runOnce(): Promise<RunResult>; stop(): Promise<void> };

/**
 * Runs the sequencer every intervalMs (new events reach a signed checkpoint within about that long). The key is loaded,
 * or generated on the very first start, before the first run.
 */
export function startSequencer(
  deps: {
    db: Kysely<Database>;
    dialect: Dialect;
    secretKey: Buffer;
    origin: () => string;
    logger: Logger;
    clock?: () => number;
    witnessFetch?: WitnessFetch;
  },
  intervalMs = 250,
): SequencerService {
  const clock = deps.clock ?? Date.now;
  const sequencer = loadLogKey(logDb(deps.db), deps.secretKey, deps.origin(), clock).then(
    (key) => new Sequencer({ db: deps.db, dialect: deps.dialect, key, clock }),
  );
  // Keep an unhandled rejection from crashing the process; the failure is logged on each tick.
  sequencer.catch(() => {});
  const witnesses = new WitnessSubmitter({
    db: deps.db,
    logger: deps.logger,
    ...(deps.witnessFetch ? { fetch: deps.witnessFetch } : {}),
  });
  const runOnce = async () => {
    const r = await (await sequencer).runOnce();
    // Witnesses are asked after the checkpoint is committed: cosigning never delays or blocks the log itself.
    await witnesses.runOnce();
    return r;
  };
  let running: Promise<unknown> | null = null;
  let stopped = false;
  // After a failure, wait longer before each retry (up to 30 s) so a persistent fault is logged, not flooded.
  let delay = 0;
  let retryAt = 0;
  const tick = () => {
    if (stopped || Date.now() < retryAt) return;
    running ??= runOnce()
      .then(() => (delay = 0))
      .catch((err: unknown) => {
        delay = Math.min(Math.max(delay * 2, 500), 30_000);
        retryAt = Date.now() + delay;
        deps.logger.error({ err, retryInMs: delay }, 'transparency log: integrating events failed; will retry');
      })
      .finally(() => (running = null));
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  tick();
  return {
    sequencer,
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
