// The package page: README, install command, versions with publish times, dist-tags, maintainers. Built from the
// same cached full packument npm clients read, so the page can never show a version the protocol does not.
import semver from 'semver';
import { packageHref } from './browse.ts';
import { html, type Html } from '../html.ts';
import { page, time, type Viewer } from '../layout.ts';
import { renderReadme } from '../markdown.ts';

export type PackageView = {
  name: string;
  description: string;
  latest: string | null;
  license: string | null;
  homepage: string | null;
  repository: string | null;
  keywords: string[];
  distTags: Array<{ tag: string; version: string }>;
  /** newest first. */
  versions: Array<{ version: string; publishedAt: number; deprecated: boolean }>;
  maintainers: string[];
  /** how many users starred it (npm star): the packument's `users`. */
  stars: number;
  modifiedAt: number;
  readme: Html | null;
  /** the latest version's runtime dependencies (name and range, as written), and its size figures from dist. */
  dependencies: Array<{ name: string; range: string }>;
  unpackedSize: number | null;
  fileCount: number | null;
};

/** What the page shows beyond the packument, per request: downloads, and the dependents this viewer may read. */
export type PackageExtras = { weeklyDownloads: number; dependents: { total: number; names: string[] } };

/** The web address of a version's page. */
export const versionHref = (name: string, version: string): string =>
  `${packageHref(name)}/v/${encodeURIComponent(version)}`;

/** The dependencies a manifest declares for installs (dependencies, optionalDependencies), in name order. */
export function declaredDependencies(manifest: Record<string, unknown>): Array<{ name: string; range: string }> {
  const out = new Map<string, string>();
  for (const field of ['dependencies', 'optionalDependencies']) {
    const deps = manifest[field];
    if (!deps || typeof deps !== 'object' || Array.isArray(deps)) continue;
    for (const [name, range] of Object.entries(deps as Record<string, unknown>))
      if (typeof range === 'string') out.set(name, range);
  }
  return [...out].map(([name, range]) => ({ name, range })).sort((a, b) => (a.name < b.name ? -1 : 1));
}

const count = (v: unknown): number | null => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null);

/** 1234567 → "1.2 MB": decimal units, as npm prints unpacked sizes. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB'];
  let v = n;
  let i = -1;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v >= 100 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** A dependency's name as a link to its page here (a missing one is a plain 404 page, as for any name). */
export const dependencyLink = (name: string): Html => html`<a href="${packageHref(name)}">${name}</a>`;

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? v.trim() : null);

/** Only http(s) links leave this page; anything else in a manifest (javascript:, data:, file:) is dropped. */
export function webUrl(raw: unknown): string | null {
  const s = str(raw);
  if (!s) return null;
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
  } catch {
    return null;
  }
}

