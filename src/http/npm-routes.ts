// The npm registry protocol: packuments, tarballs, publish, dist-tags, search and download counts. Handlers parse
// the request, pass the gate, and call the packages service; they hold no rules of their own.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Action, decide } from '../access/decide.ts';
import { fail, notFound } from '../errors.ts';
import { etagMatches, negotiateEncoding } from '../packages/cache.ts';
import { downloadsByDay, parsePeriod, type DownloadCounter } from '../packages/downloads.ts';
import { isServableName, nameProblem } from '../names/syntax.ts';
import { search } from '../packages/search.ts';
import { isStarDocument } from '../packages/stars.ts';
import type { PackageEntry, Packages, TarballRef } from '../packages/service.ts';
import { sendAnswer, writeAnswer, type Answer } from './answers.ts';
import type { Gate } from './gate.ts';
import type { ProxyReads } from './upstream-routes.ts';
import type { UploadSlots } from './uploads.ts';
import { AnyObject, NAME_MAX, NameParams as NameParamsSchema, Str, Type, schema, type RouteTypes } from './schemas.ts';

export type NpmRouteDeps = {
  packages: Packages;
  gate: Gate;
  downloads: DownloadCounter;
  /** the cap on concurrent large uploads (publish documents). */
  uploads: UploadSlots;
  clock: () => number;
  /** a PUT of a package document without a tarball (npm deprecate): http/lifecycle-routes.ts. */
  updateDocument: DocumentHandler;
  /** a PUT of { _id, _rev, users } (npm star, npm unstar): http/star-routes.ts. */
  starDocument: DocumentHandler;
  /** the request id for a request answered without Fastify (which makes its own with the same function). */
  requestId: (req: IncomingMessage) => string;
  /** reads of names not hosted here, answered from an upstream registry (upstream-routes.ts); none without a proxy. */
  proxy?: ProxyReads | undefined;
};

export type NameParams = { name?: string; scope?: string; file?: string; tag?: string };

/** A handler of a package document PUT to /:name that is not a publish (npm deprecate's, npm star's). */
export type DocumentHandler = (
  req: FastifyRequest<{ Params: NameParams; Body: Record<string, unknown> }>,
  reply: FastifyReply,
) => Promise<FastifyReply>;

/** A package document PUT to /:name: its envelope only. What it is (a publish, npm deprecate's document, npm star's)
 * is told apart by its fields below; the deep checks are parsePublish's, lifecycle's and stars' own. The tarball's
 * base64 in _attachments is never walked here: an upload costs no more than before. */
const PackageDocument = Type.Object(
  {
    name: Type.Optional(Type.Unknown()),
    _attachments: Type.Optional(AnyObject),
    versions: Type.Optional(AnyObject),
    users: Type.Optional(AnyObject),
  },
  { description: 'a JSON package document' },
);
const PackageRoute = schema({ params: NameParamsSchema });
const TarballRoute = schema({
  params: Type.Object({
    name: Type.Optional(Str(NAME_MAX)),
    scope: Type.Optional(Str(NAME_MAX)),
    file: Str(NAME_MAX * 2),
  }),
});
const PublishRoute = schema({ params: NameParamsSchema, body: PackageDocument });
const DistTagsRoute = schema({ params: Type.Object({ name: Str(NAME_MAX) }) });
const DistTagRoute = schema({ params: Type.Object({ name: Str(NAME_MAX), tag: Str(NAME_MAX) }) });
const SetDistTagRoute = schema({
  params: DistTagRoute.params,
  body: Type.String({ maxLength: 256, description: 'a JSON string holding a version, e.g. "1.2.3"' }),
});
// npm sends both; an empty one means the default.
const Count = Type.String({ pattern: '^[0-9]{0,15}$', description: 'a whole number' });
const SearchRoute = schema({
  querystring: Type.Object({ text: Type.Optional(Str(4096)), size: Type.Optional(Count), from: Type.Optional(Count) }),
});
const DownloadsRoute = schema({
  params: Type.Object({ period: Str(64), '*': Type.Optional(Str(NAME_MAX)) }),
});

/** The package name from either URL form: /@scope%2fname (decoded by the router) or /@scope/name. */
const nameOf = (params: NameParams): string =>
  params.scope !== undefined ? `@${params.scope}/${params.name}` : (params.name ?? '');

