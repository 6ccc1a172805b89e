// The transparency log's Merkle math, pure: RFC 9162 (RFC 6962) hashing, the hash of any range of leaves, which tree
// nodes an inclusion or consistency proof is made of, and the verification of both proofs exactly as RFC 9162
// §2.1.3.2 and §2.1.4.2 describe them. No I/O: proof generation asks a HashSource for the nodes it needs, so the same
// code serves a database, tiles fetched over HTTP, or an in-memory tree in tests.
// https://www.rfc-editor.org/rfc/rfc9162.html#section-2.1
import { createHash } from 'node:crypto';

/** RFC 9162 §2.1.1: leaves and interior nodes hash with different one-byte prefixes, so a leaf can't pose as a node. */
export const LEAF_PREFIX = 0x00;
export const NODE_PREFIX = 0x01;
export const HASH_SIZE = 32;

export type Hash = Buffer;

/** A complete (perfect) subtree: the node at `level` (0 = leaves) covering leaves [index·2^level, (index+1)·2^level). */
export type NodeId = { level: number; index: number };

/**
 * Answers the hashes of complete subtrees, in the order asked. Implementations MUST only be asked for nodes whose
 * leaves all exist in the tree the caller is proving against.
 */
export type HashSource = (ids: readonly NodeId[]) => Promise<readonly Hash[]> | readonly Hash[];

export class ProofError extends Error {
  override name = 'ProofError';
}

export const EMPTY_ROOT: Hash = createHash('sha256').digest();

export function hashLeaf(data: Uint8Array): Hash {
  return createHash('sha256').update(Uint8Array.of(LEAF_PREFIX)).update(data).digest();
}

export function hashChildren(left: Uint8Array, right: Uint8Array): Hash {
  return createHash('sha256').update(Uint8Array.of(NODE_PREFIX)).update(left).update(right).digest();
}

// Tree sizes and indexes are JavaScript numbers (exact up to 2^53); the bitwise operators would cut them to 32 bits,
// so the few bit operations below are written with arithmetic.
const isOdd = (x: number) => x % 2 === 1;
const half = (x: number) => Math.floor(x / 2);

function assertIndex(name: string, x: number): void {
  if (!Number.isSafeInteger(x) || x < 0) throw new RangeError(`${name} must be a non-negative integer, got ${x}`);
}

/** The largest power of two strictly smaller than n (n ≥ 2): where RFC 9162 splits a tree of n leaves. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n >= 1 && Number.isInteger(Math.log2(n)) && 2 ** Math.log2(n) === n;
}

/**
 * The complete subtrees, left to right, whose right-to-left fold with hashChildren gives MTH(D[start:end]) as RFC 9162
 * §2.1.1 defines it: the range is split at the largest power of two below its size, recursively.
 */
export function rangeNodes(start: number, end: number): NodeId[] {
  assertIndex('start', start);
  assertIndex('end', end);
  if (end <= start) throw new RangeError(`empty range [${start}, ${end})`);
  const out: NodeId[] = [];
  const walk = (s: number, n: number) => {
    if (isPowerOfTwo(n) && s % n === 0) {
      out.push({ level: Math.log2(n), index: s / n });
      return;
    }
    const k = splitPoint(n);
    walk(s, k);
    walk(s + k, n - k);
  };
  walk(start, end - start);
  return out;
}

/** Folds the hashes of rangeNodes() into the range's Merkle Tree Hash. */
export function foldRange(hashes: readonly Uint8Array[]): Hash {
  if (hashes.length === 0) throw new RangeError('no hashes to fold');
  let acc: Hash = Buffer.from(hashes[hashes.length - 1]!);
  for (let i = hashes.length - 2; i >= 0; i--) acc = hashChildren(hashes[i]!, acc);
  return acc;
}

/** A proof is a list of range hashes; each is described by the complete subtrees it folds from. */
export type ProofPlan = NodeId[][];

/** RFC 9162 §2.1.3.1 PATH(m, D[n]): the ranges whose hashes make up the inclusion proof of leaf m in a tree of n. */
export function inclusionPlan(index: number, size: number): ProofPlan {
  assertIndex('index', index);
  assertIndex('size', size);
  if (index >= size) throw new RangeError(`leaf index ${index} is not below tree size ${size}`);
  const out: ProofPlan = [];
  // Iterative form of the recursion, collecting from the root down; the proof lists them leaf-upwards.
  let start = 0;
  let n = size;
  let m = index;
  while (n > 1) {
    const k = splitPoint(n);
    if (m < k) {
      out.push(rangeNodes(start + k, start + n));
      n = k;
    } else {
      out.push(rangeNodes(start, start + k));
      start += k;
      m -= k;
      n -= k;
    }
  }
  return out.reverse();
}

/** RFC 9162 §2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[n], true), for 0 < m < n; empty when m = n. */
export function consistencyPlan(size1: number, size2: number): ProofPlan {
  assertIndex('size1', size1);
  assertIndex('size2', size2);
  if (size1 === 0 || size1 > size2) throw new RangeError(`no consistency proof from size ${size1} to size ${size2}`);
  if (size1 === size2) return [];
  const out: ProofPlan = [];
  let start = 0;
  let n = size2;
  let m = size1;
  let complete = true;
  for (;;) {
    if (m === n) {
      if (!complete) out.push(rangeNodes(start, start + m));
      break;
    }
    const k = splitPoint(n);
    if (m <= k) {
      out.push(rangeNodes(start + k, start + n));
      n = k;
    } else {
      out.push(rangeNodes(start, start + k));
      start += k;
      m -= k;
      n -= k;
      complete = false;
    }
  }
  return out.reverse();
}

