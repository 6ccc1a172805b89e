import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { decodeLeaf, decodeRecord, opensSealedLeaf } from '../../../src/trust/tlog/leaf.ts';
import {
  MemoryTree,
  consistencyProof,
  hashLeaf,
  inclusionProof,
  rootHash,
  verifyConsistency,
  verifyInclusion,
} from '../../../src/trust/tlog/merkle.ts';
import { ed25519Verifier, openCheckpoint } from '../../../src/trust/tlog/note.ts';
import { Sequencer } from '../../../src/trust/tlog/sequencer.ts';
import {
  LOG_CURSOR,
  dbHashSource,
  latestCheckpoint,
  loadLogKey,
  logDb,
  type LogDb,
} from '../../../src/trust/tlog/store.ts';
import { openStore, type Store } from '../../../src/store/db.ts';
import { EventKind, recordEvent } from '../../../src/store/events.ts';
import type { Database } from '../../../src/store/schema.ts';
import { DB_KINDS, testDatabase, testStore } from '../../helpers/db.ts';

const SECRET = Buffer.alloc(32, 7);
const INTEGRITY = 'sha512-' + Buffer.alloc(64, 3).toString('base64');

async function addPackage(db: Kysely<Database>, name: string, access: 'public' | 'restricted'): Promise<void> {
  await db
    .insertInto('packages')
    .values({
      name,
      scope: name.startsWith('@') ? name.slice(1, name.indexOf('/')) : null,
      access,
      description: '',
      keywords: '',
      latest_version: null,
      rev: 0,
      created_at: 0,
      modified_at: 0,
    })
    .execute();
}

async function publishEvents(db: Kysely<Database>, name: string, count: number, from = 0): Promise<void> {
  const rows = Array.from({ length: count }, (_, i) => ({
    kind: EventKind.VersionPublished,
    subject: name,
    actor_id: null,
    data: JSON.stringify({ version: `1.0.${from + i}`, integrity: INTEGRITY, tag: 'latest' }),
    created_at: 1_700_000_000_000 + from + i,
  }));
  for (let i = 0; i < rows.length; i += 500)
    await db
      .insertInto('events')
      .values(rows.slice(i, i + 500))
      .execute();
}

/** Checks the whole stored log: contiguous indexes, each event part once, node hashes and every checkpoint agree. */
async function auditLog(
  db: LogDb,
  key: Awaited<ReturnType<typeof loadLogKey>>,
): Promise<{ size: number; leaves: { leaf: string; event_seq: number; part: number }[] }> {
  const leaves = await db
    .selectFrom('log_leaves')
    .select(['idx', 'leaf', 'leaf_hash', 'event_seq', 'part'])
    .orderBy('idx')
    .execute();
  const tree = new MemoryTree();
  leaves.forEach((l, i) => {
    assert.equal(Number(l.idx), i, 'indexes are contiguous from 0');
    assert.equal(l.leaf_hash, hashLeaf(Buffer.from(l.leaf)).toString('hex'));
    tree.append(Buffer.from(l.leaf));
  });
  const keys = new Set(leaves.map((l) => `${l.event_seq}/${l.part}`));
  assert.equal(keys.size, leaves.length, 'no event is logged twice');
  const verifier = ed25519Verifier(key.signer.name, key.signer.publicKey);
  const checkpoints = await db.selectFrom('log_checkpoints').selectAll().orderBy('size').execute();
  const latest = checkpoints.at(-1)!;
  assert.equal(Number(latest.size), leaves.length);
  const source = dbHashSource(db);
  for (const cp of checkpoints) {
    const opened = openCheckpoint(cp.note, key.origin, verifier);
    assert.equal(opened.size, Number(cp.size));
    assert.equal(
      opened.root.toString('hex'),
      (await rootHash(opened.size, tree.source)).toString('hex'),
      `root at ${opened.size}`,
    );
    assert.equal((await rootHash(opened.size, source)).toString('hex'), cp.root);
    if (opened.size > 0)
      verifyConsistency(
        opened.size,
        leaves.length,
        await consistencyProof(opened.size, leaves.length, source),
        opened.root,
        Buffer.from(latest.root, 'hex'),
      );
  }
  return {
    size: leaves.length,
    leaves: leaves.map((l) => ({ leaf: l.leaf, event_seq: Number(l.event_seq), part: l.part })),
  };
}

