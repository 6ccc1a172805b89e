// The name-safety check on first publish (GEN-1b): reserved patterns (dependency confusion) first, then look-alikes
// of protected names (typosquatting). The protected set is the operator's names and scopes, this registry's most
// downloaded public packages, and the shipped popular list; it is indexed once and rebuilt every few minutes.
import type { Kysely, Transaction } from 'kysely';
import type { Principal } from '../access/principal.ts';
import type { Settings } from '../config.ts';
import { fail } from '../errors.ts';
import type { Database } from '../store/schema.ts';
import { englishWords, shippedPopularNames } from './popular.ts';
import { Reservations, type Reservation } from './reservations.ts';
import { ProtectedNames, type Verdict } from './similarity.ts';
import { withNames } from './tables.ts';

export type GuardSettings = Pick<Settings, 'protectedNames' | 'reservedNames' | 'typosquatTop'>;

const REBUILD_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

type Q = Kysely<Database> | Transaction<Database>;

/** The registry's own most-downloaded public packages over the last 30 days, most downloaded first. */
export async function topDownloaded(q: Q, limit: number, now: number): Promise<string[]> {
  if (limit <= 0) return [];
  const since = new Date(now - 30 * DAY_MS).toISOString().slice(0, 10);
  const rows = await q
    .selectFrom('downloads')
    .innerJoin('packages', 'packages.id', 'downloads.package_id')
    .select(['packages.name', (eb) => eb.fn.sum<number>('downloads.count').as('total')])
    // A restricted package's name must not appear in a refusal sent to someone who may not know it exists.
    .where('packages.access', '=', 'public')
    .where('downloads.day', '>=', since)
    .groupBy('packages.name')
    .orderBy('total', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => r.name);
}

export class NameGuard {
  readonly #settings: GuardSettings;
  readonly #clock: () => number;
  #index: { names: ProtectedNames; builtAt: number } | null = null;
  #rebuilding: Promise<void> | null = null;

  constructor(settings: GuardSettings, clock: () => number = Date.now) {
    this.#settings = settings;
    this.#clock = clock;
  }

  /**
   * The protected set, indexed. q may be a transaction: it is used only to build the first index. Later rebuilds (every
   * few minutes) run in the background on `root`, outside any publish transaction, while the previous index answers;
   * on SQLite's single connection a rebuild inside the transaction would hold up every other query meanwhile.
   */
  async index(q: Q, root?: Kysely<Database>): Promise<ProtectedNames> {
    const stale = this.#index !== null && this.#clock() - this.#index.builtAt >= REBUILD_MS;
    if (this.#index === null || (stale && !root)) await this.#build(q);
    else if (stale && root && !this.#rebuilding) {
      this.#rebuilding = this.#build(root)
        .catch(() => undefined)
        .finally(() => (this.#rebuilding = null));
    }
    return this.#index!.names;
  }

  /** Resolves once a background rebuild under way has finished (at once when none is), so callers need not poll. */
  async rebuilt(): Promise<void> {
    await this.#rebuilding;
  }

  async #build(q: Q): Promise<void> {
    const now = this.#clock();
    const operator = this.#settings.protectedNames;
    const own = await topDownloaded(q, this.#settings.typosquatTop, now);
    const names = new ProtectedNames(
      [...operator.filter((n) => !/^@[^/]+$/.test(n)), ...own, ...shippedPopularNames()],
      { scopes: operator.filter((n) => /^@[^/]+$/.test(n)), words: englishWords() },
    );
    this.#index = { names, builtAt: now };
  }

  /** Forgets the index, so the next check sees new downloads or settings at once (tests, admin changes). */
  refresh(): void {
    this.#index = null;
  }

  async reservations(q: Q): Promise<Reservations> {
    const stored = await withNames(q as Kysely<Database>)
      .selectFrom('name_reservations')
      .select(['pattern', 'org'])
      .orderBy('pattern')
      .execute();
    return new Reservations([...this.#settings.reservedNames, ...stored]);
  }

  /**
   * The verdict on a new name, as `bulwark names check` explains it: names that already exist in the registry or
   * that an administrator allowed are not typosquats of anything.
   */
  async verdict(q: Q, name: string, root?: Kysely<Database>): Promise<Verdict> {
    const nq = withNames(q as Kysely<Database>);
    const exists = await nq.selectFrom('packages').select('id').where('name', '=', name).executeTakeFirst();
    const allowed = await nq.selectFrom('name_allows').select('name').where('name', '=', name).executeTakeFirst();
    if (exists || allowed) return { name, verdict: 'allow', reasons: [] };
    return (await this.index(q, root)).check(name);
  }

  /**
   * The verdict a publish gets before its transaction (the hold for review is decided there): a name under a
   * reservation is left to the transaction, which refuses outsiders and lets the organisation's members publish it.
   */
  async publishVerdict(db: Kysely<Database>, name: string): Promise<Verdict> {
    if ((await this.reservations(db)).matching(name).length) return { name, verdict: 'allow', reasons: [] };
    return this.verdict(db, name, db);
  }

  /**
   * Refuses a new package name that falls under another organisation's reservation or looks like a protected name.
   * Runs inside the publish transaction that creates the package (trx), so every query goes through it.
   * @throws ClientError 403 with a message naming the package it resembles and how to appeal
   */
  async checkNewPackage(
    root: Kysely<Database>,
    trx: Transaction<Database>,
    principal: Principal,
    name: string,
  ): Promise<void> {
    const reserved = (await this.reservations(trx)).matching(name);
    for (const r of reserved) {
      const member = await trx
        .selectFrom('org_members')
        .select('user_id')
        .where('org', '=', r.org)
        .where('user_id', '=', principal.userId)
        .executeTakeFirst();
      if (!member) throw fail('E_NAME_RESERVED', reservedMessage(name, r));
    }
    if (reserved.length) return;
    const verdict = await this.verdict(trx, name, root);
    if (verdict.verdict === 'block') throw fail('E_NAME_CONFUSABLE', blockMessage(verdict));
  }
}

export function reservedMessage(name: string, r: Reservation): string {
  return `the name "${name}" matches "${r.pattern}", which this registry reserves for the organisation ${r.org}: only its members may publish it (dependency-confusion protection). If you are one, ask an owner of ${r.org} to add you.`;
}

export function blockMessage(v: Verdict): string {
  const first = v.reasons[0]!;
  const others = v.reasons.slice(1, 4).map((r) => r.similar_to);
  const claims = first.rule === 'claims' ? `, and its package.json points at that package's own repository` : '';
  return `the name "${v.name}" is too similar to the existing package "${first.similar_to}" (${first.rule})${claims}${others.length ? ` and to ${others.map((o) => `"${o}"`).join(', ')}` : ''}; new names that look like popular packages are refused to protect against typosquatting. Choose another name, or if the name is legitimate, ask the registry's administrators to allow it (bulwark names allow ${v.name}); see /-/web/security for how to reach them.`;
}
