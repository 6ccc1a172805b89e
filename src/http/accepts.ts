// Content negotiation shared by the npm protocol routes and the web UI.
import type { FastifyRequest } from 'fastify';

/** Whether a request comes from a browser that wants a page rather than npm's JSON. */
export function wantsHtml(req: FastifyRequest): boolean {
  const accept = req.headers.accept;
  return typeof accept === 'string' && /\btext\/html\b/i.test(accept);
}
