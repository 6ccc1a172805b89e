// npm star, npm unstar and npm stars (npm/cli lib/commands/star.js, stars.js):
//   npm star / unstar   GET /:pkg?write=true, then PUT /:pkg with { _id, _rev, users } (the caller added or removed);
//                       the publish route hands such documents here (npm-routes.ts)
//   npm stars [user]    GET /-/_view/starredByUser?key="<user>" → { rows: [{ value: <package> }] }
// The rules are in packages/stars.ts and access/decide.ts (Action.PackageStar).
import type { FastifyInstance } from 'fastify';
import { Action } from '../access/decide.ts';
import { fail } from '../errors.ts';
import type { Packages } from '../packages/service.ts';
import { setStar, starRequest, starsOf } from '../packages/stars.ts';
import type { Db } from '../store/db.ts';
import type { Gate } from './gate.ts';
import { packageName, type DocumentHandler } from './npm-routes.ts';
import { Str, Type, schema, type RouteTypes } from './schemas.ts';

export type StarRouteDeps = { db: Db; gate: Gate; packages: Packages; clock: () => number };

/** npm's longest user name; anything longer cannot have starred anything. */
const MAX_USER = 214;

const StarsRoute = schema({ querystring: Type.Object({ key: Type.Optional(Str(MAX_USER + 2)) }) });

/** CouchDB's view key: a JSON string ("\"alice\""), which npm sends; a bare name is taken as it is. */
function userKey(raw: string | undefined): string {
  if (!raw) throw fail('E_INVALID_REQUEST', 'name the user whose stars to list: ?key="USER", as npm stars sends it');
  if (!raw.startsWith('"')) return raw;
  try {
    const key: unknown = JSON.parse(raw);
    if (typeof key === 'string') return key;
  } catch {
    // refused below
  }
  throw fail('E_INVALID_REQUEST', 'the key must be a user name in double quotes, as npm stars sends it');
}

/** npm stars' listing. */
export function register(app: FastifyInstance, deps: StarRouteDeps): void {
  const { db, gate, packages } = deps;

  app.get<RouteTypes<typeof StarsRoute>>('/-/_view/starredByUser', { schema: StarsRoute }, async (req) => {
    await gate.read(req);
    const user = userKey(req.query.key);
    const rows: Array<{ id: string; key: string; value: string }> = [];
    // A star on a package this reader cannot see is left out, as the package itself is.
    for (const { name } of await starsOf(db, user))
      if (await gate.mayReadPackage(req, await packages.facts(name))) rows.push({ id: name, key: user, value: name });
    return { rows };
  });
}

/** The handler of a star PUT (npm star, npm unstar): the publish route (npm-routes.ts) hands star documents here. */
export function starHandler(deps: StarRouteDeps): DocumentHandler {
  const { db, gate, packages, clock } = deps;
  return async (req, reply) => {
    const name = packageName(req.params);
    const entry = await packages.entry(name);
    // A package with nothing to read (its first version held for review) is not there to star: a star must not tell
    // a stranger it exists when npm view answers 404.
    const facts = entry.full ? entry.facts : { ...entry.facts, id: null, access: null };
    // Decided before the document is looked at: a package the caller cannot see answers as a missing one.
    const principal = await gate.write(req, Action.PackageStar, facts);
    const ask = starRequest(req.body, name, principal.name);
    if (!ask || 'problem' in ask)
      throw fail('E_INVALID_REQUEST', ask?.problem ?? 'a star request carries "users", as npm star sends it');
    const changed = await setStar(
      db,
      { id: facts.id!, name },
      { id: principal.userId, name: principal.name },
      ask.starred,
      clock(),
    );
    if (changed) packages.invalidate(name);
    return reply.code(200).send({ ok: true, id: name });
  };
}
