// The log's side of c2sp.org/tlog-witness: the witnesses an operator configured, and the submission of each new
// checkpoint with its consistency proof. Cosignatures that verify are added to the stored checkpoint, so
// GET /-/log/checkpoint serves the cosigned note. Runs outside any database transaction (it waits on the network),
// and is safe to run on several nodes at once: a witness answers 409 to a stale "old" size and the next try uses its size.
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../../store/schema.ts';
import { consistencyProof } from './merkle.ts';
import { NoteError, openNote, parseNote } from './note.ts';
import { dbHashSource, latestCheckpoint, logDb, type LogDb } from './store.ts';
import { formatAddCheckpoint, parseCosignerKey } from './witness.ts';

export type WitnessFetch = (
  url: string,
  init: { method: string; body: string; headers: Record<string, string>; signal?: AbortSignal },
) => Promise<{ status: number; text(): Promise<string> }>;

export async function addWitness(
  db: Kysely<Database>,
  w: { url: string; vkey: string },
  clock: () => number = Date.now,
): Promise<{ name: string }> {
  const v = parseCosignerKey(w.vkey);
  const url = new URL(w.url).href.replace(/\/+$/, '');
  await logDb(db)
    .insertInto('log_witnesses')
    .values({ name: v.name, url, vkey: w.vkey, cosigned_size: 0, created_at: clock() })
    .onConflict((oc) => oc.column('name').doUpdateSet({ url, vkey: w.vkey }))
    .execute();
  return { name: v.name };
}

export async function removeWitness(db: Kysely<Database>, name: string): Promise<boolean> {
  const r = await logDb(db).deleteFrom('log_witnesses').where('name', '=', name).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function listWitnesses(
  db: Kysely<Database>,
): Promise<{ name: string; url: string; vkey: string; cosignedSize: number }[]> {
  const rows = await logDb(db).selectFrom('log_witnesses').selectAll().orderBy('name').execute();
  return rows.map((r) => ({ name: r.name, url: r.url, vkey: r.vkey, cosignedSize: Number(r.cosigned_size) }));
}

/** True when the note already carries a cosignature line by this witness key. */
function hasCosignature(note: string, name: string, id: number): boolean {
  return parseNote(note).signatures.some((s) => s.name === name && s.id === id);
}

export class WitnessSubmitter {
  readonly #db: LogDb;
  readonly #fetch: WitnessFetch;
  readonly #logger: Pick<Logger, 'warn'>;
  readonly #timeoutMs: number;
  readonly #clock: () => number;
  /** Witnesses that failed wait before the next try, doubling up to a minute, so a refusal is not retried 4 times a second. */
  readonly #backoff = new Map<string, { until: number; delay: number }>();
  constructor(opts: {
    db: Kysely<Database>;
    fetch?: WitnessFetch;
    logger: Pick<Logger, 'warn'>;
    timeoutMs?: number;
    clock?: () => number;
  }) {
    this.#clock = opts.clock ?? Date.now;
    this.#db = logDb(opts.db);
    this.#fetch = opts.fetch ?? fetch;
    this.#logger = opts.logger;
    this.#timeoutMs = opts.timeoutMs ?? 5000;
  }

  /** Submits the latest checkpoint to every witness that has not cosigned it yet. Returns how many cosigned now. */
  async runOnce(): Promise<number> {
    const witnesses = await this.#db.selectFrom('log_witnesses').selectAll().orderBy('name').execute();
    if (witnesses.length === 0) return 0;
    const cp = await latestCheckpoint(this.#db);
    if (!cp) return 0;
    const size = Number(cp.size);
    let note = cp.note;
    let cosigned = 0;
    for (const w of witnesses) {
      const v = parseCosignerKey(w.vkey);
      if (hasCosignature(note, v.name, v.id)) continue;
      const wait = this.#backoff.get(w.name);
      if (wait && wait.until > this.#clock()) continue;
      const ok = await this.#submit(w, v, size, note);
      if (ok === null) {
        const delay = Math.min((wait?.delay ?? 500) * 2, 60_000);
        this.#backoff.set(w.name, { until: this.#clock() + delay, delay });
        continue;
      }
      this.#backoff.delete(w.name);
      note = ok;
      cosigned++;
    }
    return cosigned;
  }

  /** One witness: the note with its cosignature added, or null when it did not cosign (already logged why). */
  async #submit(
    w: { name: string; url: string; cosigned_size: number },
    v: ReturnType<typeof parseCosignerKey>,
    size: number,
    note: string,
  ): Promise<string | null> {
    let old = Number(w.cosigned_size);
    for (let attempt = 0; attempt < 2; attempt++) {
      if (old > size) {
        this.#logger.warn(
          { witness: w.name, witnessSize: old, size },
          'transparency log: a witness has cosigned a larger tree than this log has',
        );
        return null;
      }
      const proof = old > 0 && old < size ? await consistencyProof(old, size, dbHashSource(this.#db)) : [];
      let res;
      try {
        res = await this.#fetch(`${w.url}/add-checkpoint`, {
          method: 'POST',
          body: formatAddCheckpoint(old, proof, note),
          headers: { 'content-type': 'text/plain; charset=utf-8' },
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
      } catch (err) {
        this.#logger.warn({ witness: w.name, err }, 'transparency log: a witness could not be reached; will retry');
        return null;
      }
      const text = await res.text();
      if (res.status === 409 && /^(0|[1-9][0-9]*)\n$/.test(text)) {
        old = Number(text.trim());
        await this.#db.updateTable('log_witnesses').set({ cosigned_size: old }).where('name', '=', w.name).execute();
        continue;
      }
      if (res.status !== 200) {
        this.#logger.warn(
          { witness: w.name, status: res.status, body: text.slice(0, 200) },
          'transparency log: a witness refused the checkpoint',
        );
        return null;
      }
      // Keep only this witness's lines, and only if they verify: a witness's answer is not trusted either.
      const lines = text.split('\n').filter((l) => l.startsWith(`— ${v.name} `));
      const combined = note + lines.map((l) => `${l}\n`).join('');
      try {
        const opened = openNote(combined, [v]);
        if (!opened.verified.length) throw new NoteError('no cosignature by the witness key');
      } catch (err) {
        this.#logger.warn(
          { witness: w.name, err },
          'transparency log: a witness answered with a cosignature that does not verify',
        );
        return null;
      }
      // Conditional on the note being unchanged, so two nodes adding cosignatures never drop each other's.
      const updated = await this.#db
        .updateTable('log_checkpoints')
        .set({ note: combined })
        .where('size', '=', size)
        .where('note', '=', note)
        .executeTakeFirst();
      await this.#db.updateTable('log_witnesses').set({ cosigned_size: size }).where('name', '=', w.name).execute();
      return Number(updated.numUpdatedRows) === 1 ? combined : note;
    }
    return null;
  }
}
