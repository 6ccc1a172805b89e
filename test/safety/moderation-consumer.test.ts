// The moderation queue's event consumer on both databases: security-form reports reach the queue and leave it when
// answered, and a removal made outside the queue resolves the items about it, whichever of the report and the removal
// is handled last. Each effect happens once: with two nodes, and when an event is handled again (a retry).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createUser } from '../../src/accounts/users.ts';
import { answerReport, submitReport } from '../../src/disclosure/security-reports.ts';
import { moderationHandler } from '../../src/safety/moderation-consumer.ts';
import { withModeration } from '../../src/safety/moderation-tables.ts';
import { fileReport } from '../../src/safety/reports.ts';
import { Consumer, EventKind, recordEvent } from '../../src/store/events.ts';
import { DB_KINDS, testStore } from '../helpers/db.ts';

const DETAILS = 'postinstall sends ~/.npmrc to a remote host';
const NOW = 1_700_000_000_000;

for (const kind of DB_KINDS) {
  describe(`moderation consumer (${kind})`, () => {
    it('resolves the items about a removed version once, across two nodes and a replayed event', async () => {
      const store = await testStore(kind);
      const db = store.db;
      try {
        const publisher = await createUser(db, {
          name: 'publisher',
          email: 'p@example.com',
          password: 'correct-horse-battery',
          emailVerified: true,
        });
        const ann = await createUser(db, {
          name: 'ann',
          email: 'a@example.com',
          password: 'correct-horse-battery',
          emailVerified: true,
        });
        const ben = await createUser(db, {
          name: 'ben',
          email: 'b@example.com',
          password: 'correct-horse-battery',
          emailVerified: true,
        });
        const pkg = await db
          .insertInto('packages')
          .values({
            name: 'evil',
            scope: null,
            access: 'public',
            description: '',
            keywords: '',
            latest_version: '1.0.1',
            rev: 1,
            created_at: NOW,
            modified_at: NOW,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        for (const version of ['1.0.0', '1.0.1']) {
          await db
            .insertInto('versions')
            .values({
              package_id: pkg.id,
              version,
              manifest: '{}',
              integrity: 'sha512-x',
              shasum: 'x',
              blob: 'x',
              size: 1,
              readme: '',
              published_at: NOW,
              publisher_id: publisher.id,
              state: 'visible',
            })
            .execute();
        }
        const report = (who: { id: number; name: string }, version: string | null) =>
          fileReport(
            db,
            null,
            { id: who.id, name: who.name, moderator: false },
            '127.0.0.1',
            { package: 'evil', version, reason: 'malicious', details: DETAILS },
            NOW,
          );
        /** What removeMalicious commits: the versions' state and its event, in one transaction. */
        const remove = (version: string) =>
          db.transaction().execute(async (trx) => {
            await trx
              .updateTable('versions')
              .set({ state: 'removed' })
              .where('package_id', '=', pkg.id)
              .where('version', '=', version)
              .execute();
            await recordEvent(
              trx,
              {
                kind: EventKind.MaliciousRemoved,
                subject: 'evil',
                actorId: null,
                data: { version, versions: [version], reason: 'confirmed', actor: 'operator' },
              },
              NOW,
            );
          });
        const items = () =>
          withModeration(db)
            .selectFrom('moderation_items')
            .select(['package', 'version', 'status', 'resolution'])
            .orderBy('id')
            .execute();
        const told = async () =>
          (
            await db
              .selectFrom('events')
              .select(['subject', 'data'])
              .where('kind', '=', EventKind.ReportResolved)
              .orderBy('seq')
              .execute()
          ).map((e) => `${e.subject}: ${(JSON.parse(e.data) as { outcome: string }).outcome}`);

        const nodeA = new Consumer(db, { name: 'moderation', handle: moderationHandler(() => NOW) });
        const nodeB = new Consumer(db, { name: 'moderation', handle: moderationHandler(() => NOW) });
        await report(ann, '1.0.0');
        await report(ben, null);
        assert.ok((await nodeA.runOnce()) > 0);
        assert.deepEqual(
          (await items()).map((i) => i.status),
          ['open', 'open'],
          'nothing is removed yet',
        );

        // Handled after the report: the removal's event resolves the version's item.
        await remove('1.0.0');
        assert.equal(await nodeB.runOnce(), 0, 'the other node waits while the first holds the lease');
        await nodeA.runOnce();
        assert.deepEqual(await items(), [
          { package: 'evil', version: '1.0.0', status: 'resolved', resolution: 'removed' },
          { package: 'evil', version: null, status: 'open', resolution: null },
        ]);
        assert.deepEqual(await told(), ['ann: removed'], 'the whole package is still there: its item stays open');

        // The last version goes before the queue hears of it: the whole-package item resolves once.
        await remove('1.0.1');
        await nodeA.release();
        assert.ok((await nodeB.runOnce()) > 0, 'the other node takes over from the durable cursor');
        assert.deepEqual(
          (await items()).map((i) => i.status),
          ['resolved', 'resolved'],
        );
        assert.deepEqual(await told(), ['ann: removed', 'ben: removed']);

        // A retry of an event already applied (a crash after the effect, before the cursor) changes nothing.
        const events = await db
          .selectFrom('events')
          .selectAll()
          .where('kind', 'in', [EventKind.MaliciousRemoved, EventKind.ReportReceived])
          .orderBy('seq')
          .execute();
        const before = await db
          .selectFrom('events')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        await db.transaction().execute(async (trx) => {
          for (const e of events) await moderationHandler(() => NOW)(e, trx);
        });
        const after = await db
          .selectFrom('events')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        assert.equal(Number(after.n), Number(before.n));
        assert.equal(
          (await db.selectFrom('events').select('seq').where('kind', '=', EventKind.ModerationAction).execute()).length,
          2,
          'one removed-elsewhere action per item',
        );
        await nodeB.release();
      } finally {
        await store.cleanup();
      }
    });

    it('queues a security-form report when it arrives and resolves it when answered, once', async () => {
      const store = await testStore(kind);
      const db = store.db;
      try {
        const admin = await createUser(db, {
          name: 'admin',
          email: 'admin@example.com',
          password: 'correct-horse-battery',
          emailVerified: true,
          isAdmin: true,
        });
        const consumer = new Consumer(db, { name: 'moderation', handle: moderationHandler(() => NOW) });
        const id = await submitReport(
          db,
          {
            reporterId: null,
            email: 'r@example.org',
            subject: 'XSS in READMEs',
            body: 'A crafted README runs script on the package page.',
          },
          NOW,
        );
        const items = () =>
          withModeration(db)
            .selectFrom('moderation_items')
            .select(['source', 'ref_id', 'summary', 'status', 'resolution'])
            .execute();
        assert.deepEqual(await items(), [], 'nothing until the consumer runs');
        await consumer.runOnce();
        assert.deepEqual(
          (await items()).map((i) => ({ ...i, ref_id: Number(i.ref_id) })),
          [{ source: 'security-form', ref_id: id, summary: 'XSS in READMEs', status: 'open', resolution: null }],
        );

        // Handled again (a retry): still one item.
        const received = await db
          .selectFrom('events')
          .selectAll()
          .where('kind', '=', EventKind.SecurityReportReceived)
          .executeTakeFirstOrThrow();
        await db.transaction().execute((trx) => moderationHandler(() => NOW)(received, trx));
        assert.equal((await items()).length, 1);

        await answerReport(db, id, 'Fixed, thank you.', admin.id, NOW);
        await consumer.runOnce();
        assert.deepEqual(
          (await items()).map((i) => [i.status, i.resolution]),
          [['resolved', 'answered']],
        );
        await consumer.release();
      } finally {
        await store.cleanup();
      }
    });
  });
}
