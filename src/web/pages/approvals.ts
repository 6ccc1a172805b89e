// The administrators' queue of accounts waiting for approval (--email-verification admin): each with an approve button
// and a reject form that asks for a reason, as every administrator action on an account does.
import type { PendingAccount } from '../../accounts/approval.ts';
import { html, type Html } from '../html.ts';
import { alertBox, csrfField, otpField, page, time, type Viewer } from '../layout.ts';
import { adminUserHref } from './admin.ts';

export const APPROVALS_PATH = '/-/web/admin/approvals';
export const approvalHref = (name: string, action: 'approve' | 'reject'): string =>
  `${APPROVALS_PATH}/${encodeURIComponent(name)}/${action}`;

export type ApprovalsView = {
  viewer: Viewer;
  csrf: string;
  /** the administrator's account asks for a one-time password with every change. */
  otp: boolean;
  accounts: PendingAccount[];
  total: number;
  /** whether new accounts wait here (--email-verification admin), or verify by the emailed link. */
  approval: boolean;
  notice?: string | null;
  error?: string | null;
  now: number;
};

function row(v: ApprovalsView, a: PendingAccount): Html {
  return html`<tr id="${`account-${a.name}`}">
  <td><a href="${adminUserHref(a.name)}">${a.name}</a></td>
  <td>${a.email}</td>
  <td>${time(a.createdAt, v.now)}</td>
  <td>
    <form method="post" action="${approvalHref(a.name, 'approve')}" class="${v.otp ? 'stack' : 'inline'}">${csrfField(v.csrf)}${otpField(v.otp)}<button type="submit" class="primary small">Approve</button></form>
  </td>
  <td>
    <form method="post" action="${approvalHref(a.name, 'reject')}" class="stack">
      ${csrfField(v.csrf)}
      <label>Reason <small>(recorded)</small><input name="reason" required minlength="3" maxlength="500"></label>
      ${otpField(v.otp)}
      <button type="submit" class="danger small">Reject and delete</button>
    </form>
  </td>
</tr>`;
}

export function approvalsPage(v: ApprovalsView): Html {
  const rows = v.accounts.map((a) => row(v, a));
  const body = html`<div class="page-head">
  <p class="muted"><a href="/-/web/admin/users">Users</a> /</p>
  <h1>Accounts awaiting approval</h1>
  <p class="muted">${String(v.total)} ${v.total === 1 ? 'account' : 'accounts'} waiting</p>
</div>
${alertBox('notice', v.notice)}${alertBox('error', v.error)}
<section class="panel">
  <p class="muted">${
    v.approval
      ? 'New accounts wait here until an administrator approves them: approving verifies the email address, so the account may publish; rejecting deletes it (its name stays reserved). Both are recorded in the account’s security history.'
      : 'Accounts whose email address is not verified yet. New accounts verify theirs with the emailed link; approving one here verifies it on the owner’s behalf.'
  }</p>
  <table class="list">
    <thead><tr><th>Username</th><th>Email</th><th>Signed up</th><th></th><th></th></tr></thead>
    <tbody>${rows.length ? rows : html`<tr><td colspan="5" class="muted">No account is waiting.</td></tr>`}</tbody>
  </table>
</section>`;
  return page({ title: 'Approvals · Administration', viewer: v.viewer, csrf: v.csrf, staff: 'users', body });
}
