// Two-factor settings on the web: enrol, confirm, change mode, new recovery codes, turn off. Each change records
// its event through the accounts functions (user.mfa-enabled, user.mfa-mode-changed, user.recovery-codes-regenerated,
// user.recovery-code-used, user.mfa-disabled), and the notifier emails the account from those events. Every code
// typed here counts against the same per-account limit as npm's one-time passwords.
import { viewerOf } from './layout.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Rules } from '../accounts/limits.ts';
import { isEnabledMode, setMfaMode } from '../accounts/mfa-mode.ts';
import {
  beginEnrolment,
  confirmEnrolment,
  disableMfa,
  pendingEnrolment,
  regenerateRecoveryCodes,
} from '../accounts/totp.ts';
import { ClientError } from '../errors.ts';
import type { UserRow } from '../store/schema.ts';
import { checkCode } from './code-check.ts';
import { AccountSlot } from './pages/account.ts';
import {
  actionPage,
  enrolPage,
  recoveryCodesPage,
  twoFactorSection,
  type TwoFactorAction,
} from './pages/two-factor.ts';
import type { WebUi } from './routes.ts';

import { Str, Type, schema, type RouteTypes } from '../http/schemas.ts';
import { explain, Field, formOf, formRoute, see } from './form.ts';

/** Enrolment's confirmation, and each management step: a code from the app (and, where it applies, the mode). */
const CodeForm = Type.Object({ mode: Field(32), otp: Field(64) });
const ActionRoute = schema({ params: Type.Object({ action: Str(32) }) });

const NOTICES: Record<string, string> = {
  disabled: 'Two-factor authentication is off.',
  mode: 'The two-factor mode was changed.',
  unchanged: 'That is already the mode.',
};

const ACTIONS = new Set<TwoFactorAction>(['mode', 'recovery-codes', 'disable']);

