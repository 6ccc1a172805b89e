// Sign-up, sign-in, sign-out and the account page. Every POST has already passed the CSRF check (routes.ts) when its
// handler runs, and answers with a redirect (303) on success, so a reload never submits a form twice.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Rules, limitedPasswordCheck } from '../accounts/limits.ts';
import { listSessions, revokeSession } from '../accounts/sessions.ts';
import { pendingMessage } from '../accounts/signup.ts';
import { checkSecondFactor } from '../accounts/totp.ts';
import { checkPassword, createUser, recordSignInLocked } from '../accounts/users.ts';
import { ClientError, notFound } from '../errors.ts';
import { appendSetCookie, isHttps, setCookieLine } from './cookies.ts';
import { safeNext } from './next-url.ts';
import { accountPage } from './pages/account.ts';
import { otpPage, signInPage, signUpPage } from './pages/auth.ts';
import type { WebUi } from './routes.ts';
import { SESSION_COOKIE } from './session.ts';
import { SignInTickets } from './signin-ticket.ts';
import { Str, Type, schema, type RouteTypes } from '../http/schemas.ts';
import { AccountQuery } from './credentials-routes.ts';

/** The account page's query: its own notices, and those of its sections (credentials-routes.ts). */
const AccountRoute = schema({
  querystring: Type.Composite([
    AccountQuery,
    Type.Object({ welcome: Type.Optional(Str(8)), revoked: Type.Optional(Str(8)) }),
  ]),
});

type Form = Record<string, string | undefined>;

const field = (req: FastifyRequest, name: string): string => {
  const v = (req.body as Form | null)?.[name];
  return typeof v === 'string' ? v : '';
};

const SIGNIN_FAILED = 'Incorrect username or password.';

const see = (reply: FastifyReply, location: string) => reply.code(303).header('location', location).send();

const sentence = (message: string) => message.replace(/^./, (c) => c.toUpperCase()).replace(/([^.])$/, '$1.');

/** Runs a limited step; a 429 from the limiter comes back as the message to show (its Retry-After header kept). */
async function limited<T>(reply: FastifyReply, step: () => Promise<T>): Promise<{ value: T } | { refused: string }> {
  try {
    return { value: await step() };
  } catch (err) {
    if (!(err instanceof ClientError) || err.code !== 'E_RATE_LIMITED') throw err;
    for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
    return { refused: sentence(err.message) };
  }
}

