// Sign-up, sign-in, sign-out and the account page. Every POST has already passed the CSRF check (routes.ts) when its
// handler runs, and answers with a redirect (303) on success, so a reload never submits a form twice.
import type { FastifyInstance, FastifyReply } from 'fastify';
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
import { explain, Field, formOf, formRoute, refusalText, see } from './form.ts';
import { Str, Type, schema, type RouteTypes } from '../http/schemas.ts';
import { AccountQuery } from './account-query.ts';

/** The account page's query: its own notices, and those of its sections (credentials-routes.ts). */
const AccountRoute = schema({
  querystring: Type.Composite([
    AccountQuery,
    Type.Object({ welcome: Type.Optional(Str(8)), revoked: Type.Optional(Str(8)) }),
  ]),
});

const Next = Type.Optional(Str(2048));
const NextRoute = schema({ querystring: Type.Object({ next: Next }) });
const SignInForm = Type.Object({ username: Field(256), password: Field(), next: Field(2048) });
const OtpForm = Type.Object({ ticket: Field(2048), otp: Field(64), next: Field(2048) });
const SignUpForm = Type.Object({ username: Field(256), email: Field(), password: Field(), next: Field(2048) });
const SessionRoute = schema({ params: Type.Object({ id: Str(32) }) });

const SIGNIN_FAILED = 'Incorrect username or password.';

/** Runs a limited step; a 429 from the limiter comes back as the message to show (its Retry-After header kept). */
async function limited<T>(reply: FastifyReply, step: () => Promise<T>): Promise<{ value: T } | { refused: string }> {
  try {
    return { value: await step() };
  } catch (err) {
    if (!(err instanceof ClientError) || err.code !== 'E_RATE_LIMITED') throw err;
    for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
    return { refused: refusalText(err) };
  }
}

export function register(scope: FastifyInstance, web: WebUi): void {
  const { db, clock } = web.deps;
  const { limiter, key } = web.deps.secondFactor;
  const tickets = new SignInTickets(web.deps.secretKey);

  scope.get<RouteTypes<typeof NextRoute>>('/-/web/signin', { schema: NextRoute }, async (req, reply) => {
    const next = safeNext(req.query.next);
    if (await web.sessions.current(req)) return see(reply, next ?? '/-/web/account');
    return web.send(reply, 200, signInPage({ csrf: await web.csrf.token(req, reply), next, viewer: null }));
  });

  scope.post('/-/web/signin', formRoute(SignInForm), async (req, reply) => {
    const again = async (status: number, error: string, username = '', next: string | null = null) =>
      web.send(
        reply,
        status,
        signInPage({ csrf: await web.csrf.token(req, reply), username, next, error, viewer: null }),
      );
    let form;
    try {
      form = formOf(req, SignInForm);
    } catch (err) {
      const { status, message } = explain(reply, err, '');
      return again(status, message);
    }
    const username = form.username.trim().toLowerCase().slice(0, 64);
    const password = form.password;
    const next = safeNext(form.next);
    if (!username || !password) return again(401, SIGNIN_FAILED, username, next);
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
    if ('refused' in checked) return again(429, checked.refused, username, next);
    const user = checked.value;
    if (!user) {
      req.log.info({ cause: 'web-signin-failed' }, 'sign-in refused');
      return again(401, SIGNIN_FAILED, username, next);
    }
    // Only someone who knows the password learns that the account is disabled.
    if (user.disabled_at !== null)
      return again(403, 'This account has been disabled. Contact the registry’s administrators.', username, next);
    if (user.totp_mode !== 'disabled') {
      const csrf = await web.csrf.token(req, reply);
      return web.send(reply, 200, otpPage({ csrf, ticket: tickets.issue(user.id, csrf, clock()), next }));
    }
    await web.sessions.start(req, reply, user);
    return see(reply, next ?? '/-/web/account');
  });

  // Second step for accounts with two-factor authentication: the ticket says the password was right moments ago.
  scope.post('/-/web/signin/otp', formRoute(OtpForm), async (req, reply) => {
    const csrf = await web.csrf.token(req, reply);
    // A form of another shape is a sign-in that could not be completed, as an expired ticket is.
    const form = req.validationError ? { ticket: '', otp: '', next: '' } : formOf(req, OtpForm);
    const next = safeNext(form.next);
    const ticket = form.ticket;
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
      return checkSecondFactor(db, key, user.id, form.otp, clock());
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

  scope.get<RouteTypes<typeof NextRoute>>('/-/web/signup', { schema: NextRoute }, async (req, reply) => {
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

  scope.post('/-/web/signup', formRoute(SignUpForm), async (req, reply) => {
    const open = web.deps.signup === 'open';
    // What was typed goes back on the page, when the form had the right shape at all.
    const form = req.validationError ? null : formOf(req, SignUpForm);
    const username = form?.username.trim().toLowerCase() ?? '';
    const email = form?.email.trim() ?? '';
    // Where to go afterwards, e.g. back to the page approving an `npm adduser` that sent the user here.
    const next = safeNext(form?.next ?? '');
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
      // A form of another shape is refused here, on the page, as createUser's refusals are.
      const { password } = formOf(req, SignUpForm);
      // Unverified until the link in the verification email (sent from the user.created event) is opened.
      user = await createUser(db, { name: username, email, password, emailVerified: false }, clock());
    } catch (err) {
      const { status, message } = explain(reply, err, '');
      return again(status, message);
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
      web.accountSlots({ req, reply, user: session.user, csrf, now, query: req.query }),
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

  scope.post<RouteTypes<typeof SessionRoute>>(
    '/-/web/account/sessions/:id/revoke',
    { schema: SessionRoute },
    async (req, reply) => {
      const session = await web.sessions.current(req);
      if (!session) return see(reply, '/-/web/signin?next=%2F-%2Fweb%2Faccount');
      const id = /^\d{1,15}$/.test(req.params.id) ? Number(req.params.id) : 0;
      // Scoped to the signed-in user: another account's session id is simply not found.
      if (!(await revokeSession(db, session.user.id, id, clock()))) throw notFound();
      if (id !== session.session.id) return see(reply, '/-/web/account?revoked=1');
      appendSetCookie(reply, setCookieLine(SESSION_COOKIE, '', { maxAgeSeconds: 0, secure: isHttps(req) }));
      return see(reply, '/');
    },
  );
}
