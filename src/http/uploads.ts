// Large request bodies — a publish document carries its tarball in base64, up to 1.4 × --max-tarball-size — are
// buffered and parsed whole, and a few copies of each are alive at the peak. Only signed-in principals get this far
// (gate.signedIn refuses everyone else before the body is read); this caps how many such uploads are in progress at
// once, per principal and in total, so that neither one account nor many can take the server's memory, and the
// reads every install depends on stay fast.
import type { FastifyRequest, preParsingAsyncHookHandler } from 'fastify';
import { fail } from '../errors.ts';
import { unreadBodyHeaders, type Gate } from './gate.ts';

export type UploadLimits = {
  /** large uploads in progress at once, over all principals. */
  total: number;
  /** large uploads in progress at once for one principal (a CI job publishing a monorepo's packages in parallel). */
  perPrincipal: number;
  /**
   * uploads of any size in progress at once for one principal: every publish is read, checked and scanned, and the
   * scan workers are shared, so one account must not be able to queue hundreds of small publishes ahead of everyone.
   */
  perPrincipalAny: number;
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
  perPrincipalAny: 8,
  largeBytes: 1024 * 1024,
  retryAfterSeconds: 10,
  idleMs: 10_000,
};

function isLarge(req: FastifyRequest, largeBytes: number): boolean {
  const declared = req.headers['content-length'];
  if (declared === undefined) return req.headers['transfer-encoding'] !== undefined;
  return Number(declared) > largeBytes;
}

/** Counts per principal, for the slots of one kind. */
class Tally {
  readonly #counts = new Map<number, number>();
  of(id: number): number {
    return this.#counts.get(id) ?? 0;
  }
  take(id: number): void {
    this.#counts.set(id, this.of(id) + 1);
  }
  give(id: number): void {
    const left = this.of(id) - 1;
    if (left > 0) this.#counts.set(id, left);
    else this.#counts.delete(id);
  }
}

export class UploadSlots {
  readonly #limits: UploadLimits;
  #total = 0;
  readonly #large = new Tally();
  readonly #any = new Tally();

  constructor(limits: UploadLimits = DEFAULT_UPLOAD_LIMITS) {
    this.#limits = limits;
  }

  /** Large uploads in progress now (for tests and diagnostics). */
  get inProgress(): number {
    return this.#total;
  }

  /** Uploads of any size in progress now for one account (for tests and diagnostics). */
  inProgressOf(userId: number): number {
    return this.#any.of(userId);
  }

  /**
   * The preParsing hook that takes a slot for an upload before its body is read, and gives it back when the response
   * is finished or the connection is gone. It MUST come after gate.signedIn(), which resolves the principal. Over a
   * limit the request is refused at once with Retry-After — 429 when the principal has too many uploads of its own,
   * 503 when the server has too many large ones — and its body is not read. npm retries both by itself after a pause.
   */
  hook(gate: Gate): preParsingAsyncHookHandler {
    return async (req, reply, payload) => {
      const { total, perPrincipal, perPrincipalAny, largeBytes, retryAfterSeconds } = this.#limits;
      const principal = await gate.principal(req);
      if (!principal) return payload;
      const id = principal.userId;
      const large = isLarge(req, largeBytes);
      const refusal = { 'retry-after': String(retryAfterSeconds), ...unreadBodyHeaders(req) };
      const tooMany = (n: number, what: string) =>
        fail(
          'E_UPLOADS_PER_ACCOUNT',
          `you already have ${n} ${what} in progress on this registry, the most one account may have at once: wait for them to finish and try again`,
          refusal,
        );
      if (this.#any.of(id) >= perPrincipalAny) throw tooMany(this.#any.of(id), 'uploads');
      if (large && this.#large.of(id) >= perPrincipal) throw tooMany(this.#large.of(id), 'large uploads');
      if (large && this.#total >= total) {
        req.log.warn(
          { inProgress: this.#total },
          'large upload refused: the server is at its limit of concurrent large uploads',
        );
        throw fail(
          'E_UPLOADS_BUSY',
          'the registry is receiving as many large uploads as it takes at once: try again in a few seconds',
          refusal,
        );
      }
      this.#any.take(id);
      if (large) {
        this.#total++;
        this.#large.take(id);
      }
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
      // 'close' follows the end of every response, and a connection lost mid-upload: the slots are given back once.
      reply.raw.once('close', () => {
        clearTimeout(idle);
        this.#any.give(id);
        if (large) {
          this.#total--;
          this.#large.give(id);
        }
      });
      return payload;
    };
  }
}
