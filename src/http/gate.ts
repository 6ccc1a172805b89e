// The one gate every request passes: who is asking (the bearer token, or another principal source such as the web
// session cookie), then may they (decide()), then — for writes — the checks later capabilities add (second factor,
// token scopes). Routes never carry their own access rules.
import type { FastifyRequest, preParsingAsyncHookHandler } from 'fastify';
import {
  Action,
  decide,
  isOrgFacts,
  isRegistryFacts,
  type ActionValue,
  type Facts,
  type PackageFacts,
  type Policy,
} from '../access/decide.ts';
import type { Principal } from '../access/principal.ts';
import { isModerator, orgRoleOf, packageRelation } from '../access/relations.ts';
import { AUTH_REQUIRED, fail } from '../errors.ts';
import type { Db } from '../store/db.ts';
import { resolveTokenDetailed } from '../tokens/service.ts';

/** A rule applied to every write after authorization; throws a ClientError (errors.ts) to refuse. */
export type WriteCheck = (
  req: FastifyRequest,
  principal: Principal,
  action: ActionValue,
  facts: Facts,
) => Promise<void>;

/**
 * Resolves a principal from something other than a bearer token (the web UI's session cookie). It is asked only when
 * the request carries no Authorization header, and MUST return null for requests it does not apply to: a source
 * decides which routes it serves, so ambient credentials like cookies never reach the npm protocol routes.
 */
export type PrincipalSource = (req: FastifyRequest) => Promise<Principal | null>;

type Identity = { principal: Principal | null; badToken: boolean };

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

const BAD_TOKEN = 'the token you sent is invalid, expired or revoked: run `npm login` or replace it in your .npmrc';
/** The refusal of a caller without a principal: a token that was sent but is no good says so. */
const anonymous = (badToken: boolean, message = AUTH_REQUIRED, headers?: Record<string, string>) =>
  badToken ? fail('E_TOKEN_INVALID', BAD_TOKEN, headers) : fail('E_AUTH_REQUIRED', message, headers);
// npm turns a 401 whose WWW-Authenticate names "ipaddress" into its EAUTHIP error.
const WRONG_ADDRESS = (ip: string) =>
  `this token cannot be used from your address ${ip}: it is limited to other addresses by its CIDR allow-list`;

export class Gate {
  readonly #db: Db;
  readonly #policy: Policy;
  readonly #checks: WriteCheck[] = [];
  readonly #sources: PrincipalSource[] = [];
  readonly #identities = new WeakMap<FastifyRequest, Promise<Identity>>();

  constructor(db: Db, policy: Policy) {
    this.#db = db;
    this.#policy = policy;
  }

  get policy(): Policy {
    return this.#policy;
  }

  addWriteCheck(check: WriteCheck): void {
    this.#checks.push(check);
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
    if (!header) {
      for (const source of this.#sources) {
        const principal = await source(req);
        if (principal) return { principal, badToken: false };
      }
      return { principal: null, badToken: false };
    }
    // Whatever was sent is looked up (a malformed value as a hash that cannot match), so every refusal takes as long.
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const r = await resolveTokenDetailed(this.#db, m ? m[1]! : '', req.ip);
    // A live token used from outside its CIDR allow-list is refused outright, saying why: only its holder gets here.
    if ('refused' in r && r.refused === 'address')
      throw fail('E_TOKEN_ADDRESS', WRONG_ADDRESS(req.ip), { 'www-authenticate': 'ipaddress' });
    const principal = 'principal' in r ? r.principal : null;
    return { principal, badToken: principal === null };
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
      throw anonymous(badToken, message, unreadBodyHeaders(req));
    };
  }

  /** The signed-in caller, for routes about the caller's own account (whoami, their tokens); refuses anyone else. */
  async caller(req: FastifyRequest, message?: string): Promise<Principal> {
    const { principal, badToken } = await this.#identity(req);
    if (!principal) throw anonymous(badToken, message);
    return principal;
  }