export function register(scope: FastifyInstance, web: WebUi): void {
  const { db, clock, publicUrl } = web.deps;
  const secondFactor = web.deps.secondFactor;
  const key = secondFactor.key;
  const issuer = () => {
    try {
      return `Bulwark (${new URL(publicUrl()).host})`;
    } catch {
      return 'Bulwark';
    }
  };

  web.setAccountSection(AccountSlot.TwoFactor, async ({ query, user, csrf }) => {
    const left =
      user.totp_mode === 'disabled'
        ? 0
        : (
            await db
              .selectFrom('recovery_codes')
              .select('id')
              .where('user_id', '=', user.id)
              .where('used_at', 'is', null)
              .execute()
          ).length;
    const flag = query['two-factor'];
    return twoFactorSection({
      mode: isEnabledMode(user.totp_mode) ? user.totp_mode : 'disabled',
      csrf,
      recoveryCodesLeft: left,
      notice: flag === undefined ? null : (NOTICES[flag] ?? null),
    });
  });

  /** The signed-in user, or null after sending the browser to sign in (and back to the account page). */
  async function signedIn(req: FastifyRequest, reply: FastifyReply) {
    const session = await web.sessions.current(req);
    if (!session) {
      await see(reply, '/-/web/signin?next=%2F-%2Fweb%2Faccount');
      return null;
    }
    return session.user;
  }

  scope.post('/-/web/account/two-factor/enrol', async (req, reply) => {
    const user = await signedIn(req, reply);
    if (!user) return reply;
    if (user.totp_mode !== 'disabled') return see(reply, '/-/web/account#two-factor');
    const { secret, qrSvg } = await beginEnrolment(db, key, user, issuer());
    return web.send(
      reply,
      200,
      enrolPage({
        viewer: viewerOf(user),
        csrf: await web.csrf.token(req, reply),
        qrSvg,
        secret,
        mode: 'auth-and-writes',
      }),
    );
  });

  scope.post('/-/web/account/two-factor/confirm', formRoute(CodeForm), async (req, reply) => {
    const user = await signedIn(req, reply);
    if (!user) return reply;
    const csrf = await web.csrf.token(req, reply);
    if (user.totp_mode !== 'disabled')
      return web.sendError(
        req,
        reply,
        409,
        'Two-factor authentication is already on. To use another device, turn it off and set it up again.',
      );
    if (!user.totp_secret) return see(reply, '/-/web/account#two-factor');
    let form;
    try {
      form = formOf(req, CodeForm);
    } catch (err) {
      const { status, message } = explain(reply, err, '');
      return web.sendError(req, reply, status, message);
    }
    const mode = form.mode;
    // After a wrong code the same QR code is shown again: the app may not have the entry yet.
    const pending = await pendingEnrolment(key, user, issuer());
    const again = (status: number, error: string) =>
      web.send(
        reply,
        status,
        enrolPage({
          viewer: viewerOf(user),
          csrf,
          mode: isEnabledMode(mode) ? mode : 'auth-and-writes',
          error,
          ...(pending ? { qrSvg: pending.qrSvg, secret: pending.secret } : {}),
        }),
      );
    if (!isEnabledMode(mode)) return again(400, 'Choose when a code is asked for.');
    const attempt: Array<[typeof Rules.secondFactor, string]> = [[Rules.secondFactor, String(user.id)]];
    try {
      await secondFactor.limiter.check(attempt, 'one-time passwords');
    } catch (err) {
      if (!(err instanceof ClientError) || err.code !== 'E_RATE_LIMITED') throw err;
      return again(429, explain(reply, err, 'Too many codes tried.').message);
    }
    let codes: string[];
    try {
      codes = await confirmEnrolment(db, key, user.id, form.otp.trim(), mode, clock());
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      await secondFactor.limiter.fail(attempt);
      return again(
        401,
        'That code is not right. Check that the time on your phone is correct, and enter the code the app shows now.',
      );
    }
    await secondFactor.limiter.reset(attempt);
    return web.send(reply, 200, recoveryCodesPage({ viewer: viewerOf(user), csrf, codes, fresh: true }));
  });

  scope.get<RouteTypes<typeof ActionRoute>>(
    '/-/web/account/two-factor/:action',
    { schema: ActionRoute },
    async (req, reply) => {
      const user = await signedIn(req, reply);
      if (!user) return reply;
      const action = req.params.action as TwoFactorAction;
      if (!ACTIONS.has(action)) return web.sendError(req, reply, 404, 'Not found');
      if (!isEnabledMode(user.totp_mode)) return see(reply, '/-/web/account#two-factor');
      return web.send(
        reply,
        200,
        actionPage({ action, viewer: viewerOf(user), csrf: await web.csrf.token(req, reply), mode: user.totp_mode }),
      );
    },
  );

  /** A management step: needs two-factor on and a current code; a wrong one comes back on the step's own page. */
  const step =
    (
      action: TwoFactorAction,
      totpOnly: boolean,
      apply: (user: UserRow, req: FastifyRequest, reply: FastifyReply, csrf: string, mode: string) => Promise<unknown>,
    ) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      const user = await signedIn(req, reply);
      if (!user) return reply;
      if (!isEnabledMode(user.totp_mode)) return see(reply, '/-/web/account#two-factor');
      const csrf = await web.csrf.token(req, reply);
      let form;
      try {
        form = formOf(req, CodeForm);
      } catch (err) {
        const { status, message } = explain(reply, err, '');
        return web.send(
          reply,
          status,
          actionPage({ action, viewer: viewerOf(user), csrf, mode: user.totp_mode, error: message }),
        );
      }
      const checked = await checkCode(secondFactor, reply, user.id, form.otp, { totpOnly });
      if (!checked.ok) {
        req.log.info({ cause: `two-factor-${action}-refused` }, 'second factor refused');
        return web.send(
          reply,
          checked.status,
          actionPage({ action, viewer: viewerOf(user), csrf, mode: user.totp_mode, error: checked.message }),
        );
      }
      return apply(user, req, reply, csrf, form.mode);
    };

  scope.post(
    '/-/web/account/two-factor/mode',
    formRoute(CodeForm),
    step('mode', true, async (user, req, reply, _csrf, mode) => {
      if (!isEnabledMode(mode))
        return web.sendError(req, reply, 400, 'Choose “Authorization and writes” or “Authorization only”.');
      const changed = await setMfaMode(db, user.id, mode, clock());
      return see(reply, `/-/web/account?two-factor=${changed ? 'mode' : 'unchanged'}#two-factor`);
    }),
  );

  scope.post(
    '/-/web/account/two-factor/recovery-codes',
    formRoute(CodeForm),
    step('recovery-codes', true, async (user, _req, reply, csrf) => {
      const codes = await regenerateRecoveryCodes(db, user.id, clock());
      return web.send(reply, 200, recoveryCodesPage({ viewer: viewerOf(user), csrf, codes, fresh: false }));
    }),
  );

  scope.post(
    '/-/web/account/two-factor/disable',
    formRoute(CodeForm),
    step('disable', false, async (user, _req, reply) => {
      await disableMfa(db, user.id, user.id, clock());
      return see(reply, '/-/web/account?two-factor=disabled#two-factor');
    }),
  );
}
