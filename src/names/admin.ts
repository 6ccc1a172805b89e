// Administrators' decisions about names: allowing a name the typosquatting check refused, and reserving name patterns
// for an organisation. Each change records its event in the same transaction.
import type { Kysely } from 'kysely';
import { fail, notFound } from '../errors.ts';
import { EventKind, recordEvent } from '../store/events.ts';
import type { Database } from '../store/schema.ts';
import { nameProblem } from './syntax.ts';
import { reservationProblem } from './reservations.ts';
import { trxWithNames, withNames } from './tables.ts';

export async function allowName(
  db: Kysely<Database>,
  name: string,
  actorId: number | null,
  reason: string,
  now: number,
): Promise<void> {
  const problem = nameProblem(name);
  if (problem) throw fail('E_NAME_INVALID', problem);
  if (!reason.trim()) throw fail('E_USAGE', 'a reason is required: it is recorded with the decision');
  await db.transaction().execute(async (trx) => {
    await trxWithNames(trx)
      .insertInto('name_allows')
      .values({ name, allowed_by: actorId, reason: reason.trim().slice(0, 500), created_at: now })
      .onConflict((oc) =>
        oc.column('name').doUpdateSet({ allowed_by: actorId, reason: reason.trim().slice(0, 500), created_at: now }),
      )
      .execute();
    await recordEvent(
      trx,
      { kind: EventKind.NameAllowed, subject: name, actorId, data: { reason: reason.trim().slice(0, 500) } },
      now,
    );
  });
}

export async function listAllowed(
  db: Kysely<Database>,
): Promise<Array<{ name: string; reason: string; created_at: number }>> {
  return withNames(db).selectFrom('name_allows').select(['name', 'reason', 'created_at']).orderBy('name').execute();
}

export async function reserve(
  db: Kysely<Database>,
  pattern: string,
  org: string,
  actorId: number | null,
  now: number,
): Promise<void> {
  const problem = reservationProblem(pattern);
  if (problem) throw fail('E_NAME_INVALID', problem);
  const exists = await db.selectFrom('orgs').select('name').where('name', '=', org).executeTakeFirst();
  if (!exists)
    throw notFound(`no organisation named ${org}: create it first (bulwark org create @${org} --owner USER)`);
  await db.transaction().execute(async (trx) => {
    await trxWithNames(trx)
      .insertInto('name_reservations')
      .values({ pattern, org, created_by: actorId, created_at: now })
      .onConflict((oc) => oc.column('pattern').doUpdateSet({ org, created_by: actorId, created_at: now }))
      .execute();
    await recordEvent(trx, { kind: EventKind.NameReserved, subject: pattern, actorId, data: { org } }, now);
  });
}

export async function unreserve(
  db: Kysely<Database>,
  pattern: string,
  actorId: number | null,
  now: number,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const res = await trxWithNames(trx)
      .deleteFrom('name_reservations')
      .where('pattern', '=', pattern)
      .executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw notFound(`no reservation "${pattern}"`);
    await recordEvent(trx, { kind: EventKind.NameReservationRemoved, subject: pattern, actorId }, now);
  });
}

export async function listReservations(
  db: Kysely<Database>,
): Promise<Array<{ pattern: string; org: string; created_at: number }>> {
  return withNames(db)
    .selectFrom('name_reservations')
    .select(['pattern', 'org', 'created_at'])
    .orderBy('pattern')
    .execute();
}
