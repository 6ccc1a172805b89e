// The changes feed for mirrors (/-/bulwark/v1/changes): like replicate.npmjs.com's _changes, with each change's
// transparency-log index. Changes to packages the caller may not read are left out; their position still counts.
import type { FastifyInstance } from 'fastify';
import { fail } from '../errors.ts';
import { decodeRecord } from '../trust/tlog/leaf.ts';
import { LogReader, type LogEntry } from '../trust/tlog/service.ts';
import { b64, mayReadEntries, sizeOf, TreeSize, type LogRouteDeps } from './log-read.ts';
import { Type, schema, type RouteTypes } from './schemas.ts';

const MAX_FEED_PAGE = 1000;

const ChangesRoute = schema({
  querystring: Type.Object({ since: Type.Optional(TreeSize), limit: Type.Optional(TreeSize) }),
});

export function register(app: FastifyInstance, deps: LogRouteDeps): void {
  const { gate } = deps;
  const log = new LogReader(deps.db);

  // Like replicate.npmjs.com's _changes, but each change carries its log index, so a mirror can prove what it copied.
  app.get<RouteTypes<typeof ChangesRoute>>('/-/bulwark/v1/changes', { schema: ChangesRoute }, async (req) => {
    await gate.read(req);
    const since = sizeOf(req.query.since) ?? 0;
    const limit = Math.min(sizeOf(req.query.limit) ?? MAX_FEED_PAGE, MAX_FEED_PAGE);
    if (limit === 0) throw fail('E_INVALID_REQUEST', 'limit must be at least 1');
    const cp = await log.checkpoint();
    const entries = cp ? await log.changes(since, limit, cp.size) : [];
    const verdicts = new Map<string, boolean>();
    const results = [];
    for (const e of entries) {
      const key = `${e.package}\0${e.salt !== null}`;
      if (!verdicts.has(key)) verdicts.set(key, await mayReadEntries(deps, req, e.package, e.salt !== null));
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
