// The advisory database over HTTP, laid out like OSV's own bulk data (docs/advisories.md): one record per id, an
// index of ids with modified times (JSON, and OSV's modified_id.csv), and a zip of every record. Reads pass the
// registry's read policy; an advisory about a restricted package is shown only to those who may read that package.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../errors.ts';
import type { Packages } from '../packages/service.ts';
import { allAdvisories, findAdvisory, listAdvisories, type AdvisorySummary } from '../safety/advisories.ts';
import { isAdvisoryId, osvTime, withReferences, type OsvRecord } from '../safety/osv.ts';
import { zipFiles } from '../safety/osv-zip.ts';
import type { Db } from '../store/db.ts';
import type { Gate } from './gate.ts';
import { Str, Type, schema, type RouteTypes } from './schemas.ts';

const AdvisoryRoute = schema({ params: Type.Object({ id: Str(256) }) });

export type AdvisoryRouteDeps = { db: Db; gate: Gate; packages: Packages; publicUrl: () => string };

const BASE = '/-/bulwark/v1/osv';

/** The bytes of one record, the same in the zip and at /osv/:id: pretty-printed like OSV's own files. */
const recordBytes = (record: OsvRecord, publicUrl: string) =>
  Buffer.from(`${JSON.stringify(withReferences(record, publicUrl), null, 2)}\n`);

export function register(app: FastifyInstance, deps: AdvisoryRouteDeps): void {
  const { gate, packages } = deps;
  // The zip of the last answer: rebuilt only when the set of visible advisories or one of them changes.
  let lastZip: { key: string; bytes: Buffer } | null = null;

  /** May the caller read this restricted package? */
  async function mayRead(req: FastifyRequest, name: string): Promise<boolean> {
    const facts = await packages.facts(name);
    // Gone, and restricted when it was removed: nobody reads it any more, so nobody reads its advisory here.
    return facts.access !== null && gate.mayReadPackage(req, facts);
  }

  /** The advisories this reader may see: all but those about restricted packages they cannot read. */
  async function visible<T extends AdvisorySummary>(req: FastifyRequest, all: T[]): Promise<T[]> {
    const decided = new Map<string, boolean>();
    const out: T[] = [];
    for (const a of all) {
      if (a.access === 'restricted') {
        let ok = decided.get(a.packageName);
        if (ok === undefined) decided.set(a.packageName, (ok = await mayRead(req, a.packageName)));
        if (!ok) continue;
      }
      out.push(a);
    }
    return out;
  }

  /** Answers that depend on who asks must not be stored by shared caches. */
  function send(req: FastifyRequest, reply: FastifyReply, body: Buffer, type: string, personal: boolean) {
    const scope = personal || gate.policy.readAccess === 'authenticated' ? 'private' : 'public';
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;
    // An advisory gains versions and reporters when the same package is removed again: revalidate after a minute.
    reply.header('cache-control', `${scope}, max-age=60`).header('etag', etag);
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.header('content-type', type).send(body);
  }

  app.get(BASE, async (req, reply) => {
    await gate.read(req);
    const all = await listAdvisories(deps.db);
    const shown = await visible(req, all);
    const advisories = shown.map((a) => ({
      id: a.id,
      modified: osvTime(a.modifiedAt),
      published: osvTime(a.publishedAt),
      package: { ecosystem: 'npm', name: a.packageName },
    }));
    return send(
      req,
      reply,
      Buffer.from(JSON.stringify({ advisories })),
      'application/json',
      all.some((a) => a.access === 'restricted'),
    );
  });

  // OSV's per-ecosystem index: "<modified>,<id>" per line, most recently modified first.
  app.get(`${BASE}/modified_id.csv`, async (req, reply) => {
    await gate.read(req);
    const all = await listAdvisories(deps.db);
    const lines = (await visible(req, all)).map((a) => `${osvTime(a.modifiedAt)},${a.id}\n`).join('');
    return send(
      req,
      reply,
      Buffer.from(lines),
      'text/csv; charset=utf-8',
      all.some((a) => a.access === 'restricted'),
    );
  });

  app.get(`${BASE}/all.zip`, async (req, reply) => {
    await gate.read(req);
    const all = await allAdvisories(deps.db);
    const shown = await visible(req, all);
    const publicUrl = deps.publicUrl();
    const key = `${publicUrl}\n${shown.map((a) => `${a.id}@${a.modifiedAt}`).join(',')}`;
    if (lastZip?.key !== key) {
      const bytes = await zipFiles(
        shown.map((a) => ({ name: `${a.id}.json`, data: recordBytes(a.record, publicUrl), mtime: a.modifiedAt })),
      );
      lastZip = { key, bytes };
    }
    reply.header('content-disposition', 'attachment; filename="all.zip"');
    return send(
      req,
      reply,
      lastZip.bytes,
      'application/zip',
      all.some((a) => a.access === 'restricted'),
    );
  });

  app.get<RouteTypes<typeof AdvisoryRoute>>(`${BASE}/:id`, { schema: AdvisoryRoute }, async (req, reply) => {
    await gate.read(req);
    // OSV's buckets name files <id>.json; accept that spelling too.
    const id = req.params.id.replace(/\.json$/, '');
    if (!isAdvisoryId(id))
      throw notFound(`"${id.slice(0, 80)}" is not an advisory id of this registry (they look like x_BWK-MAL-2026-1)`);
    const found = await findAdvisory(deps.db, id);
    // One answer for "no such advisory" and "about a package you may not read".
    if (!found || !(await visible(req, [found])).length) throw notFound(`no advisory ${id} in this registry`);
    return send(
      req,
      reply,
      recordBytes(found.record, deps.publicUrl()),
      'application/json',
      found.access === 'restricted',
    );
  });
}