/** The package name, refused as not found when npm could never have published it. */
export function packageName(params: NameParams): string {
  const name = nameOf(params);
  // A name npm could never have published cannot exist here: answer without touching the database.
  if (!isServableName(name)) throw notFound();
  return name;
}

const ABBREVIATED = 'application/vnd.npm.install-v1+json';
const VARY = 'Accept, Accept-Encoding';
// Revalidation with the ETag is cheap (a 304 from memory) and makes a new publish visible at once.
const PACKUMENT_CACHING = { public: 'public, max-age=0, must-revalidate', private: 'private, no-cache' };
// A published tarball never changes, so caches may keep it forever.
const TARBALL_CACHING = {
  public: 'public, max-age=31536000, immutable',
  private: 'private, max-age=31536000, immutable',
};

/** Answers a request from memory without the router, or returns false to leave it to Fastify (see answerFromMemory). */
export type FastRead = (req: IncomingMessage, res: ServerResponse) => boolean;

export function registerNpmRoutes(app: FastifyInstance, deps: NpmRouteDeps): FastRead {
  const { packages, gate, downloads, uploads, clock, updateDocument, starDocument, requestId, proxy } = deps;
  // A name never published here may come from an upstream; one held by a hosted package (even unpublished, held or
  // restricted) never does, and answers as the hosted package does (dependency confusion, docs/upstream.md).
  const proxied = (entry: PackageEntry) => proxy !== undefined && entry.facts.id === null && proxy.covers(entry.name);

  // Reads that answerFromMemory (below) declined: packages not in memory, tokens, HEAD, anything the router decodes.
  async function packument(req: FastifyRequest<{ Params: NameParams }>, reply: FastifyReply) {
    const cached = packages.cached(nameOf(req.params));
    const entry = cached ?? (await packages.entry(packageName(req.params)));
    if (proxied(entry)) return proxy!.packument(req, reply, entry.name);
    await gate.readPackage(req, entry.facts);
    req.routineRead = cached !== undefined;
    return sendAnswer(reply, servablePackument(req.headers, entry));
  }

  async function tarball(req: FastifyRequest<{ Params: NameParams }>, reply: FastifyReply) {
    const cached = packages.cached(nameOf(req.params));
    const entry = cached ?? (await packages.entry(packageName(req.params)));
    if (proxied(entry)) return proxy!.tarball(req, reply, entry.name, req.params.file ?? '');
    await gate.readPackage(req, entry.facts);
    const ref = entry.tarballs.get(req.params.file ?? '');
    if (!ref) throw notFound(`${entry.name} has no tarball named ${req.params.file}`);
    req.routineRead = cached !== undefined;
    // A revalidation needs no bytes: answer it before reading the blob.
    if (etagMatches(req.headers['if-none-match'], ref.etag))
      return sendAnswer(reply, tarballAnswer(req.headers, entry, ref, null));
    const bytes = packages.cachedTarball(ref);
    if (bytes === undefined) req.routineRead = false;
    return sendAnswer(
      reply,
      countedTarball(req.method, req.headers, entry, ref, bytes ?? (await packages.tarball(ref))),
    );
  }

  function countedTarball(
    method: string,
    headers: IncomingHttpHeaders,
    entry: PackageEntry,
    ref: TarballRef,
    bytes: Buffer,
  ): Answer {
    const answer = tarballAnswer(headers, entry, ref, bytes);
    if (method === 'GET' && answer.status === 200) downloads.record(ref.packageId, ref.version);
    return answer;
  }

  /**
   * Anonymous GETs of packuments and tarballs already in memory are most of an install's requests. This sends them
   * straight from node:http, before Fastify builds its request and reply objects, which would be a third of such a
   * request's cost. It declines (returns false) anything else — a URL that is not a plain package or tarball path, a
   * token, a package not in memory or not open to anyone — and Fastify then routes the request to the handlers
   * above, which send the same answer.
   */
  function answerFromMemory(req: IncomingMessage, res: ServerResponse): boolean {
    // Requests with a token go through the gate, which records the token's use.
    if (req.method !== 'GET' || req.headers.authorization !== undefined) return false;
    const target = readTarget(req.url ?? '');
    const entry = target && packages.cached(target.name);
    if (entry && proxied(entry)) return proxy!.fromMemory(req, res, entry.name, target.file);
    // Only a package anyone at all may read: who is asking then cannot change the answer, since decide() never lets
    // a principal read less than an anonymous client.
    if (!entry || !decide(null, Action.PackageRead, entry.facts, gate.policy).allow) return false;
    let answer: Answer | undefined;
    if (target.file === undefined) {
      answer = packumentAnswer(req.headers, entry);
    } else {
      const ref = entry.tarballs.get(target.file);
      const bytes = ref && packages.cachedTarball(ref);
      answer = bytes ? countedTarball('GET', req.headers, entry, ref, bytes) : undefined;
    }
    return writeAnswer(req, res, answer, requestId);
  }

  async function publish(req: FastifyRequest<RouteTypes<typeof PublishRoute>>, reply: FastifyReply) {
    const name = nameOf(req.params);
    const problem = nameProblem(name);
    if (problem) throw fail('E_NAME_INVALID', problem);
    const body = req.body;
    if (!('_attachments' in body)) return isStarDocument(body) ? starDocument(req, reply) : updateDocument(req, reply);
    const facts = await packages.facts(name);
    const principal = await gate.write(
      req,
      facts.access === null ? Action.PackageCreate : Action.PackagePublish,
      facts,
    );
    // Hosted names win over the upstream's: a first publish of a name the upstream serves would replace that package
    // for every client of this registry (docs/upstream.md).
    if (facts.access === null && proxy && (await proxy.serves(name)))
      throw fail(
        'E_NAME_TAKEN',
        `"${name}" is a package on the upstream registry this one proxies: publishing it here would replace it for everyone who installs through this registry. Publish under your own scope, or ask an administrator to reserve the name for your organisation (bulwark names reserve) if this registry should host its own ${name}`,
      );
    const { version, rev } = await packages.publish(principal, name, body);
    req.log.info({ package: name, version, user: principal.name }, 'published');
    return reply.code(201).send({ ok: true, id: name, rev: String(rev), success: true });
  }

  async function writableFacts(req: FastifyRequest<{ Params: NameParams }>) {
    const name = packageName(req.params);
    const facts = await packages.facts(name);
    // The gate answers a missing package and one the caller cannot read alike (404), before anything else is said.
    const principal = await gate.write(req, Action.DistTagsWrite, facts);
    if (facts.id === null) throw notFound();
    return { name, principal, id: facts.id };
  }

  // Writes need a principal, found from the headers before the body is read (see Gate.signedIn).
  const signedIn = { preParsing: gate.signedIn() };
  // base64 makes the tarball a third larger; the rest of the document is small. Large documents also take one of
  // the few upload slots (uploads.ts).
  const publishOptions = {
    bodyLimit: Math.ceil(packages.maxTarballSize * 1.4) + 1024 * 1024,
    preParsing: [gate.signedIn(), uploads.hook(gate)],
  };
  for (const prefix of ['/:name', '/@:scope/:name']) {
    app.get<RouteTypes<typeof PackageRoute>>(prefix, { schema: PackageRoute }, packument);
    app.put<RouteTypes<typeof PublishRoute>>(prefix, { ...publishOptions, schema: PublishRoute }, publish);
    app.get<RouteTypes<typeof TarballRoute>>(`${prefix}/-/:file`, { schema: TarballRoute }, tarball);
  }

  app.get<RouteTypes<typeof DistTagsRoute>>('/-/package/:name/dist-tags', { schema: DistTagsRoute }, async (req) => {
    const name = packageName(req.params);
    const entry = await packages.entry(name);
    await gate.readPackage(req, entry.facts);
    return entry.distTags;
  });
  app.put<RouteTypes<typeof SetDistTagRoute>>(
    '/-/package/:name/dist-tags/:tag',
    { ...signedIn, schema: SetDistTagRoute },
    async (req, reply) => {
      const { name, principal, id } = await writableFacts(req);
      await packages.setDistTag(principal, id, name, req.params.tag, req.body);
      return reply.code(201).send({ ok: true });
    },
  );
  app.delete<RouteTypes<typeof DistTagRoute>>(
    '/-/package/:name/dist-tags/:tag',
    { ...signedIn, schema: DistTagRoute },
    async (req) => {
      const { name, principal, id } = await writableFacts(req);
      await packages.removeDistTag(principal, id, name, req.params.tag);
      return { ok: true };
    },
  );

  app.get<RouteTypes<typeof SearchRoute>>('/-/v1/search', { schema: SearchRoute }, async (req) => {
    const principal = await gate.read(req);
    const size = clamp(req.query.size, 20, 1, 250);
    const from = clamp(req.query.from, 0, 0, 10_000);
    return search(packages.db, {
      text: (req.query.text ?? '').slice(0, 256),
      size,
      from,
      principal,
      now: clock(),
    });
  });

  for (const kind of ['point', 'range'] as const) {
    const handler = async (req: FastifyRequest<RouteTypes<typeof DownloadsRoute>>) => {
      await gate.read(req);
      const period = parsePeriod(req.params.period, clock());
      const name = req.params['*'] ?? '';
      if (name && !isServableName(name)) throw notFound();
      let packageId: number | null = null;
      if (name) {
        const entry = await packages.entry(name);
        await gate.readPackage(req, entry.facts);
        packageId = entry.facts.id;
      }
      await downloads.flush();
      const days = await downloadsByDay(packages.db, packageId, period);
      const head = { start: period.start, end: period.end, ...(name ? { package: name } : {}) };
      if (kind === 'range') return { ...head, downloads: days };
      return { downloads: days.reduce((n, d) => n + d.downloads, 0), ...head };
    };
    app.get<RouteTypes<typeof DownloadsRoute>>(`/downloads/${kind}/:period`, { schema: DownloadsRoute }, handler);
    app.get<RouteTypes<typeof DownloadsRoute>>(`/downloads/${kind}/:period/*`, { schema: DownloadsRoute }, handler);
  }
  return answerFromMemory;
}

