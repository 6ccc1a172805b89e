// The client side of the transparency log: a monitor that replays a registry's whole log from its tiles, and the
// check of one version's inclusion proof. HTTP comes in as a fetch function and the remembered state as a value,
// so the same steps run in the CLI and in tests. Everything the registry sends is unverified until a step checks it.
import { LeafError, decodeLeaf, encodeRecord, opensSealedLeaf, publishedRecordFromPackument } from './leaf.ts';
import { MemoryTree, ProofError, hashLeaf, rootHash, verifyConsistency, verifyInclusion } from './merkle.ts';
import { NoteError, encodeVerifierKey, openCheckpoint, parseVerifierKey, type Verifier } from './note.ts';
import { TILE_WIDTH, decodeBundle, tilePath } from './tiles.ts';
import { parseCosignerKey } from './witness.ts';

export type Fetch = (
  url: string,
  init?: { method?: string; headers?: Record<string, string>; body?: string },
) => Promise<{ status: number; text(): Promise<string>; arrayBuffer(): Promise<ArrayBuffer> }>;

/** What a monitor remembers between runs: the key it trusts and the last checkpoint it verified. */
export type MonitorState = { registry: string; vkey: string; size: number; root: string; checkpoint: string };

export type VerifyReport = {
  ok: boolean;
  size: number;
  root: string;
  problems: string[];
  notes: string[];
  state: MonitorState | null;
  checkedVersions: number;
  sealed: number;
};

export class MonitorError extends Error {
  override name = 'MonitorError';
}

type Client = { get(path: string): Promise<{ status: number; body: Buffer }> };

function client(registry: string, fetchFn: Fetch, token?: string): Client {
  const base = registry.replace(/\/+$/, '');
  return {
    async get(path) {
      const res = await fetchFn(`${base}${path}`, {
        headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      });
      return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
    },
  };
}

async function must(c: Client, path: string): Promise<Buffer> {
  const res = await c.get(path);
  if (res.status !== 200)
    throw new MonitorError(`GET ${path} answered ${res.status}: ${res.body.toString('utf8').slice(0, 200)}`);
  return res.body;
}

/** The log key to trust: given by the operator, else remembered, else (first use) the one the registry serves. */
async function trustedKey(
  c: Client,
  given: string | undefined,
  state: MonitorState | null,
  notes: string[],
): Promise<Verifier> {
  if (given) return parseVerifierKey(given);
  if (state) return parseVerifierKey(state.vkey);
  const served = (await must(c, '/-/log/key')).toString('utf8').trim();
  notes.push(`trusting the log key the registry serves on first use: ${served} (pass --key to pin it)`);
  return parseVerifierKey(served);
}

export type VerifyOptions = {
  registry: string;
  fetch: Fetch;
  token?: string;
  key?: string;
  state: MonitorState | null;
  origin?: string;
  now?: () => number;
  witnesses?: string[];
};

/** A version published this close to the checkpoint fetch may not be in that checkpoint yet (the log batches). */
const GRACE_MS = 5000;

/**
 * Replays the whole log: fetches the signed checkpoint, every entry bundle, recomputes the root; checks each published
 * version against the packument the registry serves now (and each served version against the log); and checks that
 * the new checkpoint is consistent with the one remembered from the last run. Problems are collected, not thrown, so
 * one run reports all of them; a bad signature or an unreadable log stops at once.
 */