for (const kind of DB_KINDS) {
  describe(`transparency log sequencer (${kind})`, () => {
    it('logs public package events in order, seals restricted ones, skips private ones, and signs each new size', async () => {
      const store = await testStore(kind);
      try {
        const db = logDb(store.db);
        const key = await loadLogKey(db, SECRET, 'registry.test', () => 1);
        const again = await loadLogKey(db, SECRET, 'renamed.test', () => 2);
        assert.equal(again.origin, 'registry.test', 'the origin is fixed at first start');
        assert.ok(again.signer.publicKey.equals(key.signer.publicKey));
        const stored = await db.selectFrom('log_keys').selectAll().executeTakeFirstOrThrow();
        assert.doesNotMatch(stored.sealed_seed, /^[0-9a-f]{64}$/);

        await addPackage(store.db, 'left-pad', 'public');
        await addPackage(store.db, '@secret/pkg', 'restricted');
        const alice = await store.db
          .insertInto('users')
          .values({
            name: 'alice',
            email: 'a@example.com',
            password_hash: 'x',
            email_verified: 1,
            is_admin: 0,
            created_at: 0,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        await store.db.transaction().execute(async (trx) => {
          await recordEvent(
            trx,
            {
              kind: EventKind.VersionPublished,
              subject: 'left-pad',
              actorId: alice.id,
              data: { version: '1.0.0', integrity: INTEGRITY, tag: 'latest' },
            },
            Date.UTC(2026, 0, 1),
          );
          await recordEvent(
            trx,
            {
              kind: EventKind.UserPasswordChanged,
              subject: 'alice',
              actorId: alice.id,
              data: { reset: false, ip: '127.0.0.1', sessionsRevoked: 0 },
            },
            Date.UTC(2026, 0, 1),
          );
          await recordEvent(
            trx,
            {
              kind: EventKind.VersionPublished,
              subject: '@secret/pkg',
              actorId: alice.id,
              data: { version: '2.0.0', integrity: INTEGRITY, tag: 'beta' },
            },
            Date.UTC(2026, 0, 2),
          );
        });
        const seq = new Sequencer({ db: store.db, dialect: store.dialect, key });
        const r = await seq.runOnce();
        assert.deepEqual(r, { events: 3, entries: 4, size: 4 });
        assert.deepEqual(await seq.runOnce(), { events: 0, entries: 0, size: 0 });
        const { leaves } = await auditLog(db, key);
        assert.deepEqual(decodeRecord(Buffer.from(leaves[0]!.leaf)), {
          type: 'version-published',
          name: 'left-pad',
          version: '1.0.0',
          integrity: INTEGRITY,
          publisher: 'user:alice',
          time: '2026-01-01T00:00:00.000Z',
        });
        assert.equal(decodeRecord(Buffer.from(leaves[1]!.leaf)).type, 'dist-tag-set');
        for (const l of leaves.slice(2)) {
          assert.equal(decodeLeaf(Buffer.from(l.leaf)).sealed, true);
          assert.doesNotMatch(l.leaf, /secret|2\.0\.0|alice/);
        }
        const secretRow = await db.selectFrom('log_leaves').selectAll().where('idx', '=', 2).executeTakeFirstOrThrow();
        assert.ok(
          opensSealedLeaf(
            Buffer.from(secretRow.leaf),
            Buffer.from(secretRow.salt!, 'hex'),
            Buffer.from(secretRow.record),
          ),
        );
        assert.equal(decodeRecord(Buffer.from(secretRow.record)).name, '@secret/pkg');
        const cps = await db.selectFrom('log_checkpoints').select('size').orderBy('size').execute();
        assert.deepEqual(
          cps.map((c) => Number(c.size)),
          [0, 4],
        );

        // An inclusion proof from the stored nodes verifies against the signed root.
        const latest = (await latestCheckpoint(db))!;
        const proof = await inclusionProof(0, 4, dbHashSource(db));
        verifyInclusion(0, 4, hashLeaf(Buffer.from(leaves[0]!.leaf)), proof, Buffer.from(latest.root, 'hex'));
      } finally {
        await store.cleanup();
      }
    });

    it('integrates several batches and many events with every checkpoint consistent', async () => {
      const store = await testStore(kind);
      try {
        const db = logDb(store.db);
        const key = await loadLogKey(db, SECRET, 'registry.test', Date.now);
        await addPackage(store.db, 'many', 'public');
        const seq = new Sequencer({ db: store.db, dialect: store.dialect, key, batch: 97 });
        for (const n of [1, 2, 5, 256, 300]) {
          await publishEvents(
            store.db,
            'many',
            n,
            (
              await db
                .selectFrom('log_leaves')
                .select((eb) => eb.fn.countAll<number>().as('n'))
                .executeTakeFirstOrThrow()
            ).n as number,
          );
          await seq.runOnce();
        }
        const { size } = await auditLog(db, key);
        assert.equal(size, 2 * (1 + 2 + 5 + 256 + 300));
      } finally {
        await store.cleanup();
      }
    });

    it('stops at a malformed event rather than skip it, and resumes once it is repaired', async () => {
      const store = await testStore(kind);
      try {
        const db = logDb(store.db);
        const key = await loadLogKey(db, SECRET, 'registry.test', Date.now);
        await addPackage(store.db, 'broken', 'public');
        await publishEvents(store.db, 'broken', 2);
        const bad = await store.db
          .insertInto('events')
          .values({
            kind: EventKind.VersionPublished,
            subject: 'broken',
            actor_id: null,
            data: JSON.stringify({ version: '9.9.9' }),
            created_at: 5,
          })
          .returning('seq')
          .executeTakeFirstOrThrow();
        await publishEvents(store.db, 'broken', 1, 2);
        const seq = new Sequencer({ db: store.db, dialect: store.dialect, key });
        await assert.rejects(seq.runOnce(), /package.version-published event for broken has no "integrity"/);
        // The whole batch rolled back: nothing after the last good batch is logged, nothing is skipped.
        assert.equal((await db.selectFrom('log_leaves').select('idx').execute()).length, 0);
        await store.db
          .updateTable('events')
          .set({ data: JSON.stringify({ version: '9.9.9', integrity: INTEGRITY }) })
          .where('seq', '=', bad.seq)
          .execute();
        await seq.runOnce();
        const { size } = await auditLog(db, key);
        assert.equal(size, 3 * 2 + 1, 'three publishes with their tag, and the repaired one without a tag');
      } finally {
        await store.cleanup();
      }
    });

    it('lets only one of two concurrent sequencers log each event', async () => {
      const store = await testStore(kind);
      try {
        const db = logDb(store.db);
        const key = await loadLogKey(db, SECRET, 'registry.test', Date.now);
        await addPackage(store.db, 'race', 'public');
        await publishEvents(store.db, 'race', 600);
        const a = new Sequencer({ db: store.db, dialect: store.dialect, key, batch: 50 });
        const b = new Sequencer({ db: store.db, dialect: store.dialect, key, batch: 50 });
        const results = await Promise.allSettled([a.runOnce(), b.runOnce(), a.runOnce(), b.runOnce()]);
        // A loser may see the cursor move under it and roll back; that is the guard working, not a loss.
        for (const r of results) if (r.status === 'rejected') assert.match(String(r.reason), /cursor moved/);
        await a.runOnce();
        const { size } = await auditLog(db, key);
        assert.equal(size, 1200);
      } finally {
        await store.cleanup();
      }
    });

    if (kind === 'postgres') {
      it('does not skip an event whose transaction commits after a later event (sequence numbers are taken before commit)', async () => {
        const store = await testStore(kind);
        try {
          const db = logDb(store.db);
          const key = await loadLogKey(db, SECRET, 'registry.test', Date.now);
          await addPackage(store.db, 'late', 'public');
          let commitSlow!: () => void;
          const slowGo = new Promise<void>((r) => (commitSlow = r));
          let slowInserted!: () => void;
          const inserted = new Promise<void>((r) => (slowInserted = r));
          const slow = store.db.transaction().execute(async (trx) => {
            await recordEvent(
              trx,
              { kind: EventKind.DistTagSet, subject: 'late', actorId: null, data: { tag: 'slow', version: '1.0.0' } },
              1,
            );
            slowInserted();
            await slowGo;
          });
          await inserted;
          await store.db
            .transaction()
            .execute((trx) =>
              recordEvent(
                trx,
                { kind: EventKind.DistTagSet, subject: 'late', actorId: null, data: { tag: 'fast', version: '1.0.0' } },
                2,
              ),
            );
          const seq = new Sequencer({ db: store.db, dialect: store.dialect, key });
          const run = seq.runOnce();
          await new Promise((r) => setTimeout(r, 300));
          commitSlow();
          await slow;
          await run;
          await seq.runOnce();
          const { leaves } = await auditLog(db, key);
          assert.deepEqual(
            leaves.map((l) => (decodeRecord(Buffer.from(l.leaf)) as { tag: string }).tag),
            ['slow', 'fast'],
          );
        } finally {
          await store.cleanup();
        }
      });
    }

    it('loses nothing and logs nothing twice when the sequencer process is killed mid-batch', async () => {
      const t = await testDatabase(kind);
      let store: Store | null = null;
      try {
        store = await openStore({ dataDir: t.dataDir, database: t.database, poolSize: 2 });
        const db = logDb(store.db);
        await addPackage(store.db, 'killed', 'public');
        const total = 6000;
        await publishEvents(store.db, 'killed', total);
        const child = spawn(
          process.execPath,
          [
            path.join(import.meta.dirname, '..', '..', 'helpers', 'log-sequencer-process.ts'),
            t.dataDir,
            t.database ?? '',
            '400',
          ],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));
        await new Promise<void>((resolve, reject) => {
          child.stdout.once('data', () => resolve());
          child.once('exit', () => reject(new Error('the sequencer process ended before it ran')));
        });
        // Kill it once a few batches have committed and more are in flight.
        for (;;) {
          const cursor = await store.db
            .selectFrom('consumer_cursors')
            .select('position')
            .where('name', '=', LOG_CURSOR)
            .executeTakeFirst();
          if (cursor && Number(cursor.position) >= 1200) break;
          await new Promise((r) => setTimeout(r, 5));
        }
        child.kill('SIGKILL');
        assert.equal(await exited, 'SIGKILL');
        const before = Number(
          (
            await store.db
              .selectFrom('consumer_cursors')
              .select('position')
              .where('name', '=', LOG_CURSOR)
              .executeTakeFirstOrThrow()
          ).position,
        );
        assert.ok(before < total, 'killed before it finished');
        if (kind === 'postgres') {
          // The killed backend's transaction is rolled back once the server notices the closed connection.
          await sql`select 1`.execute(store.db);
        }
        const key = await loadLogKey(db, SECRET, 'registry.test', Date.now);
        await new Sequencer({ db: store.db, dialect: store.dialect, key }).runOnce();
        const { size, leaves } = await auditLog(db, key);
        assert.equal(size, 2 * total);
        const versions = leaves
          .filter((_, i) => i % 2 === 0)
          .map((l) => (decodeRecord(Buffer.from(l.leaf)) as { version: string }).version);
        assert.deepEqual(
          versions,
          Array.from({ length: total }, (_, i) => `1.0.${i}`),
        );
      } finally {
        await store?.close();
        await t.cleanup();
      }
    });
  });
}
