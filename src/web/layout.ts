// The page shell every HTML response shares: header with search and account links, the content, a footer. No inline
// script or style anywhere (the Content-Security-Policy forbids both), so everything visual is in style.css.
import { html, raw, type Html } from './html.ts';
import { stylesheetHref } from './static.ts';

/**
 * Who is looking at a page; null when signed out. Staff (administrators and moderators) get the staff navigation: a
 * link in the header, and the links on every staff page (staffLinks).
 */
export type Viewer = { name: string; staff?: boolean; admin?: boolean } | null;

export const viewerOf = (user: { name: string; is_admin: number; is_moderator: number }): NonNullable<Viewer> => ({
  name: user.name,
  staff: user.is_admin === 1 || user.is_moderator === 1,
  admin: user.is_admin === 1,
});

/** The pages of the registry's own administration; a staff page names itself so the navigation marks it. */
export type StaffSection = 'moderation' | 'users' | 'names' | 'security-reports';

// Who may open each follows access/decide.ts's STAFF_ACTIONS (moderation: moderators and administrators; the rest:
// administrators). Offering a link the gate refuses would only lead to a 404, so the two must agree (tested).
const STAFF_PAGES: ReadonlyArray<{ section: StaffSection; href: string; label: string; who: 'moderator' | 'admin' }> = [
  { section: 'moderation', href: '/-/web/moderation', label: 'Moderation', who: 'moderator' },
  { section: 'users', href: '/-/web/admin/users', label: 'Users', who: 'admin' },
  { section: 'names', href: '/-/web/admin/names', label: 'Package names', who: 'admin' },
  { section: 'security-reports', href: '/-/web/security/reports', label: 'Security reports', who: 'admin' },
];

/** The staff pages this viewer may open, in navigation order; empty for everyone else. */
export function staffLinks(viewer: Viewer): Array<{ section: StaffSection; href: string; label: string }> {
  if (!viewer?.staff) return [];
  return STAFF_PAGES.filter((p) => p.who === 'moderator' || viewer.admin).map(({ section, href, label }) => ({
    section,
    href,
    label,
  }));
}

/** The one staff navigation, shown on every staff page (page() puts it there when the page names its section). */
function staffNav(viewer: Viewer, current: StaffSection): Html | null {
  const links = staffLinks(viewer);
  if (!links.length) return null;
  return html`<nav class="staff" aria-label="Administration">${links.map(
    (l) => html`<a href="${l.href}"${l.section === current ? html` aria-current="page"` : null}>${l.label}</a>`,
  )}</nav>`;
}

/** The one-time password a form asks for when the account's second-factor policy covers the change it makes. */
export const otpField = (otp: boolean): Html | null =>
  otp
    ? html`<label class="otp">One-time password <small>(your account asks for one on every change)</small><input name="otp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required></label>`
    : null;

export type PageOptions = {
  title: string;
  viewer: Viewer;
  /** The CSRF token for the header's sign-out form; without it a signed-in header shows no sign-out button. */
  csrf?: string | null | undefined;
  /** Prefills the header's search box. */
  query?: string | undefined;
  /** 'narrow' centres a card-sized column (forms); the default is the full content width. */
  width?: 'narrow' | 'wide';
  /** A page of the registry's administration: the staff navigation is shown above it, with this page marked. */
  staff?: StaffSection;
  body: Html;
};

// The shield mark, drawn inline so the header needs no image request. Presentation attributes only (no style=).
export const LOGO = raw(
  '<svg class="logo" viewBox="0 0 24 24" width="24" height="24" aria-hidden="true"><path d="M12 2 4 5v6c0 5 3.4 9.4 8 11 4.6-1.6 8-6 8-11V5l-8-3z" fill="currentColor"/><path d="M8.5 12.5 11 15l4.5-5" fill="none" stroke="#fff" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/></svg>',
);

// A data: URI icon spares every page a /favicon.ico request (which would land on the npm routes as a package name).
const FAVICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24'%3E%3Cpath d='M12 2 4 5v6c0 5 3.4 9.4 8 11 4.6-1.6 8-6 8-11V5l-8-3z' fill='%23c2410c'/%3E%3C/svg%3E";

function accountNav(viewer: Viewer, csrf: string | null | undefined): Html {
  if (!viewer) return html`<a href="/-/web/signin">Sign in</a><a class="button small" href="/-/web/signup">Sign up</a>`;
  const signOut = csrf
    ? html`<form method="post" action="/-/web/signout" class="inline"><input type="hidden" name="_csrf" value="${csrf}"><button type="submit" class="link">Sign out</button></form>`
    : null;
  // Administrators land on the first staff page (the moderation queue) and find the others in the staff navigation.
  const staff = staffLinks(viewer)[0];
  return html`${staff ? html`<a class="staff" href="${staff.href}">${viewer.admin ? 'Administration' : 'Moderation'}</a>` : null}<a href="/-/web/orgs">Organisations</a><a href="/-/web/account" class="who">${viewer.name}</a>${signOut}`;
}

export function page(opts: PageOptions): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${opts.title} · Bulwark</title>
<link rel="stylesheet" href="${stylesheetHref}">
<link rel="icon" href="${FAVICON}">
</head>
<body>
<header class="top">
  <div class="bar">
    <a class="brand" href="/">${LOGO}<span>Bulwark</span></a>
    <form class="search" action="/-/web/search" method="get" role="search">
      <input type="search" name="q" value="${opts.query ?? ''}" placeholder="Search packages" aria-label="Search packages">
      <button type="submit">Search</button>
    </form>
    <nav class="account">${accountNav(opts.viewer, opts.csrf)}</nav>
  </div>
</header>
<main class="${opts.width === 'narrow' ? 'narrow' : 'wide'}">
${opts.staff ? staffNav(opts.viewer, opts.staff) : null}
${opts.body}
</main>
<footer class="bottom"><div class="bar">Bulwark — an npm-compatible package registry</div></footer>
</body>
</html>
`;
}

/** A hidden CSRF field for a form. */
export const csrfField = (token: string): Html => html`<input type="hidden" name="_csrf" value="${token}">`;

/** An error or notice box above a form. */
export const alertBox = (kind: 'error' | 'notice', text: string | null | undefined): Html | null =>
  text ? html`<div class="alert ${kind}" role="${kind === 'error' ? 'alert' : 'status'}">${text}</div>` : null;

const DAY = 24 * 60 * 60 * 1000;

/** "3 days ago", "just now": readable at a glance; the exact time goes in a title attribute. */
export function ago(then: number, now: number): string {
  // A time to come (a token's expiry) reads "in 30 days"; one past, "3 minutes ago".
  const future = then > now;
  const diff = Math.abs(now - then);
  const units: Array<[number, string]> = [
    [365 * DAY, 'year'],
    [30 * DAY, 'month'],
    [DAY, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
  ];
  for (const [ms, name] of units) {
    const n = Math.floor(diff / ms);
    if (n >= 1) return future ? `in ${n} ${name}${n === 1 ? '' : 's'}` : `${n} ${name}${n === 1 ? '' : 's'} ago`;
  }
  return future ? 'in under a minute' : 'just now';
}

/** A timestamp shown relative, with the exact UTC time on hover and in the markup. */
export const time = (then: number, now: number): Html => {
  const iso = new Date(then).toISOString();
  // A date to come is shown too: "in 30 days" alone does not say which day a token stops working.
  const shown = then > now ? `${ago(then, now)} (${iso.slice(0, 10)})` : ago(then, now);
  return html`<time datetime="${iso}" title="${iso.replace('T', ' ').slice(0, 16)} UTC">${shown}</time>`;
};
