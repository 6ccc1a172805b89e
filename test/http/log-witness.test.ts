import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openCheckpoint, parseVerifierKey, type Verifier } from '../../src/trust/tlog/note.ts';
import { addWitness, listWitnesses } from '../../src/trust/tlog/witness-client.ts';
import { ed25519Cosigner, encodeCosignerKey, parseCosignerKey } from '../../src/trust/tlog/witness.ts';
import { bulwark } from '../helpers/bulwark-process.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { startWitness, type TestWitness } from '../helpers/witness.ts';
import { rewriteLogHistory } from '../helpers/log-history.ts';

for (const kind of DB_KINDS) {
  describe(`transparency log witnesses (${kind})`, () => {
    let r: TestRegistry;
    let witness: TestWitness;
    let logKey: Verifier;
    let origin: string;
    let alice: { id: number; token: string };
    before(async () => {
      r = await startRegistry(kind);
      alice = await r.user('alice');
      origin = new URL(r.url).host;
      logKey = parseVerifierKey((await r.request('GET', '/-/log/key')).text.trim());
      witness = await startWitness('witness.test/w1', [{ origin, keys: [logKey] }]);
      assert.deepEqual(await addWitness(r.store.db, { url: witness.url, vkey: witness.vkey }), {
        name: 'witness.test/w1',
      });
    });
    after(async () => {
      await r.stop();
      await witness.stop();
    });

    /** The served checkpoint, once it is at least `size` and carries the witness's cosignature. */
    async function cosigned(size: number): Promise<{ size: number; note: string }> {
      const w = parseCosignerKey(witness.vkey);
      const started = Date.now();
      for (;;) {
        const note = (await r.request('GET', '/-/log/checkpoint')).text;
        const cp = openCheckpoint(note, origin, logKey, [w]);
        if (cp.size >= size && cp.note.verified.some((s) => s.name === w.name && s.id === w.id))
          return { size: cp.size, note };
        if (Date.now() - started > 5000) assert.fail(`no cosigned checkpoint of size ${size} (served: ${note})`);
        await new Promise((res) => setTimeout(res, 25));
      }
    }

    it('submits each new checkpoint with its consistency proof and serves the cosigned checkpoint', async () => {
      await cosigned(0);
      assert.equal(
        (
          await r.request('PUT', '/left-pad', {
            token: alice.token,
            body: body(publishDoc({ name: 'left-pad', version: '1.0.0' })),
          })
        ).status,
        201,
      );
      const first = await cosigned(3);
      assert.equal(witness.core.latest(origin)!.size, first.size);
      assert.equal(
        (
          await r.request('PUT', '/left-pad', {
            token: alice.token,
            body: body(publishDoc({ name: 'left-pad', version: '1.1.0' })),
          })
        ).status,
        201,
      );
      const second = await cosigned(first.size + 2);
      assert.equal(witness.core.latest(origin)!.size, second.size);
      assert.equal((await listWitnesses(r.store.db))[0]!.cosignedSize, second.size);
      assert.ok(!witness.statuses.some((s) => s >= 400 && s !== 409), `witness statuses ${witness.statuses.join(',')}`);

      // A monitor can require the witness's cosignature; another witness's key is not satisfied by it.
      const dir = await mkdtemp(path.join(os.tmpdir(), 'bulwark-witness-'));
      try {
        const ok = await bulwark([
          'log',
          'verify',
          '--registry',
          r.url,
          '--state',
          path.join(dir, 's.json'),
          '--witness',
          witness.vkey,
        ]);
        assert.equal(ok.code, 0, ok.stderr);
        const other = encodeCosignerKey(ed25519Cosigner('witness.test/w2', Buffer.alloc(32, 77)));
        const missing = await bulwark([
          'log',
          'verify',
          '--registry',
          r.url,
          '--state',
          path.join(dir, 's2.json'),
          '--witness',
          other,
        ]);
        assert.equal(missing.code, 1);
        assert.match(
          missing.stderr,
          /PROBLEM: the checkpoint of size \d+ carries no valid cosignature by the witness witness.test\/w2/,
        );
        const prove = await bulwark([
          'log',
          'prove',
          'left-pad@1.1.0',
          '--registry',
          r.url,
          '--state',
          path.join(dir, 's.json'),
          '--witness',
          other,
        ]);
        assert.equal(prove.code, 1);
        assert.match(
          prove.stderr,
          /FAILED: the checkpoint of size \d+ carries no valid cosignature by the witness witness.test\/w2/,
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('gets no cosignature for a rewritten history: the witness refuses the inconsistent checkpoint', async () => {
      const seen = witness.core.latest(origin)!;
      await rewriteLogHistory(r.store.db);
      const w = parseCosignerKey(witness.vkey);
      const started = Date.now();
      for (;;) {
        const res = await r.request('GET', '/-/log/checkpoint');
        // Between the deletion and the sequencer's next turn there is no checkpoint at all.
        const cp = res.status === 200 ? openCheckpoint(res.text, origin, logKey, [w]) : null;
        if (cp && cp.size >= seen.size && witness.statuses.includes(422)) {
          assert.ok(
            !cp.note.verified.some((s) => s.name === w.name),
            'the forked checkpoint must not carry the cosignature',
          );
          break;
        }
        if (Date.now() - started > 5000)
          assert.fail(`the witness was not asked about the fork (statuses ${witness.statuses.join(',')})`);
        await new Promise((res) => setTimeout(res, 25));
      }
      assert.deepEqual(witness.core.latest(origin), seen, 'the witness keeps the tree it cosigned');
    });
  });
}
