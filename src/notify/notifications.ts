// Emails driven by the domain events: verification links, password-reset links and security notices. A durable,
// leased consumer reads the event stream and queues each email once in the outbox, however many nodes run; the
// outbox sends them. No request waits for SMTP.
import type { Transaction } from 'kysely';
import type { Logger } from 'pino';
import { EmailPurpose, issueEmailToken } from '../accounts/email-tokens.ts';
import type { Db } from '../store/db.ts';
import { Consumer, EventKind, runEvery } from '../store/events.ts';
import type { Database, EventRow } from '../store/schema.ts';
import type { Mailer, Message } from './mailer.ts';
import { drainOutbox, enqueue } from './outbox.ts';
import {
  forcedResetEmail,
  heldVersionAlert,
  passwordResetEmail,
  securityNotice,
  verificationEmail,
} from './messages.ts';
import { reportEmail } from '../safety/reports.ts';

export type NotifierDeps = {
  db: Db;
  mailer: Mailer;
  publicUrl: () => string;
  logger: Logger;
  clock?: () => number;
  /** 'admin': administrators verify addresses by approving accounts, so no verification link is ever mailed. */
  emailVerification?: 'email' | 'admin';
};

type Data = Record<string, unknown>;

/** Security notices: event kind → what happened, and the details worth showing. */
const NOTICES: Partial<Record<string, (d: Data) => { what: string; details: string[] }>> = {
  [EventKind.UserPasswordChanged]: (d) => ({
    what: d.reset ? 'Your password was reset' : 'Your password was changed',
    details: [
      ...(typeof d.ip === 'string' ? [`from address: ${d.ip}`] : []),
      ...(d.reset
        ? ['every session was signed out']
        : ['your other sessions were signed out; your access tokens still work']),
    ],
  }),
  [EventKind.UserMfaEnabled]: () => ({ what: 'Two-factor authentication was enabled', details: [] }),
  [EventKind.UserMfaDisabled]: () => ({ what: 'Two-factor authentication was disabled', details: [] }),
  [EventKind.UserMfaModeChanged]: (d) => ({
    what: 'The two-factor authentication mode was changed',
    details: [`from: ${String(d.from)}`, `to: ${String(d.mode)}`],
  }),
  [EventKind.RecoveryCodeUsed]: (d) => ({
    what: 'A recovery code was used to sign in',
    details: [`recovery codes left: ${String(d.remaining ?? '?')}`],
  }),
  [EventKind.RecoveryCodesRegenerated]: () => ({
    what: 'New recovery codes were generated (the old ones no longer work)',
    details: [],
  }),
  [EventKind.TokenCreated]: (d) => ({
    what: 'A new access token was created',
    details: [
      `name: ${String(d.name)}`,
      `read-only: ${d.readonly ? 'yes' : 'no'}`,
      ...(typeof d.scope === 'string' ? [`scope: ${d.scope}`] : []),
      ...(typeof d.expiresAt === 'number' ? [`expires: ${new Date(d.expiresAt).toUTCString()}`] : []),
      ...(typeof d.ip === 'string' ? [`from address: ${d.ip}`] : []),
    ],
  }),
  [EventKind.TokenRevoked]: (d) => ({
    what: 'An access token was revoked',
    details: [`name: ${String(d.name ?? '?')}`],
  }),
  [EventKind.SessionCreated]: (d) => ({
    what: 'There was a new sign-in from a new device or address',
    details: [`address: ${String(d.ip)}`, `browser: ${String(d.userAgent)}`],
  }),
  [EventKind.UserDisabled]: (d) => ({
    what: 'Your account was disabled by the registry’s administrators',
    details: [`reason: ${String(d.reason)}`],
  }),
  [EventKind.UserEnabled]: (d) => ({
    what: 'Your account was enabled again by the registry’s administrators',
    details: [`reason: ${String(d.reason)}`],
  }),
  [EventKind.UserRecoveryStarted]: (d) => ({
    what: 'An administrator started an account recovery',
    details: [
      ...(d.newEmail ? [`the email address will change to: ${String(d.newEmail)}`] : []),
      ...(d.disableMfa ? ['two-factor authentication will be removed'] : []),
      `it takes effect after: ${new Date(Number(d.notBefore)).toUTCString()}`,
      'if you did not ask for this, contact the registry’s administrators before then to stop it',
    ],
  }),
  [EventKind.UserRecoveredByAdmin]: (d) => ({
    what: 'An administrator completed the recovery of your account',
    details: [
      'every session and token was signed out',
      'choose a new password with “Forgot password” on the sign-in page',
      ...(d.newEmail ? ['verify the new email address first, with the link sent to it'] : []),
    ],
  }),
  [EventKind.UserRecoveryCancelled]: (d) => ({
    what: 'The pending recovery of your account was cancelled',
    details: [`reason: ${String(d.reason)}`],
  }),
  [EventKind.UserSignInLocked]: (d) => ({
    what: 'Sign-in was temporarily blocked after many wrong passwords',
    details: [
      `from address: ${String(d.ip)}`,
      'your own sign-ins from addresses you used before are not blocked',
      'if these were not you, consider enabling two-factor authentication',
    ],
  }),
};

