// Pages for organisations, teams, members and package access. What each viewer sees of the forms follows what the
// gate would let them do (owners and admins manage people; maintainers manage maintainers), but the pages never decide:
// every POST goes through the same gate and decide() as npm's own commands.
import type { OrgRole, TeamPermission } from '../../access/decide.ts';
import type { TeamDetail } from '../../access/orgs.ts';
import { html, type Html } from '../html.ts';
import { alertBox, csrfField, page, type Viewer } from '../layout.ts';

export const orgHref = (org: string): string => `/-/web/org/${encodeURIComponent(org)}`;
export const accessHref = (pkg: string): string => `/-/web/access?package=${encodeURIComponent(pkg)}`;

type Common = { viewer: Viewer; csrf: string; error?: string | null; notice?: string | null; otp: boolean };

/** Accounts that protect writes with a second factor type their current code into every form that changes something. */
const otpField = (otp: boolean): Html | null =>
  otp
    ? html`<label class="otp">One-time password <small>(your account asks for one on every change)</small><input name="otp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required></label>`
    : null;

const roleBadge = (role: OrgRole): Html => html`<span class="badge role-${role}">${role}</span>`;
const permBadge = (p: TeamPermission | 'read' | 'write'): Html => {
  const rw = p === 'read-write' || p === 'write';
  return html`<span class="badge ${rw ? 'ok' : ''}">${rw ? 'read-write' : 'read-only'}</span>`;
};

function post(
  c: Common,
  action: string,
  fields: Record<string, string>,
  button: string,
  cls = 'secondary small',
): Html {
  return html`<form method="post" action="${action}" class="inline">${csrfField(c.csrf)}${Object.entries(fields).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}${c.otp ? html`<input name="otp" class="otp-inline" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" placeholder="code" aria-label="One-time password" required>` : null}<button type="submit" class="${cls}">${button}</button></form>`;
}

export type OrgsView = Common & { orgs: Array<{ name: string; role: OrgRole }>; name?: string };

export function orgsPage(v: OrgsView): Html {
  const rows = v.orgs.map(
    (o) => html`<tr><td><a href="${orgHref(o.name)}">@${o.name}</a></td><td>${roleBadge(o.role)}</td></tr>`,
  );
  const body = html`<div class="page-head">
  <h1>Organisations</h1>
  <p class="muted">An organisation is a scope shared by its members. Owners and admins manage people and teams; publishing comes from being a package’s maintainer or from a team’s read-write access, never from a role alone.</p>
</div>
${alertBox('error', v.error)}${alertBox('notice', v.notice)}
<div class="org-grid">
<section class="panel">
  <h2>Yours</h2>
  <table class="list">
    <thead><tr><th>Organisation</th><th>Your role</th></tr></thead>
    <tbody>${rows.length ? rows : html`<tr><td colspan="2" class="muted">You are not in any organisation yet.</td></tr>`}</tbody>
  </table>
</section>
<section class="panel">
  <h2>Create an organisation</h2>
  <form method="post" action="/-/web/orgs" class="stack">
    ${csrfField(v.csrf)}
    <label>Name <small>Packages will be named @name/…; a scope you already own becomes shared, its packages unchanged.</small>
      <span class="scoped-input"><span>@</span><input name="name" value="${v.name ?? ''}" required maxlength="50" pattern="[a-z0-9][a-z0-9._\\-]*" autocapitalize="none" spellcheck="false"></span></label>
    ${otpField(v.otp)}
    <button type="submit" class="primary">Create organisation</button>
  </form>
</section>
</div>`;
  return page({ title: 'Organisations', viewer: v.viewer, csrf: v.csrf, body });
}

export type OrgView = Common & {
  org: string;
  myRole: OrgRole | null;
  manage: boolean;
  owner: boolean;
  members: Record<string, OrgRole>;
  teams: TeamDetail[];
  packages: Record<string, 'read' | 'write' | 'none'>;
};

