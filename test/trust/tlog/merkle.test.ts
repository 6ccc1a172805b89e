import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  EMPTY_ROOT,
  MemoryTree,
  ProofError,
  consistencyProof,
  hashChildren,
  hashLeaf,
  inclusionPlan,
  inclusionProof,
  rangeNodes,
  rootHash,
  verifyConsistency,
  verifyInclusion,
} from '../../../src/trust/tlog/merkle.ts';

const VECTORS = path.join(import.meta.dirname, '..', '..', 'fixtures', 'vectors', 'merkle');

function probes(kind: 'inclusion' | 'consistency'): { file: string; probe: any }[] {
  const out: { file: string; probe: any }[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.json'))
        out.push({ file: path.relative(VECTORS, full), probe: JSON.parse(readFileSync(full, 'utf8')) });
    }
  };
  walk(path.join(VECTORS, kind));
  return out;
}

const b64 = (s: string | null | undefined) => Buffer.from(s ?? '', 'base64');
const hex = (s: string) => Buffer.from(s, 'hex');

// transparency-dev/merkle testonly/constants.go: the leaf inputs and the RFC 6962 roots of every prefix of them.
const LEAF_INPUTS = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(hex);
const ROOTS = [
  EMPTY_ROOT.toString('hex'),
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

/** MTH straight from RFC 9162 §2.1.1, recursively over the leaf hashes: the reference the fast paths must equal. */
function naiveRoot(leafHashes: Buffer[]): Buffer {
  if (leafHashes.length === 0) return EMPTY_ROOT;
  if (leafHashes.length === 1) return leafHashes[0]!;
  let k = 1;
  while (k * 2 < leafHashes.length) k *= 2;
  return hashChildren(naiveRoot(leafHashes.slice(0, k)), naiveRoot(leafHashes.slice(k)));
}

function treeOf(n: number): MemoryTree {
  const t = new MemoryTree();
  for (let i = 0; i < n; i++) t.append(Buffer.from(`leaf ${i}`));
  return t;
}

describe('RFC 6962 hashing', () => {
  it('hashes the empty tree, leaves and prefixes of transparency-dev test leaves to the published roots', async () => {
    assert.equal(EMPTY_ROOT.toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const tree = new MemoryTree();
    assert.equal((await rootHash(0, tree.source)).toString('hex'), ROOTS[0]);
    for (const [i, input] of LEAF_INPUTS.entries()) {
      tree.append(input);
      assert.equal((await rootHash(i + 1, tree.source)).toString('hex'), ROOTS[i + 1], `root of size ${i + 1}`);
    }
    assert.equal(hashLeaf(Buffer.alloc(0)).toString('hex'), ROOTS[1]);
  });

  it('splits ranges as RFC 9162 does', () => {
    assert.deepEqual(rangeNodes(0, 7), [
      { level: 2, index: 0 },
      { level: 1, index: 2 },
      { level: 0, index: 6 },
    ]);
    assert.deepEqual(rangeNodes(4, 8), [{ level: 2, index: 1 }]);
    assert.throws(() => rangeNodes(3, 3), RangeError);
  });
});

describe('transparency-dev/merkle proof vectors', () => {
  const inclusion = probes('inclusion');
  const consistency = probes('consistency');
  it('has the vendored vectors', () => {
    assert.ok(inclusion.length > 80, `${inclusion.length} inclusion probes`);
    assert.ok(consistency.length > 80, `${consistency.length} consistency probes`);
    assert.ok(inclusion.some((p) => !p.probe.wantErr) && inclusion.some((p) => p.probe.wantErr));
    assert.ok(consistency.some((p) => !p.probe.wantErr) && consistency.some((p) => p.probe.wantErr));
  });

  it('verifies every inclusion probe as the vectors say', () => {
    const wrong: string[] = [];
    for (const { file, probe } of inclusion) {
      let err: unknown = null;
      try {
        verifyInclusion(
          probe.leafIdx,
          probe.treeSize,
          b64(probe.leafHash),
          (probe.proof ?? []).map(b64),
          b64(probe.root),
        );
      } catch (e) {
        err = e;
      }
      if (err && !(err instanceof ProofError)) wrong.push(`${file}: threw ${String(err)}`);
      else if (probe.wantErr !== (err !== null))
        wrong.push(`${file}: ${err ? `refused (${(err as Error).message})` : 'accepted'}`);
    }
    assert.deepEqual(wrong, []);
  });

  it('verifies every consistency probe as the vectors say', () => {
    const wrong: string[] = [];
    for (const { file, probe } of consistency) {
      let err: unknown = null;
      try {
        verifyConsistency(probe.size1, probe.size2, (probe.proof ?? []).map(b64), b64(probe.root1), b64(probe.root2));
      } catch (e) {
        err = e;
      }
      if (err && !(err instanceof ProofError)) wrong.push(`${file}: threw ${String(err)}`);
      else if (probe.wantErr !== (err !== null))
        wrong.push(`${file}: ${err ? `refused (${(err as Error).message})` : 'accepted'}`);
    }
    assert.deepEqual(wrong, []);
  });

  it('generates exactly the proofs of the happy-path vectors', async () => {
    const tree = new MemoryTree();
    for (const input of LEAF_INPUTS) tree.append(input);
    for (const { file, probe } of inclusion.filter(
      (p) => !p.probe.wantErr && p.probe.treeSize <= 8 && p.probe.treeSize > 0,
    )) {
      if (!b64(probe.leafHash).equals(tree.levels[0]![probe.leafIdx]!)) continue; // probes over other leaves
      const proof = await inclusionProof(probe.leafIdx, probe.treeSize, tree.source);
      assert.deepEqual(
        proof.map((p) => p.toString('base64')),
        probe.proof ?? [],
        file,
      );
    }
    for (const { file, probe } of consistency.filter(
      (p) => !p.probe.wantErr && p.probe.size1 > 0 && p.probe.size2 <= 8,
    )) {
      const proof = await consistencyProof(probe.size1, probe.size2, tree.source);
      assert.deepEqual(
        proof.map((p) => p.toString('base64')),
        probe.proof ?? [],
        file,
      );
    }
  });
});

describe('Merkle proofs over random trees (fast-check)', () => {
  it('root from the complete-subtree decomposition equals the recursive definition', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 300 }), async (n) => {
        const tree = treeOf(n);
        assert.ok((await rootHash(n, tree.source)).equals(naiveRoot(tree.levels[0]!.slice(0, n))));
      }),
      { numRuns: 100 },
    );
  });

  it('every generated inclusion proof verifies, and any change to it is refused', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 1, max: 1100 })
          .chain((size) => fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size - 1 }), fc.nat(), fc.nat(255))),
        async ([size, index, pick, bit]) => {
          const tree = treeOf(size);
          const root = await rootHash(size, tree.source);
          const leaf = tree.levels[0]![index]!;
          const proof = await inclusionProof(index, size, tree.source);
          verifyInclusion(index, size, leaf, proof, root);
          if (proof.length > 0) {
            const bad = proof.map((p) => Buffer.from(p));
            bad[pick % bad.length]![bit % 32]! ^= 1 << (bit % 8);
            assert.throws(() => verifyInclusion(index, size, leaf, bad, root), ProofError);
            assert.throws(() => verifyInclusion(index, size, leaf, proof.slice(1), root), ProofError);
          }
          assert.throws(() => verifyInclusion(index, size, leaf, [...proof, root], root), ProofError);
          if (size > 1) assert.throws(() => verifyInclusion((index + 1) % size, size, leaf, proof, root), ProofError);
          assert.throws(() => verifyInclusion(index, size, hashLeaf(Buffer.from('other')), proof, root), ProofError);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('plans proofs for trees far beyond 2^32 leaves: the ranges of an inclusion proof and the leaf tile [0, size)', () => {
    const span = (id: { level: number; index: number }) =>
      [id.index * 2 ** id.level, (id.index + 1) * 2 ** id.level] as const;
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: Number.MAX_SAFE_INTEGER })
          .chain((size) => fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size - 1 }))),
        ([size, index]) => {
          const pieces = [[index, index + 1] as const, ...inclusionPlan(index, size).flat().map(span)].sort(
            (a, b) => a[0] - b[0],
          );
          let at = 0;
          for (const [from, to] of pieces) {
            assert.equal(from, at, `gap or overlap at ${at} for size ${size}, index ${index}`);
            at = to;
          }
          assert.equal(at, size);
          assert.ok(inclusionPlan(index, size).length <= 53);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('every generated consistency proof verifies, and any change to it is refused', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 1, max: 1100 })
          .chain((size2) => fc.tuple(fc.integer({ min: 1, max: size2 }), fc.constant(size2), fc.nat(), fc.nat(255))),
        async ([size1, size2, pick, bit]) => {
          const tree = treeOf(size2);
          const root1 = await rootHash(size1, tree.source);
          const root2 = await rootHash(size2, tree.source);
          const proof = await consistencyProof(size1, size2, tree.source);
          verifyConsistency(size1, size2, proof, root1, root2);
          if (proof.length > 0) {
            const bad = proof.map((p) => Buffer.from(p));
            bad[pick % bad.length]![bit % 32]! ^= 1 << (bit % 8);
            assert.throws(() => verifyConsistency(size1, size2, bad, root1, root2), ProofError);
            assert.throws(() => verifyConsistency(size1, size2, proof.slice(0, -1), root1, root2), ProofError);
          }
          if (size1 < size2) {
            assert.throws(() => verifyConsistency(size1, size2, proof, root2, root1), ProofError);
            const forged = hashChildren(root1, root1);
            assert.throws(() => verifyConsistency(size1, size2, proof, root1, forged), ProofError);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
