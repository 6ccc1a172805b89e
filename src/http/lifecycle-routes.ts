// What npm sends to change a package after publishing, as npm 11's own code sends it:
//   npm deprecate   GET /:pkg?write=true, then PUT /:pkg with the whole document, versions[v].deprecated edited
//                   (lib/commands/deprecate.js)
//   npm unpublish   pkg@version: PUT /:pkg/-rev/:rev with the document minus that version, then
//                   DELETE /<tarball path>/-rev/:rev (a 404 there is expected and ignored);
//                   the whole package: DELETE /:pkg/-rev/:rev (libnpmpublish/lib/unpublish.js)
//   npm owner       PUT /:pkg/-rev/:rev with { _id, _rev, maintainers } (lib/commands/owner.js)
// The rules live in packages/lifecycle.ts and access/orgs.ts; a handler parses, passes the gate, and calls them.
// Nothing about the stored package is looked at before the gate has decided: a missing package and one the caller
// cannot read must answer alike (invariant 6), so the version sets are compared only for those who may change them.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Action } from '../access/decide.ts';
import { setMaintainers } from '../access/orgs.ts';
import { fail, notFound } from '../errors.ts';
import { actorOf, type Lifecycle } from '../packages/lifecycle.ts';
import { isCurrentRevision } from '../packages/packument.ts';
import type { Packages } from '../packages/service.ts';
import type { Gate } from './gate.ts';
import { packageName, type DocumentHandler } from './npm-routes.ts';
import { AnyObject, NAME_MAX, Str, Type, schema, type RouteTypes } from './schemas.ts';

export type LifecycleRouteDeps = { packages: Packages; lifecycle: Lifecycle; gate: Gate; clock: () => number };

type Params = { name?: string; scope?: string; rev?: string; file?: string };

const RevParams = Type.Object({
  name: Type.Optional(Str(NAME_MAX)),
  scope: Type.Optional(Str(NAME_MAX)),
  rev: Str(256),
  file: Type.Optional(Str(NAME_MAX * 2)),
});
/** The document npm sends at a revision: the package minus a version (unpublish), or { _id, _rev, maintainers }. */
const RevisionDocument = Type.Object(
  { versions: Type.Optional(AnyObject), maintainers: Type.Optional(Type.Unknown()) },
  { description: 'a JSON package document' },
);
const AtRevisionRoute = schema({ params: RevParams, body: RevisionDocument });
const RevRoute = schema({ params: RevParams });

/** A package document without a tarball: deprecations, or (at a revision) versions to unpublish. */
async function applyDocument(
  deps: LifecycleRouteDeps,
  req: FastifyRequest<{ Params: Params }>,
  reply: FastifyReply,
  name: string,
  doc: Record<string, unknown>,
  rev?: string,
) {
  const { packages, lifecycle, gate } = deps;
  const facts = await packages.facts(name);
  // Which of the two it is shows only against the stored versions: refuse first whoever may do neither.
  await gate.screen(req, [Action.PackageDeprecate, Action.PackageUnpublish], facts);
  const { removed, deprecations } = await lifecycle.plan(name, doc);
  if (removed.length && rev === undefined)
    throw fail(
      'E_LIFECYCLE_INVALID',
      'versions are unpublished with npm unpublish name@version, not by leaving them out of the document',
    );
  if (removed.length && deprecations.size)
    throw fail('E_LIFECYCLE_INVALID', 'unpublish and deprecate in separate requests');
  const principal = await gate.write(req, removed.length ? Action.PackageUnpublish : Action.PackageDeprecate, facts);
  if (removed.length) {
    await lifecycle.unpublishVersions(actorOf(principal), name, removed, rev);
    req.log.info({ package: name, versions: removed, user: principal.name }, 'unpublished');
  } else {
    const changed = await lifecycle.deprecate(actorOf(principal), name, deprecations, rev);
    if (changed.length) req.log.info({ package: name, versions: changed, user: principal.name }, 'deprecation changed');
  }
  return reply.code(200).send({ ok: true, id: name });
}

