// The two writes every change to a package's versions or tags ends with, shared by publish (service.ts) and the
// post-publish lifecycle (lifecycle.ts) so both move tags and revisions the same way. Callers pass their transaction.
import type { Transaction } from 'kysely';
import type { Database } from '../store/schema.ts';

type Tx = Transaction<Database>;

export async function upsertTag(trx: Tx, packageId: number, tag: string, version: string): Promise<void> {
  await trx
    .insertInto('dist_tags')
    .values({ package_id: packageId, tag, version })
    .onConflict((oc) => oc.columns(['package_id', 'tag']).doUpdateSet({ version }))
    .execute();
}

/** A new revision of the package (its `_rev` and `modified`), with whatever else the change sets on its row. */
export async function touchPackage(
  trx: Tx,
  packageId: number,
  now: number,
  extra: { unpublished_at?: number | null; latest_version?: string | null } = {},
): Promise<void> {
  const row = await trx.selectFrom('packages').select('rev').where('id', '=', packageId).executeTakeFirstOrThrow();
  await trx
    .updateTable('packages')
    .set({ rev: row.rev + 1, modified_at: now, ...extra })
    .where('id', '=', packageId)
    .execute();
}
