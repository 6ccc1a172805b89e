// The outbox: emails are queued in the same transaction as the decision to send them (so none is lost or doubled by a
// crash) and sent here, outside any transaction, so a slow mail server never holds a database lock. Each node claims
// a message by pushing its next attempt time forward with a conditional update; only the winner sends it.
import type { Logger } from 'pino';
import type { Transaction } from 'kysely';
import type { Db } from '../store/db.ts';
import type { Database } from '../store/schema.ts';
import type { Mailer, Message } from './mailer.ts';

export async function enqueue(trx: Transaction<Database>, m: Message, now: number): Promise<void> {
  await trx
    .insertInto('outbox')
    .values({
      recipient: m.to,
      subject: m.subject,
      body: m.text,
      created_at: now,
      next_attempt_at: now,
      sent_at: null,
      last_error: null,
    })
    .execute();
}

const CLAIM_MS = 60_000;
const MAX_ATTEMPTS = 12;
/** 30 s, 1 min, 2 min … capped at 1 h. */
const backoff = (attempts: number) => Math.min(3600_000, 30_000 * 2 ** Math.max(0, attempts - 1));

export type OutboxDeps = { db: Db; mailer: Mailer; logger: Logger; clock?: () => number };

/** Sends what is due; returns how many emails went out. */
export async function drainOutbox({ db, mailer, logger, clock = Date.now }: OutboxDeps): Promise<number> {
  const now = clock();
  const due = await db
    .selectFrom('outbox')
    .selectAll()
    .where('sent_at', 'is', null)
    .where('next_attempt_at', '<=', now)
    .where('attempts', '<', MAX_ATTEMPTS)
    .orderBy('id')
    .limit(20)
    .execute();
  let sent = 0;
  for (const m of due) {
    const claim = await db
      .updateTable('outbox')
      .set({ next_attempt_at: now + CLAIM_MS })
      .where('id', '=', m.id)
      .where('next_attempt_at', '=', m.next_attempt_at)
      .where('sent_at', 'is', null)
      .executeTakeFirst();
    if (Number(claim.numUpdatedRows) !== 1) continue;
    if (!mailer.enabled) {
      logger.info({ to: m.recipient, subject: m.subject }, 'email not sent: no SMTP server configured (--smtp-url)');
      await db
        .updateTable('outbox')
        .set({ sent_at: clock(), last_error: 'no SMTP server configured' })
        .where('id', '=', m.id)
        .execute();
      continue;
    }
    try {
      await mailer.send({ to: m.recipient, subject: m.subject, text: m.body });
      await db
        .updateTable('outbox')
        .set({ sent_at: clock(), attempts: m.attempts + 1, last_error: null })
        .where('id', '=', m.id)
        .execute();
      logger.info({ to: m.recipient, subject: m.subject }, 'email sent');
      sent++;
    } catch (err) {
      const attempts = m.attempts + 1;
      await db
        .updateTable('outbox')
        .set({
          attempts,
          next_attempt_at: clock() + backoff(attempts),
          last_error: String((err as Error).message).slice(0, 500),
        })
        .where('id', '=', m.id)
        .execute();
      logger.warn(
        { err, to: m.recipient, attempts },
        attempts >= MAX_ATTEMPTS ? 'email could not be sent; giving up' : 'email could not be sent; will retry',
      );
    }
  }
  return sent;
}