/** What a read sends, decided from the request's headers alone, so the routed and the fast path answer alike. */

/** The packument in the form asked for, or undefined when the package has none: only an unpublished package has a full document and no abbreviated one. */
function packumentAnswer(headers: IncomingHttpHeaders, entry: PackageEntry): Answer | undefined {
  const abbreviated = headers.accept?.includes(ABBREVIATED) ?? false;
  const rep = abbreviated ? entry.abbreviated : entry.full;
  if (!rep) return undefined;
  const enc = negotiateEncoding(headers['accept-encoding'], rep.body.length);
  const etag = rep.etag(enc);
  const out: Record<string, string> = {
    'content-type': abbreviated ? ABBREVIATED : 'application/json',
    etag,
    vary: VARY,
    'cache-control': entry.facts.access === 'public' ? PACKUMENT_CACHING.public : PACKUMENT_CACHING.private,
  };
  if (etagMatches(headers['if-none-match'], etag)) return { status: 304, headers: out, body: undefined };
  if (enc !== 'identity') out['content-encoding'] = enc;
  return { status: 200, headers: out, body: rep.bytes(enc) };
}

function servablePackument(headers: IncomingHttpHeaders, entry: PackageEntry): Answer {
  const answer = packumentAnswer(headers, entry);
  if (!answer) throw notFound(entry.full ? `${entry.name} was unpublished: it has no versions to install` : undefined);
  return answer;
}