export async function verifyLog(opts: VerifyOptions): Promise<VerifyReport> {
  const c = client(opts.registry, opts.fetch, opts.token);
  const notes: string[] = [];
  const problems: string[] = [];
  if (opts.state && opts.state.registry !== opts.registry)
    throw new MonitorError(`the remembered state is for ${opts.state.registry}, not ${opts.registry}`);
  const key = await trustedKey(c, opts.key, opts.state, notes);
  const origin = opts.origin ?? key.name;
  const fetchedAt = (opts.now ?? Date.now)();
  const note = (await must(c, '/-/log/checkpoint')).toString('utf8');
  let cp;
  const cosigners = (opts.witnesses ?? []).map((w) => {
    try {
      return parseCosignerKey(w);
    } catch (err) {
      throw new MonitorError(`--witness ${w}: ${(err as Error).message}`);
    }
  });
  try {
    cp = openCheckpoint(note, origin, key, cosigners);
  } catch (err) {
    if (err instanceof NoteError)
      throw new MonitorError(`the checkpoint does not verify with the log key: ${err.message}`);
    throw err;
  }
  for (const w of cosigners) {
    if (!cp.note.verified.some((s) => s.name === w.name && s.id === w.id))
      problems.push(`the checkpoint of size ${cp.size} carries no valid cosignature by the witness ${w.name}`);
  }

  // 1. Rebuild the tree from the entries and compare with the signed root.
  const tree = new MemoryTree();
  const entries: Buffer[] = [];
  for (let start = 0; start < cp.size; start += TILE_WIDTH) {
    const width = Math.min(TILE_WIDTH, cp.size - start);
    const index = start / TILE_WIDTH;
    const bundle = decodeBundle(
      await must(c, `/-/log/${tilePath({ kind: 'entries', index, width: width === TILE_WIDTH ? null : width })}`),
    );
    if (bundle.length !== width)
      throw new MonitorError(`entry bundle ${index} has ${bundle.length} entries, not ${width}`);
    for (const e of bundle) {
      entries.push(e);
      tree.append(e);
    }
  }
  const root = await rootHash(cp.size, tree.source);
  if (!root.equals(cp.root))
    problems.push(
      `the log's entries do not hash to the signed root of size ${cp.size}: the entries were altered after signing`,
    );

  // 2. Consistency with what this monitor saw last time: a smaller tree, or one that does not extend it, is a split
  // view or a rewritten history.
  if (opts.state) {
    const oldRoot = Buffer.from(opts.state.root, 'base64');
    if (cp.size < opts.state.size)
      problems.push(
        `the log shrank from ${opts.state.size} to ${cp.size} entries since the last check: history was rewritten`,
      );
    else if (opts.state.size > 0) {
      try {
        const res = JSON.parse(
          (await must(c, `/-/log/proof/consistency?from=${opts.state.size}&to=${cp.size}`)).toString('utf8'),
        ) as { proof?: unknown };
        const proof = Array.isArray(res.proof) ? res.proof.map((p) => Buffer.from(String(p), 'base64')) : [];
        verifyConsistency(opts.state.size, cp.size, proof, oldRoot, cp.root);
        // The proof is the registry's word; the rebuilt tree is ours: the old root must also be a prefix of it.
        if (!(await rootHash(opts.state.size, tree.source)).equals(oldRoot))
          throw new ProofError('the first entries no longer hash to the remembered root');
      } catch (err) {
        if (!(err instanceof ProofError || err instanceof MonitorError)) throw err;
        problems.push(
          `the checkpoint of size ${cp.size} is not consistent with the one of size ${opts.state.size} seen before (${err.message}): split view or rewritten history`,
        );
      }
    }
  }

  // 3. Every clear version entry against the packument the registry serves now, and every served version against the log.
  const logged = new Map<string, Map<string, Buffer>>();
  let sealed = 0;
  entries.forEach((e, i) => {
    let d;
    try {
      d = decodeLeaf(e);
    } catch (err) {
      if (!(err instanceof LeafError)) throw err;
      problems.push(`entry ${i} is not a valid log record: ${err.message}`);
      return;
    }
    if (d.sealed) return void sealed++;
    if (d.record.type !== 'version-published') return;
    const versions = logged.get(d.record.name) ?? new Map<string, Buffer>();
    versions.set(d.record.version, e);
    logged.set(d.record.name, versions);
  });
  const unpublished = new Set(
    entries.flatMap((e) => {
      try {
        const d = decodeLeaf(e);
        if (d.sealed) return [];
        if (d.record.type === 'version-unpublished') return [`${d.record.name}@${d.record.version}`];
        if (d.record.type === 'package-unpublished' || d.record.type === 'malicious-package-removed')
          return [`${d.record.name}@*`];
      } catch {
        // reported above
      }
      return [];
    }),
  );
  let checkedVersions = 0;
  for (const [name, versions] of logged) {
    const res = await c.get(`/${name.replace('/', '%2f')}`);
    if (res.status !== 200) {
      if (!unpublished.has(`${name}@*`))
        problems.push(`${name} is in the log but the registry answers ${res.status} for its packument`);
      continue;
    }
    const packument = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
    for (const [version, entry] of versions) {
      const served = (packument.versions as Record<string, unknown> | undefined)?.[version];
      if (!served) {
        if (!unpublished.has(`${name}@${version}`) && !unpublished.has(`${name}@*`))
          problems.push(`${name}@${version} is in the log but no longer served, with no unpublish entry`);
        continue;
      }
      checkedVersions++;
      try {
        if (!encodeRecord(publishedRecordFromPackument(packument, version)).equals(entry))
          problems.push(
            `${name}@${version}: the packument (integrity, publisher or time) differs from the logged entry`,
          );
      } catch (err) {
        if (!(err instanceof LeafError)) throw err;
        problems.push(`${name}@${version}: ${err.message}`);
      }
    }
    const times = (packument.time as Record<string, unknown> | undefined) ?? {};
    for (const version of Object.keys((packument.versions as Record<string, unknown> | undefined) ?? {})) {
      if (versions.has(version)) continue;
      const published = Date.parse(String(times[version]));
      if (published > fetchedAt - GRACE_MS)
        notes.push(`${name}@${version} was published after this checkpoint; the next run checks it`);
      else problems.push(`${name}@${version} is served but not in the log of size ${cp.size}`);
    }
  }

  const state: MonitorState = {
    registry: opts.registry,
    vkey: encodeVerifierKey(key),
    size: cp.size,
    root: cp.root.toString('base64'),
    checkpoint: note,
  };
  // A monitor only moves forward from a checkpoint it could verify completely.
  return {
    ok: problems.length === 0,
    size: cp.size,
    root: cp.root.toString('base64'),
    problems,
    notes,
    state: problems.length === 0 ? state : null,
    checkedVersions,
    sealed,
  };
}

