// The one way a page's form is read and answered. A form route declares its fields (TypeBox, as the npm routes do);
// a form of another shape is not answered with a bare error page but refused as any other refusal of that form is:
// the page again, with the sentence naming the field and the status. A change that succeeds redirects (303), so a
// reload never submits twice.
import type { Static, TObject } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { REGISTRY, type RegistryFacts, type StaffAction } from '../access/decide.ts';
import type { Principal } from '../access/principal.ts';
import { ClientError } from '../errors.ts';
import { Type } from '../http/schemas.ts';
import type { WebUi } from './routes.ts';
import type { WebSession, WebSessions } from './session.ts';

/** A text field of a form, at most `max` characters; missing is the empty string, as an empty input sends. */
export const Field = (max = 1024) => Type.String({ maxLength: max, default: '' });

/**
 * Route options for a form POST: its body schema, checked by Fastify as every route's is, with the failure kept on
 * the request (attachValidation) so the handler shows it on the page, after the CSRF check.
 */
export const formRoute = <S extends TObject>(body: S) => ({ schema: { body }, attachValidation: true }) as const;

/**
 * The form's fields as its schema declares them. A form that failed the check throws its refusal here
 * (E_INVALID_REQUEST, naming the field), inside the handler's refusal path, so the page is drawn again with it.
 */
export function formOf<S extends TObject>(req: FastifyRequest, _schema: S): Static<S> {
  if (req.validationError) throw req.validationError;
  // Checked against _schema by Fastify before the handler ran (formRoute).
  return req.body as Static<S>;
}

/**
 * For a route whose schema's failure is kept on the request (attachValidation): throws it now. Staff pages check their
 * query only once the gate has let the caller in, so a malformed query cannot tell anyone else that the page exists.
 */
export function assertValid(req: FastifyRequest): void {
  if (req.validationError) throw req.validationError;
}

/** Route options for a staff page's GET: its query checked, the failure kept for assertValid after the gate. */
export const staffQueryRoute = <S extends TObject>(querystring: S) =>
  ({ schema: { querystring }, attachValidation: true }) as const;

/** A refusal as a form shows it: a sentence, npm's advice to pass --otp becoming the form's own. */
export const refusalText = (err: Error): string =>
  err.message
    .replace(/: run the command again with --otp=CODE$/, ': enter the code from your authenticator app')
    .replace(/^./, (c) => c.toUpperCase())
    .replace(/([^.])$/, '$1.');

/** "2 seconds", "10 minutes", "about 3 hours": Retry-After as a person reads it. */
export function waitText(seconds: number): string {
  if (seconds < 90) return `${seconds} ${seconds === 1 ? 'second' : 'seconds'}`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 90) return `${minutes} minutes`;
  return `about ${Math.round(minutes / 60)} hours`;
}

/**
 * The status and sentence a page shows for a refused request, its headers (Retry-After) put on the reply. A 429
 * becomes `tooMany` and "try again in N minutes". Anything but a ClientError is not ours to explain: rethrown.
 */
export function explain(reply: FastifyReply, err: unknown, tooMany: string): { status: number; message: string } {
  if (!(err instanceof ClientError)) throw err;
  // The OTP challenge's header is for npm, not the browser.
  for (const [k, v] of Object.entries(err.headers)) if (k !== 'www-authenticate') reply.header(k, v);
  if (err.code === 'E_RATE_LIMITED')
    return { status: 429, message: `${tooMany} Try again in ${waitText(Number(err.headers['retry-after'] ?? 60))}.` };
  return { status: err.status, message: refusalText(err) };
}

/** The signed-in session, or null after redirecting the browser to sign in and come back. */
export async function signedIn(
  sessions: WebSessions,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<WebSession | null> {
  const session = await sessions.current(req);
  if (session) return session;
  await reply
    .code(303)
    .header('location', `/-/web/signin?next=${encodeURIComponent(req.url)}`)
    .send();
  return null;
}

/** 303 to `location`, the answer to a form that did what it asked. */
export const see = (reply: FastifyReply, location: string): FastifyReply =>
  reply.code(303).header('location', location).send();

/**
 * Runs one change a form asks for. The form's one-time password stands in for npm's npm-otp header, so the gate's
 * second-factor check applies to the page exactly as to the CLI. Success redirects to `back` with `done=<what
 * happened>`; a refusal other than not-found (which stays the 404 page, so nothing hidden is confirmed) draws the page
 * again with the reason and the refusal's status and headers (Retry-After).
 */
export async function formChange(
  req: FastifyRequest,
  reply: FastifyReply,
  opts: {
    back: string;
    run: () => Promise<string>;
    render: (status: number, error: string) => Promise<FastifyReply>;
  },
): Promise<FastifyReply> {
  const otp = (req.body as { otp?: unknown } | null | undefined)?.otp;
  if (typeof otp === 'string' && otp.trim()) req.headers['npm-otp'] = otp.trim();
  let done: string;
  try {
    done = await opts.run();
  } catch (err) {
    if (!(err instanceof ClientError) || err.code === 'E_NOT_FOUND') throw err;
    req.log.info({ cause: 'form-refused', status: err.status, code: err.code }, err.message);
    const { status, message } = explain(reply, err, 'Too many attempts.');
    return opts.render(status, message);
  }
  return see(reply, `${opts.back}${opts.back.includes('?') ? '&' : '?'}done=${done}`);
}

/**
 * One action on a staff page (administrators', moderators'): the gate first (web.staff: a 404 for anyone who may not
 * use the page, the write checks with the form's one-time password), then the form's shape, then the change, then a
 * redirect to `done(what happened)`. Refusals before the gate let the caller in are answered as they are; a refusal
 * of an allowed caller's action (no reason, a wrong code, a malformed form) draws the page again with it. `notFound`
 * says whether a not-found of the action itself shows on the page (a queue item gone) or stays the 404 page.
 */
export async function staffFormChange(
  web: WebUi,
  req: FastifyRequest,
  reply: FastifyReply,
  opts: {
    action: StaffAction;
    /** what the page itself needs: whoever may not use it gets the 404 page whatever went wrong. */
    page: StaffAction;
    cause: string;
    notFoundOnPage?: boolean;
    /** what the action is about (a queue item), loaded once the caller may use the page (web.staff). */
    facts?: () => Promise<RegistryFacts>;
    run: (principal: Principal) => Promise<string>;
    done: (what: string) => string;
    render: (session: WebSession, principal: Principal, status: number, error: string) => Promise<FastifyReply>;
  },
): Promise<FastifyReply> {
  let what: string;
  try {
    const allowed = await web.staff(req, reply, opts.action, {
      write: true,
      ...(opts.facts ? { facts: opts.facts } : {}),
    });
    if (!allowed) return reply;
    what = await opts.run(allowed.principal);
  } catch (err) {
    const session = web.sessions.known(req);
    const principal = await web.deps.gate.principal(req);
    if (
      !(err instanceof ClientError) ||
      (err.code === 'E_NOT_FOUND' && !opts.notFoundOnPage) ||
      !session ||
      !principal ||
      !(await web.deps.gate.allows(req, opts.page, opts.facts ? await opts.facts() : REGISTRY))
    )
      throw err;
    req.log.info({ cause: opts.cause, status: err.status, code: err.code }, err.message);
    const { status, message } = explain(reply, err, 'Too many attempts.');
    return opts.render(session, principal, status, message);
  }
  return see(reply, opts.done(what));
}
