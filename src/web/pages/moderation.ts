// Reporting a package (the form reached from a package page, and the reporter's own list) and the moderation queue
// (the list ordered by risk, and one page per item with the reports, the scanner's evidence, the publisher's recent
// activity and the one-click actions).
import type { ItemDetail, QueueItem } from '../../safety/moderation.ts';
import { REASONS, REASON_LABELS, type ReportView } from '../../safety/reports.ts';
import type { FieldChange, VersionDiff } from '../../safety/version-diff.ts';
import { html, type Html } from '../html.ts';
import { alertBox, csrfField, otpField, page, time, type Viewer } from '../layout.ts';
import { packageHref } from './browse.ts';

export const reportFormHref = (name: string, version?: string | null): string =>
  `/-/web/report?package=${encodeURIComponent(name)}${version ? `&version=${encodeURIComponent(version)}` : ''}`;
export const MODERATION_PATH = '/-/web/moderation';
export const itemHref = (id: number): string => `${MODERATION_PATH}/${id}`;

const spec = (name: string | null, version: string | null) => `${name ?? ''}${version ? `@${version}` : ''}`;

export type ReportFormView = {
  viewer: Viewer;
  csrf: string;
  name: string;
  versions: string[];
  version: string;
  reason: string;
  details: string;
  error: string | null;
};

export function reportFormPage(v: ReportFormView): Html {
  const body = html`<div class="page-head"><h1>Report ${v.name}</h1><p class="muted">Tell the registry's moderators about a package that is malicious, suspicious, spam or a typosquat. They see your account name with the report; you get a receipt by email, and another when they have decided.</p></div>
${alertBox('error', v.error)}
<form method="post" action="/-/web/report" class="panel stack report-form">
  ${csrfField(v.csrf)}
  <input type="hidden" name="package" value="${v.name}">
  <label>Version
    <select name="version"><option value="">every version (the whole package)</option>${v.versions.map((x) => html`<option value="${x}"${x === v.version ? html` selected` : null}>${x}</option>`)}</select>
  </label>
  <fieldset class="reasons"><legend>Reason</legend>
    ${REASONS.map((r) => html`<label class="check"><input type="radio" name="reason" value="${r}" required${r === v.reason ? html` checked` : null}> <strong>${r}</strong>: ${REASON_LABELS[r]}</label>`)}
  </fieldset>
  <label>Details <small>what you found: which files, what they do, links to evidence</small><textarea name="details" required rows="8" minlength="10" maxlength="5000">${v.details}</textarea></label>
  <button type="submit">Send the report</button>
</form>`;
  return page({ title: `Report ${v.name}`, viewer: v.viewer, csrf: v.csrf, width: 'narrow', body });
}

export function reportFiledPage(viewer: Viewer, csrf: string, r: ReportView, duplicate: boolean): Html {
  const body = html`<div class="panel report-receipt">
  <h1>${duplicate ? 'You already reported this' : 'Thank you'}</h1>
  <p>${duplicate ? html`Your report <strong>#${String(r.id)}</strong> of ${spec(r.package, r.version)} is already with the moderators; it is ${r.status === 'open' ? 'waiting for their decision' : html`resolved: ${r.outcome ?? ''}`}.` : html`Your report <strong>#${String(r.id)}</strong> of ${spec(r.package, r.version)} reached the moderators. A receipt is on its way to your email address, and you will be emailed their decision.`}</p>
  <p><a href="/-/web/reports">Your reports</a> · <a href="${packageHref(r.package)}">Back to ${r.package}</a></p>
</div>`;
  return page({ title: 'Report sent', viewer, csrf, width: 'narrow', body });
}

const statusBadge = (status: string, outcome: string | null) =>
  status === 'open'
    ? html`<span class="badge warn">open</span>`
    : html`<span class="badge ok">${outcome ?? 'resolved'}</span>`;

export function ownReportsPage(viewer: Viewer, csrf: string, reports: ReportView[], now: number): Html {
  const rows = reports.map(
    (r) =>
      html`<tr><td>#${String(r.id)}</td><td><a href="${packageHref(r.package)}">${spec(r.package, r.version)}</a></td><td>${r.reason}</td><td>${statusBadge(r.status, r.outcome)}</td><td>${time(Date.parse(r.created), now)}</td></tr>`,
  );
  const body = html`<div class="page-head"><h1>Your reports</h1><p class="muted">Packages you reported to the moderators, and what they decided.</p></div>
<section class="panel">${rows.length ? html`<table class="list"><thead><tr><th>#</th><th>package</th><th>reason</th><th>status</th><th>sent</th></tr></thead><tbody>${rows}</tbody></table>` : html`<p class="muted">You have not reported any package.</p>`}</section>`;
  return page({ title: 'Your reports', viewer, csrf, body });
}

const SOURCE_LABEL: Record<string, string> = {
  report: 'user reports',
  scan: 'publish scan',
  'security-form': 'security report',
};

