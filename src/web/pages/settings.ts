// Account settings sections (email address, password, security history) and the pages for getting back into an
// account (forgot password, reset password) and for the links Bulwark emails (verify email). The handlers in
// credentials-routes.ts and password-reset-routes.ts decide; these only draw, keeping what the user typed (never a
// password) when a form comes back.
import { PASSWORD_MIN } from '../../accounts/passwords.ts';
import type { HistoryPage } from '../../accounts/security-history.ts';
import type { UserRow } from '../../store/schema.ts';
import { html, type Html } from '../html.ts';
import { alertBox, csrfField, page, time, type Viewer } from '../layout.ts';

export type SectionState = { error?: string | null; notice?: string | null; email?: string };

export type CredentialsView = {
  user: UserRow;
  csrf: string;
  email: SectionState;
  password: SectionState;
  /** addresses are verified by an administrator's approval, never by an emailed link (--email-verification admin). */
  approval?: boolean;
};

function emailSection(v: CredentialsView): Html {
  const u = v.user;
  const unverified =
    u.email_verified === 1
      ? null
      : html`<div class="verify-box">
    <p><strong>${u.email}</strong> is not verified yet. Until it is, you cannot publish or reset your password by email.</p>
    ${v.approval ? html`<p>An administrator of this registry verifies addresses by approving the account; yours is waiting for approval.</p>` : html`<form method="post" action="/-/web/account/email/verify" class="inline">${csrfField(v.csrf)}<button type="submit" class="secondary small">Resend verification email</button></form>`}
  </div>`;
  return html`<section class="panel settings" id="email">
  <h2>Email address</h2>
  <p class="muted">Security notices and password-reset links go to <strong>${u.email}</strong>. A new address must be verified before you can publish again or reset your password with it; the current address is told of the change.</p>
  ${alertBox('notice', v.email.notice)}${alertBox('error', v.email.error)}
  ${unverified}
  <form method="post" action="/-/web/account/email" class="stack settings-form">
    ${csrfField(v.csrf)}
    <label>New email address
      <input type="email" name="email" autocomplete="email" required maxlength="254" value="${v.email.email ?? ''}">
    </label>
    <label>Current password
      <input type="password" name="password" autocomplete="current-password" required maxlength="1024">
    </label>
    <button type="submit" class="primary">Change email address</button>
  </form>
</section>`;
}

function passwordSection(v: CredentialsView): Html {
  return html`<section class="panel settings" id="password">
  <h2>Password</h2>
  <p class="muted">Changing your password signs out every other browser. Your npm access tokens keep working: they are separate credentials, so revoke any you no longer trust with <code>npm token revoke</code>.</p>
  ${alertBox('notice', v.password.notice)}${alertBox('error', v.password.error)}
  <form method="post" action="/-/web/account/password" class="stack settings-form">
    ${csrfField(v.csrf)}
    <input type="text" name="username" autocomplete="username" value="${v.user.name}" hidden>
    <label>Current password
      <input type="password" name="current" autocomplete="current-password" required maxlength="1024">
    </label>
    <label>New password
      <input type="password" name="password" autocomplete="new-password" required minlength="${PASSWORD_MIN}" maxlength="1024">
      <small>At least ${PASSWORD_MIN} characters, not containing your username.</small>
    </label>
    <label>Confirm new password
      <input type="password" name="confirm" autocomplete="new-password" required minlength="${PASSWORD_MIN}" maxlength="1024">
    </label>
    <button type="submit" class="primary">Change password</button>
  </form>
</section>`;
}

/** What the Password slot renders: the email section, then the password section (both are credentials). */
export function credentialsSections(v: CredentialsView): Html {
  return html`
${emailSection(v)}
${passwordSection(v)}`;
}

export type HistoryView = { history: HistoryPage; now: number; newer: boolean };

