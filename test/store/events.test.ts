import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Consumer, EventKind, eventsAfter, latestSeq, recordEvent, type NewEvent } from '../../src/store/events.ts';
import { DB_KINDS, testStore } from '../helpers/db.ts';

for (const kind of DB_KINDS) {
  describe(`event stream (${kind})`, () => {
    it('assigns increasing sequence numbers and rolls events back with their transaction', async () => {
      const store = await testStore(kind);
      try {
        await store.db.transaction().execute(async (trx) => {
          await recordEvent(
            trx,
            { kind: EventKind.UserCreated, subject: 'a', actorId: null, data: { admin: false, emailVerified: true } },
            1,
          );
          await recordEvent(
            trx,
            { kind: EventKind.UserCreated, subject: 'b', actorId: null, data: { admin: false, emailVerified: true } },
            2,
          );
        });
        await assert.rejects(
          store.db.transaction().execute(async (trx) => {
            await recordEvent(
              trx,
              {
                kind: EventKind.UserCreated,
                subject: 'lost',
                actorId: null,
                data: { admin: false, emailVerified: true },
              },
              3,
            );
            throw new Error('boom');
          }),
          /boom/,
        );
        const events = await eventsAfter(store.db, 0, 10);
        assert.deepEqual(
          events.map((e) => e.subject),
          ['a', 'b'],
        );
        assert.ok(events[1]!.seq > events[0]!.seq);
        assert.equal(await latestSeq(store.db), events[1]!.seq);
      } finally {
        await store.cleanup();
      }
    });

    it('lets only the lease holder consume, and each event is handled once across consumers', async () => {
      const store = await testStore(kind);
      try {
        for (let i = 0; i < 5; i++) {
          await store.db.transaction().execute((trx) =>
            recordEvent(
              trx,
              {
                kind: EventKind.UserCreated,
                subject: `u${i}`,
                actorId: null,
                data: { admin: false, emailVerified: true },
              },
              i,
            ),
          );
        }
        const seen: string[] = [];
        const handle = async (e: { subject: string }) => void seen.push(e.subject);
        const a = new Consumer(store.db, { name: 'mail', handle, batch: 2 });
        const b = new Consumer(store.db, { name: 'mail', handle, batch: 2 });
        assert.equal(await a.runOnce(), 5);
        assert.equal(await b.runOnce(), 0, 'b must not run while a holds the lease');
        await a.release();
        assert.equal(await b.runOnce(), 0, 'nothing new: the cursor is durable');
        await store.db.transaction().execute((trx) =>
          recordEvent(
            trx,
            {
              kind: EventKind.UserCreated,
              subject: 'late',
              actorId: null,
              data: { admin: false, emailVerified: true },
            },
            9,
          ),
        );
        assert.equal(await b.runOnce(), 1);
        assert.deepEqual(seen, ['u0', 'u1', 'u2', 'u3', 'u4', 'late']);
      } finally {
        await store.cleanup();
      }
    });

    it('rolls the cursor back when the handler fails, so the event is retried', async () => {
      const store = await testStore(kind);
      try {
        await store.db
          .transaction()
          .execute((trx) =>
            recordEvent(
              trx,
              { kind: EventKind.UserCreated, subject: 'x', actorId: null, data: { admin: false, emailVerified: true } },
              1,
            ),
          );
        let fail = true;
        const handled: string[] = [];
        const c = new Consumer(store.db, {
          name: 'log',
          handle: async (e) => {
            if (fail) throw new Error('transient');
            handled.push(e.subject);
          },
        });
        await assert.rejects(c.runOnce(), /transient/);
        fail = false;
        assert.equal(await c.runOnce(), 1);
        assert.deepEqual(handled, ['x']);
      } finally {
        await store.cleanup();
      }
    });

    it('never skips an event whose transaction commits after a later-numbered one', async () => {
      // With several writers (PostgreSQL), event 1 can still be uncommitted when event 2 is visible.
      if (kind !== 'postgres') return;
      const store = await testStore(kind);
      try {
        const seen: string[] = [];
        const consumer = new Consumer(store.db, { name: 'gap', handle: async (e) => void seen.push(e.subject) });
        let commitSlow!: () => void;
        const slowGo = new Promise<void>((res) => (commitSlow = res));
        let slowRecorded!: () => void;
        const recorded = new Promise<void>((res) => (slowRecorded = res));
        const slow = store.db.transaction().execute(async (trx) => {
          await recordEvent(
            trx,
            {
              kind: EventKind.UserCreated,
              subject: 'early-number',
              actorId: null,
              data: { admin: false, emailVerified: true },
            },
            1,
          );
          slowRecorded();
          await slowGo;
        });
        await recorded;
        await store.db.transaction().execute((trx) =>
          recordEvent(
            trx,
            {
              kind: EventKind.UserCreated,
              subject: 'late-number',
              actorId: null,
              data: { admin: false, emailVerified: true },
            },
            2,
          ),
        );
        const running = consumer.runOnce();
        setTimeout(commitSlow, 300);
        await slow;
        await running;
        await consumer.runOnce();
        assert.deepEqual(seen, ['early-number', 'late-number']);
      } finally {
        await store.cleanup();
      }
    });

    it('lets another node take over an expired lease', async () => {
      const store = await testStore(kind);
      try {
        let now = 1000;
        const clock = () => now;
        await store.db
          .transaction()
          .execute((trx) =>
            recordEvent(
              trx,
              { kind: EventKind.UserCreated, subject: 'x', actorId: null, data: { admin: false, emailVerified: true } },
              1,
            ),
          );
        const a = new Consumer(store.db, { name: 'feed', handle: async () => {}, leaseMs: 100, clock });
        const b = new Consumer(store.db, { name: 'feed', handle: async () => {}, leaseMs: 100, clock });
        assert.equal(await a.runOnce(), 1);
        await store.db
          .transaction()
          .execute((trx) =>
            recordEvent(
              trx,
              { kind: EventKind.UserCreated, subject: 'y', actorId: null, data: { admin: false, emailVerified: true } },
              2,
            ),
          );
        assert.equal(await b.runOnce(), 0);
        now += 500;
        assert.equal(await b.runOnce(), 1);
      } finally {
        await store.cleanup();
      }
    });
  });
}

