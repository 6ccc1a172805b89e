// Account settings: who you are, whether your email is verified, where you are signed in (each session revocable),
// and slots for the settings other capabilities bring: password change, two-factor authentication and the security
// history. A capability fills its slot through WebUi.setAccountSection (see routes.ts); until then the slot shows
// a placeholder saying what will be there.
import type { SessionRow, UserRow } from '../../store/schema.ts';
import { html, type Html } from '../html.ts';
import { alertBox, csrfField, page, time, viewerOf } from '../layout.ts';
import { describeUserAgent } from '../../accounts/user-agent.ts';

export const AccountSlot = {
  Password: 'password',
  TwoFactor: 'two-factor',
  SecurityHistory: 'security-history',
} as const;
export type AccountSlotValue = (typeof AccountSlot)[keyof typeof AccountSlot];

const PLACEHOLDERS: Record<AccountSlotValue, { title: string; text: string }> = {
  [AccountSlot.Password]: { title: 'Password', text: 'Changing your password from this page is not available yet.' },
  [AccountSlot.TwoFactor]: {
    title: 'Two-factor authentication',
    text: 'Two-factor authentication is not available yet.',
  },
  [AccountSlot.SecurityHistory]: {
    title: 'Security history',
    text: 'A history of sign-ins and security changes to your account will appear here.',
  },
};

/** The placeholder a slot shows until its capability provides the real section. */
export function placeholderSection(slot: AccountSlotValue): Html {
  const p = PLACEHOLDERS[slot];
  return html`<section class="panel" id="${slot}" data-placeholder="${slot}">
  <h2>${p.title}</h2>
  <p class="muted">${p.text}</p>
</section>`;
}

export type AccountView = {
  user: UserRow;
  sessions: SessionRow[];
  currentSessionId: number;
  csrf: string;
  now: number;
  notice?: string | null;
  slots: Record<AccountSlotValue, Html>;
};

function sessionsSection(v: AccountView): Html {
  // This browser first, then the others by last activity.
  const ordered = [...v.sessions].sort(
    (a, b) => Number(b.id === v.currentSessionId) - Number(a.id === v.currentSessionId),
  );
  const rows = ordered.map((s) => {
    const current = s.id === v.currentSessionId;
    const action = html`<form method="post" action="/-/web/account/sessions/${String(s.id)}/revoke" class="inline">${csrfField(v.csrf)}<button type="submit" class="secondary small">${current ? 'Sign out' : 'Revoke'}</button></form>`;
    return html`<tr${current ? html` class="current"` : null}>
  <td><span title="${s.user_agent}">${describeUserAgent(s.user_agent)}</span>${current ? html` <span class="badge ok">this browser</span>` : null}</td>
  <td><code>${s.ip}</code></td>
  <td>${time(s.created_at, v.now)}</td>
  <td>${time(s.last_seen_at, v.now)}</td>
  <td class="right">${action}</td>
</tr>`;
  });
  return html`<section class="panel" id="sessions">
  <h2>Sessions</h2>
  <p class="muted">Browsers signed in to your account. Revoke any you do not recognise; it is signed out at once.</p>
  <table class="list sessions">
    <thead><tr><th>Browser</th><th>Address</th><th>Signed in</th><th>Last active</th><th></th></tr></thead>
    <tbody>${rows}</tbody>
  </table>
</section>`;
}

export function accountPage(v: AccountView): Html {
  const u = v.user;
  const verified =
    u.email_verified === 1
      ? html`<span class="badge ok">verified</span>`
      : html`<span class="badge warn">not verified</span>`;
  const body = html`<div class="page-head">
  <h1>Account settings</h1>
  <p class="muted">Signed in as <strong>${u.name}</strong></p>
</div>
${alertBox('notice', v.notice)}
<section class="panel" id="profile">
  <h2>Profile</h2>
  <dl class="facts">
    <dt>Username</dt><dd>${u.name}</dd>
    <dt>Email</dt><dd>${u.email} ${verified}</dd>
    <dt>Member since</dt><dd>${time(u.created_at, v.now)}</dd>
  </dl>
  ${u.email_verified === 1 ? null : html`<p class="muted">Until your email address is verified you can install packages but not publish them (see <a href="#email">Email address</a>).</p>`}
</section>
${v.slots[AccountSlot.Password]}
${v.slots[AccountSlot.TwoFactor]}
${sessionsSection(v)}
<section class="panel" id="access-tokens">
  <h2>Access tokens</h2>
  <p class="muted">Tokens for npm and CI, each limited to the packages, addresses and time it needs.</p>
  <p><a href="/-/web/account/tokens">Manage access tokens</a></p>
</section>
${v.slots[AccountSlot.SecurityHistory]}`;
  return page({ title: 'Account settings', viewer: viewerOf(u), csrf: v.csrf, body });
}
