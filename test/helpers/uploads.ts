// Slow, partial uploads against a real server: a client that declares a body and sends only part of it, at the pace
// the server's socket takes it, never buffering more than one chunk (test/http/upload-limits.test.ts, bench/checks.ts).
import assert from 'node:assert/strict';
import http from 'node:http';

export const CHUNK = Buffer.alloc(64 * 1024, 'a');

export type Upload = {
  /** the response, as soon as the server sends it, whether or not the body was sent in full. */
  response: Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>;
  /** bytes of the body handed to the socket so far. */
  sent(): number;
  /** resolves when the connection is gone (the server closed it, or abort() did). */
  closed: Promise<void>;
  abort(): void;
};

/**
 * A PUT that declares `length` bytes of JSON and sends at most `upTo` of them, as fast as the socket takes them, then
 * waits. The server is free to answer at any point; nothing here ever buffers more than one chunk.
 */
export function upload(base: string, path: string, opts: { token?: string; length: number; upTo: number }): Upload {
  const url = new URL(path, base);
  const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': opts.length };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const req = http.request({
    host: url.hostname,
    port: url.port,
    path: url.pathname,
    method: 'PUT',
    headers,
    agent: false,
  });
  let sent = 0;
  let stopped = false;
  const response = new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>(
    (resolve, reject) => {
      req.on('response', (res) => {
        const parts: Buffer[] = [];
        res.on('data', (b: Buffer) => parts.push(b));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(parts).toString('utf8') }),
        );
        res.on('error', reject);
      });
      req.on('error', reject);
    },
  );
  // A refused upload ends with the server closing the connection under the client's writes: expected here.
  response.catch(() => {});
  const closed = new Promise<void>((resolve) => req.on('close', resolve));
  const pump = () => {
    while (!stopped && sent < opts.upTo) {
      const n = Math.min(CHUNK.length, opts.upTo - sent);
      sent += n;
      if (!req.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return void req.once('drain', pump);
    }
  };
  req.on('close', () => (stopped = true));
  req.flushHeaders();
  pump();
  return {
    response,
    sent: () => sent,
    closed,
    abort: () => {
      stopped = true;
      req.destroy();
    },
  };
}

/** Milliseconds for one GET /-/ping. */
export async function ping(base: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${base}/-/ping`);
  await res.arrayBuffer();
  assert.equal(res.status, 200);
  return performance.now() - started;
}