export function orgPage(v: OrgView): Html {
  const base = orgHref(v.org);
  const roles: OrgRole[] = v.owner ? ['developer', 'admin', 'owner'] : ['developer', 'admin'];
  const roleSelect = (current: OrgRole | null) =>
    html`<select name="role" aria-label="Role">${roles.map((r) => html`<option value="${r}"${r === current ? html` selected` : null}>${r}</option>`)}</select>`;
  const memberRows = Object.entries(v.members).map(([name, role]) => {
    const editable = v.manage && (v.owner || role !== 'owner');
    return html`<tr>
  <td>${name}</td>
  <td>${roleBadge(role)}</td>
  <td class="right">${
    editable
      ? html`<form method="post" action="${base}/members" class="inline role-form">${csrfField(v.csrf)}<input type="hidden" name="user" value="${name}">${roleSelect(role)}${v.otp ? html`<input name="otp" class="otp-inline" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" placeholder="code" aria-label="One-time password" required>` : null}<button type="submit" class="secondary small">Change</button></form> ${post(v, `${base}/members/remove`, { user: name }, 'Remove', 'danger small')}`
      : null
  }</td>
</tr>`;
  });
  const teamCards = v.teams.map((t) => {
    const tb = `${base}/teams/${encodeURIComponent(t.name)}`;
    const pkgs = Object.entries(t.packages);
    return html`<article class="team">
  <header><h3>@${v.org}:${t.name}</h3>${v.manage ? post(v, `${tb}/delete`, {}, 'Delete team', 'danger small') : null}</header>
  ${t.description ? html`<p class="muted fine">${t.description}</p>` : null}
  <div class="team-cols">
    <div><h4>Members</h4><ul class="plain">${t.members.length ? t.members.map((m) => html`<li>${m}${v.manage ? html` ${post(v, `${tb}/members/remove`, { user: m }, 'Remove', 'link-danger')}` : null}</li>`) : html`<li class="muted">No members.</li>`}</ul>
      ${v.manage ? html`<form method="post" action="${tb}/members" class="inline add-row">${csrfField(v.csrf)}<input name="user" placeholder="username" aria-label="Username" required>${v.otp ? html`<input name="otp" class="otp-inline" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" placeholder="code" aria-label="One-time password" required>` : null}<button type="submit" class="secondary small">Add</button></form>` : null}</div>
    <div><h4>Packages</h4><ul class="plain">${pkgs.length ? pkgs.map(([p, perm]) => html`<li><a href="${accessHref(p)}">${p}</a> ${permBadge(perm)}</li>`) : html`<li class="muted">No access granted.</li>`}</ul></div>
  </div>
</article>`;
  });
  const pkgRows = Object.entries(v.packages).map(
    ([p, perm]) =>
      html`<tr><td>${perm === 'none' ? p : html`<a href="/-/web/package/${p}">${p}</a>`}</td><td>${perm === 'none' ? html`<span class="muted">none — you manage its teams’ access</span>` : permBadge(perm)}</td><td class="right"><a href="${accessHref(p)}">Access</a></td></tr>`,
  );
  const body = html`<div class="page-head">
  <h1>@${v.org}</h1>
  <p class="muted">${v.myRole ? html`You are ${v.myRole === 'admin' ? 'an' : 'a'} ${roleBadge(v.myRole)} of this organisation.` : 'You are viewing this organisation as a registry administrator.'}
  ${Object.keys(v.members).length} ${Object.keys(v.members).length === 1 ? 'member' : 'members'}, ${v.teams.length} ${v.teams.length === 1 ? 'team' : 'teams'}.</p>
</div>
${alertBox('error', v.error)}${alertBox('notice', v.notice)}
<section class="panel" id="members">
  <h2>Members</h2>
  <table class="list">
    <thead><tr><th>User</th><th>Role</th><th></th></tr></thead>
    <tbody>${memberRows}</tbody>
  </table>
  ${
    v.manage
      ? html`<form method="post" action="${base}/members" class="filters add-member">${csrfField(v.csrf)}<input name="user" placeholder="username" aria-label="Username" required>${roleSelect('developer')}${otpField(v.otp)}<button type="submit" class="primary">Add member</button></form>
  <p class="muted fine">New members join the developers team, which may create packages in @${v.org}. Roles never grant publishing: an admin manages people and teams; to publish an existing package one needs a team with read-write access or to be its maintainer.</p>`
      : null
  }
</section>
<section class="panel" id="teams">
  <h2>Teams</h2>
  <div class="teams">${teamCards}</div>
  ${
    v.manage
      ? html`<form method="post" action="${base}/teams" class="filters add-team">${csrfField(v.csrf)}<input name="name" placeholder="team name" aria-label="Team name" required maxlength="50"><input name="description" placeholder="description (optional)" aria-label="Description" maxlength="500">${otpField(v.otp)}<button type="submit" class="primary">Create team</button></form>`
      : null
  }
</section>
<section class="panel" id="packages">
  <h2>Packages</h2>
  <table class="list">
    <thead><tr><th>Package</th><th>Your access</th><th></th></tr></thead>
    <tbody>${pkgRows.length ? pkgRows : html`<tr><td colspan="3" class="muted">None yet.</td></tr>`}</tbody>
  </table>
</section>`;
  const danger = v.owner
    ? html`
<section class="panel" id="delete">
  <h2>Delete this organisation</h2>
  <p class="muted">Members, teams and teams’ access go; packages stay with their maintainers, and @${v.org} becomes your own scope.</p>
  <form method="post" action="${base}/delete" class="filters">${csrfField(v.csrf)}<input name="confirm" placeholder="type ${v.org} to confirm" aria-label="Organisation name" required>${otpField(v.otp)}<button type="submit" class="danger">Delete organisation</button></form>
</section>`
    : null;
  return page({ title: `@${v.org}`, viewer: v.viewer, csrf: v.csrf, body: html`${body}${danger}` });
}

