import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryTree, consistencyProof, rootHash } from '../../../src/trust/tlog/merkle.ts';
import { ed25519Signer, ed25519Verifier, formatCheckpoint, openNote, signNote } from '../../../src/trust/tlog/note.ts';
import {
  WitnessCore,
  WitnessRefusal,
  cosignatureVerifier,
  ed25519Cosigner,
  encodeCosignerKey,
  formatAddCheckpoint,
  parseCosignerKey,
} from '../../../src/trust/tlog/witness.ts';

const log = ed25519Signer('registry.test', Buffer.alloc(32, 1));
const logVerifier = ed25519Verifier(log.name, log.publicKey);
const cosigner = ed25519Cosigner('witness.test/w1', Buffer.alloc(32, 2));

function tree(n: number): MemoryTree {
  const t = new MemoryTree();
  for (let i = 0; i < n; i++) t.append(Buffer.from(`e${i}`));
  return t;
}

async function checkpoint(t: MemoryTree, size: number, signer = log): Promise<string> {
  return signNote(formatCheckpoint({ origin: 'registry.test', size, root: await rootHash(size, t.source) }), [signer]);
}

function refused(fn: () => unknown, status: number): WitnessRefusal {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof WitnessRefusal, String(err));
    assert.equal(err.status, status, err.message);
    return err;
  }
  assert.fail(`expected a ${status} refusal`);
}

describe('witness (c2sp.org/tlog-witness add-checkpoint, tlog-cosignature v1)', () => {
  it('cosigns a first checkpoint and then only consistent extensions, with the status codes the spec assigns', async () => {
    const w = new WitnessCore(cosigner, [{ origin: 'registry.test', keys: [logVerifier] }], () => 1_700_000_000_000);
    const t = tree(20);
    const cp5 = await checkpoint(t, 5);
    const sig = w.addCheckpoint(formatAddCheckpoint(0, [], cp5));
    const v = cosignatureVerifier(cosigner.name, cosigner.publicKey);
    const opened = openNote(cp5 + sig, [logVerifier, v]);
    assert.equal(opened.verified.length, 2);
    assert.equal(v.timestampOf(Buffer.from(sig.split(' ')[2]!, 'base64').subarray(4)), 1_700_000_000);
    // The cosignature signs "cosignature/v1\ntime <t>\n" + the checkpoint text: the same text under another time fails.
    assert.throws(
      () =>
        openNote(
          cp5 +
            sig.replace(/ (\S+)\n$/, (_m, b: string) => {
              const raw = Buffer.from(b, 'base64');
              raw.writeBigUInt64BE(1n, 4);
              return ` ${raw.toString('base64')}\n`;
            }),
          [v],
        ),
      /invalid signature/,
    );

    const cp12 = await checkpoint(t, 12);
    refused(() => w.addCheckpoint(formatAddCheckpoint(0, [], cp12)), 409);
    const conflict = refused(() => w.addCheckpoint(formatAddCheckpoint(3, [], cp12)), 409);
    assert.equal(conflict.body, '5\n');
    assert.equal(conflict.contentType, 'text/x.tlog.size');
    refused(() => w.addCheckpoint(formatAddCheckpoint(13, [], cp12)), 400);
    const proof = await consistencyProof(5, 12, t.source);
    const bad = proof.map((p) => Buffer.from(p));
    bad[0]![0]! ^= 1;
    refused(() => w.addCheckpoint(formatAddCheckpoint(5, bad, cp12)), 422);
    assert.equal(w.latest('registry.test')!.size, 5, 'a refused request changes nothing');
    openNote(cp12 + w.addCheckpoint(formatAddCheckpoint(5, proof, cp12)), [v]);
    assert.equal(w.latest('registry.test')!.size, 12);

    // A fork: a different tree of the same or larger size is refused.
    const fork = new MemoryTree();
    for (let i = 0; i < 20; i++) fork.append(Buffer.from(i === 3 ? 'forged' : `e${i}`));
    refused(
      () =>
        w.addCheckpoint(
          formatAddCheckpoint(
            12,
            [],
            signNote(formatCheckpoint({ origin: 'registry.test', size: 12, root: fork.levels[0]![0]! }), [log]),
          ),
        ),
      422,
    );
    const forkProof = await consistencyProof(12, 20, fork.source);
    const fork20 = await checkpoint(fork, 20);
    refused(() => w.addCheckpoint(formatAddCheckpoint(12, forkProof, fork20)), 422);
    // Same size, same tree: cosigned again.
    openNote(cp12 + w.addCheckpoint(formatAddCheckpoint(12, [], cp12)), [v]);
  });

  it('refuses unknown logs (404), bad or missing log signatures (403), and malformed requests (400, 422)', async () => {
    const w = new WitnessCore(cosigner, [{ origin: 'registry.test', keys: [logVerifier] }]);
    const t = tree(4);
    const other = ed25519Signer('registry.test', Buffer.alloc(32, 9));
    refused(
      () =>
        w.addCheckpoint(
          formatAddCheckpoint(
            0,
            [],
            signNote(formatCheckpoint({ origin: 'elsewhere.test', size: 1, root: t.levels[0]![0]! }), [log]),
          ),
        ),
      404,
    );
    const byOther = await checkpoint(t, 2, other);
    refused(() => w.addCheckpoint(formatAddCheckpoint(0, [], byOther)), 403);
    const good = await checkpoint(t, 2);
    refused(() => w.addCheckpoint(formatAddCheckpoint(0, [], good.replace('\n2\n', '\n3\n'))), 403);
    refused(() => w.addCheckpoint(formatAddCheckpoint(0, [t.levels[0]![0]!], good)), 422);
    refused(
      () =>
        w.addCheckpoint(
          formatAddCheckpoint(
            0,
            [],
            signNote(formatCheckpoint({ origin: 'registry.test', size: 0, root: t.levels[0]![0]! }), [log]),
          ),
        ),
      422,
    );
    refused(() => w.addCheckpoint(`old 01\n\n${good}`), 400);
    refused(() => w.addCheckpoint(`old 0\nnot-base64\n\n${good}`), 400);
    refused(() => w.addCheckpoint(`old 0\n${good}`), 400);
  });

  it('encodes witness keys as vkeys with type 0x04 and refuses a mismatched key ID', () => {
    const vkey = encodeCosignerKey(cosigner);
    assert.match(vkey, /^witness\.test\/w1\+[0-9a-f]{8}\+B/);
    assert.equal(parseCosignerKey(vkey).id, cosigner.id);
    assert.throws(() => parseCosignerKey(vkey.replace(/\+[0-9a-f]{8}\+/, '+00000000+')));
    assert.notEqual(
      cosigner.id,
      ed25519Signer(cosigner.name, Buffer.alloc(32, 2)).id,
      'a cosigning key ID differs from a plain Ed25519 one',
    );
  });
});
