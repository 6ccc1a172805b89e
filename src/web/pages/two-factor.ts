// The two-factor section of the account page and the pages of its steps: enrol (QR code and secret), confirm with
// a code and a mode, the recovery codes shown once, and the forms to change the mode, replace the recovery codes or
// turn two-factor authentication off, each of which asks for a current code.
import type { EnabledMode } from '../../accounts/mfa-mode.ts';
import { html, type Html } from '../html.ts';
import { alertBox, csrfField, page, type Viewer } from '../layout.ts';

export const MODE_LABELS: Record<EnabledMode, { title: string; text: string }> = {
  'auth-and-writes': {
    title: 'Authorization and writes',
    text: 'A code is asked at sign-in and for every change made with npm: publish, unpublish, dist-tags, owners, tokens.',
  },
  'auth-only': {
    title: 'Authorization only',
    text: 'A code is asked when you sign in, on the web or with npm login; changes made with npm need none.',
  },
};

export type TwoFactorAction = 'mode' | 'recovery-codes' | 'disable';

const BASE = '/-/web/account/two-factor';

function modeChoice(selected: EnabledMode): Html {
  // A select rather than radio buttons: the form styles are made for text fields and selects.
  const modes = Object.keys(MODE_LABELS) as EnabledMode[];
  return html`<label>When to ask for a code
      <select name="mode">${modes.map((m) => html`<option value="${m}"${m === selected ? html` selected` : null}>${MODE_LABELS[m].title}</option>`)}</select>
      ${modes.map((m) => html`<small><strong>${MODE_LABELS[m].title}:</strong> ${MODE_LABELS[m].text}</small>`)}
    </label>`;
}

const codeInput = (label: string, autofocus = false): Html => html`<label>${label}
      <input name="otp" autocomplete="one-time-code" inputmode="numeric" autocapitalize="none" spellcheck="false" required maxlength="32"${autofocus ? html` autofocus` : null}>
    </label>`;

/** The form of one management step; on the account page and, with its error, on a page of its own. */
export function actionForm(action: TwoFactorAction, csrf: string, mode: EnabledMode, autofocus = false): Html {
  switch (action) {
    case 'mode':
      return html`<form method="post" action="${BASE}/mode" class="stack" id="two-factor-mode">
    ${csrfField(csrf)}
    ${modeChoice(mode)}
    ${codeInput('Current code from your authenticator app', autofocus)}
    <button type="submit" class="secondary">Change mode</button>
  </form>`;
    case 'recovery-codes':
      return html`<form method="post" action="${BASE}/recovery-codes" class="stack" id="two-factor-recovery-codes">
    ${csrfField(csrf)}
    <p class="muted">New codes replace the old ones, which stop working at once.</p>
    ${codeInput('Current code from your authenticator app', autofocus)}
    <button type="submit" class="secondary">Generate new recovery codes</button>
  </form>`;
    case 'disable':
      return html`<form method="post" action="${BASE}/disable" class="stack" id="two-factor-disable">
    ${csrfField(csrf)}
    <p class="muted">Your account will be protected by your password alone.</p>
    ${codeInput('Current code, or a recovery code', autofocus)}
    <button type="submit" class="secondary">Turn off two-factor authentication</button>
  </form>`;
  }
}

export type SectionView = {
  mode: 'disabled' | EnabledMode;
  csrf: string;
  recoveryCodesLeft: number;
  notice?: string | null;
};

export function twoFactorSection(v: SectionView): Html {
  if (v.mode === 'disabled') {
    return html`<section class="panel" id="two-factor">
  <h2>Two-factor authentication</h2>
  ${alertBox('notice', v.notice)}
  <p><span class="badge warn">off</span> Your account is protected by your password alone.</p>
  <p class="muted">With two-factor authentication, signing in (and, if you choose, every publish) also needs a code from an authenticator app on your phone, so a stolen password is not enough.</p>
  <form method="post" action="${BASE}/enrol" class="inline">
    ${csrfField(v.csrf)}
    <button type="submit" class="primary">Set up two-factor authentication</button>
  </form>
</section>`;
  }
  return html`<section class="panel" id="two-factor">
  <h2>Two-factor authentication</h2>
  ${alertBox('notice', v.notice)}
  <dl class="facts">
    <dt>Status</dt><dd><span class="badge ok">on</span></dd>
    <dt>Mode</dt><dd id="two-factor-current-mode">${MODE_LABELS[v.mode].title}</dd>
    <dt>Recovery codes left</dt><dd>${String(v.recoveryCodesLeft)}${v.recoveryCodesLeft <= 3 ? html` <span class="badge warn">generate new ones soon</span>` : null}</dd>
  </dl>
  <h3>Change mode</h3>
  ${actionForm('mode', v.csrf, v.mode)}
  <h3>Recovery codes</h3>
  ${actionForm('recovery-codes', v.csrf, v.mode)}
  <h3>Turn off</h3>
  ${actionForm('disable', v.csrf, v.mode)}
</section>`;
}

