// Brute-force defence (AUTH-1e). Failures are counted per account+address, per address and per account, in the
// database (default) or Redis, so every node sees the same counts. Past a few free failures each counter blocks with
// exponential back-off; a blocked caller gets 429 with Retry-After. An attacker spraying one account from many
// addresses blocks the account only for addresses that have never signed in to it: its owner, signing in from a
// known address, is not locked out.
import { sql } from 'kysely';
import { ClientError } from '../errors.ts';
import type { Db } from '../store/db.ts';

export type Rule = {
  name: string;
  free: number;
  baseMs: number;
  maxMs: number;
  windowMs: number;
  /**
   * One attempt at a time per counter (on each node): an attempt is checked, then verified, then counted, so guesses
   * sent at once would all pass the check before the first failure counts (a burst of 300 one-time passwords tried 300).
   */
  oneAtATime?: boolean;
};

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export const Rules = {
  /** one address guessing one account's password. */
  passwordAccountAddress: {
    name: 'pw-acct-ip',
    free: 5,
    baseMs: 2_000,
    maxMs: 15 * MINUTE,
    windowMs: 24 * HOUR,
    oneAtATime: true,
  },
  /** one address trying many accounts (spraying). */
  passwordAddress: { name: 'pw-ip', free: 30, baseMs: MINUTE, maxMs: HOUR, windowMs: HOUR },
  /** many addresses trying one account; addresses the account has signed in from are exempt. */
  passwordAccount: { name: 'pw-acct', free: 20, baseMs: MINUTE, maxMs: HOUR, windowMs: 24 * HOUR, oneAtATime: true },
  /** one-time passwords and recovery codes for one account, from anywhere: the password is already known. */
  secondFactor: { name: 'otp-acct', free: 5, baseMs: 5_000, maxMs: HOUR, windowMs: 24 * HOUR, oneAtATime: true },
  /** password-reset and verification emails asked for one account. */
  emailAccount: { name: 'mail-acct', free: 3, baseMs: 10 * MINUTE, maxMs: 6 * HOUR, windowMs: 24 * HOUR },
  emailAddress: { name: 'mail-ip', free: 20, baseMs: 10 * MINUTE, maxMs: 6 * HOUR, windowMs: 24 * HOUR },
} as const satisfies Record<string, Rule>;

/** How long a key is blocked after its nth failure (pure). */
export function blockFor(rule: Rule, failures: number): number {
  if (failures <= rule.free) return 0;
  return Math.min(rule.maxMs, rule.baseMs * 2 ** (failures - rule.free - 1));
}

export interface CounterStore {
  /** Adds a failure and returns the count within the window (the window restarts when it has passed). */
  fail(key: string, now: number, windowMs: number): Promise<number>;
  blockedUntil(key: string): Promise<number>;
  /** True when the key has counted something within the window. */
  exists(key: string, now: number, windowMs: number): Promise<boolean>;
  block(key: string, until: number, windowMs: number): Promise<void>;
  reset(key: string): Promise<void>;
  close(): Promise<void>;
}

export class DbCounterStore implements CounterStore {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }
  async fail(key: string, now: number, windowMs: number): Promise<number> {
    // One statement, so concurrent failures each count (a read then a write lost some on PostgreSQL, and two first
    // failures inserted at once failed with a duplicate key). SET expressions read the row as it was.
    const expired = sql<boolean>`rate_limits.window_start + ${windowMs} <= ${now}`;
    const row = await this.#db
      .insertInto('rate_limits')
      .values({ key, failures: 1, window_start: now, blocked_until: 0 })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          failures: sql<number>`case when ${expired} then 1 else rate_limits.failures + 1 end`,
          window_start: sql<number>`case when ${expired} then ${now} else rate_limits.window_start end`,
          blocked_until: sql<number>`case when ${expired} then 0 else rate_limits.blocked_until end`,
        }),
      )
      .returning('failures')
      .executeTakeFirstOrThrow();
    return Number(row.failures);
  }
  async blockedUntil(key: string): Promise<number> {
    const row = await this.#db
      .selectFrom('rate_limits')
      .select('blocked_until')
      .where('key', '=', key)
      .executeTakeFirst();
    return row?.blocked_until ?? 0;
  }
  async exists(key: string, now: number, windowMs: number): Promise<boolean> {
    const row = await this.#db
      .selectFrom('rate_limits')
      .select('window_start')
      .where('key', '=', key)
      .executeTakeFirst();
    return !!row && row.window_start + windowMs > now;
  }
  async block(key: string, until: number): Promise<void> {
    await this.#db.updateTable('rate_limits').set({ blocked_until: until }).where('key', '=', key).execute();
  }
  async reset(key: string): Promise<void> {
    await this.#db.deleteFrom('rate_limits').where('key', '=', key).execute();
  }
  async close(): Promise<void> {}
}