// Checked by the type checker (npm test runs tsc over the tests): each kind's event carries exactly its data. The
// typecheck fails if any event marked as an expected error below ever compiles.
describe('event payloads', () => {
  it('are typed per kind: a missing, misnamed or mistyped field does not compile', () => {
    const fine: NewEvent[] = [
      { kind: EventKind.DistTagSet, subject: 'left-pad', actorId: 1, data: { tag: 'latest', version: '1.0.0' } },
      {
        kind: EventKind.VersionPublished,
        subject: 'left-pad',
        actorId: 1,
        data: { version: '1.0.0', integrity: 'sha512-x', tag: null },
      },
      // A kind with nothing to record needs no data.
      { kind: EventKind.SecurityReportReceived, subject: 'security-report:1', actorId: null },
    ];
    const wrong: NewEvent[] = [
      // @ts-expect-error the version the tag was set to is missing
      { kind: EventKind.DistTagSet, subject: 'left-pad', actorId: 1, data: { tag: 'latest' } },
      // @ts-expect-error the integrity a publish is logged with is missing
      { kind: EventKind.VersionPublished, subject: 'left-pad', actorId: 1, data: { version: '1.0.0', tag: 'latest' } },
      // @ts-expect-error "versions" is not the field an unpublished version is recorded in
      { kind: EventKind.VersionUnpublished, subject: 'left-pad', actorId: 1, data: { versions: ['1.0.0'] } },
      // @ts-expect-error the user is a name, not an id
      { kind: EventKind.MaintainerAdded, subject: 'left-pad', actorId: 1, data: { user: 7 } },
      // @ts-expect-error a kind with data cannot be recorded without it
      { kind: EventKind.MaliciousRemoved, subject: 'left-pad', actorId: 1 },
      {
        // @ts-expect-error no such kind
        kind: 'package.version-publshed',
        subject: 'left-pad',
        actorId: 1,
        data: { version: '1.0.0', integrity: 'sha512-x', tag: null },
      },
    ];
    assert.equal(fine.length + wrong.length, 9);
  });
});
