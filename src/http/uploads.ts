// Large request bodies — a publish document carries its tarball in base64, up to 1.4 × --max-tarball-size — are
// buffered and parsed whole, and a few copies of each are alive at the peak. Only signed-in principals get this far
// (gate.signedIn refuses everyone else before the body is read); this caps how many such uploads are in progress at
// once, per principal and in total, so that neither one account nor many can take the server's memory, and the
// reads every install depends on stay fast.
import type { FastifyRequest, preParsingAsyncHookHandler } from 'fastify';
import { ClientError } from '../errors.ts';
import { unreadBodyHeaders, type Gate } from './gate.ts';

export type UploadLimits = {
  /** large uploads in progress at once, over all principals. */
  total: number;
  /** large uploads in progress at once for one principal (a CI job publishing a monorepo's packages in parallel). */
  perPrincipal: number;
  /** a body larger than this, or of undeclared size, is a large upload. */
  largeBytes: number;
  /** what the refusal's Retry-After says, in seconds. */
  retryAfterSeconds: number;
  /** a large upload that sends nothing for this long is cut off, and its slot given back. */
  idleMs: number;
};

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = {
  total: 4,
  perPrincipal: 2,
  largeBytes: 1024 * 1024,
  retryAfterSeconds: 10,
  idleMs: 10_000,
};

function isLarge(req: FastifyRequest, largeBytes: number): boolean {
  const declared = req.headers['content-length'];
  if (declared === undefined) return req.headers['transfer-encoding'] !== undefined;
  return Number(declared) > largeBytes;
}

export class UploadSlots {
  readonly #limits: UploadLimits;
  #total = 0;
  readonly #byPrincipal = new Map<number, number>();

  constructor(limits: UploadLimits = DEFAULT_UPLOAD_LIMITS) {
    this.#limits = limits;
  }

  /** Large uploads in progress now (for tests and diagnostics). */
  get inProgress(): number {
    return this.#total;
  }

  /**
   * The preParsing hook that takes a slot for a large upload before its body is read, and gives it back when the
   * response is finished or the connection is gone. It MUST come after gate.signedIn(), which resolves the principal.
   * Over a limit the request is refused at once with Retry-After — 429 when the principal has too many uploads of
   * its own, 503 when the server has — and its body is not read. npm retries both by itself after a pause.
   */
  hook(gate: Gate): preParsingAsyncHookHandler {
    return async (req, reply, payload) => {
      const { total, perPrincipal, largeBytes, retryAfterSeconds } = this.#limits;
      if (!isLarge(req, largeBytes)) return payload;
      const principal = await gate.principal(req);
      if (!principal) return payload;
      const id = principal.userId;
      const mine = this.#byPrincipal.get(id) ?? 0;
      const refusal = { 'retry-after': String(retryAfterSeconds), ...unreadBodyHeaders(req) };
      if (mine >= perPrincipal) {
        throw new ClientError(
          'E_UPLOADS_PER_ACCOUNT',
          `you already have ${mine} large uploads in progress on this registry, the most one account may have at once: wait for them to finish and try again`,
          refusal,
        );
      }
      if (this.#total >= total) {
        req.log.warn(
          { inProgress: this.#total },
          'large upload refused: the server is at its limit of concurrent large uploads',
        );
        throw new ClientError(
          'E_UPLOADS_BUSY',
          'the registry is receiving as many large uploads as it takes at once: try again in a few seconds',
          refusal,
        );
      }
      this.#total++;
      this.#byPrincipal.set(id, mine + 1);
      // A client that trickles its body (a byte every few seconds) would hold the slot until the request timeout:
      // one silent for idleMs is cut off instead (the 'close' below then gives the slot back).
      let idle = setTimeout(() => req.raw.destroy(), this.#limits.idleMs);
      const alive = () => {
        clearTimeout(idle);
        idle = setTimeout(() => req.raw.destroy(), this.#limits.idleMs);
      };
      payload.on('data', alive);
      payload.once('end', () => {
        clearTimeout(idle);
        payload.off('data', alive);
      });
      // 'close' follows the end of every response, and a connection lost mid-upload: the slot is given back once.
      reply.raw.once('close', () => {
        clearTimeout(idle);
        this.#total--;
        const left = (this.#byPrincipal.get(id) ?? 1) - 1;
        if (left > 0) this.#byPrincipal.set(id, left);
        else this.#byPrincipal.delete(id);
      });
      return payload;
    };
  }
}
