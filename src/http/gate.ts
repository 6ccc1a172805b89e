// The HTTP side of the one gate every request passes (invariant 4). The rules — who is asking, may they (decide()),
// and for writes the checks that follow — are access/gate.ts; this adapter finds a request's identity once (the
// bearer token, or another principal source such as the web session cookie), refuses an anonymous upload before its
// body is read, and asks the rules. Routes never carry their own access rules.
import type { FastifyRequest, preParsingAsyncHookHandler } from 'fastify';
import type { ActionValue, Facts, PackageFacts, Policy } from '../access/decide.ts';
import { AccessGate, refuseAnonymous, type Identity, type WriteCheck } from '../access/gate.ts';
import type { Principal } from '../access/principal.ts';
import type { Db } from '../store/db.ts';

export type { WriteCheck };

/**
 * Resolves a principal from something other than a bearer token (the web UI's session cookie). It is asked only when
 * the request carries no Authorization header, and MUST return null for requests it does not apply to: a source
 * decides which routes it serves, so ambient credentials like cookies never reach the npm protocol routes.
 */
export type PrincipalSource = (req: FastifyRequest) => Promise<Principal | null>;

/**
 * The most of an unread body a refusal lets Node read and discard to keep the connection; past it (or when the size is
 * not declared) the connection is closed instead, so a refused client cannot make the server read a large upload.
 */
const DISCARDABLE_BODY = 16 * 1024;

/** The body limit of the routes anyone may call with a body (sign-in, sign-up): what their few fields need. */
export const ANONYMOUS_BODY_LIMIT = 16 * 1024;

/** Headers for a refusal sent before the body was read. */
export function unreadBodyHeaders(req: FastifyRequest): Record<string, string> {
  const length = Number(req.headers['content-length'] ?? NaN);
  const small = Number.isFinite(length) ? length <= DISCARDABLE_BODY : req.headers['transfer-encoding'] === undefined;
  return small ? {} : { connection: 'close' };
}

export class Gate {
  readonly #rules: AccessGate<FastifyRequest>;
  readonly #sources: PrincipalSource[] = [];
  readonly #identities = new WeakMap<FastifyRequest, Promise<Identity>>();

  constructor(db: Db, policy: Policy) {
    this.#rules = new AccessGate(db, policy);
  }

  get policy(): Policy {
    return this.#rules.policy;
  }

  addWriteCheck(check: WriteCheck<FastifyRequest>): void {
    this.#rules.addWriteCheck(check);
  }

  addPrincipalSource(source: PrincipalSource): void {
    this.#sources.push(source);
  }

  #identity(req: FastifyRequest): Promise<Identity> {
    let id = this.#identities.get(req);
    if (!id) {
      id = this.#resolve(req);
      this.#identities.set(req, id);
    }
    return id;
  }

  async #resolve(req: FastifyRequest): Promise<Identity> {
    const header = req.headers.authorization;
    if (header) return this.#rules.identify(header, req.ip);
    for (const source of this.#sources) {
      const principal = await source(req);
      if (principal) return { principal, badToken: false };
    }
    return { principal: null, badToken: false };
  }

  /** The caller's principal, or null when anonymous. A bad token counts as anonymous for reads of public data. */
  async principal(req: FastifyRequest): Promise<Principal | null> {
    return (await this.#identity(req)).principal;
  }

  /**
   * The preParsing hook of every route only a signed-in principal may use (writes above all). The principal is
   * resolved from the request's headers before its body is read, and a request without one is answered 401 here, as
   * the gate would answer it later: its body is never read or parsed, so an anonymous client can neither make the
   * server buffer a large document nor learn anything from what the route would have looked up (invariant 6).
   */
  signedIn(message?: string): preParsingAsyncHookHandler {
    return async (req, _reply, payload) => {
      const { principal, badToken } = await this.#identity(req);
      if (principal) return payload;
      throw refuseAnonymous(badToken, message, unreadBodyHeaders(req));
    };
  }

  /** The signed-in caller, for routes about the caller's own account (whoami, their tokens); refuses anyone else. */
  async caller(req: FastifyRequest, message?: string): Promise<Principal> {
    return this.#rules.caller(await this.#identity(req), message);
  }

  /** For reads that are not about one package (search, download totals): only the registry-wide read policy applies. */
  async read(req: FastifyRequest): Promise<Principal | null> {
    return this.#rules.read(await this.#identity(req));
  }

  /** Reads of one package: refuses with 401/404 as decide() says (404 keeps restricted packages invisible). */
  async readPackage(req: FastifyRequest, facts: PackageFacts): Promise<Principal | null> {
    return this.#rules.readPackage(await this.#identity(req), facts);
  }

  /** Whether the caller may read this package, without refusing (lists that leave out what a reader may not see). */
  async mayReadPackage(req: FastifyRequest, facts: PackageFacts): Promise<boolean> {
    return this.#rules.mayReadPackage(await this.#identity(req), facts);
  }

  /** Reads that need a signed-in principal and a decision but change nothing (org rosters, team lists). */
  async authorize(req: FastifyRequest, action: ActionValue, facts: Facts): Promise<Principal> {
    return this.#rules.authorize(await this.#identity(req), action, facts);
  }

  /** Whether the caller may do something, without refusing: for what a page shows, never before doing it. */
  async allows(req: FastifyRequest, action: ActionValue, facts: Facts): Promise<boolean> {
    return this.#rules.allows(await this.#identity(req), action, facts);
  }

  /** Refuses a caller whom none of the actions would allow, before a write's action is planned (access/gate.ts). */
  async screen(req: FastifyRequest, actions: readonly [ActionValue, ...ActionValue[]], facts: Facts): Promise<void> {
    return this.#rules.screen(await this.#identity(req), actions, facts);
  }

  /** Every write: authenticate, authorize, then the registered checks, in that order (access/gate.ts). */
  async write(req: FastifyRequest, action: ActionValue, facts: Facts): Promise<Principal> {
    return this.#rules.write(await this.#identity(req), req, action, facts);
  }
}
