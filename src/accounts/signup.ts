// What self sign-up tells people, decided from the settings alone (config.ts settles them): whether it is open, and
// how a new account is verified before it may publish — by the link in an email, or by an administrator's approval.
// Pure, so the start-up line, the npm adduser answer and the web pages cannot tell different stories.
import type { Settings } from '../config.ts';

export type SignupSettings = Pick<Settings, 'signup' | 'smtpUrl' | 'emailVerification'>;

/** A new account waits for an administrator (true), or for its owner to open the emailed link (false). */
export const approvedByAdmin = (s: Pick<Settings, 'emailVerification'>): boolean => s.emailVerification === 'admin';

/** What a new account is told about publishing, on the web and by npm adduser. */
export function pendingMessage(s: Pick<Settings, 'emailVerification'>): string {
  return approvedByAdmin(s)
    ? 'An administrator of this registry must approve your account before you can publish; until then you can install packages.'
    : 'Your email address is not verified yet: open the link we emailed you. Until then you can install packages but not publish.';
}

/** The one start-up line about sign-up: whether it is open, how accounts are verified, and how to change it. */
export function signupSummary(s: SignupSettings): string {
  if (s.signup === 'open')
    return approvedByAdmin(s)
      ? 'self sign-up is open; new accounts wait for an administrator to approve them at /-/web/admin/approvals (or bulwark admin user pending)'
      : 'self sign-up is open; new accounts verify their email address with a mailed link';
  if (s.smtpUrl === null && !approvedByAdmin(s))
    return 'self sign-up is closed: no SMTP server is set to mail verification links. To open it, set --smtp-url (BULWARK_SMTP_URL), or --signup open (BULWARK_SIGNUP) with --email-verification admin (BULWARK_EMAIL_VERIFICATION) to have an administrator approve each new account; meanwhile administrators create accounts with bulwark admin user create';
  return 'self sign-up is closed (--signup closed): administrators create accounts with bulwark admin user create';
}
