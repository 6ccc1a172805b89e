// Transparency-log figures: how many entries per second the sequencer integrates on SQLite, how long an inclusion and
// a consistency proof take to generate from the stored node hashes at a given tree size, and how long a client takes
// to fetch and verify the inclusion proofs of a lockfile's worth of versions over loopback HTTP.
//   node bench/log.ts [--appends 20000] [--leaves 1000000] [--lockfile 1000]
// The tree for the proof timings is written straight into log_nodes (every complete subtree of a tree of --leaves
// synthetic leaves), which is what the sequencer would have stored, without spending the time to sequence it.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadSettings } from '../src/config.ts';
import { startApp } from '../src/app.ts';
import { MemoryTree, hashLeaf, rootHash, verifyInclusion } from '../src/trust/tlog/merkle.ts';
import { ed25519Verifier, openCheckpoint } from '../src/trust/tlog/note.ts';
import { Sequencer } from '../src/trust/tlog/sequencer.ts';
import { LogReader } from '../src/trust/tlog/service.ts';
import { dbHashSource, loadLogKey, logDb } from '../src/trust/tlog/store.ts';
import { FsBlobStore } from '../src/store/blobs.ts';
import { openStore } from '../src/store/db.ts';

const { values } = parseArgs({
  options: {
    appends: { type: 'string', default: '20000' },
    leaves: { type: 'string', default: '1000000' },
    lockfile: { type: 'string', default: '1000' },
  },
});
const APPENDS = Number(values.appends);
const LEAVES = Number(values.leaves);
const LOCKFILE = Number(values.lockfile);
const SECRET = Buffer.alloc(32, 1);
const INTEGRITY = 'sha512-' + Buffer.alloc(64, 3).toString('base64');

