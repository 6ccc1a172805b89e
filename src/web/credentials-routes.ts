// The account page's Email and Password sections (pages/settings.ts credentialsSections) and their forms: a new
// password (the current one, the new one twice; every other browser is signed out), a new address (with the
// password), another verification link. Every POST has passed the CSRF check (routes.ts) before its handler runs;
// successes answer with a 303 so a reload never submits twice, failures draw the account page again, for the same
// request, with the section showing the reason and the right status (401 wrong password, 400 bad input, 429 with
// Retry-After while limited).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { changeEmail, changePassword, requestVerificationEmail } from '../accounts/account-settings.ts';
import { listSessions } from '../accounts/sessions.ts';
import { Type } from '../http/schemas.ts';
import { explain, Field, formOf, formRoute, see } from './form.ts';
import { AccountSlot, accountPage } from './pages/account.ts';
import { credentialsSections, type SectionState } from './pages/settings.ts';
import type { WebUi } from './routes.ts';

const SIGN_IN_FIRST = '/-/web/signin?next=%2F-%2Fweb%2Faccount';

const PasswordForm = Type.Object({ current: Field(), password: Field(), confirm: Field() });
const EmailForm = Type.Object({ email: Field(), password: Field() });
const NoFields = Type.Object({});

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

type States = { email: SectionState; password: SectionState };

export function register(scope: FastifyInstance, web: WebUi): void {
  const { db, clock } = web.deps;
  const { limiter } = web.deps.secondFactor;
  // With --email-verification admin no verification link is ever mailed: an administrator approves the address.
  const approval = web.deps.gate.policy.emailVerification === 'admin';
  // What a failed POST wants its section to show when the account page is drawn again for the same request.
  const states = new WeakMap<FastifyRequest, States>();

  web.setAccountSection(AccountSlot.Password, async ({ req, user, csrf, query }) => {
    const state = states.get(req) ?? { email: {}, password: {} };
    const changed = query.changed;
    const notice = changed === undefined ? undefined : NOTICES[changed];
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

  /** The account page again, for this request, with a section showing why the form was refused. */
  async function again(
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
      web.accountSlots({ req, reply, user: session.user, csrf, now, query: {} }),
    ]);
    return web.send(
      reply,
      status,
      accountPage({ user: session.user, sessions, currentSessionId: session.session.id, csrf, now, slots }),
    );
  }

  scope.post('/-/web/account/password', formRoute(PasswordForm), async (req, reply) => {
    const session = await web.sessions.current(req);
    if (!session) return see(reply, SIGN_IN_FIRST);
    try {
      const form = formOf(req, PasswordForm);
      await changePassword(
        db,
        limiter,
        {
          user: session.user,
          ip: req.ip,
          current: form.current,
          next: form.password,
          confirmation: form.confirm,
          keepSessionId: session.session.id,
        },
        clock(),
      );
    } catch (err) {
      const { status, message } = explain(reply, err, 'Too many wrong passwords.');
      return again(req, reply, status, { password: { error: message } });
    }
    return see(reply, '/-/web/account?changed=password#password');
  });

  scope.post('/-/web/account/email', formRoute(EmailForm), async (req, reply) => {
    const session = await web.sessions.current(req);
    if (!session) return see(reply, SIGN_IN_FIRST);
    let email = '';
    try {
      const form = formOf(req, EmailForm);
      email = form.email.trim().slice(0, 254);
      await changeEmail(db, limiter, { user: session.user, ip: req.ip, email, password: form.password }, clock());
    } catch (err) {
      const { status, message } = explain(reply, err, 'Too many wrong passwords.');
      return again(req, reply, status, { email: { error: message, email } });
    }
    return see(reply, '/-/web/account?changed=email#email');
  });

  scope.post('/-/web/account/email/verify', formRoute(NoFields), async (req, reply) => {
    const session = await web.sessions.current(req);
    if (!session) return see(reply, SIGN_IN_FIRST);
    if (approval)
      return again(req, reply, 400, {
        email: { error: 'This registry sends no verification links: an administrator approves your address.' },
      });
    try {
      formOf(req, NoFields);
      await requestVerificationEmail(db, limiter, { user: session.user, ip: req.ip }, clock());
    } catch (err) {
      const { status, message } = explain(reply, err, 'We have sent several verification emails already.');
      return again(req, reply, status, { email: { error: message } });
    }
    return see(reply, '/-/web/account?changed=verification-sent#email');
  });
}
