// A package's history page: every transparency-log entry about it, newest first, with its log index, and a link to
// the inclusion proof of each published version. Same read decision as the package page (404 for restricted
// packages to those who may not read them).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../errors.ts';
import { decodeRecord, type LeafRecord } from '../trust/tlog/leaf.ts';
import { LogReader } from '../trust/tlog/service.ts';
import { isServableName } from '../names/syntax.ts';
import { html, type Html } from './html.ts';
import { page } from './layout.ts';
import type { WebUi } from './routes.ts';
import { NAME_MAX, Str, Type, schema, type RouteTypes } from '../http/schemas.ts';

const LIMIT = 500;

const identity = (who: string) => (who.startsWith('user:') ? who.slice(5) : who);

function describe(r: LeafRecord): Html {
  switch (r.type) {
    case 'version-published':
      return html`published <strong>${r.version}</strong> (${identity(r.publisher)}) <code class="integrity">${r.integrity.slice(0, 24)}…</code>`;
    case 'dist-tag-set':
      return html`tag <strong>${r.tag}</strong> → ${r.version} (${identity(r.actor)})`;
    case 'dist-tag-removed':
      return html`tag <strong>${r.tag}</strong> removed (${identity(r.actor)})`;
    case 'package-created':
      return html`package created (${identity(r.actor)})`;
    case 'maintainer-added':
      return html`maintainer <strong>${identity(r.user)}</strong> added (${identity(r.actor)})`;
    case 'maintainer-removed':
      return html`maintainer <strong>${identity(r.user)}</strong> removed (${identity(r.actor)})`;
    case 'team-access-granted':
      return html`team <strong>${r.team}</strong> granted ${r.permission} (${identity(r.actor)})`;
    case 'team-access-revoked':
      return html`team <strong>${r.team}</strong> access revoked (${identity(r.actor)})`;
    case 'version-unpublished':
      return html`unpublished <strong>${r.version}</strong> (${identity(r.actor)})`;
    case 'package-unpublished':
      return html`package unpublished (${identity(r.actor)})`;
    case 'version-deprecated':
      return r.message
        ? html`deprecated <strong>${r.version}</strong>: ${r.message}`
        : html`undeprecated <strong>${r.version}</strong>`;
    case 'package-transferred':
      return html`transferred from ${identity(r.from)} to ${identity(r.to)} (${identity(r.actor)})`;
    case 'malicious-package-removed':
      return html`removed as malicious (${r.version}): ${r.reason}`;
    case 'version-proxied':
      return html`served <strong>${r.version}</strong> from the upstream ${r.upstream} <code class="integrity">${r.integrity.slice(0, 24)}…</code>`;
  }
}

const HistoryRoute = schema({ params: Type.Object({ scope: Type.Optional(Str(NAME_MAX)), name: Str(NAME_MAX * 2) }) });

export function register(scope: FastifyInstance, web: WebUi): void {
  const log = new LogReader(web.deps.db);
  const show = async (req: FastifyRequest, reply: FastifyReply, name: string) => {
    if (!isServableName(name)) throw notFound();
    const facts = await web.deps.packages.facts(name);
    await web.deps.gate.readPackage(req, facts);
    if (facts.access === null) throw notFound();
    const [entries, cp, ctx] = await Promise.all([
      log.packageEntries(name, LIMIT),
      log.checkpoint(),
      web.context(req, reply),
    ]);
    const rows = entries.map((e) => {
      const r = decodeRecord(Buffer.from(e.record, 'utf8'));
      const proof =
        r.type === 'version-published'
          ? html` <a href="/-/log/proof/inclusion?name=${encodeURIComponent(name)}&amp;version=${encodeURIComponent(r.version)}">proof</a>`
          : null;
      return html`<tr><td class="num">${e.index}</td><td><time datetime="${r.time}">${r.time.replace('T', ' ').slice(0, 19)}</time></td><td>${describe(r)}${proof}${e.salt !== null ? html` <span class="tag">sealed</span>` : null}</td></tr>`;
    });
    const body = html`<h1>${name}: history</h1>
<p>Every change to this package as recorded in the registry's <a href="/-/log/checkpoint">transparency log</a>${cp ? html` (signed tree of ${cp.size} entries)` : null}. Anyone can check these entries with <code>bulwark log verify</code>; entries marked sealed are visible only to readers of this package.</p>
<p><a href="/-/web/package/${name}">Back to ${name}</a></p>
${rows.length ? html`<table class="history"><thead><tr><th>log index</th><th>time (UTC)</th><th>change</th></tr></thead><tbody>${rows}</tbody></table>` : html`<p>No entries yet: changes appear here within a second.</p>`}`;
    return web.send(reply, 200, page({ title: `${name} history`, viewer: ctx.viewer, csrf: ctx.csrf, body }));
  };
  scope.get<RouteTypes<typeof HistoryRoute>>('/-/web/package/:name/history', { schema: HistoryRoute }, (req, reply) =>
    show(req, reply, req.params.name),
  );
  scope.get<RouteTypes<typeof HistoryRoute>>(
    '/-/web/package/@:scope/:name/history',
    { schema: HistoryRoute },
    (req, reply) => show(req, reply, `@${req.params.scope ?? ''}/${req.params.name}`),
  );
}