/** PUT /:name without a tarball is npm deprecate: the publish route (npm-routes.ts) hands such documents here. */
export const documentHandler =
  (deps: LifecycleRouteDeps): DocumentHandler =>
  (req, reply) =>
    applyDocument(deps, req, reply, packageName(req.params), req.body);

export function register(app: FastifyInstance, deps: LifecycleRouteDeps): void {
  const { packages, lifecycle, gate, clock } = deps;

  const atRevision = async (req: FastifyRequest<RouteTypes<typeof AtRevisionRoute>>, reply: FastifyReply) => {
    const name = packageName(req.params);
    const doc = req.body;
    if ('versions' in doc) return applyDocument(deps, req, reply, name, doc, req.params.rev);
    if (!('maintainers' in doc))
      throw fail(
        'E_LIFECYCLE_INVALID',
        'a package document at a revision must carry "versions" (unpublish, deprecate) or "maintainers" (npm owner)',
      );
    const principal = await gate.write(req, Action.PackageOwnersWrite, await packages.facts(name));
    const pkg = await packages.db
      .selectFrom('packages')
      .select(['id', 'rev'])
      .where('name', '=', name)
      .executeTakeFirstOrThrow();
    // npm sends the revision it read; a different one means someone changed the package in between.
    if (!isCurrentRevision(req.params.rev, pkg.rev))
      throw fail('E_PACKAGE_CHANGED', 'the package changed since npm read it: run the command again');
    await setMaintainers(
      packages.db,
      { id: pkg.id, name },
      doc.maintainers,
      { id: principal.userId, name: principal.name },
      clock(),
    );
    packages.invalidate(name);
    return reply.send({ ok: true, id: name });
  };

  const unpublishAll = async (req: FastifyRequest<RouteTypes<typeof RevRoute>>, reply: FastifyReply) => {
    const name = packageName(req.params);
    const principal = await gate.write(req, Action.PackageUnpublish, await packages.facts(name));
    const versions = await lifecycle.unpublishPackage(actorOf(principal), name, req.params.rev);
    req.log.info({ package: name, versions, user: principal.name }, 'unpublished package');
    return reply.send({ ok: true, id: name });
  };

  // npm removes the version from the document first, so the tarball is normally gone already: 404, which npm expects.
  const deleteTarball = async (req: FastifyRequest<RouteTypes<typeof RevRoute>>, reply: FastifyReply) => {
    const name = packageName(req.params);
    const facts = await packages.facts(name);
    await gate.screen(req, [Action.PackageUnpublish], facts);
    // That expected 404 comes before the write checks: the one-time password npm sent was spent on the PUT.
    const ref = (await packages.entry(name)).tarballs.get(req.params.file ?? '');
    if (!ref) throw notFound(`${name} has no tarball named ${req.params.file}`);
    const principal = await gate.write(req, Action.PackageUnpublish, facts);
    await lifecycle.unpublishVersions(actorOf(principal), name, [ref.version], req.params.rev);
    return reply.send({ ok: true, id: name });
  };

  // Every route here changes a package: the caller is known from the headers before the body is read.
  const signedIn = { preParsing: gate.signedIn() };
  for (const prefix of ['/:name', '/@:scope/:name']) {
    app.put<RouteTypes<typeof AtRevisionRoute>>(
      `${prefix}/-rev/:rev`,
      { ...signedIn, schema: AtRevisionRoute },
      atRevision,
    );
    app.delete<RouteTypes<typeof RevRoute>>(`${prefix}/-rev/:rev`, { ...signedIn, schema: RevRoute }, unpublishAll);
    app.delete<RouteTypes<typeof RevRoute>>(
      `${prefix}/-/:file/-rev/:rev`,
      { ...signedIn, schema: RevRoute },
      deleteTarball,
    );
  }
}