async function appendsPerSecond(): Promise<number> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bulwark-bench-log-'));
  const store = await openStore({ dataDir: dir, database: null });
  try {
    await store.db
      .insertInto('packages')
      .values({
        name: 'bench',
        scope: null,
        access: 'public',
        description: '',
        keywords: '',
        latest_version: null,
        rev: 0,
        created_at: 0,
        modified_at: 0,
      })
      .execute();
    // Dist-tag moves: one entry per event, so entries/s is events/s.
    const rows = Array.from({ length: APPENDS }, (_, i) => ({
      kind: 'package.dist-tag-set',
      subject: 'bench',
      actor_id: null,
      data: JSON.stringify({ tag: `t${i}`, version: '1.0.0' }),
      created_at: i,
    }));
    for (let i = 0; i < rows.length; i += 500)
      await store.db
        .insertInto('events')
        .values(rows.slice(i, i + 500))
        .execute();
    const key = await loadLogKey(logDb(store.db), SECRET, 'bench.test', Date.now);
    const seq = new Sequencer({ db: store.db, dialect: store.dialect, key });
    const started = performance.now();
    const r = await seq.runOnce();
    const seconds = (performance.now() - started) / 1000;
    if (r.entries !== APPENDS) throw new Error(`integrated ${r.entries} of ${APPENDS}`);
    return APPENDS / seconds;
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function proofTimes(): Promise<{ inclusionMs: number; consistencyMs: number; buildS: number }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bulwark-bench-log-'));
  const store = await openStore({ dataDir: dir, database: null });
  try {
    const db = logDb(store.db);
    const started = performance.now();
    const tree = new MemoryTree();
    for (let i = 0; i < LEAVES; i++) tree.appendLeafHash(hashLeaf(Buffer.from(`leaf ${i}`)));
    await db.transaction().execute(async (trx) => {
      for (const [level, row] of tree.levels.entries()) {
        for (let i = 0; i < row.length; i += 400) {
          await trx
            .insertInto('log_nodes')
            .values(row.slice(i, i + 400).map((h, j) => ({ level, idx: i + j, hash: h.toString('hex') })))
            .execute();
        }
      }
    });
    const buildS = (performance.now() - started) / 1000;
    // Through the same reader the HTTP routes use (it keeps the upper levels of the tree in memory).
    const reader = new LogReader(store.db);
    const root = await rootHash(LEAVES, dbHashSource(db));
    const runs = 200;
    let t = performance.now();
    for (let k = 0; k < runs; k++) {
      const index = Math.floor((k * 7919 * 104729) % LEAVES);
      const proof = await reader.inclusionProof(index, LEAVES);
      if (k % 50 === 0) verifyInclusion(index, LEAVES, tree.levels[0]![index]!, proof, root);
    }
    const inclusionMs = (performance.now() - t) / runs;
    t = performance.now();
    for (let k = 0; k < runs; k++) await reader.consistencyProof(1 + ((k * 104729) % (LEAVES - 1)), LEAVES);
    const consistencyMs = (performance.now() - t) / runs;
    return { inclusionMs, consistencyMs, buildS };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A registry with LOCKFILE logged versions; the time for a client to fetch and verify every inclusion proof. */
async function lockfileVerification(): Promise<number> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bulwark-bench-log-'));
  const settings = loadSettings({ flags: { port: '0', 'data-dir': dir }, env: {} });
  const store = await openStore({ dataDir: dir, database: null });
  const app = await startApp({
    settings,
    store,
    blobs: new FsBlobStore(path.join(dir, 'blobs')),
    logger: pino({ level: 'silent' }),
    secretKey: SECRET,
  });
  try {
    const names = Array.from({ length: LOCKFILE }, (_, i) => `pkg-${i}`);
    await store.db
      .insertInto('packages')
      .values(
        names.map((name) => ({
          name,
          scope: null,
          access: 'public',
          description: '',
          keywords: '',
          latest_version: null,
          rev: 0,
          created_at: 0,
          modified_at: 0,
        })),
      )
      .execute();
    const events = names.map((name) => ({
      kind: 'package.version-published',
      subject: name,
      actor_id: null,
      data: JSON.stringify({ version: '1.0.0', integrity: INTEGRITY }),
      created_at: 0,
    }));
    for (let i = 0; i < events.length; i += 500)
      await store.db
        .insertInto('events')
        .values(events.slice(i, i + 500))
        .execute();
    for (;;) {
      const cp = await (await fetch(`${app.url}/-/log/checkpoint`)).text();
      if (Number(cp.split('\n')[1]) >= LOCKFILE) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const logKey = await loadLogKey(logDb(store.db), SECRET, 'unused', Date.now);
    const key = ed25519Verifier(logKey.origin, logKey.signer.publicKey);
    const started = performance.now();
    const note = await (await fetch(`${app.url}/-/log/checkpoint`)).text();
    const cp = openCheckpoint(note, key.name, key);
    // One request for the whole lockfile, as `bulwark` would send it.
    const res = (await (
      await fetch(`${app.url}/-/log/proof/inclusion`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ versions: names.map((n) => `${n}@1.0.0`) }),
      })
    ).json()) as {
      tree_size: number;
      checkpoint: string;
      proofs: Record<string, { index: number; entry: string; proof: string[] }>;
      missing: string[];
    };
    const signed = openCheckpoint(res.checkpoint, key.name, key);
    if (signed.size < cp.size || res.missing.length) throw new Error(`missing proofs: ${res.missing.length}`);
    for (const p of Object.values(res.proofs))
      verifyInclusion(
        p.index,
        res.tree_size,
        hashLeaf(Buffer.from(p.entry)),
        p.proof.map((x) => Buffer.from(x, 'base64')),
        signed.root,
      );
    return (performance.now() - started) / 1000;
  } finally {
    await app.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const appends = await appendsPerSecond();
console.log(`sequencer, SQLite: ${Math.round(appends)} entries/s (${APPENDS} entries, one runOnce)`);
const proofs = await proofTimes();
console.log(
  `proofs at ${LEAVES} leaves (SQLite node store, built in ${proofs.buildS.toFixed(1)} s): inclusion ${proofs.inclusionMs.toFixed(3)} ms, consistency ${proofs.consistencyMs.toFixed(3)} ms`,
);
const lockfile = await lockfileVerification();
console.log(
  `client: fetched (one batch request) and verified ${LOCKFILE} inclusion proofs over loopback in ${lockfile.toFixed(2)} s`,
);
