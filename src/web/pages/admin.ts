// The administrators' account pages: a searchable list of users and one page per user with its state, security
// history and the actions (disable, enable, force a password reset, recovery, delete), each asking for a reason.
import type { PendingRecovery, UserDetail, UserStatus, UserSummary } from '../../accounts/admin.ts';
import type { HistoryPage } from '../../accounts/security-history.ts';
import { html, type Html } from '../html.ts';
import { alertBox, csrfField, otpField, page, time, type Viewer } from '../layout.ts';

export const adminUserHref = (name: string): string => `/-/web/admin/users/${encodeURIComponent(name)}`;

const STATUS_BADGE: Record<UserStatus, Html> = {
  active: html`<span class="badge ok">active</span>`,
  disabled: html`<span class="badge warn">disabled</span>`,
  deleted: html`<span class="badge">deleted</span>`,
};

export type UserListView = {
  viewer: Viewer;
  csrf: string;
  users: UserSummary[];
  total: number;
  query: string;
  status: string;
  offset: number;
  size: number;
  now: number;
};

export function userListPage(v: UserListView): Html {
  const statuses = ['', 'active', 'disabled', 'deleted', 'admin'];
  const rows = v.users.map(
    (u) => html`<tr>
  <td><a href="${adminUserHref(u.name)}">${u.name}</a>${u.is_admin ? html` <span class="badge private">admin</span>` : null}</td>
  <td>${u.email || '—'}${u.email && !u.email_verified ? html` <span class="badge warn">not verified</span>` : null}</td>
  <td>${STATUS_BADGE[u.status]}</td>
  <td>${u.totp_mode === 'disabled' ? '—' : '2FA'}</td>
  <td>${time(u.created_at, v.now)}</td>
</tr>`,
  );
  const qs = (offset: number) =>
    `?q=${encodeURIComponent(v.query)}&status=${encodeURIComponent(v.status)}&from=${offset}`;
  const body = html`<div class="page-head">
  <h1>Users</h1>
  <p class="muted">${String(v.total)} ${v.total === 1 ? 'account' : 'accounts'}${v.query ? html` matching “${v.query}”` : null} · <a href="/-/web/admin/approvals">Accounts awaiting approval</a></p>
</div>
<section class="panel">
  <form method="get" action="/-/web/admin/users" class="filters">
    <input type="search" name="q" value="${v.query}" placeholder="Name or email" aria-label="Name or email">
    <select name="status" aria-label="Status">${statuses.map((s) => html`<option value="${s}"${s === v.status ? html` selected` : null}>${s || 'any status'}</option>`)}</select>
    <button type="submit" class="secondary">Find</button>
  </form>
  <table class="list">
    <thead><tr><th>Username</th><th>Email</th><th>Status</th><th>2FA</th><th>Created</th></tr></thead>
    <tbody>${rows.length ? rows : html`<tr><td colspan="5" class="muted">No accounts.</td></tr>`}</tbody>
  </table>
  <p class="pager">${v.offset > 0 ? html`<a href="${qs(Math.max(0, v.offset - v.size))}">← Newer</a>` : null}${v.offset + v.size < v.total ? html`<a href="${qs(v.offset + v.size)}">Older →</a>` : null}</p>
</section>`;
  return page({ title: 'Users · Administration', viewer: v.viewer, csrf: v.csrf, staff: 'users', body });
}

/** otp: the administrator's account asks for a one-time password with every change, so each form has the field. */
export type UserPageView = {
  viewer: Viewer;
  csrf: string;
  otp: boolean;
  detail: UserDetail;
  history: HistoryPage;
  notice?: string | null;
  error?: string | null;
  now: number;
};

const reasonField = html`<label>Reason <small>(recorded, and shown to the user)</small><input name="reason" required minlength="3" maxlength="500"></label>`;

type FormContext = { csrf: string; otp: boolean };

function actionForm(
  f: FormContext,
  action: string,
  title: string,
  text: string,
  button: string,
  extra: Html | null = null,
  danger = false,
): Html {
  return html`<form method="post" action="${action}" class="stack admin-action">
  ${csrfField(f.csrf)}
  <h3>${title}</h3>
  <p class="muted">${text}</p>
  ${extra}${reasonField}${otpField(f.otp)}
  <button type="submit" class="${danger ? 'danger' : 'secondary'}">${button}</button>
</form>`;
}