const riskBadge = (risk: number) =>
  html`<span class="badge risk ${risk >= 70 ? 'risk-high' : risk >= 40 ? 'risk-mid' : 'risk-low'}">${String(risk)}</span>`;

export type QueueView = { viewer: Viewer; csrf: string; items: QueueItem[]; status: 'open' | 'resolved'; now: number };

export function queuePage(v: QueueView): Html {
  const rows = v.items.map(
    (i) => html`<tr class="queue-item">
  <td>${riskBadge(i.risk)}</td>
  <td><a href="${itemHref(i.id)}">${i.package ? spec(i.package, i.version) : html`security report #${String(i.refId ?? '')}`}</a></td>
  <td>${SOURCE_LABEL[i.source] ?? i.source}</td>
  <td>${i.summary}</td>
  <td>${i.publisher ?? '—'}</td>
  <td>${v.status === 'open' ? time(i.createdAt, v.now) : html`${i.resolution ?? ''} ${i.resolvedAt ? time(i.resolvedAt, v.now) : null}`}</td>
</tr>`,
  );
  const body = html`<div class="page-head"><h1>Moderation queue</h1><p class="muted">Reports, publish-scan findings and security reports, highest risk first.</p></div>
<p class="tabs"><a href="${MODERATION_PATH}"${v.status === 'open' ? html` aria-current="page"` : null}>Open</a> · <a href="${MODERATION_PATH}?status=resolved"${v.status === 'resolved' ? html` aria-current="page"` : null}>Resolved</a></p>
<section class="panel">
  <table class="list queue">
    <thead><tr><th>risk</th><th>package</th><th>source</th><th>summary</th><th>publisher</th><th>${v.status === 'open' ? 'queued' : 'outcome'}</th></tr></thead>
    <tbody>${rows.length ? rows : html`<tr><td colspan="6" class="muted">Nothing ${v.status === 'open' ? 'waiting' : 'resolved yet'}.</td></tr>`}</tbody>
  </table>
</section>`;
  return page({ title: 'Moderation queue', viewer: v.viewer, csrf: v.csrf, staff: 'moderation', body });
}

/**
 * otp: the viewer's account asks for a one-time password with every change. can: what the gate lets the viewer do
 * beyond the queue's own actions (lock an administrator's account, open the publisher's account page).
 */
export type ItemView = {
  viewer: Viewer;
  csrf: string;
  otp: boolean;
  detail: ItemDetail;
  changes: { previous: string | null; diff: VersionDiff } | null;
  can: { lockAdmins: boolean; accounts: boolean };
  notice: string | null;
  error: string | null;
  now: number;
};

const size = (n: number | null) => (n === null ? '—' : `${String(n)} B`);
const fieldRows = (title: string, rows: FieldChange[]) =>
  rows.length
    ? html`<h3>${title}</h3><table class="list compact"><tbody>${rows.map((r) => html`<tr><td><code>${r.name}</code></td><td>${r.before ?? html`<span class="muted">none</span>`}</td><td>→ ${r.after ?? html`<span class="muted">removed</span>`}</td></tr>`)}</tbody></table>`
    : null;

/** What changed since the previous version: takeovers show as a new install script or one edited file. */
function changesPanel(name: string, changes: NonNullable<ItemView['changes']>): Html {
  const { previous, diff } = changes;
  const files = [
    ...diff.added.map((f) => ['added', f] as const),
    ...diff.changed.map((f) => ['changed', f] as const),
    ...diff.removed.map((f) => ['removed', f] as const),
  ];
  return html`<section class="panel version-diff"><h2>${previous ? html`Changes since ${name}@${previous}` : 'First version: every file is new'}</h2>
  ${fieldRows('Install scripts', diff.scripts)}${fieldRows('Dependencies', diff.dependencies)}
  <h3>Files <span class="count">${String(files.length)}</span></h3>
  ${files.length ? html`<ul class="plain diff-files">${files.map(([how, f]) => html`<li><span class="badge ${how === 'removed' ? 'private' : 'warn'}">${how}</span> <code>${f.path}</code> ${size(f.before)} → ${size(f.after)}${f.patch ? html`<details><summary>diff</summary><pre class="evidence">${f.patch}</pre></details>` : null}</li>`)}</ul>` : html`<p class="muted">No file changed.</p>`}
  ${diff.omitted.length ? html`<p class="fine">Not shown: ${diff.omitted.join('; ')}</p>` : null}
</section>`;
}

// One form, one button per action (formaction): the optional reason is shared, every click is one POST.
const actionButton = (id: number, action: string, label: string, danger = false): Html =>
  html`<button type="submit" class="${danger ? 'danger' : 'secondary'}" formaction="${itemHref(id)}/${action}">${label}</button>`;

export function itemPage(v: ItemView): Html {
  const { item, reports, publisher, history, securityReport, versionState } = v.detail;
  const title = item.package ? spec(item.package, item.version) : `Security report #${String(item.refId ?? '')}`;
  const evidence =
    item.source === 'scan'
      ? html`<section class="panel"><h2>Scanner evidence</h2><pre class="evidence">${JSON.stringify(item.evidence, null, 2)}</pre></section>`
      : null;
  const reportList = reports.length
    ? html`<section class="panel"><h2>Reports <span class="count">${String(reports.length)}</span></h2>${reports.map(
        (r) =>
          html`<article class="report" id="report-${String(r.id)}"><h3>#${String(r.id)} <span class="badge warn">${r.reason}</span> by ${r.reporter}, ${time(r.createdAt, v.now)}</h3><pre class="report-body">${r.details}</pre></article>`,
      )}</section>`
    : null;
  const security = securityReport
    ? html`<section class="panel"><h2>Security report #${String(securityReport.id)}</h2><p class="muted">from ${securityReport.email}; answer it on the <a href="/-/web/security/reports#report-${String(securityReport.id)}">security reports page</a>.</p><pre class="report-body">${securityReport.body}</pre></section>`
    : null;
  const activity = publisher
    ? html`<section class="panel publisher"><h2>Publisher: ${publisher.name}${publisher.disabled ? html` <span class="badge warn">locked</span>` : null}${publisher.isAdmin ? html` <span class="badge private">admin</span>` : null}</h2>
  <p class="muted">account created ${time(publisher.createdAt, v.now)}; ${String(publisher.last24h)} publishes in the last 24 hours, ${String(publisher.last7d)} in the last 7 days${v.can.accounts ? html`; <a href="/-/web/admin/users/${encodeURIComponent(publisher.name)}">account</a>` : null}</p>
  <table class="list compact recent-publishes"><thead><tr><th>recent publishes</th><th>state</th><th>when</th></tr></thead><tbody>${publisher.publishes.map((p) => html`<tr><td><a href="${packageHref(p.package)}">${p.package}@${p.version}</a></td><td>${p.state}</td><td>${time(p.publishedAt, v.now)}</td></tr>`)}</tbody></table>
  ${publisher.changes.length ? html`<h3>Other recent package changes</h3><ul class="plain">${publisher.changes.map((c) => html`<li>${c.kind} on ${c.subject}, ${time(c.at, v.now)}</li>`)}</ul>` : null}
</section>`
    : null;
  const id = item.id;
  const buttons: Html[] = [];
  if (item.status === 'open') buttons.push(actionButton(id, 'dismiss', 'Dismiss'));
  if (item.package && item.version && versionState === 'visible')
    buttons.push(actionButton(id, 'quarantine', 'Quarantine version'));
  // 'held': the publish scan kept it back before it was ever served; releasing publishes it.
  if (item.package && item.version && (versionState === 'quarantined' || versionState === 'held'))
    buttons.push(actionButton(id, 'release', versionState === 'held' ? 'Release held version' : 'Release version'));
  if (item.package && versionState !== 'removed')
    buttons.push(
      actionButton(id, 'remove', item.version ? 'Remove version as malicious' : 'Remove package as malicious', true),
    );
  if (publisher && !publisher.disabled && (!publisher.isAdmin || v.can.lockAdmins))
    buttons.push(actionButton(id, 'lock', `Lock ${publisher.name} and revoke their tokens`, true));
  const body = html`<div class="page-head"><h1>${title} ${riskBadge(item.risk)}</h1>
  <p class="muted">${SOURCE_LABEL[item.source] ?? item.source} · ${item.summary} · ${statusBadge(item.status, item.resolution)}${versionState ? html` · version is ${versionState}` : null}${item.package ? html` · <a href="${packageHref(item.package)}">package page</a>` : null}</p></div>
${alertBox('notice', v.notice)}${alertBox('error', v.error)}
<section class="panel moderation-actions"><h2>Actions</h2>
${buttons.length ? html`<form method="post" action="${itemHref(id)}/dismiss" class="stack">${csrfField(v.csrf)}<label>Reason <small>(optional; recorded, and given to the lifecycle and advisory for removals)</small><input name="reason" maxlength="500" value="${history.at(-1)?.reason ?? ''}"></label>${otpField(v.otp)}<div class="action-row">${buttons}</div></form>` : html`<p class="muted">Nothing left to do.</p>`}
<p class="fine">Every action is recorded with your name. Removing is final: the version is never served again and its name@version can never be published again.</p></section>
${reportList}${security}${evidence}${v.changes && item.package ? changesPanel(item.package, v.changes) : null}${activity}
${history.length ? html`<section class="panel"><h2>History</h2><ul class="history">${history.map((h) => html`<li><span class="when">${time(h.at, v.now)}</span> ${h.action} by ${h.by}${h.reason ? html` — ${h.reason}` : null}</li>`)}</ul></section>` : null}
<p><a href="${MODERATION_PATH}">← Back to the queue</a></p>`;
  return page({ title: `${title} · Moderation`, viewer: v.viewer, csrf: v.csrf, staff: 'moderation', body });
}