const ACTION_TITLES: Record<TwoFactorAction, string> = {
  mode: 'Change the two-factor mode',
  'recovery-codes': 'New recovery codes',
  disable: 'Turn off two-factor authentication',
};

/** One management step on its own page (used when a code was wrong, and reachable directly). */
export function actionPage(v: {
  action: TwoFactorAction;
  viewer: NonNullable<Viewer>;
  csrf: string;
  mode: EnabledMode;
  error?: string | null;
}): Html {
  const body = html`<section class="card">
  <h1>${ACTION_TITLES[v.action]}</h1>
  ${alertBox('error', v.error)}
  ${actionForm(v.action, v.csrf, v.mode, true)}
  <p class="muted center"><a href="/-/web/account#two-factor">Back to account settings</a></p>
</section>`;
  return page({ title: ACTION_TITLES[v.action], viewer: v.viewer, csrf: v.csrf, width: 'narrow', body });
}

/** The secret in groups of four, easier to type into an app by hand. */
export const groupSecret = (secret: string): string => secret.replace(/(.{4})(?=.)/g, '$1 ');

export type EnrolView = {
  viewer: NonNullable<Viewer>;
  csrf: string;
  /** absent when there is no pending enrolment to show. */ qrSvg?: string;
  secret?: string;
  mode: EnabledMode;
  error?: string | null;
};

export function enrolPage(v: EnrolView): Html {
  // A data: image, not inline markup: the page's CSP allows img-src data:, and nothing from the generator is
  // inserted into the document itself.
  const qr = v.qrSvg ? `data:image/svg+xml;base64,${Buffer.from(v.qrSvg).toString('base64')}` : null;
  const body = html`<section class="card" id="two-factor-enrol">
  <h1>Set up two-factor authentication</h1>
  ${alertBox('error', v.error)}
  ${
    qr && v.secret
      ? html`<p>1. Scan this QR code with an authenticator app (1Password, Google Authenticator, Aegis, …).</p>
  <p class="center"><img class="qr" src="${qr}" width="220" height="220" alt="QR code for your authenticator app"></p>
  <p class="muted">Cannot scan it? Type this secret into the app instead:</p>
  <p class="center"><code id="two-factor-secret">${groupSecret(v.secret)}</code></p>`
      : html`<p class="muted">Use the entry you just added to your authenticator app. If you did not add one, start again for a new QR code.</p>`
  }
  <form method="post" action="${BASE}/confirm" class="stack">
    ${csrfField(v.csrf)}
    <p>2. Choose when a code is asked for.</p>
    ${modeChoice(v.mode)}
    <p>3. Enter the 6-digit code the app shows now.</p>
    ${codeInput('Code', !qr)}
    <button type="submit" class="primary">Turn on two-factor authentication</button>
  </form>
  <form method="post" action="${BASE}/enrol" class="inline">
    ${csrfField(v.csrf)}
    <button type="submit" class="link">Start again with a new secret</button>
  </form>
</section>`;
  return page({ title: 'Set up two-factor authentication', viewer: v.viewer, csrf: v.csrf, width: 'narrow', body });
}

/** Shown once, right after enrolment or regeneration: only hashes are kept. */
export function recoveryCodesPage(v: {
  viewer: NonNullable<Viewer>;
  csrf: string;
  codes: string[];
  fresh: boolean;
}): Html {
  const body = html`<section class="card" id="recovery-codes">
  <h1>${v.fresh ? 'Two-factor authentication is on' : 'Your new recovery codes'}</h1>
  <div class="alert notice" role="status"><strong>Save these recovery codes now.</strong> They are shown only this once. Each one lets you in once if you lose your authenticator app. Keep them somewhere safe, such as a password manager.</div>
  <ol class="codes">${v.codes.map((c) => html`<li><code>${c}</code></li>`)}</ol>
  ${v.fresh ? null : html`<p class="muted">Your previous recovery codes no longer work.</p>`}
  <p><a class="button primary" href="/-/web/account#two-factor">I have saved them</a></p>
</section>`;
  return page({ title: 'Recovery codes', viewer: v.viewer, csrf: v.csrf, width: 'narrow', body });
}
