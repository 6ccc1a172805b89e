import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeLeaf, encodeRecord, opensSealedLeaf, publishedRecordFromPackument } from '../../src/trust/tlog/leaf.ts';
import { MemoryTree, hashLeaf, rootHash, verifyConsistency, verifyInclusion } from '../../src/trust/tlog/merkle.ts';
import { openCheckpoint, parseVerifierKey, type Verifier } from '../../src/trust/tlog/note.ts';
import { decodeBundle } from '../../src/trust/tlog/tiles.ts';
import { EventKind, recordEvent } from '../../src/store/events.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const b64 = (s: string) => Buffer.from(s, 'base64');

for (const kind of DB_KINDS) {
  describe(`transparency log over HTTP (${kind})`, () => {
    let r: TestRegistry;
    let alice: { id: number; token: string };
    let bob: { id: number; token: string };
    let vkey: Verifier;
    let origin: string;
    before(async () => {
      r = await startRegistry(kind);
      alice = await r.user('alice');
      bob = await r.user('bob');
      origin = new URL(r.url).host;
    });
    after(() => r.stop());

    async function checkpoint(): Promise<{ size: number; root: Buffer; note: string }> {
      const res = await r.request('GET', '/-/log/checkpoint');
      assert.equal(res.status, 200);
      const cp = openCheckpoint(res.text, origin, vkey);
      return { size: cp.size, root: cp.root, note: res.text };
    }

    /** Waits for a signed checkpoint of at least `size` entries; the log promises one within a second of the event. */
    async function signedSize(size: number): Promise<{ size: number; root: Buffer; note: string; ms: number }> {
      const started = Date.now();
      for (;;) {
        const cp = await checkpoint();
        if (cp.size >= size) return { ...cp, ms: Date.now() - started };
        if (Date.now() - started > 5000) assert.fail(`no checkpoint of size ${size} after 5 s (at ${cp.size})`);
        await new Promise((res) => setTimeout(res, 20));
      }
    }

    it('serves its key and a signed checkpoint for the registry origin, cached only briefly', async () => {
      const key = await r.request('GET', '/-/log/key');
      assert.equal(key.status, 200);
      vkey = parseVerifierKey(key.text.trim());
      assert.equal(vkey.name, origin);
      const res = await r.request('GET', '/-/log/checkpoint');
      assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
      assert.equal(res.headers.get('cache-control'), 'public, max-age=1, must-revalidate');
      const cp = openCheckpoint(res.text, origin, vkey);
      assert.equal(cp.size, 0);
    });

    it('logs a publish within moments and proves it from what the packument says', async (t) => {
      const doc = publishDoc({ name: 'left-pad', version: '1.0.0' });
      const published = Date.now();
      assert.equal((await r.request('PUT', '/left-pad', { token: alice.token, body: body(doc) })).status, 201);
      // The sequencer runs every 250 ms; how long it takes is measured in bench/, not asserted here (a loaded CI
      // machine would make a timed assertion flaky). signedSize fails after 5 s.
      const cp = await signedSize(3);
      t.diagnostic(`signed checkpoint ${Date.now() - published} ms after the publish`);

      const proof = (await r.request('GET', '/-/log/proof/inclusion?name=left-pad&version=1.0.0')).json();
      assert.equal(proof.index, 1, 'after the package-created entry');
      assert.equal(proof.tree_size, cp.size);
      assert.equal(proof.opening, undefined);
      // The reader recomputes the entry from the packument and checks it against the signed root.
      const packument = (await r.request('GET', '/left-pad')).json();
      const entry = encodeRecord(publishedRecordFromPackument(packument, '1.0.0'));
      assert.equal(proof.entry, entry.toString('utf8'));
      verifyInclusion(
        proof.index,
        proof.tree_size,
        hashLeaf(entry),
        proof.proof.map(b64),
        openCheckpoint(proof.checkpoint, origin, vkey).root,
      );
      // A different integrity (a swapped tarball) does not verify.
      const forged = encodeRecord({
        ...publishedRecordFromPackument(packument, '1.0.0'),
        integrity: 'sha512-' + Buffer.alloc(64).toString('base64'),
      } as never);
      assert.throws(() =>
        verifyInclusion(proof.index, proof.tree_size, hashLeaf(forged), proof.proof.map(b64), cp.root),
      );
      assert.equal((await r.request('GET', '/-/log/proof/inclusion?name=left-pad&version=9.9.9')).status, 404);
      assert.equal((await r.request('GET', '/-/log/proof/inclusion?name=left-pad')).status, 400);
    });

    it('seals a restricted package: tiles and feed show nothing of it, its readers can open it, others get 404', async () => {
      const doc = publishDoc({ name: '@alice/secret', version: '0.1.0' });
      assert.equal((await r.request('PUT', '/@alice%2fsecret', { token: alice.token, body: body(doc) })).status, 201);
      const cp = await signedSize(6);
      const notLogged = (await r.request('GET', '/-/log/proof/inclusion?name=@alice/nothing&version=0.1.0')).json();
      for (const token of [null, bob.token]) {
        const res = await r.request('GET', '/-/log/proof/inclusion?name=@alice/secret&version=0.1.0', { token });
        assert.equal(res.status, 404);
        assert.deepEqual(res.json(), {
          error: '@alice/secret@0.1.0 is not in the transparency log',
          code: 'E_NOT_FOUND',
        });
        assert.deepEqual(Object.keys(notLogged), ['error', 'code']);
        const feed = (await r.request('GET', '/-/bulwark/v1/changes?since=0', { token })).json();
        assert.doesNotMatch(JSON.stringify(feed), /secret/);
      }
      const mine = (
        await r.request('GET', '/-/log/proof/inclusion?name=@alice/secret&version=0.1.0', { token: alice.token })
      ).json();
      const salt = b64(mine.opening.salt);
      const record = b64(mine.opening.record);
      assert.ok(opensSealedLeaf(Buffer.from(mine.entry), salt, record));
      assert.match(record.toString(), /"name":"@alice\/secret","version":"0.1.0"/);
      verifyInclusion(mine.index, mine.tree_size, hashLeaf(Buffer.from(mine.entry)), mine.proof.map(b64), cp.root);
      const feed = (await r.request('GET', '/-/bulwark/v1/changes?since=0', { token: alice.token })).json();
      const sealed = feed.results.filter((e: any) => e.sealed);
      assert.deepEqual(
        sealed.map((e: any) => [e.change.type, e.change.name]),
        [
          ['package-created', '@alice/secret'],
          ['version-published', '@alice/secret'],
          ['dist-tag-set', '@alice/secret'],
        ],
      );

      // Everyone can still verify the whole tree from the tiles, sealed entries included.
      const bundle = await r.request('GET', `/-/log/tile/entries/000.p/${cp.size}`);
      assert.equal(bundle.status, 200);
      assert.equal(bundle.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.doesNotMatch(bundle.text, /secret/);
      const entries = decodeBundle(bundle.bytes);
      assert.equal(entries.length, cp.size);
      assert.equal(entries.filter((e) => decodeLeaf(e).sealed).length, 3);
      const tile = await r.request('GET', `/-/log/tile/0/000.p/${cp.size}`);
      assert.equal(tile.bytes.length, 32 * cp.size);
      const tree = new MemoryTree();
      entries.forEach((e, i) => {
        assert.ok(hashLeaf(e).equals(tile.bytes.subarray(32 * i, 32 * i + 32)));
        tree.append(e);
      });
      assert.ok((await rootHash(cp.size, tree.source)).equals(cp.root));
    });

    it('proves many versions in one request, leaving out what the caller may not read', async () => {
      const specs = ['left-pad@1.0.0', '@alice/secret@0.1.0', 'nope@1.0.0'];
      const anon = await r.request('POST', '/-/log/proof/inclusion', { body: { versions: specs } });
      assert.equal(anon.status, 200);
      const a = anon.json();
      assert.deepEqual(Object.keys(a.proofs), ['left-pad@1.0.0']);
      assert.deepEqual(a.missing, ['@alice/secret@0.1.0', 'nope@1.0.0']);
      const root = openCheckpoint(a.checkpoint, origin, vkey).root;
      const lp = a.proofs['left-pad@1.0.0'];
      verifyInclusion(lp.index, a.tree_size, hashLeaf(Buffer.from(lp.entry)), lp.proof.map(b64), root);
      const mine = (
        await r.request('POST', '/-/log/proof/inclusion', { token: alice.token, body: { versions: specs } })
      ).json();
      assert.deepEqual(Object.keys(mine.proofs).sort(), ['@alice/secret@0.1.0', 'left-pad@1.0.0']);
      const sp = mine.proofs['@alice/secret@0.1.0'];
      assert.ok(opensSealedLeaf(Buffer.from(sp.entry), b64(sp.opening.salt), b64(sp.opening.record)));
      verifyInclusion(
        sp.index,
        mine.tree_size,
        hashLeaf(Buffer.from(sp.entry)),
        sp.proof.map(b64),
        openCheckpoint(mine.checkpoint, origin, vkey).root,
      );
      for (const bad of [
        {},
        { versions: [] },
        { versions: ['no-version'] },
        { versions: [1] },
        { versions: Array.from({ length: 5001 }, (_, i) => `p${i}@1.0.0`) },
      ]) {
        assert.equal(
          (await r.request('POST', '/-/log/proof/inclusion', { body: bad })).status,
          400,
          JSON.stringify(bad).slice(0, 40),
        );
      }
    });

    it('serves full tiles once the tree has them, refuses malformed tile paths, and proves consistency', async () => {
      const before = await checkpoint();
      // 300 tag moves, written as the packages service would, to fill a whole tile quickly.
      await r.store.db.transaction().execute(async (trx) => {
        for (let i = 0; i < 300; i++)
          await recordEvent(
            trx,
            {
              kind: EventKind.DistTagSet,
              subject: 'left-pad',
              actorId: alice.id,
              data: { tag: `t${i}`, version: '1.0.0' },
            },
            Date.now(),
          );
      });
      const cp = await signedSize(before.size + 300);
      const full = await r.request('GET', '/-/log/tile/0/000');
      assert.equal(full.status, 200);
      assert.equal(full.bytes.length, 32 * 256);
      const fullBundle = decodeBundle((await r.request('GET', '/-/log/tile/entries/000')).bytes);
      assert.equal(fullBundle.length, 256);
      assert.equal(full.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      const rest = cp.size - 256;
      assert.equal((await r.request('GET', `/-/log/tile/0/001.p/${rest}`)).bytes.length, 32 * rest);
      // The level-1 tile's one hash is the root of the first 256 entries.
      const level1 = await r.request('GET', '/-/log/tile/1/000.p/1');
      const tree = new MemoryTree();
      for (const e of fullBundle) tree.append(e);
      assert.ok(level1.bytes.equals(await rootHash(256, tree.source)));
      for (const bad of [
        '/-/log/tile/0/001',
        '/-/log/tile/0/0',
        '/-/log/tile/0/x000/001',
        '/-/log/tile/0/000.p/0',
        '/-/log/tile/0/000.p/256',
        '/-/log/tile/00/000',
        '/-/log/tile/64/000',
        `/-/log/tile/0/001.p/${rest + 1}`,
        '/-/log/tile/2/000.p/1',
      ]) {
        assert.equal((await r.request('GET', bad)).status, 404, bad);
      }
      const res = (await r.request('GET', `/-/log/proof/consistency?from=${before.size}&to=${cp.size}`)).json();
      verifyConsistency(before.size, cp.size, res.proof.map(b64), before.root, cp.root);
      assert.throws(() => verifyConsistency(before.size, cp.size, res.proof.map(b64), cp.root, before.root));
      for (const q of ['from=0', `from=${cp.size + 1}`, 'from=abc', `from=2&to=${cp.size + 5}`, '']) {
        assert.equal((await r.request('GET', `/-/log/proof/consistency?${q}`)).status, 400, q);
      }
    });

    it('feeds changes after a position with their log indexes, a page at a time, without splitting an event', async () => {
      const all = (await r.request('GET', '/-/bulwark/v1/changes?since=0')).json();
      assert.ok(all.results.length > 300);
      for (const e of all.results) assert.equal(typeof e.index, 'number');
      assert.deepEqual(
        all.results.slice(0, 3).map((e: any) => e.change.type),
        ['package-created', 'version-published', 'dist-tag-set'],
      );
      const page = (await r.request('GET', '/-/bulwark/v1/changes?since=0&limit=2')).json();
      // The publish event has two entries (version and tag): a page of two may not take only one of them.
      assert.deepEqual(
        page.results.map((e: any) => e.index),
        [0],
      );
      const next = (await r.request('GET', `/-/bulwark/v1/changes?since=${page.last_seq}&limit=2`)).json();
      assert.deepEqual(
        next.results.map((e: any) => e.index),
        [1, 2],
      );
      assert.equal((await r.request('GET', '/-/bulwark/v1/changes?since=-1')).status, 400);
    });
  });
}

describe('transparency log under --read-access authenticated', () => {
  it('needs a token for the checkpoint, tiles, proofs and feed, and marks them private', async () => {
    const r = await startRegistry('sqlite', { 'read-access': 'authenticated' });
    try {
      for (const path of [
        '/-/log/checkpoint',
        '/-/log/key',
        '/-/log/tile/entries/000.p/1',
        '/-/log/proof/consistency?from=1',
        '/-/bulwark/v1/changes?since=0',
      ]) {
        assert.equal((await r.request('GET', path)).status, 401, path);
      }
      const res = await r.request('GET', '/-/log/checkpoint', { token: r.adminToken });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('cache-control'), 'private, max-age=1, must-revalidate');
    } finally {
      await r.stop();
    }
  });
});