/** Opens a checkpoint with the log key and requires a valid cosignature from each witness given. */
function openWitnessed(
  note: string,
  key: Verifier,
  witnesses: readonly string[] | undefined,
): ReturnType<typeof openCheckpoint> {
  const cosigners = (witnesses ?? []).map((w) => {
    try {
      return parseCosignerKey(w);
    } catch (err) {
      throw new MonitorError(`--witness ${w}: ${(err as Error).message}`);
    }
  });
  let cp;
  try {
    cp = openCheckpoint(note, key.name, key, cosigners);
  } catch (err) {
    throw new MonitorError(`the checkpoint does not verify with the log key: ${(err as Error).message}`);
  }
  for (const w of cosigners) {
    if (!cp.note.verified.some((s) => s.name === w.name && s.id === w.id))
      throw new MonitorError(`the checkpoint of size ${cp.size} carries no valid cosignature by the witness ${w.name}`);
  }
  return cp;
}

export type ProveReport = {
  index: number;
  size: number;
  entry: string;
  proof: string[];
  checkpoint: string;
  sealed: boolean;
};

/**
 * Fetches and checks the inclusion proof of name@version: the checkpoint's signature, the proof against its root, and
 * that the entry is what the packument says (for a restricted package, that the opening matches the sealed entry).
 * @throws MonitorError with the reason when anything does not check out.
 */
export async function proveVersion(opts: {
  registry: string;
  fetch: Fetch;
  token?: string;
  key?: string;
  state: MonitorState | null;
  name: string;
  version: string;
  witnesses?: string[];
}): Promise<ProveReport> {
  const c = client(opts.registry, opts.fetch, opts.token);
  const key = await trustedKey(c, opts.key, opts.state, []);
  const q = `name=${encodeURIComponent(opts.name)}&version=${encodeURIComponent(opts.version)}`;
  const res = JSON.parse((await must(c, `/-/log/proof/inclusion?${q}`)).toString('utf8')) as {
    index: number;
    tree_size: number;
    entry: string;
    proof: string[];
    checkpoint: string;
    opening?: { salt: string; record: string };
  };
  const cp = openWitnessed(res.checkpoint, key, opts.witnesses);
  const entry = Buffer.from(res.entry, 'utf8');
  try {
    verifyInclusion(
      res.index,
      cp.size,
      hashLeaf(entry),
      res.proof.map((p) => Buffer.from(p, 'base64')),
      cp.root,
    );
  } catch (err) {
    throw new MonitorError(
      `the inclusion proof of ${opts.name}@${opts.version} does not verify: ${(err as Error).message}`,
    );
  }
  const packument = JSON.parse((await must(c, `/${opts.name.replace('/', '%2f')}`)).toString('utf8')) as Record<
    string,
    unknown
  >;
  const expected = encodeRecord(publishedRecordFromPackument(packument, opts.version));
  const decoded = decodeLeaf(entry);
  if (decoded.sealed) {
    if (!res.opening || !opensSealedLeaf(entry, Buffer.from(res.opening.salt, 'base64'), expected))
      throw new MonitorError(
        `the sealed entry of ${opts.name}@${opts.version} does not open to what the packument says`,
      );
  } else if (!entry.equals(expected)) {
    throw new MonitorError(`the logged entry of ${opts.name}@${opts.version} differs from what the packument says`);
  }
  if (opts.state && opts.state.size > cp.size)
    throw new MonitorError(
      `the registry proves against a tree of ${cp.size} entries, older than the ${opts.state.size} seen before`,
    );
  return {
    index: res.index,
    size: cp.size,
    entry: res.entry,
    proof: res.proof,
    checkpoint: res.checkpoint,
    sealed: decoded.sealed,
  };
}

export type LockfileReport = { size: number; checked: number; problems: string[]; skipped: number };

type LockEntry = { spec: string; name: string; version: string; integrity: string | null };

