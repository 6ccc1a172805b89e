// Request bodies sent compressed. npm gzips one request only, its audit (`gzip: true` in @npmcli/arborist
// lib/audit-report.js: Content-Encoding: gzip, Content-Type: application/json), so decoding is something a route asks
// for (config.compressedBody), never a default: every other route refuses an encoded body before reading it. That keeps
// the other limits meaning what they say — an upload slot is taken by declared size (uploads.ts), an anonymous body is
// bounded by its route's bodyLimit — since no small encoded body can unfold into a large one behind their backs.
//
// Where a route does decode, its bodyLimit bounds the decoded bytes, and decoding stops the moment they pass it
// (413): a small zip bomb costs the server at most bodyLimit bytes of inflating, not what it would unfold to.
import { Transform, type Readable } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import type { FastifyRequest, preParsingAsyncHookHandler } from 'fastify';
import { ClientError, fail } from '../errors.ts';
import { unreadBodyHeaders } from './gate.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** the route decodes gzip and deflate request bodies (decodeBody); every other route refuses them (415). */
    compressedBody?: boolean;
  }
}

/** The Content-Encoding values decodeBody understands (RFC 9110 §8.4.1; x-gzip is gzip's old name). */
const DECODERS = { gzip: createGunzip, 'x-gzip': createGunzip, deflate: createInflate } as const;
type Coding = keyof typeof DECODERS;

/** The request's content coding, lowercased; undefined when none or identity (which means none). */
function codingOf(req: FastifyRequest): string | undefined {
  const raw = req.headers['content-encoding'];
  if (raw === undefined) return undefined;
  const coding = raw.trim().toLowerCase();
  return coding === '' || coding === 'identity' ? undefined : coding;
}

const hasBody = (req: FastifyRequest) =>
  (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') ||
  req.headers['transfer-encoding'] !== undefined;

/**
 * For the server's onRequest hook: the refusal of a body whose coding this route does not decode, or null. Answered
 * before the body is read (the connection is closed when what is left of it is large).
 */
export function encodingRefusal(req: FastifyRequest): ClientError | null {
  const coding = codingOf(req);
  if (coding === undefined || !hasBody(req)) return null;
  if (req.routeOptions.config?.compressedBody && Object.hasOwn(DECODERS, coding)) return null;
  const accepted = req.routeOptions.config?.compressedBody ? ': send it as gzip or deflate' : ': send it uncompressed';
  return new ClientError(
    'E_UNSUPPORTED_MEDIA_TYPE',
    `this endpoint does not accept a request body with Content-Encoding "${coding.slice(0, 40)}"${accepted}`,
    unreadBodyHeaders(req),
  );
}

/**
 * The preParsing hook of a route with config.compressedBody: a gzip or deflate body is decoded as it is read, and
 * refused with 413 once it decodes to more than maxBytes (the route's bodyLimit), or 400 when it is not what its
 * Content-Encoding says. Fastify compares Content-Length with the bytes received (receivedEncodedLength), as it does
 * for a body sent plain.
 */
export function decodeBody(maxBytes: number): preParsingAsyncHookHandler {
  return async (req, _reply, payload) => {
    const coding = codingOf(req);
    if (coding === undefined) return payload;
    const decoder = DECODERS[coding as Coding]();
    let encoded = 0;
    let decoded = 0;
    const out = new Transform({
      transform(chunk: Buffer, _enc, done) {
        decoded += chunk.length;
        if (decoded > maxBytes) return done(tooLarge(maxBytes));
        done(null, chunk);
      },
    }) as Transform & { receivedEncodedLength: number };
    out.receivedEncodedLength = 0;
    const stop = (err: Error) => {
      // Stop inflating at once, and read (and drop) whatever the client still sends, so the error can be answered.
      payload.unpipe(decoder);
      payload.resume();
      decoder.destroy();
      out.destroy(err);
    };
    payload.on('data', (chunk: Buffer) => {
      encoded += chunk.length;
      out.receivedEncodedLength = encoded;
    });
    payload.on('error', (err) => out.destroy(err));
    decoder.on('error', () =>
      stop(fail('E_INVALID_REQUEST', `the request body is not valid ${coding} data, as its Content-Encoding says`)),
    );
    out.on('error', (err) => {
      if (!decoder.destroyed) stop(err);
    });
    (payload as Readable).pipe(decoder).pipe(out);
    return out;
  };
}

const tooLarge = (maxBytes: number) =>
  new ClientError(
    'E_BODY_TOO_LARGE',
    `the request body decodes to more than ${maxBytes} bytes, the most this endpoint accepts`,
    { connection: 'close' },
  );