/** A browsable URL for package.json's repository field, in its common forms (git+https, git://, git@host:, shorthand). */
export function repositoryUrl(repo: unknown): string | null {
  const raw = typeof repo === 'object' && repo !== null ? (repo as { url?: unknown }).url : repo;
  let s = str(raw);
  if (!s) return null;
  const shorthand = /^(?:(github|gitlab|bitbucket):)?([\w.-]+\/[\w.-]+)$/.exec(s);
  if (shorthand)
    s = `https://${shorthand[1] === 'gitlab' ? 'gitlab.com' : shorthand[1] === 'bitbucket' ? 'bitbucket.org' : 'github.com'}/${shorthand[2]}`;
  s = s
    .replace(/^git\+/, '')
    .replace(/^git:\/\//, 'https://')
    .replace(/^ssh:\/\/git@/, 'https://')
    .replace(/^git@([^:/]+):/, 'https://$1/')
    .replace(/\.git$/, '');
  return webUrl(s);
}

/** The page's facts from a full packument document. */
export function packageView(doc: Record<string, unknown>): PackageView {
  const versions = (doc.versions ?? {}) as Record<string, Record<string, unknown>>;
  const times = (doc.time ?? {}) as Record<string, string>;
  const tags = (doc['dist-tags'] ?? {}) as Record<string, string>;
  const latest = tags.latest ?? null;
  const latestManifest = (latest && versions[latest]) || {};
  const license = str(latestManifest.license) ?? str((latestManifest.license as { type?: unknown } | undefined)?.type);
  const dist = (latestManifest.dist ?? {}) as Record<string, unknown>;
  return {
    name: String(doc.name),
    description: str(doc.description) ?? '',
    latest,
    license,
    homepage: webUrl(doc.homepage),
    repository: repositoryUrl(doc.repository),
    keywords: Array.isArray(doc.keywords)
      ? doc.keywords.filter((k): k is string => typeof k === 'string').slice(0, 20)
      : [],
    distTags: Object.entries(tags)
      .map(([tag, version]) => ({ tag, version }))
      .sort((a, b) => (a.tag === 'latest' ? -1 : b.tag === 'latest' ? 1 : a.tag.localeCompare(b.tag))),
    versions: Object.keys(versions)
      .map((version) => ({
        version,
        publishedAt: Date.parse(times[version] ?? '') || 0,
        deprecated: typeof versions[version]?.deprecated === 'string',
      }))
      .sort((a, b) => b.publishedAt - a.publishedAt || semver.rcompare(a.version, b.version)),
    maintainers: Array.isArray(doc.maintainers)
      ? (doc.maintainers as Array<{ name?: unknown }>).map((m) => String(m.name))
      : [],
    stars: doc.users && typeof doc.users === 'object' ? Object.keys(doc.users).length : 0,
    modifiedAt: Date.parse(times.modified ?? '') || 0,
    readme: str(doc.readme) ? renderReadme(String(doc.readme)) : null,
    dependencies: declaredDependencies(latestManifest),
    unpackedSize: count(dist.unpackedSize),
    fileCount: count(dist.fileCount),
  };
}

const SHOWN_VERSIONS = 25;

export type PackagePageOptions = {
  view: PackageView;
  extras: PackageExtras;
  access: 'public' | 'restricted';
  viewer: Viewer;
  csrf: string | null;
  now: number;
};

export function packagePage({ view: v, extras, access, viewer, csrf, now }: PackagePageOptions): Html {
  const latestAt = v.versions.find((x) => x.version === v.latest)?.publishedAt ?? v.modifiedAt;
  const versionRow = (x: PackageView['versions'][number]) =>
    html`<tr><td><a href="${versionHref(v.name, x.version)}"><code>${x.version}</code></a>${x.deprecated ? html` <span class="badge warn">deprecated</span>` : null}</td><td class="right">${time(x.publishedAt, now)}</td></tr>`;
  const shown = v.versions.slice(0, SHOWN_VERSIONS);
  const rest = v.versions.slice(SHOWN_VERSIONS);

  const body = html`<div class="pkg-head">
  <h1>${v.name}</h1>
  <p class="meta">
    ${v.latest ? html`<span class="version">${v.latest}</span> • ` : null}
    ${access === 'restricted' ? html`<span class="badge private">private</span>` : html`<span class="badge">public</span>`} •
    Published ${time(latestAt, now)}
  </p>
  ${v.description ? html`<p class="description">${v.description}</p>` : null}
</div>
<div class="pkg">
  <article class="readme markdown">
    ${v.readme ?? html`<p class="muted">This package has no README.</p>`}
  </article>
  <aside class="side">
    <section>
      <h3>Install</h3>
      <pre class="install"><code>npm install ${v.name}</code></pre>
    </section>
    <section>
      <dl class="facts compact">
        ${v.latest ? html`<dt>Version</dt><dd><a href="${versionHref(v.name, v.latest)}">${v.latest}</a></dd>` : null}
        <dt>Weekly downloads</dt><dd class="downloads">${extras.weeklyDownloads.toLocaleString('en-US')}</dd>
        <dt>Stars</dt><dd class="stars" title="npm star ${v.name}">${v.stars.toLocaleString('en-US')}</dd>
        ${v.unpackedSize !== null ? html`<dt>Unpacked size</dt><dd class="unpacked-size">${formatBytes(v.unpackedSize)}</dd>` : null}
        ${v.fileCount !== null && v.latest ? html`<dt>Total files</dt><dd class="file-count"><a href="${versionHref(v.name, v.latest)}#files">${String(v.fileCount)}</a></dd>` : null}
        ${v.license ? html`<dt>License</dt><dd>${v.license}</dd>` : null}
        <dt>Last publish</dt><dd>${time(latestAt, now)}</dd>
        ${v.homepage ? html`<dt>Homepage</dt><dd><a href="${v.homepage}" rel="nofollow noopener noreferrer">${v.homepage.replace(/^https?:\/\//, '').replace(/\/$/, '')}</a></dd>` : null}
        ${v.repository ? html`<dt>Repository</dt><dd><a href="${v.repository}" rel="nofollow noopener noreferrer">${v.repository.replace(/^https?:\/\//, '')}</a></dd>` : null}
      </dl>
    </section>
    <section>
      <h3>Dist-tags</h3>
      <table class="list compact">${v.distTags.map((t) => html`<tr><td>${t.tag}</td><td class="right"><code>${t.version}</code></td></tr>`)}</table>
    </section>
    <section>
      <h3>Maintainers</h3>
      <ul class="people">${v.maintainers.map((m) => html`<li><span class="avatar" aria-hidden="true">${m.slice(0, 1).toUpperCase()}</span>${m}</li>`)}</ul>
    </section>
    <section>
      <h3>Versions <span class="count">${String(v.versions.length)}</span></h3>
      <table class="list compact versions">${shown.map(versionRow)}</table>
      ${rest.length ? html`<details><summary>${String(rest.length)} older versions</summary><table class="list compact versions">${rest.map(versionRow)}</table></details>` : null}
    </section>
    <section class="dependencies">
      <h3>Dependencies <span class="count">${String(v.dependencies.length)}</span></h3>
      ${v.dependencies.length ? html`<p class="deps">${v.dependencies.map((d) => html`<span class="dep" title="${d.range}">${dependencyLink(d.name)}</span>`)}</p>` : html`<p class="muted">None</p>`}
    </section>
    <section class="dependents">
      <h3>Dependents <span class="count">${String(extras.dependents.total)}</span></h3>
      ${extras.dependents.total ? html`<p class="deps">${extras.dependents.names.map((d) => html`<span class="dep">${dependencyLink(d)}</span>`)}${extras.dependents.total > extras.dependents.names.length ? html`<span class="muted">and ${String(extras.dependents.total - extras.dependents.names.length)} more</span>` : null}</p>` : html`<p class="muted">None here</p>`}
    </section>
    <section>
      <h3>Transparency log</h3>
      <p><a href="${packageHref(v.name)}/history">History of every publish, tag and maintainer change, with proofs</a></p>
    </section>
    <section>
      <h3>Report</h3>
      <p><a class="report-link" href="/-/web/report?package=${encodeURIComponent(v.name)}">Report this package</a> to the moderators as malicious, suspicious, spam or a typosquat</p>
    </section>
    ${v.keywords.length ? html`<section><h3>Keywords</h3><p class="keywords">${v.keywords.map((k) => html`<a class="chip" href="/-/web/search?q=${encodeURIComponent(`keywords:${k}`)}">${k}</a>`)}</p></section>` : null}
  </aside>
</div>`;
  return page({ title: v.name, viewer, csrf, body });
}
