// The browser's front door and search results: both list packages as search() returns them, so what a viewer may
// not read never appears here either.
import type { search } from '../../packages/search.ts';
import { html, type Html } from '../html.ts';
import { LOGO, page, time, type Viewer } from '../layout.ts';

type Results = Awaited<ReturnType<typeof search>>;
export type Listed = Results['objects'][number]['package'];

/** The web address of a package page; scoped names keep their readable @scope/name form. */
export const packageHref = (name: string): string =>
  name.startsWith('@')
    ? `/-/web/package/@${encodeURIComponent(name.slice(1, name.indexOf('/')))}/${encodeURIComponent(name.slice(name.indexOf('/') + 1))}`
    : `/-/web/package/${encodeURIComponent(name)}`;

function packageItem(p: Listed, now: number): Html {
  return html`<li class="result">
  <div class="result-head"><a class="name" href="${packageHref(p.name)}">${p.name}</a> <code class="version">${p.version ?? ''}</code></div>
  ${p.description ? html`<p class="description">${p.description}</p>` : null}
  ${p.keywords.length ? html`<p class="keywords">${p.keywords.slice(0, 8).map((k) => html`<a class="chip" href="/-/web/search?q=${encodeURIComponent(`keywords:${k}`)}">${k}</a>`)}</p>` : null}
  <p class="muted fine">${p.publisher ? html`${p.publisher.username} published ` : html`published `}${time(Date.parse(p.date), now)}</p>
</li>`;
}

export type HomeOptions = { viewer: Viewer; csrf: string | null; recent: Listed[]; registryUrl: string; now: number };

export function homePage(o: HomeOptions): Html {
  const body = html`<section class="hero">
  <div class="hero-mark">${LOGO}</div>
  <h1>Bulwark package registry</h1>
  <p class="muted">npm, pnpm, yarn and bun install from it and publish to it unchanged.</p>
  <form class="search big" action="/-/web/search" method="get" role="search">
    <input type="search" name="q" placeholder="Search packages" aria-label="Search packages" autofocus>
    <button type="submit" class="primary">Search</button>
  </form>
  <p class="setup">Use it with npm: <code>npm config set registry ${o.registryUrl}/</code></p>
</section>
<section class="panel">
  <h2>Recently updated</h2>
  ${o.recent.length ? html`<ul class="results">${o.recent.map((p) => packageItem(p, o.now))}</ul>` : html`<p class="muted">No packages have been published yet.</p>`}
</section>`;
  return page({ title: 'Home', viewer: o.viewer, csrf: o.csrf, body });
}

export type SearchOptions = {
  viewer: Viewer;
  csrf: string | null;
  query: string;
  results: Results;
  from: number;
  size: number;
  now: number;
};

export function searchPage(o: SearchOptions): Html {
  const { total, objects } = o.results;
  const link = (from: number) => `/-/web/search?q=${encodeURIComponent(o.query)}${from ? `&from=${from}` : ''}`;
  const prev =
    o.from > 0 ? html`<a class="button secondary" href="${link(Math.max(0, o.from - o.size))}">← Previous</a>` : null;
  const next =
    o.from + o.size < total ? html`<a class="button secondary" href="${link(o.from + o.size)}">Next →</a>` : null;
  const summary = o.query
    ? html`${String(total)} package${total === 1 ? '' : 's'} found for “${o.query}”`
    : html`${String(total)} package${total === 1 ? '' : 's'}`;
  const body = html`<div class="page-head"><h1>Search</h1><p class="muted">${summary}</p></div>
${objects.length ? html`<ul class="results">${objects.map((r) => packageItem(r.package, o.now))}</ul>` : html`<div class="panel"><p class="muted">No packages match. Try fewer words, or <code>keywords:</code>, <code>scope:</code> or <code>maintainer:</code> qualifiers.</p></div>`}
${prev || next ? html`<nav class="pager">${prev}<span></span>${next}</nav>` : null}`;
  return page({
    title: o.query ? `Search: ${o.query}` : 'Search',
    viewer: o.viewer,
    csrf: o.csrf,
    query: o.query,
    body,
  });
}

export type ErrorOptions = { status: number; message: string; viewer: Viewer };

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Sign in required',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Conflict',
  413: 'Too large',
  429: 'Too many attempts',
};

export function errorPage(o: ErrorOptions): Html {
  const title = TITLES[o.status] ?? (o.status >= 500 ? 'Something went wrong' : 'Request refused');
  const message = o.status === 404 ? 'There is nothing here, or you do not have access to it.' : o.message;
  const body = html`<section class="card error-page">
  <p class="status">${String(o.status)}</p>
  <h1>${title}</h1>
  <p>${message}</p>
  <p class="actions">${o.status === 401 && !o.viewer ? html`<a class="button primary" href="/-/web/signin">Sign in</a>` : null}<a class="button secondary" href="/">Go to the home page</a></p>
</section>`;
  return page({ title, viewer: o.viewer, width: 'narrow', body });
}

/** A package whose versions were all unpublished or removed: say so, rather than a bare 404. */
export function unpublishedPage(o: { name: string; since: number; viewer: Viewer; csrf: string | null }): Html {
  const body = html`<section class="card error-page">
  <p class="status">404</p>
  <h1>${o.name}</h1>
  <p>This package was unpublished on ${new Date(o.since).toISOString().slice(0, 10)} and has no versions left. Its versions can never be published again; see the <a href="/-/web/policies/unpublish">unpublish policy</a>.</p>
  <p class="actions"><a class="button secondary" href="/">Go to the home page</a></p>
</section>`;
  return page({ title: o.name, viewer: o.viewer, csrf: o.csrf, width: 'narrow', body });
}
