// The vulnerability disclosure policy (GEN-1a), the report form, and the list of reports (all of them for
// administrators, their own for everyone else). SECURITY.md in the repository says the same for Bulwark itself.
import type { SecurityReport } from '../../disclosure/security-reports.ts';
import { html, type Html } from '../html.ts';
import { alertBox, csrfField, otpField, page, time, type Viewer } from '../layout.ts';

export type PolicyView = { viewer: Viewer; csrf: string | null; contacts: string[]; now: number };

export function policyPage(v: PolicyView): Html {
  const emails = v.contacts.filter((c) => c.startsWith('mailto:')).map((c) => c.slice('mailto:'.length));
  const body = html`<div class="page-head"><h1>Security policy</h1><p class="muted">How to report a vulnerability in this registry, and what you can expect from us.</p></div>
<section class="panel prose">
  <h2>How to report</h2>
  <p>Use the <a href="/-/web/security/report">report form</a>: reports reach the registry's administrators only.${emails.length ? html` Or email ${emails.map((e, i) => html`${i ? ', ' : ''}<a href="mailto:${e}">${e}</a>`)}.` : null}
  Please include what is affected, how to reproduce it, and what an attacker could do with it. Do not put the details in a public issue.</p>
  <p>To report a malicious or typosquatting <em>package</em> rather than a flaw in the registry, use the same form and name the package.</p>
  <h2>Scope</h2>
  <p>In scope: this registry's web pages and npm protocol endpoints, its authentication, tokens, access control, publish and install paths, the transparency log, and the Bulwark software it runs.
  Out of scope: denial of service by volume, social engineering of staff or users, physical attacks, findings from automated scanners without a demonstrated impact, and packages' own code (report those to their maintainers, or tell us if a package is malicious).</p>
  <h2>Safe harbor</h2>
  <p>We will not pursue or support legal action against you for research done in good faith within this policy: you avoid privacy violations, data destruction and service disruption, you only access accounts and data you own or have permission to access (stop and tell us as soon as you reach anyone else's), and you give us reasonable time to fix the problem before disclosing it. If a third party takes action against you for such research, we will make it known that you acted under this policy.</p>
  <h2>What you can expect</h2>
  <ul>
    <li>We acknowledge your report within <strong>3 business days</strong>.</li>
    <li>We aim to fix confirmed vulnerabilities within <strong>90 days</strong> of the report, sooner for severe ones, and keep you informed.</li>
    <li><strong>Coordinated disclosure</strong>: we agree a disclosure date with you, publish an advisory when the fix is out, and credit you unless you prefer otherwise.</li>
  </ul>
  <p class="muted">Machine-readable contact details: <a href="/.well-known/security.txt">/.well-known/security.txt</a> (RFC 9116).</p>
</section>`;
  return page({ title: 'Security policy', viewer: v.viewer, csrf: v.csrf, body });
}

export type ReportFormView = {
  viewer: Viewer;
  csrf: string;
  email: string;
  subject: string;
  body: string;
  error: string | null;
};

export function reportFormPage(v: ReportFormView): Html {
  const body = html`<div class="page-head"><h1>Report a vulnerability</h1><p class="muted">Only the registry's administrators can read what you send. See the <a href="/-/web/security">security policy</a>.</p></div>
${alertBox('error', v.error)}
<form method="post" action="/-/web/security/report" class="panel stack">
  ${csrfField(v.csrf)}
  <label>Your email address <input type="email" name="email" required maxlength="320" value="${v.email}"></label>
  <label>Summary <input type="text" name="subject" required maxlength="200" value="${v.subject}"></label>
  <label>Details: what is affected, how to reproduce it, the impact <textarea name="body" required rows="12" minlength="20" maxlength="20000">${v.body}</textarea></label>
  <button type="submit">Send the report</button>
</form>`;
  return page({ title: 'Report a vulnerability', viewer: v.viewer, csrf: v.csrf, width: 'narrow', body });
}

export function reportSentPage(viewer: Viewer, csrf: string | null, id: number): Html {
  const body = html`<div class="panel"><h1>Thank you</h1><p>Your report (number ${String(id)}) reached the administrators. They acknowledge reports within 3 business days.</p>${viewer ? html`<p><a href="/-/web/security/reports">Your reports and their answers</a></p>` : null}</div>`;
  return page({ title: 'Report sent', viewer, csrf, width: 'narrow', body });
}

/** admin: the viewer sees every report and answers them; otp: their account asks for a one-time password with every change. */
export type ReportsView = {
  viewer: Viewer;
  csrf: string;
  otp: boolean;
  reports: SecurityReport[];
  admin: boolean;
  notice: string | null;
  error: string | null;
  now: number;
};

export function reportsPage(v: ReportsView): Html {
  const items = v.reports.map(
    (r) => html`<article class="panel report" id="report-${String(r.id)}">
  <h2>#${String(r.id)} ${r.subject} <span class="badge${r.status === 'new' ? ' warn' : ' ok'}">${r.status}</span></h2>
  <p class="muted">from ${r.reporter_email}, ${time(r.created_at, v.now)}</p>
  <pre class="report-body">${r.body}</pre>
  ${r.answer ? html`<h3>Answer ${r.answered_at ? time(r.answered_at, v.now) : null}</h3><pre class="report-body">${r.answer}</pre>` : null}
  ${
    v.admin
      ? html`<form method="post" action="/-/web/security/reports/${String(r.id)}/answer" class="stack">${csrfField(v.csrf)}<label>Answer <textarea name="answer" rows="4" required maxlength="20000"></textarea></label>${otpField(v.otp)}<button type="submit" class="secondary">Send the answer</button></form>`
      : null
  }
</article>`,
  );
  const body = html`<div class="page-head"><h1>${v.admin ? 'Security reports' : 'Your security reports'}</h1><p class="muted">${String(v.reports.length)} ${v.reports.length === 1 ? 'report' : 'reports'}</p></div>
${alertBox('notice', v.notice)}${alertBox('error', v.error)}
${items.length ? items : html`<p class="muted">No reports.</p>`}`;
  return page({
    title: 'Security reports',
    viewer: v.viewer,
    csrf: v.csrf,
    body,
    ...(v.admin ? { staff: 'security-reports' } : {}),
  });
}
