// The pages a user opens from npm's terminal output: "Log in to npm on <host>?" for `npm login`/`npm adduser`, and
// "Approve this change with your code" for a write that needs a second factor. They say plainly what will happen and
// who asked, because a link like this can also arrive in a phishing message.
import type { ClientInfo } from '../../accounts/web-logins.ts';
import { html, type Html } from '../html.ts';
import { alertBox, csrfField, page, type Viewer } from '../layout.ts';

function fromWhere(info: ClientInfo): Html {
  return html`<dl class="facts compact">
  ${info.hostname ? html`<dt>Computer</dt><dd><code>${info.hostname}</code></dd>` : null}
  <dt>Address</dt><dd><code>${info.ip}</code></dd>
  ${info.agent ? html`<dt>Client</dt><dd><code>${info.agent}</code></dd>` : null}
</dl>`;
}

const codeField = (label: string): Html => html`<label>${label}
      <input name="otp" autocomplete="one-time-code" inputmode="numeric" autocapitalize="none" spellcheck="false" required maxlength="32" autofocus>
    </label>`;

export type WebLoginView = {
  viewer: NonNullable<Viewer>;
  csrf: string;
  pageId: string;
  info: ClientInfo;
  create: boolean;
  needsCode: boolean;
  error?: string | null;
  /** what an account that cannot publish yet is told (pendingMessage): npm adduser's new accounts come through here. */
  pending?: string | null;
};

/** The Approve (with whatever the approval asks for) and Cancel forms of a pending npm request. */
function decisionForms(action: string, csrf: string, approveFields: Html | null): Html {
  return html`<form method="post" action="${action}/approve" class="stack">
    ${csrfField(csrf)}
    ${approveFields}
    <button type="submit" class="primary">Approve</button>
  </form>
  <form method="post" action="${action}/cancel" class="stack">
    ${csrfField(csrf)}
    <button type="submit" class="secondary">Cancel</button>
  </form>`;
}

/** Approve or cancel a web login, signed in as the account that will receive the token. */
export function webLoginPage(v: WebLoginView): Html {
  const action = `/-/web/login/${v.pageId}`;
  const title = v.info.hostname ? html`Log in to npm on ${v.info.hostname}?` : html`Log in to npm?`;
  const body = html`<section class="card" id="web-login">
  <h1>${title}</h1>
  ${alertBox('error', v.error)}${alertBox('notice', v.pending)}
  <p>A command line asked to ${v.create ? 'add' : 'sign in to'} your account <strong>${v.viewer.name}</strong>. If you approve, npm there gets an access token that can publish as you.</p>
  ${fromWhere(v.info)}
  <p class="muted">Approve only if you just ran <code>npm ${v.create ? 'adduser' : 'login'}</code> yourself. If you did not, cancel: someone may be trying to get you to sign them in.</p>
  ${decisionForms(action, v.csrf, v.needsCode ? html`<p class="muted">Your account uses two-factor authentication, and this browser signed in before it was turned on: enter a code to approve.</p>${codeField('Code from your authenticator app')}` : null)}
</section>`;
  return page({ title: 'Log in to npm', viewer: v.viewer, csrf: v.csrf, width: 'narrow', body });
}

/** For `npm adduser` when nobody is signed in: create an account (or sign in), then come back to approve. */
export function webAdduserSignedOutPage(v: { next: string; signupOpen: boolean }): Html {
  const next = encodeURIComponent(v.next);
  const body = html`<section class="card" id="web-login">
  <h1>Add your account to npm</h1>
  <p>A command line ran <code>npm adduser</code> and asks for an account on this registry.</p>
  ${
    v.signupOpen
      ? html`<p><a class="button primary" href="/-/web/signup?next=${next}">Create an account</a></p>
  <p class="muted">Once the account exists you come back here to approve the login.</p>`
      : html`<div class="alert notice" role="status">Sign-up is closed on this registry. Ask an administrator for an account.</div>`
  }
  <p>Already have one? <a href="/-/web/signin?next=${next}">Sign in</a> to approve.</p>
</section>`;
  return page({ title: 'Add your account to npm', viewer: null, width: 'narrow', body });
}

export type WebOtpView = {
  viewer: NonNullable<Viewer>;
  csrf: string;
  pageId: string;
  info: ClientInfo;
  error?: string | null;
};

/** npm's web OTP: the code goes into this page instead of the terminal. */
export function webOtpPage(v: WebOtpView): Html {
  const action = `/-/web/otp/${v.pageId}`;
  const body = html`<section class="card" id="web-otp">
  <h1>Approve a change with your second factor</h1>
  ${alertBox('error', v.error)}
  <p>npm is making a change as <strong>${v.viewer.name}</strong>${v.info.what ? html` (${v.info.what})` : null} and needs your one-time password.</p>
  ${fromWhere(v.info)}
  ${decisionForms(action, v.csrf, codeField('Code from your authenticator app, or a recovery code'))}
</section>`;
  return page({ title: 'Approve with your second factor', viewer: v.viewer, csrf: v.csrf, width: 'narrow', body });
}

/** The end of either flow: the terminal takes it from here. */
export function webLoginAnsweredPage(v: { viewer: Viewer; csrf: string | null; title: string; text: string }): Html {
  const body = html`<section class="card" id="web-login-done">
  <h1>${v.title}</h1>
  <p>${v.text}</p>
  <p class="muted">You can close this page.</p>
</section>`;
  return page({ title: v.title, viewer: v.viewer, csrf: v.csrf, width: 'narrow', body });
}
