// The account-settings forms (email address, password, resend verification), the security history, and the way back
// into an account (forgot password, reset password). Every POST has passed the CSRF check (routes.ts) before its
// handler runs; successes answer with a 303 so a reload never submits twice, failures re-render the form with the
// reason and the right status (401 wrong password, 400 bad input, 429 with Retry-After while limited).
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  FORGOT_PASSWORD_FLOOR_MS,
  changeEmail,
  changePassword,
  requestPasswordReset,
  requestVerificationEmail,
  resetLinkUser,
  resetPassword,
} from '../accounts/account-settings.ts';
import { Rules } from '../accounts/limits.ts';
import { listSessions } from '../accounts/sessions.ts';
import { securityHistory } from '../accounts/security-history.ts';
import { ClientError } from '../errors.ts';
import { appendSetCookie, isHttps, setCookieLine } from './cookies.ts';
import { AccountSlot, accountPage } from './pages/account.ts';
import {
  credentialsSections,
  forgotPasswordPage,
  historySection,
  linkResultPage,
  resetPasswordPage,
  type SectionState,
} from './pages/settings.ts';
import type { WebUi } from './routes.ts';
import { SESSION_COOKIE } from './session.ts';

export const HISTORY_PAGE_SIZE = 20;

type Form = Record<string, string | undefined>;
const field = (req: FastifyRequest, name: string): string => {
  const v = (req.body as Form | null)?.[name];
  return typeof v === 'string' ? v : '';
};

const see = (reply: FastifyReply, location: string) => reply.code(303).header('location', location).send();
const SIGN_IN_FIRST = '/-/web/signin?next=%2F-%2Fweb%2Faccount';

/** "2 seconds", "10 minutes", "about 3 hours": Retry-After as a person reads it. */
export function waitText(seconds: number): string {
  if (seconds < 90) return `${seconds} ${seconds === 1 ? 'second' : 'seconds'}`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 90) return `${minutes} minutes`;
  return `about ${Math.round(minutes / 60)} hours`;
}

/**
 * The message a page shows for a refused request. A 429 becomes "try again in N minutes" (its Retry-After header is
 * put on the reply); other ClientErrors keep their text. Anything else is not ours to explain and is rethrown.
 */
function explain(reply: FastifyReply, err: unknown, tooMany: string): { status: number; message: string } {
  if (!(err instanceof ClientError)) throw err;
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  if (err.code === 'E_RATE_LIMITED')
    return { status: 429, message: `${tooMany} Try again in ${waitText(Number(err.headers['retry-after'] ?? 60))}.` };
  return { status: err.status, message: err.message.replace(/^./, (c) => c.toUpperCase()).replace(/([^.])$/, '$1.') };
}

const NOTICES: Record<string, { slot: 'email' | 'password'; text: string }> = {
  password: {
    slot: 'password',
    text: 'Your password was changed. Every other browser has been signed out; your access tokens still work.',
  },
  email: {
    slot: 'email',
    text: 'Your email address was changed. We sent a verification link to the new address and told the old one.',
  },
  'verification-sent': { slot: 'email', text: 'We sent a new verification link. It works once, for 24 hours.' },
};

