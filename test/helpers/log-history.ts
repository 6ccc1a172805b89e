// A rewritten transparency log: what an operator (or an attacker with the database and the signing key) can do. The
// first publish event's integrity is changed and the log rebuilt from scratch, so the sequencer signs a valid-looking
// history that is inconsistent with every checkpoint seen before. Clients and witnesses must notice.
import type { Db } from '../../src/store/db.ts';
import { logDb } from '../../src/trust/tlog/store.ts';

export async function rewriteLogHistory(db: Db): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const ev = await trx
      .selectFrom('events')
      .select(['seq', 'data'])
      .where('kind', '=', 'package.version-published')
      .orderBy('seq')
      .limit(1)
      .executeTakeFirstOrThrow();
    const data = JSON.parse(ev.data) as Record<string, unknown>;
    data.integrity = `sha512-${Buffer.alloc(64, 4).toString('base64')}`;
    await trx
      .updateTable('events')
      .set({ data: JSON.stringify(data) })
      .where('seq', '=', ev.seq)
      .execute();
    const t = logDb(trx as never);
    await t.deleteFrom('log_leaves').execute();
    await t.deleteFrom('log_nodes').execute();
    await t.deleteFrom('log_checkpoints').execute();
    await trx.updateTable('consumer_cursors').set({ position: 0 }).where('name', '=', 'transparency-log').execute();
  });
}
