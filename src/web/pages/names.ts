// The administrators' name-safety page: check a name's verdict, allow a refused name after an appeal (recorded with
// its reason), and see reservations and allowed names.
import type { Verdict } from '../../names/similarity.ts';
import { html, type Html } from '../html.ts';
import { alertBox, csrfField, otpField, page, time, type Viewer } from '../layout.ts';

export type NamesAdminView = {
  viewer: Viewer;
  csrf: string;
  /** the administrator's account asks for a one-time password with every change. */
  otp: boolean;
  checked: (Verdict & { reserved: Array<{ pattern: string; org: string }> }) | null;
  allowed: Array<{ name: string; reason: string; created_at: number }>;
  reservations: Array<{ pattern: string; org: string; source: string }>;
  notice: string | null;
  error: string | null;
  now: number;
};

export function namesAdminPage(v: NamesAdminView): Html {
  const c = v.checked;
  const verdict = c
    ? html`<div class="panel"><h2>${c.name}: ${c.verdict === 'block' || c.reserved.length ? html`<span class="badge warn">refused</span>` : c.verdict === 'review' ? html`<span class="badge warn">held for review</span>` : html`<span class="badge ok">allowed</span>`}</h2>
  <ul>${c.reserved.map((r) => html`<li>reserved: matches “${r.pattern}”, reserved for ${r.org}</li>`)}${c.reasons.map((r) => html`<li>${r.rule}: looks like “${r.similar_to}”</li>`)}</ul></div>`
    : null;
  const body = html`<div class="page-head"><h1>Package names</h1><p class="muted">Typosquatting and dependency-confusion checks on first publish (docs/names.md).</p></div>
${alertBox('notice', v.notice)}${alertBox('error', v.error)}
<section class="panel">
  <h2>Check a name</h2>
  <form method="get" action="/-/web/admin/names" class="filters"><input type="text" name="check" required maxlength="214" aria-label="Package name" placeholder="package name"><button type="submit" class="secondary">Check</button></form>
</section>
${verdict}
<section class="panel">
  <h2>Allow a refused name</h2>
  <form method="post" action="/-/web/admin/names/allow" class="stack">${csrfField(v.csrf)}
    <label>Name <input type="text" name="name" required maxlength="214" value="${c?.name ?? ''}"></label>
    <label>Reason (recorded) <input type="text" name="reason" required maxlength="500"></label>
    ${otpField(v.otp)}
    <button type="submit" class="primary">Allow</button>
  </form>
</section>
<section class="panel"><h2>Allowed names</h2>
${v.allowed.length ? html`<table class="list"><tr><th>name</th><th>reason</th><th>when</th></tr>${v.allowed.map((a) => html`<tr><td>${a.name}</td><td>${a.reason}</td><td>${time(a.created_at, v.now)}</td></tr>`)}</table>` : html`<p class="muted">None.</p>`}
</section>
<section class="panel"><h2>Reserved names</h2>
${v.reservations.length ? html`<table class="list"><tr><th>pattern</th><th>organisation</th><th>from</th></tr>${v.reservations.map((r) => html`<tr><td>${r.pattern}</td><td>${r.org}</td><td>${r.source}</td></tr>`)}</table>` : html`<p class="muted">None.</p>`}
</section>`;
  return page({ title: 'Package names', viewer: v.viewer, csrf: v.csrf, staff: 'names', body });
}