/** Turns an event into queued emails. The link token, the queued email and the cursor commit together. */
export function mailHandler({
  publicUrl,
  clock = Date.now,
  emailVerification = 'email',
}: Pick<NotifierDeps, 'publicUrl' | 'clock' | 'emailVerification'>) {
  // A link would let a waiting account verify itself past the administrator who is to approve it.
  const links = emailVerification === 'email';
  return async (event: EventRow, trx: Transaction<Database>): Promise<void> => {
    const data = JSON.parse(event.data) as Data;
    if (event.kind === EventKind.VersionHeld) {
      // About a package, not an account: every moderator and administrator with a verified address is alerted.
      const staff = await trx
        .selectFrom('users')
        .select(['name', 'email'])
        .where((eb) => eb.or([eb('is_admin', '=', 1), eb('is_moderator', '=', 1)]))
        .where('email_verified', '=', 1)
        .where('disabled_at', 'is', null)
        .where('deleted_at', 'is', null)
        .execute();
      for (const to of staff)
        await enqueue(
          trx,
          heldVersionAlert(to, event.subject, String(data.version), String(data.verdict), publicUrl()),
          clock(),
        );
      return;
    }
    const user = await trx
      .selectFrom('users')
      .select(['id', 'name', 'email', 'email_verified'])
      .where('name', '=', event.subject)
      .executeTakeFirst();
    if (!user) return;
    const base = publicUrl();
    const messages: Message[] = [];
    switch (event.kind) {
      case EventKind.UserEmailChanged: {
        // The old address is told in every case, even if the new one was verified (or changed again) meanwhile.
        if (typeof data.oldEmail === 'string') {
          messages.push(
            securityNotice(
              data.oldEmail,
              user,
              'The email address was changed',
              [`new address: ${typeof data.newEmail === 'string' ? data.newEmail : user.email}`],
              base,
            ),
          );
        }
        // A later change supersedes this one, and its own event sends the link to the address the account has now.
        if (!links || user.email_verified || (typeof data.newEmail === 'string' && data.newEmail !== user.email)) break;
        const token = await issueEmailToken(trx, user.id, user.email, EmailPurpose.VerifyEmail, clock());
        messages.push(verificationEmail(user, `${base}/-/web/verify-email?token=${token}`, base));
        break;
      }
      case EventKind.UserCreated:
      case EventKind.UserVerificationRequested: {
        if (event.kind === EventKind.UserCreated && data.emailVerified) break;
        if (!links || user.email_verified) break;
        const token = await issueEmailToken(trx, user.id, user.email, EmailPurpose.VerifyEmail, clock());
        messages.push(verificationEmail(user, `${base}/-/web/verify-email?token=${token}`, base));
        break;
      }
      case EventKind.UserPasswordResetRequested: {
        // An unverified address cannot be used to take over the account.
        if (!user.email_verified) break;
        const token = await issueEmailToken(trx, user.id, user.email, EmailPurpose.ResetPassword, clock());
        messages.push(passwordResetEmail(user, `${base}/-/web/reset-password?token=${token}`, base));
        break;
      }
      case EventKind.UserPasswordResetForced: {
        if (!user.email_verified) break;
        const token = await issueEmailToken(trx, user.id, user.email, EmailPurpose.ResetPassword, clock());
        messages.push(
          forcedResetEmail(user, `${base}/-/web/reset-password?token=${token}`, String(data.reason ?? ''), base),
        );
        break;
      }
      case EventKind.SessionCreated: {
        const known = await trx
          .selectFrom('sessions')
          .select('id')
          .where('user_id', '=', user.id)
          .where('id', '!=', Number(data.sessionId))
          .where('ip', '=', String(data.ip))
          .where('user_agent', '=', String(data.userAgent))
          .executeTakeFirst();
        if (!known) messages.push(notice(event.kind, data, user, base)!);
        break;
      }
      case EventKind.ReportReceived:
      case EventKind.ReportResolved: {
        // A reporter's receipt and the moderators' decision (safety/reports.ts words them); only to a verified
        // address, so that reports cannot be used to send mail to someone else's.
        const m = user.email_verified ? reportEmail(event.kind, data, user, base) : null;
        if (m) messages.push(m);
        break;
      }
      case EventKind.TokenRevoked: {
        // `npm logout` ends its own two-hour session: nothing the owner needs to be told about.
        if (data.kind !== 'session') messages.push(notice(event.kind, data, user, base)!);
        break;
      }
      default: {
        const m = notice(event.kind, data, user, base);
        if (m) messages.push(m);
      }
    }
    for (const m of messages) await enqueue(trx, m, clock());
  };
}

function notice(kind: string, data: Data, user: { name: string; email: string }, base: string): Message | null {
  const make = NOTICES[kind];
  if (!make) return null;
  const { what, details } = make(data);
  return securityNotice(user.email, user, what, details, base);
}

/** Runs the mail consumer and the outbox every interval until stopped. */
export function startNotifier(
  deps: NotifierDeps,
  intervalMs = 500,
): { stop(): Promise<void>; runOnce(): Promise<void> } {
  const consumer = new Consumer(deps.db, { name: 'mail', handle: mailHandler(deps) });
  const runOnce = async () => {
    await consumer.runOnce();
    await drainOutbox(deps);
  };
  return runEvery(consumer, runOnce, intervalMs, (err) =>
    deps.logger.warn({ err }, 'email notifications failed; will retry'),
  );
}
