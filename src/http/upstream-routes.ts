// Reads of packages not hosted here, answered by the upstream proxy (upstream/service.ts, docs/upstream.md). The npm
// read routes (npm-routes.ts) hand a request over only once the packages service has said the name is not hosted
// here; the answers have the same shape, headers and caching as a hosted package's, plus `x-bulwark-upstream`, which
// says `stale` (with a `warning` header) when the upstream could not be asked and the cached copy was served.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { etagMatches, negotiateEncoding } from '../packages/cache.ts';
import type { ProxiedEntry, TarballAnswer, Upstream } from '../upstream/service.ts';
import { sendAnswer, writeAnswer, type Answer } from './answers.ts';
import type { Gate } from './gate.ts';

const ABBREVIATED = 'application/vnd.npm.install-v1+json';
const STALE_WARNING = '110 bulwark "Response is Stale: the upstream registry could not be reached"';

/** What the npm read routes call for a name that is not hosted here. */
export type ProxyReads = {
  /** whether some upstream rule covers the name (else it is simply not found). */
  covers(name: string): boolean;
  /** whether an upstream serves the name, so that no new package may take it here (Upstream.serves). */
  serves(name: string): Promise<boolean>;
  packument(req: FastifyRequest, reply: FastifyReply, name: string): Promise<FastifyReply>;
  tarball(req: FastifyRequest, reply: FastifyReply, name: string, file: string): Promise<FastifyReply>;
  /** the fast path: answers an anonymous GET from memory, or returns false to leave it to the router. */
  fromMemory(req: IncomingMessage, res: ServerResponse, name: string, file: string | undefined): boolean;
};

export function proxyReads(deps: {
  upstream: Upstream;
  gate: Gate;
  requestId: (req: IncomingMessage) => string;
}): ProxyReads {
  const { upstream, gate, requestId } = deps;
  return {
    covers: (name) => upstream.covers(name),
    serves: (name) => upstream.serves(name),
    async packument(req, reply, name) {
      await gate.read(req);
      const entry = await upstream.packument(name);
      req.routineRead = !entry.stale;
      return sendAnswer(reply, packumentAnswer(req.headers, entry));
    },
    async tarball(req, reply, name, file) {
      await gate.read(req);
      const t = await upstream.tarball(name, file);
      req.routineRead = !t.stale;
      return sendAnswer(reply, tarballAnswer(req.headers, t));
    },
    fromMemory(req, res, name, file) {
      // Only when anyone may read: a proxied package is public, so the registry's read policy alone decides.
      if (gate.policy.readAccess !== 'public') return false;
      const entry = upstream.cached(name);
      if (!entry || entry.missing || entry.stale) return false;
      let answer: Answer | undefined;
      if (file === undefined) answer = packumentAnswer(req.headers, entry);
      else {
        const t = upstream.cachedTarball(entry, file);
        answer = t && tarballAnswer(req.headers, t);
      }
      return writeAnswer(req, res, answer, requestId);
    },
  };
}

function provenance(stale: boolean): Record<string, string> {
  return stale ? { 'x-bulwark-upstream': 'stale', warning: STALE_WARNING } : { 'x-bulwark-upstream': 'fresh' };
}

function packumentAnswer(headers: IncomingHttpHeaders, entry: ProxiedEntry): Answer {
  const abbreviated = headers.accept?.includes(ABBREVIATED) ?? false;
  const rep = (abbreviated ? entry.abbreviated : entry.full)!;
  const enc = negotiateEncoding(headers['accept-encoding'], rep.body.length);
  const etag = rep.etag(enc);
  const out: Record<string, string> = {
    'content-type': abbreviated ? ABBREVIATED : 'application/json',
    etag,
    vary: 'Accept, Accept-Encoding',
    'cache-control': 'public, max-age=0, must-revalidate',
    ...provenance(entry.stale),
  };
  if (etagMatches(headers['if-none-match'], etag)) return { status: 304, headers: out, body: undefined };
  if (enc !== 'identity') out['content-encoding'] = enc;
  return { status: 200, headers: out, body: rep.bytes(enc) };
}

function tarballAnswer(headers: IncomingHttpHeaders, t: TarballAnswer): Answer {
  const out: Record<string, string> = {
    'content-type': 'application/octet-stream',
    etag: t.etag,
    'cache-control': 'public, max-age=31536000, immutable',
    ...provenance(t.stale),
  };
  if (etagMatches(headers['if-none-match'], t.etag)) return { status: 304, headers: out, body: undefined };
  return { status: 200, headers: out, body: t.bytes };
}
