// Version pages: /-/web/package/NAME/v/VERSION (and @SCOPE/NAME). The same read decision as the package page, and
// built from the same cached full packument, so a version that is held, quarantined, unpublished or removed, or that
// never existed, is the same 404 for everyone: the page can never show what `npm view` would not.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../errors.ts';
import { isServableName } from '../names/syntax.ts';
import type { Representation } from '../packages/cache.ts';
import { versionPage, versionView } from './pages/version.ts';
import type { WebUi } from './routes.ts';
import { NAME_MAX, Str, Type, schema, type RouteTypes } from '../http/schemas.ts';

const VersionRoute = schema({
  params: Type.Object({ scope: Type.Optional(Str(NAME_MAX)), name: Str(NAME_MAX * 2), version: Str(256) }),
});

export function register(scope: FastifyInstance, web: WebUi): void {
  // Parsed once per cached packument (a publish or any change replaces it, and the parse goes with it).
  const docs = new WeakMap<Representation, Record<string, unknown>>();
  const show = async (req: FastifyRequest, reply: FastifyReply, name: string, version: string) => {
    if (!isServableName(name)) throw notFound();
    const { packages, gate, clock } = web.deps;
    const entry = await packages.entry(name);
    await gate.readPackage(req, entry.facts);
    if (!entry.full || entry.facts.access === null || entry.facts.nameHold || entry.facts.id === null) throw notFound();
    let doc = docs.get(entry.full);
    if (!doc) {
      doc = JSON.parse(entry.full.body.toString('utf8')) as Record<string, unknown>;
      docs.set(entry.full, doc);
    }
    const view = versionView(doc, version);
    if (!view) throw notFound();
    const [files, ctx] = await Promise.all([packages.versionFiles(entry.facts.id, version), web.context(req, reply)]);
    return web.send(reply, 200, versionPage({ view, files, viewer: ctx.viewer, csrf: ctx.csrf, now: clock() }));
  };
  scope.get<RouteTypes<typeof VersionRoute>>(
    '/-/web/package/:name/v/:version',
    { schema: VersionRoute },
    (req, reply) => show(req, reply, req.params.name, req.params.version),
  );
  scope.get<RouteTypes<typeof VersionRoute>>(
    '/-/web/package/@:scope/:name/v/:version',
    { schema: VersionRoute },
    (req, reply) => show(req, reply, `@${req.params.scope ?? ''}/${req.params.name}`, req.params.version),
  );
}
