// The write gate's rules (invariant 4), apart from any web framework: who is asking (a bearer token, or a principal an
// entry point found another way), may they (one decide()), and, for writes, the checks that follow a decision (the
// second factor, access/second-factor.ts), always in that order. An entry point resolves an Identity once per request
// and asks these methods; http/gate.ts is the adapter that reads the headers.
import { AUTH_REQUIRED, fail } from '../errors.ts';
import type { Db } from '../store/db.ts';
import { resolveTokenDetailed } from '../tokens/service.ts';
import {
  Action,
  decide,
  isOrgFacts,
  isRegistryFacts,
  type ActionValue,
  type Facts,
  type PackageFacts,
  type Policy,
} from './decide.ts';
import type { Principal } from './principal.ts';
import { isModerator, orgRoleOf, packageRelation } from './relations.ts';

/** Who a request comes from: badToken says a token was sent but is no good (its refusal says so). */
export type Identity = { principal: Principal | null; badToken: boolean };

/**
 * A rule applied to every write after authorization; throws a ClientError (errors.ts) to refuse. C is what the entry
 * point hands the rule about the request (for the second factor: the code it carries).
 */
export type WriteCheck<C> = (context: C, principal: Principal, action: ActionValue, facts: Facts) => Promise<void>;

const BAD_TOKEN = 'the token you sent is invalid, expired or revoked: run `npm login` or replace it in your .npmrc';

/** The refusal of a caller without a principal: a token that was sent but is no good says so. */
export const refuseAnonymous = (badToken: boolean, message = AUTH_REQUIRED, headers?: Record<string, string>) =>
  badToken ? fail('E_TOKEN_INVALID', BAD_TOKEN, headers) : fail('E_AUTH_REQUIRED', message, headers);

// npm turns a 401 whose WWW-Authenticate names "ipaddress" into its EAUTHIP error.
const WRONG_ADDRESS = (ip: string) =>
  `this token cannot be used from your address ${ip}: it is limited to other addresses by its CIDR allow-list`;

/**
 * The identity an Authorization header stands for. Whatever was sent is looked up (a malformed value as a hash that
 * cannot match), so every refusal takes as long. A live token used from outside its CIDR allow-list is refused
 * outright, saying why: only its holder gets that far.
 * @throws ClientError E_TOKEN_ADDRESS
 */
export async function identify(db: Db, authorization: string, ip: string): Promise<Identity> {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  const r = await resolveTokenDetailed(db, m ? m[1]! : '', ip);
  if ('refused' in r && r.refused === 'address')
    throw fail('E_TOKEN_ADDRESS', WRONG_ADDRESS(ip), { 'www-authenticate': 'ipaddress' });
  const principal = 'principal' in r ? r.principal : null;
  return { principal, badToken: principal === null };
}

export class AccessGate<C> {
  readonly #db: Db;
  readonly #policy: Policy;
  readonly #checks: Array<WriteCheck<C>> = [];

  constructor(db: Db, policy: Policy) {
    this.#db = db;
    this.#policy = policy;
  }

  get policy(): Policy {
    return this.#policy;
  }

  addWriteCheck(check: WriteCheck<C>): void {
    this.#checks.push(check);
  }

  /** The identity an Authorization header stands for (identify()). */
  identify(authorization: string, ip: string): Promise<Identity> {
    return identify(this.#db, authorization, ip);
  }

  /** The signed-in caller, for what is about the caller's own account (whoami, their tokens); refuses anyone else. */
  caller({ principal, badToken }: Identity, message?: string): Principal {
    if (!principal) throw refuseAnonymous(badToken, message);
    return principal;
  }

  /** For reads that are not about one package (search, download totals): only the registry-wide read policy applies. */
  read({ principal, badToken }: Identity): Principal | null {
    if (!principal && this.#policy.readAccess === 'authenticated')
      throw refuseAnonymous(badToken, 'this registry requires authentication for every read: run `npm login`');
    return principal;
  }

  /** Reads of one package: refuses with 401/404 as decide() says (404 keeps restricted packages invisible). */
  async readPackage({ principal, badToken }: Identity, facts: PackageFacts): Promise<Principal | null> {
    const d = decide(principal, Action.PackageRead, await this.#readerFacts(principal, facts), this.#policy);
    if (!d.allow) throw d.code === 'E_AUTH_REQUIRED' ? refuseAnonymous(badToken, d.reason) : fail(d.code, d.reason);
    return principal;
  }

  /**
   * Whether the caller may read this package, without refusing: for lists that leave out what a reader may not see
   * (advisories, log entries). A token that is no good reads as anonymous, as everywhere for public data.
   */
  async mayReadPackage({ principal }: Identity, facts: PackageFacts): Promise<boolean> {
    return decide(principal, Action.PackageRead, await this.#readerFacts(principal, facts), this.#policy).allow;
  }

  /**
   * Only a restricted package can depend on who asks, so only then is the reader's relation (teams) loaded; and for a
   * missing package too, so that the two take a signed-in outsider the same time (invariant 6).
   */
  async #readerFacts(principal: Principal | null, facts: PackageFacts): Promise<PackageFacts> {
    return principal && facts.access !== 'public' && !facts.relation ? this.#withRelation(principal, facts) : facts;
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

  /** Authentication, then one decision: the first two steps of every write, and all of authorize(). */
  async #decided(
    { principal: found, badToken }: Identity,
    action: ActionValue,
    given: Facts,
  ): Promise<{ principal: Principal; facts: Facts }> {
    if (!found) throw refuseAnonymous(badToken);
    const completed = await this.#complete(found, given);
    const d = decide(completed.principal, action, completed.facts, this.#policy);
    if (!d.allow) throw fail(d.code, d.reason);
    return completed;
  }

  /**
   * Reads that need a signed-in principal and a decision but change nothing (org rosters, team lists): authenticate
   * and decide, without the write checks (a second factor is for changes).
   */
  async authorize(identity: Identity, action: ActionValue, facts: Facts): Promise<Principal> {
    return (await this.#decided(identity, action, facts)).principal;
  }

  /**
   * Whether the caller may do something, without refusing: for what a page shows (an administrator sees every security
   * report, others their own; which buttons an item offers). Never a substitute for authorize() or write() before
   * the thing itself is done.
   */
  async allows({ principal: found }: Identity, action: ActionValue, given: Facts): Promise<boolean> {
    if (!found) return false;
    const { principal, facts } = await this.#complete(found, given);
    return decide(principal, action, facts, this.#policy).allow;
  }

  /**
   * For a write whose action is known only once the change is planned against the stored package (npm sends one
   * document to deprecate and to unpublish versions): refuses a caller whom none of the actions would allow, as
   * write() would refuse them, so that nothing stored is compared with the request before a decision. The entry point
   * then calls write() with the action it planned, which decides again and applies the write checks.
   */
  async screen(identity: Identity, actions: readonly [ActionValue, ...ActionValue[]], given: Facts): Promise<void> {
    if (!identity.principal) throw refuseAnonymous(identity.badToken);
    const { principal, facts } = await this.#complete(identity.principal, given);
    const decisions = actions.map((action) => decide(principal, action, facts, this.#policy));
    if (decisions.some((d) => d.allow)) return;
    const d = decisions[0]!;
    if (!d.allow) throw fail(d.code, d.reason);
  }

  /** Every write: authenticate, authorize, then the registered checks, in that order. */
  async write(identity: Identity, context: C, action: ActionValue, given: Facts): Promise<Principal> {
    const { principal, facts } = await this.#decided(identity, action, given);
    for (const check of this.#checks) await check(context, principal, action, facts);
    return principal;
  }
}
