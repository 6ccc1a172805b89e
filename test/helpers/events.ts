// What the tests read from the event stream: the events recorded about one subject (a package, a user, an org).
import assert from 'node:assert/strict';
import type { Db } from '../../src/store/db.ts';

/** The events about subject, of one kind when given, oldest first; data is the JSON as recorded. */
export function eventsAbout(db: Db, subject: string, kind?: string) {
  let q = db.selectFrom('events').selectAll().where('subject', '=', subject);
  if (kind !== undefined) q = q.where('kind', '=', kind);
  return q.orderBy('seq').execute();
}

/** The first event of a kind about subject; the test fails when there is none. */
export async function eventAbout(db: Db, subject: string, kind: string) {
  const [event] = await eventsAbout(db, subject, kind);
  assert.ok(event, `no ${kind} event about ${subject}`);
  return event;
}

/** Polls until the condition holds (what an event consumer does happens within a second or so). */
export async function eventually(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/**
 * Waits until every durable consumer (log, mail, moderation) has handled every event recorded so far; returns the seq
 * of the latest event.
 */
export async function consumersCaughtUp(db: Db): Promise<number> {
  const latest = async () =>
    Number(
      (
        await db
          .selectFrom('events')
          .select((eb) => eb.fn.max('seq').as('seq'))
          .executeTakeFirstOrThrow()
      ).seq,
    );
  const slowest = async () =>
    Number(
      (
        await db
          .selectFrom('consumer_cursors')
          .select((eb) => eb.fn.min('position').as('min'))
          .executeTakeFirstOrThrow()
      ).min,
    );
  await eventually(async () => (await slowest()) >= (await latest()), 'the event consumers catch up');
  return latest();
}
