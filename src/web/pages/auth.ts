// Sign-in and sign-up pages. The handlers in routes.ts decide; these only draw the forms, keeping what the user
// typed (never the password) when a form comes back with an error.
import { html, type Html } from '../html.ts';
import { alertBox, csrfField, page, type Viewer } from '../layout.ts';
import { PASSWORD_MIN } from '../../accounts/passwords.ts';

export type SignInForm = {
  csrf: string;
  username?: string;
  next?: string | null;
  error?: string | null;
  notice?: string | null;
  viewer: Viewer;
};

export function signInPage(f: SignInForm): Html {
  const body = html`<section class="card">
  <h1>Sign in</h1>
  ${alertBox('notice', f.notice)}${alertBox('error', f.error)}
  <form method="post" action="/-/web/signin" class="stack">
    ${csrfField(f.csrf)}
    ${f.next ? html`<input type="hidden" name="next" value="${f.next}">` : null}
    <label>Username
      <input name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="64" value="${f.username ?? ''}"${f.username ? null : html` autofocus`}>
    </label>
    <label>Password
      <input type="password" name="password" autocomplete="current-password" required maxlength="1024"${f.username ? html` autofocus` : null}>
    </label>
    <button type="submit" class="primary">Sign in</button>
  </form>
  <p class="center"><a href="/-/web/forgot-password">Forgot password?</a></p>
  <p class="muted center">New to this registry? <a href="/-/web/signup">Create an account</a></p>
</section>`;
  return page({ title: 'Sign in', viewer: f.viewer, width: 'narrow', body });
}

export type SignUpForm = {
  csrf: string;
  open: boolean;
  /** new accounts wait for an administrator's approval instead of an emailed link. */
  approval?: boolean;
  username?: string;
  email?: string;
  next?: string | null;
  error?: string | null;
  viewer: Viewer;
};

export function signUpPage(f: SignUpForm): Html {
  const closed = html`<section class="card">
  <h1>Create an account</h1>
  <div class="alert notice" role="status">Sign-up is closed on this registry. Ask an administrator to create an account for you.</div>
  <p class="muted center">Already have an account? <a href="/-/web/signin">Sign in</a></p>
</section>`;
  const form = html`<section class="card">
  <h1>Create an account</h1>
  ${alertBox('error', f.error)}
  <form method="post" action="/-/web/signup" class="stack">
    ${csrfField(f.csrf)}
    ${f.next ? html`<input type="hidden" name="next" value="${f.next}">` : null}
    <label>Username
      <input name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="64" pattern="[a-z0-9][a-z0-9._\\-]*" value="${f.username ?? ''}" autofocus>
      <small>Lowercase letters, digits, “.”, “-” and “_”. It is also your package scope: @name.</small>
    </label>
    <label>Email
      <input type="email" name="email" autocomplete="email" required maxlength="254" value="${f.email ?? ''}">
      <small>${f.approval ? 'An administrator of this registry approves each new account. Publishing waits until yours is approved.' : 'We send a link to verify it. Publishing waits until it is verified.'}</small>
    </label>
    <label>Password
      <input type="password" name="password" autocomplete="new-password" required minlength="${PASSWORD_MIN}" maxlength="1024">
      <small>At least ${PASSWORD_MIN} characters, not containing your username.</small>
    </label>
    <button type="submit" class="primary">Create account</button>
  </form>
  <p class="muted center">Already have an account? <a href="/-/web/signin${f.next ? `?next=${encodeURIComponent(f.next)}` : ''}">Sign in</a></p>
</section>`;
  return page({ title: 'Create an account', viewer: f.viewer, width: 'narrow', body: f.open ? form : closed });
}

export type OtpForm = { csrf: string; ticket: string; next?: string | null; error?: string | null };

/** The second step of signing in, for accounts with two-factor authentication. */
export function otpPage(f: OtpForm): Html {
  const body = html`<section class="card">
  <h1>Two-factor authentication</h1>
  ${alertBox('error', f.error)}
  <p class="muted">Enter the 6-digit code from your authenticator app, or one of your recovery codes.</p>
  <form method="post" action="/-/web/signin/otp" class="stack">
    ${csrfField(f.csrf)}
    <input type="hidden" name="ticket" value="${f.ticket}">
    ${f.next ? html`<input type="hidden" name="next" value="${f.next}">` : null}
    <label>Code
      <input name="otp" autocomplete="one-time-code" inputmode="numeric" autocapitalize="none" spellcheck="false" required maxlength="32" autofocus>
    </label>
    <button type="submit" class="primary">Verify</button>
  </form>
  <p class="muted center"><a href="/-/web/signin">Start again</a></p>
</section>`;
  return page({ title: 'Two-factor authentication', viewer: null, width: 'narrow', body });
}
