// The reports JSON API (GEN-2b), documented in docs/moderation.md: a signed-in user (token) reports a package or a
// version, through the write gate like every write (Action.ReportCreate); the answer is the receipt. Reporting the
// same name@version again returns the first report (200, with "duplicate": true) instead of filing another; too many
// reports answer 429 with Retry-After; a package the reporter may not read is a 404 like everywhere else.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Limiter } from '../accounts/limits.ts';
import { Action, REGISTRY } from '../access/decide.ts';
import type { Principal } from '../access/principal.ts';
import { fail, notFound } from '../errors.ts';
import { isServableName } from '../names/syntax.ts';
import type { Packages } from '../packages/service.ts';
import {
  fileReport,
  listOwnReports,
  reportById,
  type ReportInput,
  type Reporter,
  type ReportView,
} from '../safety/reports.ts';
import type { Db } from '../store/db.ts';
import type { Gate } from './gate.ts';
import { Type, schema, type RouteTypes } from './schemas.ts';

export type ReportRoutesDeps = { db: Db; gate: Gate; packages: Packages; limiter: Limiter; clock: () => number };

export const REPORTS_PATH = '/-/bulwark/v1/reports';

type RawReport = { package: unknown; version: unknown; reason: unknown; details: unknown };

/** A report as the API takes it; what the names and words must be is checked by gatedReport and safety/reports.ts. */
const FileRoute = schema({
  body: Type.Object({
    package: Type.Optional(Type.String()),
    version: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'a string, or null' })),
    reason: Type.Optional(Type.String()),
    details: Type.Optional(Type.String()),
  }),
});
const ReportRoute = schema({ params: Type.Object({ id: Type.String() }) });

/** The package a report names, checked for shape only: 400 without one, 404 for a name that cannot be here. */
function reportedName(raw: unknown): string {
  if (typeof raw !== 'string' || !raw) throw fail('E_REPORT_INVALID', 'name the package you report ("package")');
  if (!isServableName(raw)) throw notFound(`${raw} is not in this registry`);
  return raw;
}

/** May the caller report this package (decide(): a signed-in principal who may read it)? For the report form's page. */
export async function authorizeReport(
  req: FastifyRequest,
  deps: Pick<ReportRoutesDeps, 'gate' | 'packages'>,
  name: unknown,
): Promise<Principal> {
  const pkg = reportedName(name);
  return deps.gate.authorize(req, Action.ReportCreate, await deps.packages.facts(pkg));
}

/**
 * A report through the write gate, shared by the API and the web form: the shape of what it names is checked, then
 * the gate decides (Action.ReportCreate: a signed-in principal who may read the package, 404 otherwise as for the
 * packument) and applies its write checks. Returns the validated input and the reporter; whoever may work the
 * moderation queue (decide() again) files reports without the limits.
 */
export async function gatedReport(
  req: FastifyRequest,
  deps: Pick<ReportRoutesDeps, 'gate' | 'packages'>,
  raw: RawReport,
): Promise<{ input: ReportInput; reporter: Reporter }> {
  const pkg = reportedName(raw.package);
  const version = raw.version === undefined || raw.version === null || raw.version === '' ? null : raw.version;
  const principal = await deps.gate.write(req, Action.ReportCreate, await deps.packages.facts(pkg));
  if (version !== null && typeof version !== 'string')
    throw fail('E_REPORT_INVALID', 'the version must be a string, or left out to report the whole package');
  const reporter = {
    id: principal.userId,
    name: principal.name,
    moderator: await deps.gate.allows(req, Action.ModerationAct, REGISTRY),
  };
  return {
    input: {
      package: pkg,
      version,
      reason: typeof raw.reason === 'string' ? raw.reason : '',
      details: typeof raw.details === 'string' ? raw.details : '',
    },
    reporter,
  };
}

const shape = (r: ReportView, duplicate: boolean) => ({ ...r, duplicate });

export function register(app: FastifyInstance, deps: ReportRoutesDeps): void {
  const { db, gate, limiter, clock } = deps;

  const NO_ACCOUNT = 'reporting needs an account: run `npm login` or pass a token';
  const signedIn = (req: FastifyRequest): Promise<Principal> => gate.caller(req, NO_ACCOUNT);

  // An anonymous report is refused before its body is read (Gate.signedIn).
  app.post<RouteTypes<typeof FileRoute>>(
    REPORTS_PATH,
    { preParsing: gate.signedIn(NO_ACCOUNT), schema: FileRoute },
    async (req, reply) => {
      const b = req.body;
      const { input, reporter } = await gatedReport(req, deps, {
        package: b.package,
        version: b.version,
        reason: b.reason,
        details: b.details,
      });
      const { report, duplicate } = await fileReport(db, limiter, reporter, req.ip, input, clock());
      req.log.info({ report: report.id, duplicate }, duplicate ? 'report repeated' : 'report filed');
      return reply.code(duplicate ? 200 : 201).send(shape(report, duplicate));
    },
  );

  app.get(REPORTS_PATH, async (req) => {
    const principal = await signedIn(req);
    return { reports: await listOwnReports(db, principal.userId) };
  });

  app.get<RouteTypes<typeof ReportRoute>>(`${REPORTS_PATH}/:id`, { schema: ReportRoute }, async (req) => {
    const principal = await signedIn(req);
    if (!/^\d{1,15}$/.test(req.params.id)) throw notFound();
    const report = await reportById(db, Number(req.params.id));
    // Someone else's report is as absent as one that does not exist.
    if (!report || report.reporterId !== principal.userId) throw notFound();
    const { reporterId: _r, ...view } = report;
    return shape(view, false);
  });
}