/** A tarball, or a 304 when the client holds it already; null bytes stand for a revalidation answered without them. */
function tarballAnswer(
  headers: IncomingHttpHeaders,
  entry: PackageEntry,
  ref: TarballRef,
  bytes: Buffer | null,
): Answer {
  const out: Record<string, string> = {
    'content-type': 'application/octet-stream',
    etag: ref.etag,
    'cache-control': entry.facts.access === 'public' ? TARBALL_CACHING.public : TARBALL_CACHING.private,
  };
  if (bytes === null || etagMatches(headers['if-none-match'], ref.etag))
    return { status: 304, headers: out, body: undefined };
  return { status: 200, headers: out, body: bytes };
}

/**
 * The package, and the tarball file if any, that a plain read URL names: /name, /@scope%2fname or /@scope/name,
 * each optionally followed by /-/file. Anything else (a query, other escapes, other paths) gives undefined and is
 * left to the router. The name is not checked here: only a name that is in the cache is ever answered.
 */
function readTarget(url: string): { name: string; file?: string } | undefined {
  if (url.charCodeAt(0) !== 47 /* / */ || url.includes('?')) return undefined;
  let path = url.slice(1);
  if (path.startsWith('@')) path = path.replace(/^(@[^/%]+)%2[fF]/, '$1/');
  if (path.includes('%')) return undefined;
  const dash = path.indexOf('/-/');
  if (dash < 0) return { name: path };
  const file = path.slice(dash + 3);
  return file.includes('/') ? undefined : { name: path.slice(0, dash), file };
}

/** A whole number from the query (its schema has checked the digits), or the default, within bounds. */
function clamp(raw: string | undefined, dflt: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return dflt;
  return Math.min(max, Math.max(min, Number(raw)));
}