export function historySection(v: HistoryView): Html {
  const rows = v.history.entries.map(
    (e) => html`<tr>
  <td class="when">${time(e.when, v.now)}</td>
  <td><span class="what">${e.what}</span>${e.details.length ? html`<span class="details">${e.details.join(' · ')}</span>` : null}</td>
</tr>`,
  );
  const older =
    v.history.next === null
      ? html`<span></span>`
      : html`<a href="/-/web/account?history=${String(v.history.next)}#security-history">Older events →</a>`;
  const newer = v.newer ? html`<a href="/-/web/account#security-history">← Newest events</a>` : html`<span></span>`;
  return html`
<section class="panel" id="security-history">
  <h2>Security history</h2>
  <p class="muted">Sign-ins and changes to your account’s security, newest first. If you see something you did not do, change your password and review your sessions and tokens.</p>
  ${
    rows.length
      ? html`<table class="list history">
    <thead><tr><th>When</th><th>What happened</th></tr></thead>
    <tbody>${rows}</tbody>
  </table>`
      : html`<p class="muted">Nothing to show${v.newer ? ' on this page' : ' yet'}.</p>`
  }
  ${v.newer || v.history.next !== null ? html`<nav class="pager">${newer}${older}</nav>` : null}
</section>`;
}

export type ForgotForm = { csrf: string; viewer: Viewer; identifier?: string; error?: string | null; sent?: boolean };

export function forgotPasswordPage(f: ForgotForm): Html {
  const sent = html`<div class="alert notice" role="status">If an account matches and its email address is verified, we have sent it a link to reset the password. The link works once, for one hour. Check your inbox (and spam folder).</div>`;
  const body = html`<section class="card">
  <h1>Forgot your password?</h1>
  ${f.sent ? sent : null}${alertBox('error', f.error)}
  <p class="muted">Enter your username or email address. We email a link to set a new password to the account’s verified address.</p>
  <form method="post" action="/-/web/forgot-password" class="stack">
    ${csrfField(f.csrf)}
    <label>Username or email address
      <input name="identifier" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="254" value="${f.identifier ?? ''}" autofocus>
    </label>
    <button type="submit" class="primary">Email me a reset link</button>
  </form>
  <p class="muted center">Remembered it? <a href="/-/web/signin">Sign in</a></p>
</section>`;
  return page({ title: 'Forgot password', viewer: f.viewer, width: 'narrow', body });
}

export type ResetForm = { csrf: string; viewer: Viewer; token: string; name: string; error?: string | null };

export function resetPasswordPage(f: ResetForm): Html {
  const body = html`<section class="card">
  <h1>Set a new password</h1>
  ${alertBox('error', f.error)}
  <p class="muted">For the account <strong>${f.name}</strong>. Every browser signed in to it will be signed out.</p>
  <form method="post" action="/-/web/reset-password" class="stack">
    ${csrfField(f.csrf)}
    <input type="hidden" name="token" value="${f.token}">
    <input type="text" name="username" autocomplete="username" value="${f.name}" hidden>
    <label>New password
      <input type="password" name="password" autocomplete="new-password" required minlength="${PASSWORD_MIN}" maxlength="1024" autofocus>
      <small>At least ${PASSWORD_MIN} characters, not containing your username.</small>
    </label>
    <label>Confirm new password
      <input type="password" name="confirm" autocomplete="new-password" required minlength="${PASSWORD_MIN}" maxlength="1024">
    </label>
    <button type="submit" class="primary">Set new password</button>
  </form>
</section>`;
  return page({ title: 'Set a new password', viewer: f.viewer, width: 'narrow', body });
}

/** The answer to an email link: it worked, or why it did not and what to do next. */
export function linkResultPage(o: {
  ok: boolean;
  title: string;
  message: string;
  viewer: Viewer;
  action: { href: string; label: string };
}): Html {
  const body = html`<section class="card link-result">
  <h1>${o.title}</h1>
  <div class="alert ${o.ok ? 'notice' : 'error'}" role="${o.ok ? 'status' : 'alert'}">${o.message}</div>
  <p class="center"><a class="button primary" href="${o.action.href}">${o.action.label}</a></p>
</section>`;
  return page({ title: o.title, viewer: o.viewer, width: 'narrow', body });
}
