// Vulnerability reports sent through the web form (GEN-1a): stored, listed to administrators, answered by them.
// Each change records its event in the same transaction; the moderation queue can consume those events later.
import type { Kysely, Selectable } from 'kysely';
import { fail, notFound } from '../errors.ts';
import { EventKind, recordEvent } from '../store/events.ts';
import type { Database } from '../store/schema.ts';
import { trxWithNames, withNames, type SecurityReportsTable } from '../names/tables.ts';

/** A report as its list shows it (who answered is in the event stream). */
export type SecurityReport = Omit<Selectable<SecurityReportsTable>, 'answered_by'>;

const EMAIL = /^[^@\s]{1,64}@[^@\s]{1,255}$/;

export function reportProblem(input: { email: string; subject: string; body: string }): string | null {
  if (!EMAIL.test(input.email)) return 'give an email address we can answer you at';
  if (!input.subject.trim() || input.subject.length > 200) return 'give a short summary (at most 200 characters)';
  if (input.body.trim().length < 20 || input.body.length > 20_000)
    return 'describe the problem in 20 to 20,000 characters: what is affected and how to reproduce it';
  return null;
}

export async function submitReport(
  db: Kysely<Database>,
  input: { reporterId: number | null; email: string; subject: string; body: string },
  now: number,
): Promise<number> {
  const problem = reportProblem(input);
  if (problem) throw fail('E_REPORT_INVALID', problem);
  return db.transaction().execute(async (trx) => {
    const row = await trxWithNames(trx)
      .insertInto('security_reports')
      .values({
        reporter_id: input.reporterId,
        reporter_email: input.email,
        subject: input.subject.trim(),
        body: input.body,
        status: 'new',
        answer: null,
        answered_by: null,
        answered_at: null,
        created_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    // The event says that a report arrived, never what it says: the event stream feeds public logs.
    await recordEvent(
      trx,
      { kind: EventKind.SecurityReportReceived, subject: `security-report:${row.id}`, actorId: input.reporterId },
      now,
    );
    return Number(row.id);
  });
}

const COLUMNS = [
  'id',
  'reporter_id',
  'reporter_email',
  'subject',
  'body',
  'status',
  'answer',
  'answered_at',
  'created_at',
] as const;

/** Every report, newest first, for administrators; or one reporter's own reports. */
export async function listReports(db: Kysely<Database>, opts: { reporterId?: number } = {}): Promise<SecurityReport[]> {
  let q = withNames(db).selectFrom('security_reports').select(COLUMNS).orderBy('id', 'desc').limit(200);
  if (opts.reporterId !== undefined) q = q.where('reporter_id', '=', opts.reporterId);
  return (await q.execute()).map((r) => ({
    ...r,
    id: Number(r.id),
    reporter_id: r.reporter_id === null ? null : Number(r.reporter_id),
  }));
}

export async function answerReport(
  db: Kysely<Database>,
  id: number,
  answer: string,
  actorId: number,
  now: number,
): Promise<void> {
  if (!answer.trim() || answer.length > 20_000)
    throw fail('E_REPORT_INVALID', 'write an answer (at most 20,000 characters)');
  await db.transaction().execute(async (trx) => {
    const res = await trxWithNames(trx)
      .updateTable('security_reports')
      .set({ answer, status: 'answered', answered_by: actorId, answered_at: now })
      .where('id', '=', id)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw notFound(`no security report ${id}`);
    await recordEvent(trx, { kind: EventKind.SecurityReportAnswered, subject: `security-report:${id}`, actorId }, now);
  });
}