/** The registry packages of an npm lockfile (v2/v3 "packages"): links, git, file and other hosts are skipped. */
export function lockfileEntries(lock: unknown, registry: string): { entries: LockEntry[]; skipped: number } {
  const packages = (lock as { packages?: Record<string, Record<string, unknown>>; lockfileVersion?: number } | null)
    ?.packages;
  if (!packages || typeof packages !== 'object')
    throw new MonitorError('not an npm lockfile of version 2 or 3 (no "packages")');
  const base = registry.replace(/\/+$/, '') + '/';
  const seen = new Map<string, LockEntry>();
  let skipped = 0;
  for (const [key, value] of Object.entries(packages)) {
    if (key === '' || !value || typeof value !== 'object') continue;
    const resolved = typeof value.resolved === 'string' ? value.resolved : '';
    if (value.link === true || typeof value.version !== 'string' || !resolved.startsWith(base)) {
      skipped++;
      continue;
    }
    const name =
      typeof value.name === 'string'
        ? value.name
        : key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const sha512 =
      typeof value.integrity === 'string'
        ? (value.integrity.split(/\s+/).find((i) => i.startsWith('sha512-')) ?? null)
        : null;
    const spec = `${name}@${value.version}`;
    if (!seen.has(spec)) seen.set(spec, { spec, name, version: value.version, integrity: sha512 });
  }
  return { entries: [...seen.values()], skipped };
}

/**
 * Checks every registry package of a lockfile against the log in one request per 5,000 versions: each must be
 * included in the signed tree, and the integrity the lockfile pins must be the one that was logged when the version was
 * published, so a tarball swapped later (or served differently to this client) is caught before it is installed.
 */
export async function verifyLockfile(opts: {
  registry: string;
  fetch: Fetch;
  token?: string;
  key?: string;
  state: MonitorState | null;
  lockfile: unknown;
  witnesses?: string[];
}): Promise<LockfileReport> {
  const c = client(opts.registry, opts.fetch, opts.token);
  const key = await trustedKey(c, opts.key, opts.state, []);
  const { entries, skipped } = lockfileEntries(opts.lockfile, opts.registry);
  const problems: string[] = [];
  let size = 0;
  let checked = 0;
  for (let i = 0; i < entries.length; i += 5000) {
    const chunk = entries.slice(i, i + 5000);
    const res = await opts.fetch(`${opts.registry.replace(/\/+$/, '')}/-/log/proof/inclusion`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      },
      body: JSON.stringify({ versions: chunk.map((e) => e.spec) }),
    });
    const text = await res.text();
    if (res.status !== 200)
      throw new MonitorError(`POST /-/log/proof/inclusion answered ${res.status}: ${text.slice(0, 200)}`);
    const body = JSON.parse(text) as {
      tree_size: number;
      checkpoint: string;
      proofs: Record<
        string,
        { index: number; entry: string; proof: string[]; opening?: { salt: string; record: string } }
      >;
      missing: string[];
    };
    const cp = openWitnessed(body.checkpoint, key, opts.witnesses);
    if (opts.state && cp.size < opts.state.size)
      throw new MonitorError(
        `the registry proves against a tree of ${cp.size} entries, older than the ${opts.state.size} seen before`,
      );
    size = cp.size;
    for (const e of chunk) {
      const p = body.proofs[e.spec];
      if (!p) {
        problems.push(`${e.spec} is not in the transparency log (or not readable with this token)`);
        continue;
      }
      const entry = Buffer.from(p.entry, 'utf8');
      try {
        verifyInclusion(
          p.index,
          cp.size,
          hashLeaf(entry),
          p.proof.map((x) => Buffer.from(x, 'base64')),
          cp.root,
        );
      } catch (err) {
        problems.push(`${e.spec}: the inclusion proof does not verify (${(err as Error).message})`);
        continue;
      }
      let record;
      try {
        const d = decodeLeaf(entry);
        if (d.sealed) {
          if (!p.opening) throw new LeafError('sealed, and no opening was given');
          const recordBytes = Buffer.from(p.opening.record, 'base64');
          if (!opensSealedLeaf(entry, Buffer.from(p.opening.salt, 'base64'), recordBytes))
            throw new LeafError('the opening does not match the sealed entry');
          record = decodeLeaf(recordBytes);
          if (record.sealed) throw new LeafError('the opening is itself sealed');
          record = record.record;
        } else record = d.record;
      } catch (err) {
        if (!(err instanceof LeafError)) throw err;
        problems.push(`${e.spec}: ${err.message}`);
        continue;
      }
      if (record.type !== 'version-published' || record.name !== e.name || record.version !== e.version) {
        problems.push(`${e.spec}: the log entry given is about something else (${record.type} ${record.name})`);
        continue;
      }
      if (e.integrity !== null && record.integrity !== e.integrity) {
        problems.push(
          `${e.spec}: the lockfile pins ${e.integrity.slice(0, 24)}…, the log recorded ${record.integrity.slice(0, 24)}… at publish`,
        );
        continue;
      }
      checked++;
    }
  }
  return { size, checked, problems, skipped };
}
