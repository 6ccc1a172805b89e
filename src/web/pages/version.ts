// One version's page (/-/web/package/NAME/v/VERSION): what npm would install for name@version, with its
// dependencies, size figures, integrity and the files its tarball holds. Built from the same full packument as the
// package page, so only a version the protocol serves has a page.
import { packageHref } from './browse.ts';
import { dependencyLink, declaredDependencies, formatBytes, versionHref, webUrl } from './package.ts';
import type { ListedFile } from '../../tarball/inspect.ts';
import { html, type Html } from '../html.ts';
import { page, time, type Viewer } from '../layout.ts';

export type VersionView = {
  name: string;
  version: string;
  description: string;
  publishedAt: number;
  deprecated: string | null;
  license: string | null;
  /** the dist-tags pointing at this version. */
  tags: string[];
  dependencies: Array<{ name: string; range: string }>;
  peerDependencies: Array<{ name: string; range: string }>;
  integrity: string | null;
  shasum: string | null;
  tarball: string | null;
  unpackedSize: number | null;
  fileCount: number | null;
  publisher: string | null;
  hasInstallScript: boolean;
};

const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? v.trim() : null);
const count = (v: unknown): number | null => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null);

/** The version's facts from the full packument; null when the packument does not serve that version. */
export function versionView(doc: Record<string, unknown>, version: string): VersionView | null {
  const versions = (doc.versions ?? {}) as Record<string, Record<string, unknown>>;
  if (!Object.hasOwn(versions, version)) return null;
  const m = versions[version]!;
  const dist = (m.dist ?? {}) as Record<string, unknown>;
  const times = (doc.time ?? {}) as Record<string, unknown>;
  const tags = (doc['dist-tags'] ?? {}) as Record<string, unknown>;
  const peers = declaredDependencies({ dependencies: m.peerDependencies });
  return {
    name: String(doc.name),
    version,
    description: text(m.description) ?? '',
    publishedAt: Date.parse(String(times[version] ?? '')) || 0,
    deprecated: text(m.deprecated),
    license: text(m.license) ?? text((m.license as { type?: unknown } | undefined)?.type),
    tags: Object.keys(tags)
      .filter((t) => tags[t] === version)
      .sort(),
    dependencies: declaredDependencies(m),
    peerDependencies: peers,
    integrity: text(dist.integrity),
    shasum: text(dist.shasum),
    tarball: webUrl(dist.tarball),
    unpackedSize: count(dist.unpackedSize),
    fileCount: count(dist.fileCount),
    publisher: text((m._npmUser as { name?: unknown } | undefined)?.name),
    hasInstallScript: m.hasInstallScript === true,
  };
}

export type VersionPageOptions = {
  view: VersionView;
  /** the files the tarball holds, or null when they cannot be listed now (an unreadable old tarball). */
  files: ListedFile[] | null;
  viewer: Viewer;
  csrf: string | null;
  now: number;
};

function depList(deps: Array<{ name: string; range: string }>): Html {
  return deps.length
    ? html`<table class="list compact deps-table">${deps.map((d) => html`<tr><td>${dependencyLink(d.name)}</td><td class="right"><code>${d.range}</code></td></tr>`)}</table>`
    : html`<p class="muted">None</p>`;
}

function fileList(files: ListedFile[] | null, total: number | null): Html {
  if (files === null)
    return html`<p class="muted">The file list of this version is unknown: its tarball could not be read just now.</p>`;
  const more = total !== null && total > files.length ? total - files.length : 0;
  return html`<table class="list files">
  <thead><tr><th>Path</th><th class="right">Size</th></tr></thead>
  <tbody>${files.map((f) => html`<tr><td><code>${f.path}</code></td><td class="right">${formatBytes(f.size)}</td></tr>`)}</tbody>
</table>${more ? html`<p class="muted">and ${String(more)} more files not listed</p>` : null}`;
}

export function versionPage({ view: v, files, viewer, csrf, now }: VersionPageOptions): Html {
  const body = html`<div class="pkg-head">
  <h1><a href="${packageHref(v.name)}">${v.name}</a></h1>
  <p class="meta">
    <span class="version">${v.version}</span>${v.tags.map((t) => html` <span class="badge">${t}</span>`)} •
    Published ${time(v.publishedAt, now)}${v.publisher ? html` by ${v.publisher}` : null}
  </p>
  ${v.description ? html`<p class="description">${v.description}</p>` : null}
</div>
${v.deprecated ? html`<div class="alert error" role="status">Deprecated: ${v.deprecated}</div>` : null}
<div class="pkg">
  <section class="readme files-panel" id="files">
    <h2>Files <span class="count">${v.fileCount === null ? '' : String(v.fileCount)}</span></h2>
    ${fileList(files, v.fileCount)}
  </section>
  <aside class="side">
    <section>
      <h3>Install</h3>
      <pre class="install"><code>npm install ${v.name}@${v.version}</code></pre>
    </section>
    <section>
      <dl class="facts compact">
        ${v.license ? html`<dt>License</dt><dd>${v.license}</dd>` : null}
        ${v.unpackedSize !== null ? html`<dt>Unpacked size</dt><dd class="unpacked-size">${formatBytes(v.unpackedSize)}</dd>` : null}
        ${v.fileCount !== null ? html`<dt>Total files</dt><dd class="file-count">${String(v.fileCount)}</dd>` : null}
        ${v.hasInstallScript ? html`<dt>Install scripts</dt><dd><span class="badge warn">runs a script on install</span></dd>` : null}
        ${v.integrity ? html`<dt>Integrity</dt><dd><code class="integrity">${v.integrity}</code></dd>` : null}
        ${v.shasum ? html`<dt>Shasum</dt><dd><code>${v.shasum}</code></dd>` : null}
        ${v.tarball ? html`<dt>Tarball</dt><dd><a href="${v.tarball}">${v.tarball.slice(v.tarball.lastIndexOf('/') + 1)}</a></dd>` : null}
      </dl>
    </section>
    <section class="dependencies">
      <h3>Dependencies <span class="count">${String(v.dependencies.length)}</span></h3>
      ${depList(v.dependencies)}
    </section>
    ${v.peerDependencies.length ? html`<section class="peer-dependencies"><h3>Peer dependencies <span class="count">${String(v.peerDependencies.length)}</span></h3>${depList(v.peerDependencies)}</section>` : null}
    <section>
      <p><a href="${packageHref(v.name)}">All versions of ${v.name}</a> · <a href="/-/web/report?package=${encodeURIComponent(v.name)}&amp;version=${encodeURIComponent(v.version)}">Report this version</a></p>
    </section>
  </aside>
</div>`;
  return page({ title: `${v.name}@${v.version}`, viewer, csrf, body });
}

export { versionHref };
