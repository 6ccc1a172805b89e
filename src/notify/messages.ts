// The emails Bulwark sends, as plain text. Pure: each function turns facts into a message, so wording is reviewed
// and tested in one place.
import type { Message } from './mailer.ts';

type Account = { name: string; email: string };

const footer = (base: string) =>
  `\n\n--\nSent by the package registry at ${base}. If you did not expect this email, sign in and review your account's security history, or contact the registry's operators.`;

export function verificationEmail(user: Account, link: string, base: string): Message {
  return {
    to: user.email,
    subject: 'Verify your email address',
    text: `Hello ${user.name},\n\nPlease confirm that ${user.email} is your email address by opening this link within 24 hours:\n\n${link}\n\nUntil it is verified you can install packages but not publish them.${footer(base)}`,
  };
}

export function passwordResetEmail(user: Account, link: string, base: string): Message {
  return {
    to: user.email,
    subject: 'Reset your password',
    text: `Hello ${user.name},\n\nSomeone asked to reset the password of your account. If it was you, open this link within one hour:\n\n${link}\n\nResetting the password signs out every session. If it was not you, ignore this email: your password has not changed.${footer(base)}`,
  };
}

export function forcedResetEmail(user: Account, link: string, reason: string, base: string): Message {
  return {
    to: user.email,
    subject: 'Your password must be reset',
    text: `Hello ${user.name},\n\nThe registry's administrators have reset the password of your account and signed out every session and token (reason: ${reason}). Choose a new password by opening this link within one hour:\n\n${link}\n\nIf the link has expired, use "Forgot password" on the sign-in page. Then create new tokens for your tools.${footer(base)}`,
  };
}

/** A notice that something security-relevant happened to the account. */
export function securityNotice(to: string, user: Account, what: string, details: string[], base: string): Message {
  const lines = details.length ? `\n\n${details.map((d) => `  ${d}`).join('\n')}` : '';
  return {
    to,
    subject: `Security notice: ${what}`,
    text: `Hello ${user.name},\n\n${what} on your account "${user.name}".${lines}\n\nIf this was you, there is nothing to do. If it was not, reset your password now and review your tokens and sessions.${footer(base)}`,
  };
}

/** Tells a moderator that the publish-time scan held a version: it waits, uninstallable, for their decision. */
export function heldVersionAlert(to: Account, name: string, version: string, verdict: string, base: string): Message {
  const why =
    verdict === 'timeout'
      ? 'its malware scan did not finish within the time budget'
      : 'its malware scan found signs of malicious code';
  return {
    to: to.email,
    subject: `Held for review: ${name}@${version}`,
    text: `Hello ${to.name},\n\n${name}@${version} was published and held for security review: ${why}. It is not installable until a moderator releases it or removes it as malicious.\n\nReview it in the moderation queue: ${base}/-/web/moderation${footer(base)}`,
  };
}
