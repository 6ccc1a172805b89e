// The access-tokens page: the account's live tokens (name, what they may do, created, last used and from where,
// expiry) each with a revoke button, a form to create one with every scope option, and the new token shown once.
import type { TokenInfo } from '../../tokens/service.ts';
import { WRITE_DEFAULT_DAYS, WRITE_MAX_DAYS } from '../../tokens/scope.ts';
import { html, type Html } from '../html.ts';
import { alertBox, csrfField, page, time } from '../layout.ts';

export const TOKENS_PATH = '/-/web/account/tokens';

/** What the create form had, so a refused form comes back filled in (never the password or code). */
export type TokenForm = Partial<
  Record<
    | 'name'
    | 'permission'
    | 'target'
    | 'packages'
    | 'scopes'
    | 'orgs'
    | 'orgsPermission'
    | 'cidr'
    | 'expires'
    | 'bypass2fa',
    string
  >
>;

export type TokensView = {
  viewer: { name: string };
  csrf: string;
  now: number;
  tokens: TokenInfo[];
  /** the account has a second factor: the form asks for a code. */
  needsCode: boolean;
  form?: TokenForm;
  error?: string | null;
  notice?: string | null;
  /** a token just made: shown this once. */
  created?: { token: string; name: string; summary: string; expiresAt: number | null } | null;
};

const KIND_LABEL: Record<string, string> = { session: 'npm login session', publish: 'token', granular: 'token' };

function tokenRows(v: TokensView): Html {
  if (v.tokens.length === 0) return html`<p class="muted" id="no-tokens">You have no live tokens.</p>`;
  const rows = v.tokens.map(
    (t) => html`<tr data-token="${t.key}">
  <td><strong>${t.name}</strong><br><code>${t.display}…</code> <span class="muted">${KIND_LABEL[t.kind] ?? t.kind}</span></td>
  <td>${t.summary}</td>
  <td>${time(t.createdAt, v.now)}</td>
  <td>${t.lastUsedAt === null ? html`<span class="muted">never</span>` : html`${time(t.lastUsedAt, v.now)}<br><code>${t.lastUsedIp ?? ''}</code>`}</td>
  <td>${t.expiresAt === null ? html`<span class="muted">never</span>` : time(t.expiresAt, v.now)}</td>
  <td class="right"><form method="post" action="${TOKENS_PATH}/${t.key}/revoke" class="inline">${csrfField(v.csrf)}<button type="submit" class="secondary small">Revoke</button></form></td>
</tr>`,
  );
  return html`<table class="list tokens">
    <thead><tr><th>Name</th><th>May do</th><th>Created</th><th>Last used</th><th>Expires</th><th></th></tr></thead>
    <tbody>${rows}</tbody>
  </table>`;
}

const option = (value: string, label: string, selected: string | undefined, fallback: string) =>
  html`<option value="${value}"${(selected ?? fallback) === value ? html` selected` : null}>${label}</option>`;

function createForm(v: TokensView): Html {
  const f = v.form ?? {};
  return html`<form method="post" action="${TOKENS_PATH}" class="stack" id="create-token">
    ${csrfField(v.csrf)}
    <label>Name
      <input name="name" maxlength="100" required value="${f.name ?? ''}" placeholder="CI for my-package">
    </label>
    <label>Package permission
      <select name="permission">
        ${option('read-only', 'Read only (install)', f.permission, 'read-only')}
        ${option('read-write', 'Read and write (publish, dist-tags)', f.permission, 'read-only')}
        ${option('no-access', 'No package access (org administration only)', f.permission, 'read-only')}
      </select>
    </label>
    <label>Packages
      <select name="target">
        ${option('listed', 'Only the packages and scopes listed below', f.target, 'listed')}
        ${option('all', 'All of my packages', f.target, 'listed')}
      </select>
    </label>
    <label>Package names (comma-separated)
      <input name="packages" value="${f.packages ?? ''}" placeholder="my-package, @acme/tool" spellcheck="false">
    </label>
    <label>Scopes (comma-separated; every package in them)
      <input name="scopes" value="${f.scopes ?? ''}" placeholder="@acme/*" spellcheck="false">
    </label>
    <label>Org administration: orgs (comma-separated)
      <input name="orgs" value="${f.orgs ?? ''}" placeholder="acme" spellcheck="false">
    </label>
    <label>Org permission
      <select name="orgsPermission">
        ${option('no-access', 'None', f.orgsPermission, 'no-access')}
        ${option('read-only', 'Read only (see members and teams)', f.orgsPermission, 'no-access')}
        ${option('read-write', 'Read and write (manage members and teams)', f.orgsPermission, 'no-access')}
      </select>
    </label>
    <label>Allowed addresses (CIDRs, comma-separated; empty for anywhere)
      <input name="cidr" value="${f.cidr ?? ''}" placeholder="203.0.113.0/24, 2001:db8::/32" spellcheck="false">
    </label>
    <label>Expires after (days)
      <input name="expires" inputmode="numeric" value="${f.expires ?? ''}" placeholder="${`tokens that can write: ${WRITE_DEFAULT_DAYS} by default, at most ${WRITE_MAX_DAYS}`}">
    </label>
    <label class="check"><input type="checkbox" name="bypass2fa" value="1"${f.bypass2fa ? html` checked` : null}> Automation: publish without a one-time password (only for listed packages or scopes, read and write, at most ${String(WRITE_MAX_DAYS)} days)</label>
    <label>Your password
      <input type="password" name="password" autocomplete="current-password" required>
    </label>
    ${
      v.needsCode
        ? html`<label>Code from your authenticator app
      <input name="otp" autocomplete="one-time-code" inputmode="numeric" autocapitalize="none" spellcheck="false" required maxlength="32">
    </label>`
        : null
    }
    <button type="submit" class="primary">Create token</button>
  </form>`;
}

export function tokensPage(v: TokensView): Html {
  const created = v.created
    ? html`<section class="panel" id="new-token">
  <h2>Your new token</h2>
  <p>Copy it now: it is shown this once and cannot be shown again.</p>
  <p><code id="new-token-value">${v.created.token}</code></p>
  <p class="muted">${v.created.name}: ${v.created.summary}${v.created.expiresAt === null ? '' : `; expires ${new Date(v.created.expiresAt).toUTCString()}`}</p>
</section>`
    : null;
  const body = html`<div class="page-head">
  <h1>Access tokens</h1>
  <p class="muted">Tokens let npm and CI act as <strong>${v.viewer.name}</strong>. <a href="/-/web/account">Back to account settings</a></p>
</div>
${alertBox('notice', v.notice)}
${created}
<section class="panel" id="tokens">
  <h2>Live tokens</h2>
  ${tokenRows(v)}
</section>
<section class="panel" id="create">
  <h2>Create a token</h2>
  ${alertBox('error', v.error)}
  <p class="muted">Give a token only what it needs: the packages it publishes, read-only where it only installs, and the addresses it runs from.</p>
  ${createForm(v)}
</section>`;
  return page({ title: 'Access tokens', viewer: v.viewer, csrf: v.csrf, body });
}