// The Redis client library is loaded only when this store is chosen.
async function connectRedis(url: string) {
  const { createClient } = await import('redis');
  const client = createClient({ url });
  client.on('error', () => {});
  await client.connect();
  return client;
}

export class RedisCounterStore implements CounterStore {
  readonly #ready: ReturnType<typeof connectRedis>;
  constructor(url: string) {
    this.#ready = connectRedis(url);
  }
  async fail(key: string, _now: number, windowMs: number): Promise<number> {
    const client = await this.#ready;
    const k = `bulwark:limit:${key}`;
    const [count] = (await client.multi().hIncrBy(k, 'failures', 1).pExpire(k, windowMs, 'NX').exec()) as unknown as [
      number,
    ];
    return Number(count);
  }
  async blockedUntil(key: string): Promise<number> {
    const client = await this.#ready;
    return Number((await client.hGet(`bulwark:limit:${key}`, 'blocked_until')) ?? 0);
  }
  async exists(key: string): Promise<boolean> {
    const client = await this.#ready;
    return (await client.exists(`bulwark:limit:${key}`)) === 1;
  }
  async block(key: string, until: number): Promise<void> {
    const client = await this.#ready;
    await client.hSet(`bulwark:limit:${key}`, 'blocked_until', String(until));
  }
  async reset(key: string): Promise<void> {
    const client = await this.#ready;
    await client.del(`bulwark:limit:${key}`);
  }
  async close(): Promise<void> {
    const client = await this.#ready.catch(() => null);
    await client?.quit().catch(() => {});
  }
}

export type Attempt = Array<[Rule, string]>;

/** How long an attempt of a oneAtATime rule holds its counter at most (see Limiter.check). */
const UNDERWAY_MS = 30_000;

export class Limiter {
  readonly #store: CounterStore;
  readonly #clock: () => number;
  #onRefused: (rule: string) => void = () => {};
  /** counters of oneAtATime rules with an attempt under way on this node, and since when. */
  readonly #underway = new Map<string, number>();
  constructor(store: CounterStore, clock: () => number = Date.now) {
    this.#store = store;
    this.#clock = clock;
  }

  /** Tells `onRefused` the rule behind each refusal (the metrics count them). */
  observeRefusals(onRefused: (rule: string) => void): void {
    this.#onRefused = onRefused;
  }