export type AccessView = Common & {
  name: string;
  access: 'public' | 'restricted';
  org: string | null;
  maintainers: string[];
  teams: Array<{ team: string; permission: TeamPermission }>;
  orgTeams: string[];
  canOwners: boolean;
  canTeams: boolean;
};

export function accessPage(v: AccessView): Html {
  const hidden = { package: v.name };
  const body = html`<div class="page-head">
  <h1>Access to <a href="/-/web/package/${v.name}">${v.name}</a></h1>
  <p class="muted">${v.access === 'restricted' ? html`<span class="badge private">restricted</span> Only its maintainers and teams can install it.` : html`<span class="badge ok">public</span> Anyone can install it.`} Maintainers and teams with read-write access can publish.</p>
</div>
${alertBox('error', v.error)}${alertBox('notice', v.notice)}
<div class="org-grid">
<section class="panel" id="maintainers">
  <h2>Maintainers</h2>
  <ul class="plain">${v.maintainers.map((m) => html`<li>${m}${v.canOwners && v.maintainers.length > 1 ? html` ${post(v, '/-/web/access/maintainers/remove', { ...hidden, user: m }, 'Remove', 'link-danger')}` : null}</li>`)}</ul>
  ${
    v.canOwners
      ? html`<form method="post" action="/-/web/access/maintainers" class="filters">${csrfField(v.csrf)}<input type="hidden" name="package" value="${v.name}"><input name="user" placeholder="username" aria-label="Username" required>${otpField(v.otp)}<button type="submit" class="primary">Add maintainer</button></form>`
      : html`<p class="muted fine">Only maintainers can change the maintainers (npm owner add/rm).</p>`
  }
</section>
<section class="panel" id="teams">
  <h2>Teams</h2>
  ${
    v.org === null
      ? html`<p class="muted">Teams belong to organisations; this package is not in one.</p>`
      : html`<table class="list">
    <thead><tr><th>Team</th><th>Access</th><th></th></tr></thead>
    <tbody>${
      v.teams.length
        ? v.teams.map(
            (t) =>
              html`<tr><td>@${t.team}</td><td>${permBadge(t.permission)}</td><td class="right">${v.canTeams ? post(v, '/-/web/access/teams/remove', { ...hidden, team: t.team }, 'Revoke', 'danger small') : null}</td></tr>`,
          )
        : html`<tr><td colspan="3" class="muted">No team has access.</td></tr>`
    }</tbody>
  </table>
  ${
    v.canTeams
      ? html`<form method="post" action="/-/web/access/teams" class="filters">${csrfField(v.csrf)}<input type="hidden" name="package" value="${v.name}">
    <select name="team" aria-label="Team">${v.orgTeams.map((t) => html`<option value="${t}">@${t}</option>`)}</select>
    <select name="permission" aria-label="Permission"><option value="read-only">read-only</option><option value="read-write">read-write</option></select>${otpField(v.otp)}
    <button type="submit" class="primary">Grant</button></form>`
      : html`<p class="muted fine">Only owners and admins of @${v.org} can grant teams access (npm access grant).</p>`
  }`
  }
</section>
</div>`;
  return page({ title: `Access · ${v.name}`, viewer: v.viewer, csrf: v.csrf, body });
}