function recoverySection(f: FormContext, base: string, d: UserDetail, now: number): Html {
  const p: PendingRecovery | null = d.pendingRecovery;
  if (p) {
    const ready = now >= p.notBefore;
    return html`<section class="panel" id="recovery">
  <h2>Pending recovery</h2>
  <dl class="facts">
    <dt>Started</dt><dd>${time(p.startedAt, now)} by ${p.by}</dd>
    <dt>Plan</dt><dd>${[p.newEmail ? `change the email address to ${p.newEmail}` : null, p.disableMfa ? 'remove two-factor authentication' : null].filter(Boolean).join('; ')}</dd>
    <dt>Reason</dt><dd>${p.reason}</dd>
    <dt>Evidence</dt><dd>${p.evidence}</dd>
    <dt>Can be completed</dt><dd>${ready ? 'now' : new Date(p.notBefore).toUTCString()}</dd>
  </dl>
  ${
    ready
      ? html`<form method="post" action="${base}/recover/complete" class="${f.otp ? 'stack' : 'inline'}">${csrfField(f.csrf)}${otpField(f.otp)}<button type="submit" class="primary">Complete the recovery</button></form>`
      : html`<p class="muted">The account’s current address was told; the waiting period gives its real owner time to object.</p>`
  }
  ${actionForm(f, `${base}/recover/cancel`, 'Cancel it', 'For example when the account’s owner objects.', 'Cancel the recovery')}
</section>`;
  }
  return html`<section class="panel" id="recovery">
  <h2>Account recovery</h2>
  <p class="muted">For someone who lost their second factor and recovery codes, or their email address. Check their identity as <code>docs/security/account-recovery.md</code> describes first. Starting tells the account’s current address; the change happens only when you complete it after the waiting period.</p>
  <form method="post" action="${base}/recover/start" class="stack admin-action">
    ${csrfField(f.csrf)}
    <label>New email address <small>(optional; a verification link goes to it)</small><input type="email" name="email" maxlength="254"></label>
    ${d.user.totp_mode === 'disabled' ? null : html`<label class="check"><input type="checkbox" name="removeMfa" value="1"> Remove two-factor authentication</label>`}
    ${reasonField}
    <label>Evidence of identity checked <small>(recorded)</small><input name="evidence" required maxlength="1000"></label>
    ${otpField(f.otp)}
    <button type="submit" class="secondary">Start the recovery</button>
  </form>
</section>`;
}

export function userPage(v: UserPageView): Html {
  const d = v.detail;
  const u = d.user;
  const base = adminUserHref(u.name);
  const live = d.status !== 'deleted';
  const history = v.history.entries.map(
    (e) =>
      html`<li><span class="when">${time(e.when, v.now)}</span> <strong>${e.what}</strong>${e.details.length ? html` <span class="muted">— ${e.details.join(', ')}</span>` : null}</li>`,
  );
  const body = html`<div class="page-head">
  <p class="muted"><a href="/-/web/admin/users">Users</a> /</p>
  <h1>${u.name} ${STATUS_BADGE[d.status]}${u.is_admin ? html` <span class="badge private">admin</span>` : null}</h1>
</div>
${alertBox('notice', v.notice)}${alertBox('error', v.error)}
<section class="panel" id="facts">
  <h2>Account</h2>
  <dl class="facts">
    <dt>Email</dt><dd>${u.email || '—'} ${u.email ? (u.email_verified ? html`<span class="badge ok">verified</span>` : html`<span class="badge warn">not verified</span>`) : null}</dd>
    <dt>Two-factor</dt><dd>${u.totp_mode === 'disabled' ? 'not enabled' : u.totp_mode}</dd>
    <dt>Created</dt><dd>${time(u.created_at, v.now)}</dd>
    ${u.disabled_at !== null ? html`<dt>Disabled</dt><dd>${time(u.disabled_at, v.now)}</dd>` : null}
    <dt>Signed in</dt><dd>${String(d.liveSessions)} live ${d.liveSessions === 1 ? 'session' : 'sessions'}, ${String(d.liveTokens)} live ${d.liveTokens === 1 ? 'token' : 'tokens'}</dd>
    <dt>Packages</dt><dd>${d.packages.length ? d.packages.map((p, i) => html`${i ? ', ' : ''}<a href="/-/web/package/${p}">${p}</a>`) : '—'}</dd>
  </dl>
</section>
${live ? recoverySection(v, base, d, v.now) : null}
${
  live
    ? html`<section class="panel" id="actions">
  <h2>Actions</h2>
  <div class="admin-actions">
  ${
    d.status === 'disabled'
      ? actionForm(
          v,
          `${base}/enable`,
          'Enable',
          'The account can sign in again. Its old sessions and tokens stay revoked.',
          'Enable the account',
        )
      : actionForm(
          v,
          `${base}/disable`,
          'Disable',
          'Every session and token stops working at once, and no sign-in succeeds until the account is enabled again.',
          'Disable the account',
          null,
          true,
        )
  }
  ${actionForm(v, `${base}/force-reset`, 'Force a password reset', 'For an account that may be compromised: the password stops working, everything is signed out, and a reset link goes to the verified address.', 'Force a reset')}
  ${actionForm(v, `${base}/delete`, 'Delete', 'Removes the email, password, second factor, sessions and tokens for good. The name stays reserved; published versions stay.', 'Delete the account', html`<label>Type the username to confirm<input name="confirm" required autocomplete="off"></label>`, true)}
  </div>
</section>`
    : null
}
<section class="panel" id="history">
  <h2>Security history</h2>
  ${history.length ? html`<ul class="history">${history}</ul>` : html`<p class="muted">Nothing recorded.</p>`}
  ${v.history.next !== null ? html`<p class="pager"><a href="${base}?before=${String(v.history.next)}">Older →</a></p>` : null}
</section>`;
  return page({ title: `${u.name} · Administration`, viewer: v.viewer, csrf: v.csrf, staff: 'users', body });
}