/** Fills the account page's Password and Security history slots, and adds the routes behind them. */
export function registerSettings(web: WebUi): void {
  const { db, clock } = web.deps;
  const { limiter } = web.deps.secondFactor;
  // With --email-verification admin no verification link is ever mailed: an administrator approves the address.
  const approval = web.deps.gate.policy.emailVerification === 'admin';
  // What a failed POST wants its section to show when the account page is drawn again for the same request.
  const states = new WeakMap<FastifyRequest, { email: SectionState; password: SectionState }>();

  web.setAccountSection(AccountSlot.Password, async ({ req, user, csrf }) => {
    const state = states.get(req) ?? { email: {}, password: {} };
    const changed = (req.query as Record<string, unknown> | undefined)?.changed;
    const notice = typeof changed === 'string' ? NOTICES[changed] : undefined;
    if (notice && !states.has(req))
      state[notice.slot] = {
        ...state[notice.slot],
        notice:
          approval && changed === 'email'
            ? 'Your email address was changed and the old one told. An administrator must approve the new address before you can publish again.'
            : notice.text,
      };
    return credentialsSections({ user, csrf, approval, ...state });
  });

  web.setAccountSection(AccountSlot.SecurityHistory, async ({ req, user, now }) => {
    const raw = (req.query as Record<string, unknown> | undefined)?.history;
    const before = typeof raw === 'string' && /^\d{1,15}$/.test(raw) ? Number(raw) : null;
    const history = await securityHistory(db, user.id, { limit: HISTORY_PAGE_SIZE, before });
    return historySection({ history, now, newer: before !== null });
  });

  /** The account page again, for this request, with a section showing why the form was refused. */
  async function accountAgain(
    req: FastifyRequest,
    reply: FastifyReply,
    status: number,
    state: { email?: SectionState; password?: SectionState },
  ) {
    const session = (await web.sessions.current(req))!;
    const now = clock();
    const csrf = await web.csrf.token(req, reply);
    states.set(req, { email: state.email ?? {}, password: state.password ?? {} });
    const [sessions, slots] = await Promise.all([
      listSessions(db, session.user.id, now),
      web.accountSlots({ req, reply, user: session.user, csrf, now }),
    ]);
    return web.send(
      reply,
      status,
      accountPage({ user: session.user, sessions, currentSessionId: session.session.id, csrf, now, slots }),
    );
  }

  web.extend((scope) => {
    scope.post('/-/web/account/password', async (req, reply) => {
      const session = await web.sessions.current(req);
      if (!session) return see(reply, SIGN_IN_FIRST);
      try {
        await changePassword(
          db,
          limiter,
          {
            user: session.user,
            ip: req.ip,
            current: field(req, 'current'),
            next: field(req, 'password'),
            confirmation: field(req, 'confirm'),
            keepSessionId: session.session.id,
          },
          clock(),
        );
      } catch (err) {
        const { status, message } = explain(reply, err, 'Too many wrong passwords.');
        return accountAgain(req, reply, status, { password: { error: message } });
      }
      return see(reply, '/-/web/account?changed=password#password');
    });

    scope.post('/-/web/account/email', async (req, reply) => {
      const session = await web.sessions.current(req);
      if (!session) return see(reply, SIGN_IN_FIRST);
      const email = field(req, 'email').trim().slice(0, 254);
      try {
        await changeEmail(
          db,
          limiter,
          { user: session.user, ip: req.ip, email, password: field(req, 'password') },
          clock(),
        );
      } catch (err) {
        const { status, message } = explain(reply, err, 'Too many wrong passwords.');
        return accountAgain(req, reply, status, { email: { error: message, email } });
      }
      return see(reply, '/-/web/account?changed=email#email');
    });

    scope.post('/-/web/account/email/verify', async (req, reply) => {
      const session = await web.sessions.current(req);
      if (!session) return see(reply, SIGN_IN_FIRST);
      if (approval)
        return accountAgain(req, reply, 400, {
          email: { error: 'This registry sends no verification links: an administrator approves your address.' },
        });
      try {
        await requestVerificationEmail(db, limiter, { user: session.user, ip: req.ip }, clock());
      } catch (err) {
        const { status, message } = explain(reply, err, 'We have sent several verification emails already.');
        return accountAgain(req, reply, status, { email: { error: message } });
      }
      return see(reply, '/-/web/account?changed=verification-sent#email');
    });

    scope.get('/-/web/forgot-password', async (req, reply) => {
      const ctx = await web.context(req, reply);
      return web.send(reply, 200, forgotPasswordPage({ csrf: await web.csrf.token(req, reply), viewer: ctx.viewer }));
    });

    scope.post('/-/web/forgot-password', async (req, reply) => {
      const started = performance.now();
      const identifier = field(req, 'identifier').trim().slice(0, 254);
      let status = 200;
      let error: string | null = null;
      try {
        await requestPasswordReset(db, limiter, { identifier, ip: req.ip }, clock());
      } catch (err) {
        ({ status, message: error } = explain(reply, err, 'We have sent several emails for this already.'));
      }
      // Whatever was found (an account, a verified one, nothing), the answer leaves only after the same time.
      const rest = FORGOT_PASSWORD_FLOOR_MS - (performance.now() - started);
      if (rest > 0) await sleep(rest);
      const ctx = await web.context(req, reply);
      return web.send(
        reply,
        status,
        forgotPasswordPage({
          csrf: await web.csrf.token(req, reply),
          viewer: ctx.viewer,
          identifier,
          error,
          sent: status === 200,
        }),
      );
    });

    const linkRefused = async (req: FastifyRequest, reply: FastifyReply, status: number, message: string) => {
      const ctx = await web.context(req, reply);
      return web.send(
        reply,
        status,
        linkResultPage({
          ok: false,
          title: 'This link cannot be used',
          message,
          viewer: ctx.viewer,
          action: { href: '/-/web/forgot-password', label: 'Request a new link' },
        }),
      );
    };

    scope.get<{ Querystring: { token?: string; done?: string } }>('/-/web/reset-password', async (req, reply) => {
      const ctx = await web.context(req, reply);
      if (req.query.done === '1') {
        const message = 'Your password has been changed and every session signed out. Sign in with the new password.';
        return web.send(
          reply,
          200,
          linkResultPage({
            ok: true,
            title: 'Password reset',
            message,
            viewer: ctx.viewer,
            action: { href: '/-/web/signin', label: 'Sign in' },
          }),
        );
      }
      const token = String(req.query.token ?? '');
      try {
        const user = await resetLinkUser(db, token, clock());
        return web.send(
          reply,
          200,
          resetPasswordPage({ csrf: await web.csrf.token(req, reply), viewer: ctx.viewer, token, name: user.name }),
        );
      } catch (err) {
        const { status, message } = explain(reply, err, '');
        return linkRefused(req, reply, status, message);
      }
    });

    scope.post('/-/web/reset-password', async (req, reply) => {
      const token = field(req, 'token');
      let name: string;
      try {
        name = (await resetLinkUser(db, token, clock())).name;
      } catch (err) {
        const { status, message } = explain(reply, err, '');
        return linkRefused(req, reply, status, message);
      }
      try {
        await resetPassword(
          db,
          { token, password: field(req, 'password'), confirmation: field(req, 'confirm'), ip: req.ip },
          clock(),
        );
      } catch (err) {
        const { status, message } = explain(reply, err, '');
        const ctx = await web.context(req, reply);
        return web.send(
          reply,
          status,
          resetPasswordPage({
            csrf: await web.csrf.token(req, reply),
            viewer: ctx.viewer,
            token,
            name,
            error: message,
          }),
        );
      }
      // The owner proved control of the verified address: lift the account-wide lock an attacker may have caused.
      await limiter.reset([[Rules.passwordAccount, name]]);
      // This browser's session (if any) was revoked with all the others; let it forget the cookie too.
      appendSetCookie(reply, setCookieLine(SESSION_COOKIE, '', { maxAgeSeconds: 0, secure: isHttps(req) }));
      return see(reply, '/-/web/reset-password?done=1');
    });
  });
}