/** Fetches every node a plan needs in one call to the source, then folds each range. */
export async function resolvePlan(plan: ProofPlan, source: HashSource): Promise<Hash[]> {
  const ids = plan.flat();
  if (ids.length === 0) return [];
  const hashes = await source(ids);
  if (hashes.length !== ids.length)
    throw new Error(`hash source answered ${hashes.length} hashes for ${ids.length} nodes`);
  let at = 0;
  return plan.map((range) => {
    const slice = hashes.slice(at, at + range.length);
    at += range.length;
    return foldRange(slice);
  });
}

export async function rootHash(size: number, source: HashSource): Promise<Hash> {
  if (size === 0) return EMPTY_ROOT;
  const [root] = await resolvePlan([rangeNodes(0, size)], source);
  return root!;
}

export function inclusionProof(index: number, size: number, source: HashSource): Promise<Hash[]> {
  return resolvePlan(inclusionPlan(index, size), source);
}

export function consistencyProof(size1: number, size2: number, source: HashSource): Promise<Hash[]> {
  return resolvePlan(consistencyPlan(size1, size2), source);
}

function checkHash(what: string, h: Uint8Array): void {
  if (h.length !== HASH_SIZE) throw new ProofError(`${what} is ${h.length} bytes, not ${HASH_SIZE}`);
}

/**
 * RFC 9162 §2.1.3.2: verifies that leafHash is leaf `index` of the tree of `size` leaves whose root is `root`.
 * @throws ProofError when the proof does not verify, whatever the reason.
 */
export function verifyInclusion(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size)
    throw new ProofError(`leaf index ${index} is not inside a tree of size ${size}`);
  checkHash('the leaf hash', leafHash);
  checkHash('the root', root);
  proof.forEach((p, i) => checkHash(`proof element ${i}`, p));
  let fn = index;
  let sn = size - 1;
  let r: Hash = Buffer.from(leafHash);
  for (const p of proof) {
    if (sn === 0) throw new ProofError('the inclusion proof is longer than the tree is deep');
    if (isOdd(fn) || fn === sn) {
      r = hashChildren(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new ProofError('the inclusion proof is too short for the tree size');
  if (!r.equals(root)) throw new ProofError('the inclusion proof does not lead to the root');
}

/**
 * RFC 9162 §2.1.4.2: verifies that the tree of size2 leaves with root2 extends the tree of size1 leaves with root1.
 * A proof from the empty tree proves nothing and is refused (as transparency-dev/merkle does); equal sizes need an
 * empty proof and equal roots.
 * @throws ProofError when the proof does not verify, whatever the reason.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 0 || size2 < size1)
    throw new ProofError(`no consistency proof goes from size ${size1} to size ${size2}`);
  if (size1 === 0) throw new ProofError('a consistency proof from the empty tree proves nothing');
  if (size1 === size2) {
    if (proof.length !== 0) throw new ProofError('equal tree sizes need an empty consistency proof');
    if (!Buffer.from(root1).equals(root2)) throw new ProofError('equal tree sizes with different roots');
    return;
  }
  checkHash('the first root', root1);
  checkHash('the second root', root2);
  proof.forEach((p, i) => checkHash(`proof element ${i}`, p));
  if (proof.length === 0) throw new ProofError('the consistency proof is empty');
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Hash = Buffer.from(path[0]!);
  let sr: Hash = Buffer.from(path[0]!);
  for (const c of path.slice(1)) {
    if (sn === 0) throw new ProofError('the consistency proof is longer than the tree is deep');
    if (isOdd(fn) || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new ProofError('the consistency proof is too short for the tree sizes');
  if (!fr.equals(root1)) throw new ProofError('the consistency proof does not lead to the first root');
  if (!sr.equals(root2)) throw new ProofError('the consistency proof does not lead to the second root');
}

/**
 * An in-memory tree that keeps every complete subtree's hash, for tests and for the client that rebuilds a log from
 * its tiles. levels[l][i] is the NodeId {level: l, index: i}.
 */
export class MemoryTree {
  readonly levels: Hash[][] = [[]];
  get size(): number {
    return this.levels[0]!.length;
  }
  appendLeafHash(leafHash: Hash): void {
    let level = 0;
    let h = leafHash;
    for (;;) {
      const row = (this.levels[level] ??= []);
      row.push(h);
      if (row.length % 2 === 1) return;
      h = hashChildren(row[row.length - 2]!, h);
      level++;
    }
  }
  append(data: Uint8Array): void {
    this.appendLeafHash(hashLeaf(data));
  }
  readonly source: HashSource = (ids) =>
    ids.map(({ level, index }) => {
      const h = this.levels[level]?.[index];
      if (!h) throw new RangeError(`node ${level}/${index} is not in the tree`);
      return h;
    });
}
