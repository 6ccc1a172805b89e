// What the read path answers, hosted or proxied (npm-routes.ts, upstream-routes.ts): a status, headers and bytes made
// once, sent through fastify, or written straight to the socket by the fast path that skips it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

export type Answer = { status: 200 | 304; headers: Record<string, string>; body: Buffer | undefined };

export function sendAnswer(reply: FastifyReply, answer: Answer): FastifyReply {
  return reply.code(answer.status).headers(answer.headers).send(answer.body);
}

/** Writes an answer straight to the response; false when there is none, so that fastify routes the request instead. */
export function writeAnswer(
  req: IncomingMessage,
  res: ServerResponse,
  answer: Answer | undefined,
  requestId: (req: IncomingMessage) => string,
): boolean {
  if (!answer) return false;
  answer.headers['x-request-id'] = requestId(req);
  if (answer.body) answer.headers['content-length'] = String(answer.body.length);
  res.writeHead(answer.status, answer.headers);
  res.end(answer.body);
  return true;
}