  /**
   * Throws 429 with Retry-After when any of the counters is blocked, or (for oneAtATime rules) when another attempt
   * on the same counter is under way on this node. The attempt is marked under way BEFORE the counters are read: a
   * read that started before the previous attempt's failure was stored could otherwise let one more guess through.
   */
  async check(attempt: Attempt, what: string): Promise<void> {
    const now = this.#clock();
    const serial = attempt.filter(([rule]) => rule.oneAtATime).map(([rule, key]) => `${rule.name}:${key}`);
    // An attempt whose caller never counted it (an unexpected error) stops holding the counter after a while.
    const busy = serial.find((k) => now - (this.#underway.get(k) ?? -Infinity) < UNDERWAY_MS);
    if (busy !== undefined) {
      this.#onRefused(busy.slice(0, busy.indexOf(':')));
      throw new ClientError('E_RATE_LIMITED', `another of your ${what} is being checked: try again in a second`, {
        'retry-after': '1',
      });
    }
    for (const k of serial) this.#underway.set(k, now);
    try {
      let until = 0;
      let blocking = '';
      for (const [rule, key] of attempt) {
        const blocked = await this.#store.blockedUntil(`${rule.name}:${key}`);
        if (blocked > until) [until, blocking] = [blocked, rule.name];
      }
      if (until > now) {
        this.#onRefused(blocking);
        const seconds = Math.ceil((until - now) / 1000);
        throw new ClientError('E_RATE_LIMITED', `too many failed ${what}: try again in ${seconds} seconds`, {
          'retry-after': String(seconds),
        });
      }
    } catch (err) {
      for (const k of serial) this.#underway.delete(k);
      throw err;
    }
  }

  /** Counts a failure against every counter; returns the rules whose counter this failure blocked for the first time in its window. */
  async fail(attempt: Attempt): Promise<Rule[]> {
    const now = this.#clock();
    const newlyBlocked: Rule[] = [];
    for (const [rule, key] of attempt) {
      const k = `${rule.name}:${key}`;
      const failures = await this.#store.fail(k, now, rule.windowMs);
      const ms = blockFor(rule, failures);
      if (ms > 0) await this.#store.block(k, now + ms, rule.windowMs);
      if (failures === rule.free + 1) newlyBlocked.push(rule);
      // Released only once the failure (and any block) is stored: the next attempt's check sees it.
      this.#underway.delete(k);
    }
    return newlyBlocked;
  }

  async reset(attempt: Attempt): Promise<void> {
    for (const [rule, key] of attempt) {
      await this.#store.reset(`${rule.name}:${key}`);
      this.#underway.delete(`${rule.name}:${key}`);
    }
  }

  /** Ends an attempt that is neither counted nor reset (a success that keeps its counters). */
  release(attempt: Attempt): void {
    for (const [rule, key] of attempt) this.#underway.delete(`${rule.name}:${key}`);
  }

  /** Records that an account signed in from an address, which exempts that address from the account-wide block. */
  async rememberAddress(account: string, address: string): Promise<void> {
    await this.#store.fail(`known:${account}:${address}`, this.#clock(), 90 * 24 * HOUR);
  }

  isKnownAddress(account: string, address: string): Promise<boolean> {
    return this.#store.exists(`known:${account}:${address}`, this.#clock(), 90 * 24 * HOUR);
  }

  close(): Promise<void> {
    return this.#store.close();
  }
}

/**
 * Runs a password check under the limits: refuses while blocked, counts a failure, clears the account+address counter
 * on success and remembers the address. onAccountLocked runs once per window, when the account-wide counter first
 * blocks (the account is under attack: its owner is told).
 */
export async function limitedPasswordCheck<T>(
  limiter: Limiter,
  account: string,
  address: string,
  check: () => Promise<T | null>,
  onAccountLocked?: () => Promise<void>,
): Promise<T | null> {
  const known = await limiter.isKnownAddress(account, address);
  const attempt: Attempt = [
    [Rules.passwordAccountAddress, `${account}:${address}`],
    [Rules.passwordAddress, address],
  ];
  const accountWide: Attempt = [[Rules.passwordAccount, account]];
  const checked = known ? attempt : [...attempt, ...accountWide];
  await limiter.check(checked, 'sign-in attempts');
  try {
    const result = await check();
    if (result === null) {
      const newlyBlocked = await limiter.fail([...attempt, ...accountWide]);
      if (onAccountLocked && newlyBlocked.includes(Rules.passwordAccount)) await onAccountLocked();
      return null;
    }
    await limiter.reset([attempt[0]!]);
    await limiter.rememberAddress(account, address);
    return result;
  } finally {
    limiter.release(checked);
  }
}