  /** For reads that are not about one package (search, download totals): only the registry-wide read policy applies. */
  async read(req: FastifyRequest): Promise<Principal | null> {
    const { principal, badToken } = await this.#identity(req);
    if (!principal && this.#policy.readAccess === 'authenticated')
      throw anonymous(badToken, 'this registry requires authentication for every read: run `npm login`');
    return principal;
  }

  /** Reads of one package: refuses with 401/404 as decide() says (404 keeps restricted packages invisible). */
  async readPackage(req: FastifyRequest, facts: PackageFacts): Promise<Principal | null> {
    const { principal, badToken } = await this.#identity(req);
    // Only a restricted package can depend on who asks, so only then is the reader's relation (teams) loaded; and
    // for a missing package too, so that the two take a signed-in outsider the same time (invariant 6).
    if (principal && facts.access !== 'public' && !facts.relation) facts = await this.#withRelation(principal, facts);
    const d = decide(principal, Action.PackageRead, facts, this.#policy);
    if (!d.allow) throw d.code === 'E_AUTH_REQUIRED' ? anonymous(badToken, d.reason) : fail(d.code, d.reason);
    return principal;
  }

  /**
   * Whether the caller may read this package, without refusing: for lists that leave out what a reader may not see
   * (advisories, log entries). A token that is no good reads as anonymous, as everywhere for public data.
   */
  async mayReadPackage(req: FastifyRequest, facts: PackageFacts): Promise<boolean> {
    const { principal } = await this.#identity(req);
    if (principal && facts.access !== 'public' && !facts.relation) facts = await this.#withRelation(principal, facts);
    return decide(principal, Action.PackageRead, facts, this.#policy).allow;
  }

  /** Loads the principal's relation to a package (org role, team grants) into a copy of its facts. */
  async #withRelation(principal: Principal, facts: PackageFacts): Promise<PackageFacts> {
    const { relation, scopeIsOrg } = await packageRelation(this.#db, principal.userId, facts);
    return { ...facts, relation, scopeIsOrg };
  }

  /** The principal with its registry roles, and the facts with the principal's relation, as decide() needs them. */
  async #complete(principal: Principal, facts: Facts): Promise<{ principal: Principal; facts: Facts }> {
    const full =
      principal.isModerator === undefined
        ? { ...principal, isModerator: await isModerator(this.#db, principal.userId) }
        : principal;
    if (isRegistryFacts(facts)) return { principal: full, facts };
    if (isOrgFacts(facts)) {
      return {
        principal: full,
        facts:
          facts.relation || !facts.exists
            ? facts
            : { ...facts, relation: { orgRole: await orgRoleOf(this.#db, facts.org, full.userId) } },
      };
    }
    return { principal: full, facts: facts.relation ? facts : await this.#withRelation(full, facts) };
  }

  /**
   * Reads that need a signed-in principal and a decision but change nothing (org rosters, team lists): authenticate
   * and decide, without the write checks (a second factor is for changes).
   */
  async authorize(req: FastifyRequest, action: ActionValue, facts: Facts): Promise<Principal> {
    const { principal: found, badToken } = await this.#identity(req);
    if (!found) throw anonymous(badToken);
    const { principal, facts: complete } = await this.#complete(found, facts);
    const d = decide(principal, action, complete, this.#policy);
    if (!d.allow) throw fail(d.code, d.reason);
    return principal;
  }

  /**
   * Whether the caller may do something, without refusing: for what a page shows (an administrator sees every security
   * report, others their own; which buttons an item offers). Never a substitute for authorize() or write() before
   * the thing itself is done.
   */
  async allows(req: FastifyRequest, action: ActionValue, given: Facts): Promise<boolean> {
    const { principal: found } = await this.#identity(req);
    if (!found) return false;
    const { principal, facts } = await this.#complete(found, given);
    return decide(principal, action, facts, this.#policy).allow;
  }

  /**
   * For a write whose action is known only once the change is planned against the stored package (npm sends one
   * document to deprecate and to unpublish versions): refuses a caller whom none of the actions would allow, as
   * write() would refuse them, so that nothing stored is compared with the request before a decision. The route then
   * calls write() with the action it planned, which decides again and applies the write checks.
   */
  async screen(req: FastifyRequest, actions: readonly [ActionValue, ...ActionValue[]], given: Facts): Promise<void> {
    const { principal: found, badToken } = await this.#identity(req);
    if (!found) throw anonymous(badToken);
    const { principal, facts } = await this.#complete(found, given);
    const decisions = actions.map((action) => decide(principal, action, facts, this.#policy));
    if (decisions.some((d) => d.allow)) return;
    const d = decisions[0]!;
    if (!d.allow) throw fail(d.code, d.reason);
  }

  /** Every write: authenticate, authorize, then the registered checks, in that order. */
  async write(req: FastifyRequest, action: ActionValue, given: Facts): Promise<Principal> {
    const { principal: found, badToken } = await this.#identity(req);
    if (!found) throw anonymous(badToken);
    const { principal, facts } = await this.#complete(found, given);
    const d = decide(principal, action, facts, this.#policy);
    if (!d.allow) throw fail(d.code, d.reason);
    for (const check of this.#checks) await check(req, principal, action, facts);
    return principal;
  }
}
