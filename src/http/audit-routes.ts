// npm's audit endpoints, answered from the registry's own advisories (packages removed as malicious, GEN-3c):
//   POST /-/npm/v1/security/advisories/bulk   npm 11 and 10 (`npm audit`, and the summary after `npm install`)
//   POST /-/npm/v1/security/audits/quick      npm ≤ 10, only when the bulk request failed
// Both bodies come gzipped (Content-Encoding: gzip), the only compressed requests npm sends; anyone may send them on a
// public registry, so they are bounded (decoded size, nesting) before they are parsed. The rules are in safety/audit.ts.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { fail } from '../errors.ts';
import type { Packages } from '../packages/service.ts';
import { advisoriesForPackages, type StoredAdvisory } from '../safety/advisories.ts';
import { bulkReport, nestsDeeperThan, parseBulkRequest, parseQuickRequest, quickReport } from '../safety/audit.ts';
import type { Db } from '../store/db.ts';
import { decodeBody } from './compressed-bodies.ts';
import type { Gate } from './gate.ts';
import { AnyObject, schema } from './schemas.ts';

export type AuditRouteDeps = { db: Db; gate: Gate; packages: Packages; publicUrl: () => string };

/**
 * The largest decoded request: the bulk request of a 20,000-package tree is about 1 MiB, and npm 10's quick request
 * (the lockfile's tree) a few times that.
 */
export const AUDIT_BODY_LIMIT = 4 * 1024 * 1024;
/** Deeper than any lockfile's tree: npm's nesting of node_modules, two levels of JSON each. */
const MAX_DEPTH = 256;

export function register(app: FastifyInstance, deps: AuditRouteDeps): void {
  const { db, gate, packages, publicUrl } = deps;

  /** The advisories about these packages that this reader may see: a restricted package's only for its readers. */
  async function visibleAdvisories(req: FastifyRequest, names: readonly string[]): Promise<StoredAdvisory[]> {
    const all = await advisoriesForPackages(db, names);
    const out: StoredAdvisory[] = [];
    for (const a of all) {
      if (a.access === 'restricted') {
        const facts = await packages.facts(a.packageName);
        // Gone, and restricted when it was removed: nobody reads it any more, so nobody learns of it here.
        if (facts.access === null || !(await gate.mayReadPackage(req, facts))) continue;
      }
      out.push(a);
    }
    return out;
  }

  const options = {
    bodyLimit: AUDIT_BODY_LIMIT,
    config: { compressedBody: true },
    preParsing: decodeBody(AUDIT_BODY_LIMIT),
    // The envelope only: the entries (thousands in a large tree) are safety/audit.ts's to read, in one pass.
    schema: schema({ body: AnyObject }),
  };

  // Their own scope: a JSON parser that refuses deep nesting before parsing (these bodies need no more than a
  // lockfile's depth), and no other body type.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
      const bytes = body as Buffer;
      if (nestsDeeperThan(bytes, MAX_DEPTH))
        return done(fail('E_INVALID_REQUEST', `the audit request nests deeper than ${MAX_DEPTH} levels`), undefined);
      try {
        done(null, JSON.parse(bytes.toString('utf8')));
      } catch {
        done(fail('E_INVALID_REQUEST', 'the audit request is not valid JSON'), undefined);
      }
    });

    scope.post('/-/npm/v1/security/advisories/bulk', options, async (req) => {
      await gate.read(req);
      const request = parseBulkRequest(req.body);
      const records = (await visibleAdvisories(req, [...request.keys()])).map((a) => a.record);
      return bulkReport(request, records, publicUrl());
    });

    scope.post('/-/npm/v1/security/audits/quick', options, async (req) => {
      await gate.read(req);
      const installed = parseQuickRequest(req.body);
      const records = (await visibleAdvisories(req, [...new Set(installed.map((i) => i.name))])).map((a) => a.record);
      return quickReport(installed, records, publicUrl());
    });
  });
}
