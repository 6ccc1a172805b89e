// Proofs from the transparency log as JSON: one version's inclusion, many versions' at once (a lockfile), and the
// consistency of two tree sizes. Versions not logged and versions the caller may not read answer alike.
import type { FastifyInstance } from 'fastify';
import { fail, notFound } from '../errors.ts';
import { LogReader, type LogEntry } from '../trust/tlog/service.ts';
import { b64, mayReadEntries, sizeOf, TreeSize, type LogRouteDeps } from './log-read.ts';
import { NAME_MAX, Str, Type, schema, type RouteTypes } from './schemas.ts';

const MAX_BATCH = 5000;

const InclusionRoute = schema({
  querystring: Type.Object({ name: Str(NAME_MAX), version: Str(256), size: Type.Optional(TreeSize) }),
});
const ConsistencyRoute = schema({
  querystring: Type.Object({ from: Type.Optional(TreeSize), to: Type.Optional(TreeSize) }),
});
const BatchRoute = schema({
  body: Type.Object({
    versions: Type.Array(Type.String({ maxLength: 512, pattern: '^[\\s\\S]+@', description: 'name@version' }), {
      minItems: 1,
      maxItems: MAX_BATCH,
      description: `a list of 1 to ${MAX_BATCH} "name@version" entries`,
    }),
  }),
});

export function register(app: FastifyInstance, deps: LogRouteDeps): void {
  const { gate } = deps;
  const log = new LogReader(deps.db);

  app.get<RouteTypes<typeof InclusionRoute>>('/-/log/proof/inclusion', { schema: InclusionRoute }, async (req) => {
    await gate.read(req);
    const { name, version } = req.query;
    const cp = await log.checkpoint();
    const entry = await log.versionEntry(name, version);
    const sealed = entry?.salt !== null;
    // One answer for "not logged" and "not yours to read", so the log cannot be used to probe restricted names.
    if (!entry || !cp || !(await mayReadEntries(deps, req, name, sealed)))
      throw notFound(`${name}@${version} is not in the transparency log`);
    const size = sizeOf(req.query.size) ?? cp.size;
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
  });

  // Many versions at once (a lockfile): one request, each node hash read once. Versions not logged and versions the
  // caller may not read are both simply "missing".
  // Anyone may ask: the body is bounded to what MAX_BATCH names need (about 100 bytes each), not the 1 MiB default.
  app.post<RouteTypes<typeof BatchRoute>>(
    '/-/log/proof/inclusion',
    { bodyLimit: MAX_BATCH * 100, schema: BatchRoute },
    async (req) => {
      await gate.read(req);
      const list = req.body.versions;
      const cp = await log.checkpoint();
      if (!cp) throw fail('E_LOG_NOT_STARTED', 'the transparency log has not started yet');
      const pairs = [...new Set(list)].map((spec) => ({
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
          if (!verdicts.has(key)) verdicts.set(key, await mayReadEntries(deps, req, p.name, entry.salt !== null));
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
    },
  );

  app.get<RouteTypes<typeof ConsistencyRoute>>(
    '/-/log/proof/consistency',
    { schema: ConsistencyRoute },
    async (req) => {
      await gate.read(req);
      const cp = await log.checkpoint();
      if (!cp) throw fail('E_LOG_NOT_STARTED', 'the transparency log has not started yet');
      const from = sizeOf(req.query.from);
      const to = sizeOf(req.query.to) ?? cp.size;
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
}
