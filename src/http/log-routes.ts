// The transparency log over HTTP: the c2sp.org/tlog-tiles layout under /-/log/ (checkpoint, hash tiles, entry
// bundles), JSON proofs, and the changes feed for mirrors. Every read passes the registry's read policy; entries of
// restricted packages are sealed in the tiles, and their openings and feed entries reach only those who may read them.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fail, notFound } from '../errors.ts';
import { decodeRecord } from '../trust/tlog/leaf.ts';
import { LogReader, type LogEntry } from '../trust/tlog/service.ts';
import { parseTilePath } from '../trust/tlog/tiles.ts';
import type { Packages } from '../packages/service.ts';
import type { Db } from '../store/db.ts';
import type { Gate } from './gate.ts';

export type LogRouteDeps = { db: Db; gate: Gate; packages: Packages };

const MAX_FEED_PAGE = 1000;
const MAX_BATCH = 5000;

function nonNegativeInt(value: unknown, what: string): number | null {
  if (value === undefined || value === '') return null;
  if (typeof value !== 'string' || !/^(0|[1-9][0-9]{0,15})$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw fail('E_INVALID_REQUEST', `${what} must be a non-negative integer`);
  return Number(value);
}

const b64 = (hex: string | Buffer) => (typeof hex === 'string' ? Buffer.from(hex, 'hex') : hex).toString('base64');

export function registerLogRoutes(app: FastifyInstance, deps: LogRouteDeps): void {
  const { gate, packages } = deps;
  const log = new LogReader(deps.db);
  const caching = (forever: boolean) => {
    const scope = gate.policy.readAccess === 'authenticated' ? 'private' : 'public';
    // The checkpoint changes within a second of a new event; tiles and bundles never change once served.
    return forever ? `${scope}, max-age=31536000, immutable` : `${scope}, max-age=1, must-revalidate`;
  };

  /** May the caller see this package's entries in the clear? */
  async function mayRead(req: FastifyRequest, name: string, entrySealed: boolean): Promise<boolean> {
    const facts = await packages.facts(name);
    if (facts.access === null) return !entrySealed;
    return gate.mayReadPackage(req, facts);
  }

  app.get('/-/log/checkpoint', async (req, reply) => {
    await gate.read(req);
    const cp = await log.checkpoint();
    if (!cp) throw fail('E_LOG_NOT_STARTED', 'the transparency log has not started yet');
    return reply
      .header('content-type', 'text/plain; charset=utf-8')
      .header('cache-control', caching(false))
      .send(cp.note);
  });

  app.get('/-/log/key', async (req, reply) => {
    await gate.read(req);
    const vkey = await log.verifierKey();
    if (!vkey) throw fail('E_LOG_NOT_STARTED', 'the transparency log has not started yet');
    return reply
      .header('content-type', 'text/plain; charset=utf-8')
      .header('cache-control', caching(false))
      .send(`${vkey}\n`);
  });

  app.get('/-/log/tile/*', async (req: FastifyRequest<{ Params: { '*': string } }>, reply: FastifyReply) => {
    await gate.read(req);
    const ref = parseTilePath(req.params['*']);
    if (!ref) throw notFound('not a tile path (c2sp.org/tlog-tiles)');
    const bytes = await log.tile(ref);
    if (!bytes) throw notFound('the signed tree does not hold this tile');
    return reply.header('content-type', 'application/octet-stream').header('cache-control', caching(true)).send(bytes);
  });

  app.get(
    '/-/log/proof/inclusion',
    async (req: FastifyRequest<{ Querystring: Record<string, string | undefined> }>) => {
      await gate.read(req);
      const { name, version } = req.query;
      if (!name || !version) throw fail('E_INVALID_REQUEST', 'give the package as ?name=<name>&version=<version>');
      const cp = await log.checkpoint();
      const entry = await log.versionEntry(name, version);
      const sealed = entry?.salt !== null;
      // One answer for "not logged" and "not yours to read", so the log cannot be used to probe restricted names.
      if (!entry || !cp || !(await mayRead(req, name, sealed)))
        throw notFound(`${name}@${version} is not in the transparency log`);
      const size = nonNegativeInt(req.query.size, 'size') ?? cp.size;
      if (size > cp.size) throw fail('E_LOG_RANGE', `size ${size} is larger than the signed tree (${cp.size})`);
      if (entry.index >= size) throw notFound(`${name}@${version} is not in the tree of size ${size} yet`);
      const proof = await log.inclusionProof(entry.index, size);
      return {
        name,
        version,
        index: entry.index,
        tree_size: size,
        entry: entry.leaf,
        proof: proof.map((h) => h.toString('base64')),
        ...(size === cp.size ? { checkpoint: cp.note } : {}),
        ...(sealed
          ? { opening: { salt: b64(entry.salt!), record: Buffer.from(entry.record, 'utf8').toString('base64') } }
          : {}),
      };
    },
  );

  // Many versions at once (a lockfile): one request, each node hash read once. Versions not logged and versions the
  // caller may not read are both simply "missing".
  // Anyone may ask: the body is bounded to what MAX_BATCH names need (about 100 bytes each), not the 1 MiB default.
  app.post('/-/log/proof/inclusion', { bodyLimit: MAX_BATCH * 100 }, async (req: FastifyRequest<{ Body: unknown }>) => {
    await gate.read(req);
    const list = (req.body as { versions?: unknown } | null)?.versions;
    if (
      !Array.isArray(list) ||
      list.length === 0 ||
      list.length > MAX_BATCH ||
      !list.every((v) => typeof v === 'string' && v.lastIndexOf('@') > 0)
    ) {
      throw fail('E_INVALID_REQUEST', `send {"versions": ["name@version", …]} with 1 to ${MAX_BATCH} entries`);
    }
    const cp = await log.checkpoint();
    if (!cp) throw fail('E_LOG_NOT_STARTED', 'the transparency log has not started yet');
    const pairs = [...new Set(list as string[])].map((spec) => ({
      spec,
      name: spec.slice(0, spec.lastIndexOf('@')),
      version: spec.slice(spec.lastIndexOf('@') + 1),
    }));
    const entries = await log.versionEntries(pairs);
    const verdicts = new Map<string, boolean>();
    const shown: { spec: string; entry: LogEntry }[] = [];
    const missing: string[] = [];
    for (const p of pairs) {
      const entry = entries.get(p.spec);
      if (entry && entry.index < cp.size) {
        const key = `${p.name}\0${entry.salt !== null}`;
        if (!verdicts.has(key)) verdicts.set(key, await mayRead(req, p.name, entry.salt !== null));
        if (verdicts.get(key)) {
          shown.push({ spec: p.spec, entry });
          continue;
        }
      }
      missing.push(p.spec);
    }
    const proofs = await log.inclusionProofs(
      shown.map((s) => s.entry.index),
      cp.size,
    );
    return {
      tree_size: cp.size,
      checkpoint: cp.note,
      proofs: Object.fromEntries(
        shown.map(({ spec, entry }, i) => [
          spec,
          {
            index: entry.index,
            entry: entry.leaf,
            proof: proofs[i]!.map((h) => h.toString('base64')),
            ...(entry.salt !== null
              ? { opening: { salt: b64(entry.salt), record: Buffer.from(entry.record, 'utf8').toString('base64') } }
              : {}),
          },
        ]),
      ),
      missing,
    };
  });

  app.get(
    '/-/log/proof/consistency',
    async (req: FastifyRequest<{ Querystring: Record<string, string | undefined> }>) => {
      await gate.read(req);
      const cp = await log.checkpoint();
      if (!cp) throw fail('E_LOG_NOT_STARTED', 'the transparency log has not started yet');
      const from = nonNegativeInt(req.query.from, 'from');
      const to = nonNegativeInt(req.query.to, 'to') ?? cp.size;
      if (from === null) throw fail('E_INVALID_REQUEST', 'give the older tree size as ?from=<size>');
      if (from < 1 || from > to || to > cp.size)
        throw fail(
          'E_LOG_RANGE',
          `no consistency proof from ${from} to ${to}: sizes must satisfy 1 ≤ from ≤ to ≤ ${cp.size}`,
        );
      const proof = await log.consistencyProof(from, to);
      return {
        from,
        to,
        proof: proof.map((h) => h.toString('base64')),
        ...(to === cp.size ? { checkpoint: cp.note } : {}),
      };
    },
  );

  // Like replicate.npmjs.com's _changes, but each change carries its log index, so a mirror can prove what it copied.
  app.get('/-/bulwark/v1/changes', async (req: FastifyRequest<{ Querystring: Record<string, string | undefined> }>) => {
    await gate.read(req);
    const since = nonNegativeInt(req.query.since, 'since') ?? 0;
    const limit = Math.min(nonNegativeInt(req.query.limit, 'limit') ?? MAX_FEED_PAGE, MAX_FEED_PAGE);
    if (limit === 0) throw fail('E_INVALID_REQUEST', 'limit must be at least 1');
    const cp = await log.checkpoint();
    const entries = cp ? await log.changes(since, limit, cp.size) : [];
    const verdicts = new Map<string, boolean>();
    const results = [];
    for (const e of entries) {
      const key = `${e.package}\0${e.salt !== null}`;
      if (!verdicts.has(key)) verdicts.set(key, await mayRead(req, e.package, e.salt !== null));
      if (!verdicts.get(key)) continue;
      results.push(feedEntry(e));
    }
    // The position to ask from next covers hidden entries too, so a mirror never stalls behind them.
    const lastSeq = entries.length ? entries.at(-1)!.eventSeq : since;
    return { results, last_seq: lastSeq, tree_size: cp?.size ?? 0 };
  });
}

function feedEntry(e: LogEntry): Record<string, unknown> {
  const sealed = e.salt !== null;
  return {
    seq: e.eventSeq,
    index: e.index,
    change: decodeRecord(Buffer.from(e.record, 'utf8')),
    ...(sealed
      ? {
          sealed: true,
          entry: e.leaf,
          opening: { salt: b64(e.salt!), record: Buffer.from(e.record, 'utf8').toString('base64') },
        }
      : {}),
  };
}
