// The reports JSON API (GEN-2b), documented in docs/moderation.md: a signed-in user (token) reports a package or a
// version; the answer is the receipt. Reporting the same name@version again returns the first report (200, with
// "duplicate": true) instead of filing another; too many reports answer 429 with Retry-After; a package the reporter
// may not read is a 404 like everywhere else.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Limiter } from '../accounts/limits.ts';
import type { Principal } from '../access/principal.ts';
import { isModerator } from '../access/relations.ts';
import { badRequest, notFound, unauthorized } from '../errors.ts';
import { isServableName } from '../names/syntax.ts';
import type { Packages } from '../packages/service.ts';
import { fileReport, listOwnReports, reportById, type ReportInput, type Reporter, type ReportView } from '../safety/reports.ts';
import type { Db } from '../store/db.ts';
import type { Gate } from './gate.ts';

export type ReportRoutesDeps = { db: Db; gate: Gate; packages: Packages; limiter: Limiter; clock: () => number };

export const REPORTS_PATH = '/-/bulwark/v1/reports';

/** The reporter behind a principal, with the moderator flag that exempts them from the limits. */
export async function reporterOf(db: Db, p: Principal): Promise<Reporter> {
  return { id: p.userId, name: p.name, moderator: p.isAdmin || (p.isModerator ?? (await isModerator(db, p.userId))) };
}

/**
 * Checks what a report names and that the caller may read it (404 otherwise, as for the packument), and returns the
 * validated input. Shared by the API and the web form.
 */
export async function readableReportInput(req: FastifyRequest, deps: Pick<ReportRoutesDeps, 'gate' | 'packages'>, raw: { package: unknown; version: unknown; reason: unknown; details: unknown }): Promise<ReportInput> {
  if (typeof raw.package !== 'string' || !raw.package) throw badRequest('name the package you report ("package")');
  if (!isServableName(raw.package)) throw notFound(`${raw.package} is not in this registry`);
  await deps.gate.readPackage(req, await deps.packages.facts(raw.package));
  const version = raw.version === undefined || raw.version === null || raw.version === '' ? null : raw.version;
  if (version !== null && typeof version !== 'string') throw badRequest('the version must be a string, or left out to report the whole package');
  return { package: raw.package, version, reason: typeof raw.reason === 'string' ? raw.reason : '', details: typeof raw.details === 'string' ? raw.details : '' };
}

const shape = (r: ReportView, duplicate: boolean) => ({ ...r, duplicate });

export function registerReportRoutes(app: FastifyInstance, deps: ReportRoutesDeps): void {
  const { db, gate, limiter, clock } = deps;

  const NO_ACCOUNT = 'reporting needs an account: run `npm login` or pass a token';
  const signedIn = async (req: FastifyRequest): Promise<Principal> => {
    const principal = await gate.principal(req);
    if (!principal) throw unauthorized(NO_ACCOUNT);
    return principal;
  };

  // An anonymous report is refused before its body is read (Gate.signedIn).
  app.post<{ Body: Record<string, unknown> | null }>(REPORTS_PATH, { preParsing: gate.signedIn(NO_ACCOUNT) }, async (req, reply) => {
    const principal = await signedIn(req);
    const b = req.body && typeof req.body === 'object' ? req.body : {};
    const input = await readableReportInput(req, deps, { package: b.package, version: b.version, reason: b.reason, details: b.details });
    const { report, duplicate } = await fileReport(db, limiter, await reporterOf(db, principal), req.ip, input, clock());
    req.log.info({ report: report.id, duplicate }, duplicate ? 'report repeated' : 'report filed');
    return reply.code(duplicate ? 200 : 201).send(shape(report, duplicate));
  });

  app.get(REPORTS_PATH, async (req) => {
    const principal = await signedIn(req);
    return { reports: await listOwnReports(db, principal.userId) };
  });

  app.get<{ Params: { id: string } }>(`${REPORTS_PATH}/:id`, async (req) => {
    const principal = await signedIn(req);
    if (!/^\d{1,15}$/.test(req.params.id)) throw notFound();
    const report = await reportById(db, Number(req.params.id));
    // Someone else's report is as absent as one that does not exist.
    if (!report || report.reporterId !== principal.userId) throw notFound();
    const { reporterId: _r, ...view } = report;
    return shape(view, false);
  });
}