export function registerAccountRoutes(scope: FastifyInstance, web: WebUi): void {
  const { db, clock } = web.deps;
  const { limiter, key } = web.deps.secondFactor;
  const tickets = new SignInTickets(web.deps.secretKey);

  scope.get<{ Querystring: { next?: string } }>('/-/web/signin', async (req, reply) => {
    const next = safeNext(req.query.next);
    if (await web.sessions.current(req)) return see(reply, next ?? '/-/web/account');
    return web.send(reply, 200, signInPage({ csrf: await web.csrf.token(req, reply), next, viewer: null }));
  });

  scope.post('/-/web/signin', async (req, reply) => {
    const username = field(req, 'username').trim().toLowerCase().slice(0, 64);
    const password = field(req, 'password');
    const next = safeNext(field(req, 'next'));
    const again = async (status: number, error: string) =>
      web.send(
        reply,
        status,
        signInPage({ csrf: await web.csrf.token(req, reply), username, next, error, viewer: null }),
      );
    if (!username || !password) return again(401, SIGNIN_FAILED);
    // The same limits as npm login. checkPassword takes as long for unknown names as for known ones, and the message
    // does not say which of the two was wrong.
    const checked = await limited(reply, () =>
      limitedPasswordCheck(
        limiter,
        username,
        req.ip,
        () => checkPassword(db, username, password),
        () => recordSignInLocked(db, username, req.ip, clock()),
      ),
    );
    if ('refused' in checked) return again(429, checked.refused);
    const user = checked.value;
    if (!user) {
      req.log.info({ cause: 'web-signin-failed' }, 'sign-in refused');
      return again(401, SIGNIN_FAILED);
    }
    // Only someone who knows the password learns that the account is disabled.
    if (user.disabled_at !== null)
      return again(403, 'This account has been disabled. Contact the registry’s administrators.');
    if (user.totp_mode !== 'disabled') {
      const csrf = await web.csrf.token(req, reply);
      return web.send(reply, 200, otpPage({ csrf, ticket: tickets.issue(user.id, csrf, clock()), next }));
    }
    await web.sessions.start(req, reply, user);
    return see(reply, next ?? '/-/web/account');
  });

  // Second step for accounts with two-factor authentication: the ticket says the password was right moments ago.
  scope.post('/-/web/signin/otp', async (req, reply) => {
    const next = safeNext(field(req, 'next'));
    const csrf = await web.csrf.token(req, reply);
    const ticket = field(req, 'ticket');
    const userId = tickets.verify(ticket, csrf, clock());
    const user =
      userId === null
        ? undefined
        : await db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
    if (!user || user.disabled_at !== null || user.totp_mode === 'disabled') {
      return web.send(
        reply,
        400,
        signInPage({
          csrf,
          next,
          error: 'Your sign-in took too long or could not be completed. Please sign in again.',
          viewer: null,
        }),
      );
    }
    const attempt: Array<[typeof Rules.secondFactor, string]> = [[Rules.secondFactor, String(user.id)]];
    const checked = await limited(reply, async () => {
      await limiter.check(attempt, 'one-time passwords');
      return checkSecondFactor(db, key, user.id, field(req, 'otp'), clock());
    });
    if ('refused' in checked) return web.send(reply, 429, otpPage({ csrf, ticket, next, error: checked.refused }));
    if (!checked.value.ok) {
      await limiter.fail(attempt);
      req.log.info({ cause: 'web-otp-failed' }, 'sign-in refused');
      return web.send(
        reply,
        401,
        otpPage({
          csrf,
          ticket,
          next,
          error: 'That code is not right, has expired or was already used. Wait for the next code and try again.',
        }),
      );
    }
    await limiter.reset(attempt);
    await web.sessions.start(req, reply, user);
    return see(reply, next ?? '/-/web/account');
  });

  // How a new account is verified: by the emailed link, or by an administrator's approval (what the pages say).
  const policy = { emailVerification: web.deps.gate.policy.emailVerification ?? 'email' };
  const approval = policy.emailVerification === 'admin';

  scope.get<{ Querystring: { next?: string } }>('/-/web/signup', async (req, reply) => {
    const next = safeNext(req.query.next);
    if (await web.sessions.current(req)) return see(reply, next ?? '/-/web/account');
    return web.send(
      reply,
      200,
      signUpPage({
        csrf: await web.csrf.token(req, reply),
        open: web.deps.signup === 'open',
        approval,
        next,
        viewer: null,
      }),
    );
  });

  scope.post('/-/web/signup', async (req, reply) => {
    const open = web.deps.signup === 'open';
    const username = field(req, 'username').trim().toLowerCase();
    const email = field(req, 'email').trim();
    // Where to go afterwards, e.g. back to the page approving an `npm adduser` that sent the user here.
    const next = safeNext(field(req, 'next'));
    const again = async (status: number, error: string | null) =>
      web.send(
        reply,
        status,
        signUpPage({
          csrf: await web.csrf.token(req, reply),
          open,
          approval,
          username,
          email,
          next,
          error,
          viewer: null,
        }),
      );
    if (!open) return again(403, null);
    let user;
    try {
      // Unverified until the link in the verification email (sent from the user.created event) is opened.
      user = await createUser(
        db,
        { name: username, email, password: field(req, 'password'), emailVerified: false },
        clock(),
      );
    } catch (err) {
      if (err instanceof ClientError) return again(err.status, sentence(err.message));
      throw err;
    }
    await web.sessions.start(req, reply, user);
    return see(reply, next ?? '/-/web/account?welcome=1');
  });

  scope.post('/-/web/signout', async (req, reply) => {
    await web.sessions.end(req, reply);
    return see(reply, '/');
  });

  scope.get<RouteTypes<typeof AccountRoute>>('/-/web/account', { schema: AccountRoute }, async (req, reply) => {
    const session = await web.sessions.current(req);
    if (!session) return see(reply, '/-/web/signin?next=%2F-%2Fweb%2Faccount');
    const now = clock();
    const csrf = await web.csrf.token(req, reply);
    const [sessions, slots] = await Promise.all([
      listSessions(db, session.user.id, now),
      web.accountSlots({ req, reply, user: session.user, csrf, now }),
    ]);
    const notice = req.query.welcome
      ? session.user.email_verified
        ? 'Welcome! Your account is ready.'
        : `Welcome! Your account ${approval ? 'was created' : 'is ready'}. ${pendingMessage(policy)}`
      : req.query.revoked
        ? 'The session was revoked.'
        : null;
    return web.send(
      reply,
      200,
      accountPage({ user: session.user, sessions, currentSessionId: session.session.id, csrf, now, notice, slots }),
    );
  });

  scope.post<{ Params: { id: string } }>('/-/web/account/sessions/:id/revoke', async (req, reply) => {
    const session = await web.sessions.current(req);
    if (!session) return see(reply, '/-/web/signin?next=%2F-%2Fweb%2Faccount');
    const id = /^\d{1,15}$/.test(req.params.id) ? Number(req.params.id) : 0;
    // Scoped to the signed-in user: another account's session id is simply not found.
    if (!(await revokeSession(db, session.user.id, id, clock()))) throw notFound();
    if (id !== session.session.id) return see(reply, '/-/web/account?revoked=1');
    appendSetCookie(reply, setCookieLine(SESSION_COOKIE, '', { maxAgeSeconds: 0, secure: isHttps(req) }));
    return see(reply, '/');
  });
}
