// The transparency log over HTTP in the c2sp.org/tlog-tiles layout under /-/log/: the signed checkpoint, the
// verifier key, and the hash tiles and entry bundles. Every read passes the registry's read policy; entries of
// restricted packages are sealed in the tiles.
import type { FastifyInstance } from 'fastify';
import { fail, notFound } from '../errors.ts';
import { LogReader } from '../trust/tlog/service.ts';
import { parseTilePath } from '../trust/tlog/tiles.ts';
import { logCaching, type LogRouteDeps } from './log-read.ts';
import { Str, Type, schema, type RouteTypes } from './schemas.ts';

const TileRoute = schema({ params: Type.Object({ '*': Str(256) }) });

export function register(app: FastifyInstance, deps: LogRouteDeps): void {
  const { gate } = deps;
  const log = new LogReader(deps.db);

  app.get('/-/log/checkpoint', async (req, reply) => {
    await gate.read(req);
    const cp = await log.checkpoint();
    if (!cp) throw fail('E_LOG_NOT_STARTED', 'the transparency log has not started yet');
    return reply
      .header('content-type', 'text/plain; charset=utf-8')
      .header('cache-control', logCaching(gate, false))
      .send(cp.note);
  });

  app.get('/-/log/key', async (req, reply) => {
    await gate.read(req);
    const vkey = await log.verifierKey();
    if (!vkey) throw fail('E_LOG_NOT_STARTED', 'the transparency log has not started yet');
    return reply
      .header('content-type', 'text/plain; charset=utf-8')
      .header('cache-control', logCaching(gate, false))
      .send(`${vkey}\n`);
  });

  app.get<RouteTypes<typeof TileRoute>>('/-/log/tile/*', { schema: TileRoute }, async (req, reply) => {
    await gate.read(req);
    const ref = parseTilePath(req.params['*']);
    if (!ref) throw notFound('not a tile path (c2sp.org/tlog-tiles)');
    const bytes = await log.tile(ref);
    if (!bytes) throw notFound('the signed tree does not hold this tile');
    return reply
      .header('content-type', 'application/octet-stream')
      .header('cache-control', logCaching(gate, true))
      .send(bytes);
  });
}
