// Stars (npm star, npm unstar, npm stars): a user's mark on a package they can see, one per user per package. A star
// is the user's own, not part of the package: starring needs no right on the package, and changes nothing of it but
// the `users` object of its packument (npm's shape: { "<user>": true }), rebuilt through the star's event.
import type { Kysely } from 'kysely';
import type { Db } from '../store/db.ts';
import { EventKind, recordEvent } from '../store/events.ts';
import type { Database } from '../store/schema.ts';

// The table of migration 0019-stars, kept with the capability that owns it.
export type StarsTable = { package_id: number; user_id: number; created_at: number };
type StarTables = { stars: StarsTable };
const withStars = (db: Kysely<Database>): Kysely<Database & StarTables> => db.withTables<StarTables>();

/**
 * Stars or unstars a package for a user. Returns whether anything changed: starring twice, or unstarring a package
 * one never starred, changes nothing and records nothing. Records the change's event in the same transaction.
 */
export async function setStar(
  db: Db,
  pkg: { id: number; name: string },
  user: { id: number; name: string },
  starred: boolean,
  now: number,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const t = trx.withTables<StarTables>();
    const changed = starred
      ? (await t
          .insertInto('stars')
          .values({ package_id: pkg.id, user_id: user.id, created_at: now })
          .onConflict((oc) => oc.columns(['package_id', 'user_id']).doNothing())
          .returning('user_id')
          .executeTakeFirst()) !== undefined
      : Number(
          (
            await t
              .deleteFrom('stars')
              .where('package_id', '=', pkg.id)
              .where('user_id', '=', user.id)
              .executeTakeFirst()
          ).numDeletedRows,
        ) > 0;
    if (changed)
      await recordEvent(
        trx,
        {
          kind: starred ? EventKind.StarAdded : EventKind.StarRemoved,
          subject: pkg.name,
          actorId: user.id,
          data: { user: user.name },
        },
        now,
      );
    return changed;
  });
}

/** Who starred a package, by name (the packument's `users`), accounts that still exist only. */
export async function starredBy(db: Db, packageId: number): Promise<string[]> {
  const rows = await withStars(db)
    .selectFrom('stars')
    .innerJoin('users', 'users.id', 'stars.user_id')
    .select('users.name')
    .where('stars.package_id', '=', packageId)
    .where('users.deleted_at', 'is', null)
    .orderBy('users.name')
    .execute();
  return rows.map((r) => r.name);
}

/** How many stars a package has (its page). */
export async function starCount(db: Db, packageId: number): Promise<number> {
  const row = await withStars(db)
    .selectFrom('stars')
    .innerJoin('users', 'users.id', 'stars.user_id')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('stars.package_id', '=', packageId)
    .where('users.deleted_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The packages a user starred, by name, with what decides who may see each (npm stars). */
export async function starsOf(db: Db, userName: string): Promise<Array<{ name: string; id: number }>> {
  return withStars(db)
    .selectFrom('stars')
    .innerJoin('users', 'users.id', 'stars.user_id')
    .innerJoin('packages', 'packages.id', 'stars.package_id')
    .select(['packages.name', 'packages.id'])
    .where('users.name', '=', userName)
    .where('users.deleted_at', 'is', null)
    .orderBy('packages.name')
    .execute();
}

/** A package document without a tarball or versions, carrying users: npm star's and npm unstar's PUT. */
export const isStarDocument = (doc: object): boolean =>
  'users' in doc && !('versions' in doc) && !('_attachments' in doc);

/**
 * What a PUT of a package document asks when it is npm star's or npm unstar's: npm sends { _id, _rev, users } with
 * the caller's name added to or removed from the users it read (lib/commands/star.js). Returns whether the caller
 * stars, or null when the document is not a star request at all (it carries versions: npm deprecate sends the whole
 * document back, `users` included). Other fields beside a users object, or a users object of another shape, are
 * refused: a star request changes the caller's star and nothing else. Other users' entries are never acted on:
 * npm echoes the stars it read, which may have changed since.
 */
export function starRequest(
  doc: Record<string, unknown>,
  name: string,
  caller: string,
): { starred: boolean } | { problem: string } | null {
  if (!isStarDocument(doc)) return null;
  const extra = Object.keys(doc).filter((k) => k !== '_id' && k !== '_rev' && k !== 'users');
  if (extra.length)
    return {
      problem: `a star request (npm star, npm unstar) changes only "users": ${extra.map((k) => `"${k.slice(0, 40)}"`).join(', ')} cannot be sent with it`,
    };
  if (doc._id !== undefined && doc._id !== name) return { problem: `the document's _id is not ${name}` };
  const users = doc.users;
  if (!users || typeof users !== 'object' || Array.isArray(users))
    return { problem: '"users" must be an object of user names, as npm star sends it' };
  const mine = (users as Record<string, unknown>)[caller];
  if (mine !== undefined && mine !== true) return { problem: `"users"."${caller}" must be true (starred) or absent` };
  return { starred: Object.hasOwn(users, caller) };
}
