// The registry's published policies, rendered from the same Markdown the repository ships in docs/policies/, so the
// page users read and the rules the code enforces are described in one place.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { notFound } from '../errors.ts';
import { html } from './html.ts';
import { page } from './layout.ts';
import { renderReadme } from './markdown.ts';
import type { WebUi } from './routes.ts';
import type { FastifyInstance } from 'fastify';
import { Str, Type, schema, type RouteTypes } from '../http/schemas.ts';

// Beside src/ in a checkout and beside dist/ in the installed package (package.json ships docs/).
const POLICIES = path.resolve(import.meta.dirname, '../../docs/policies');
const PAGES: Record<string, string> = { unpublish: 'Unpublish policy' };

const PolicyRoute = schema({ params: Type.Object({ policy: Str(64) }) });

export function register(scope: FastifyInstance, web: WebUi): void {
  scope.get<RouteTypes<typeof PolicyRoute>>('/-/web/policies/:policy', { schema: PolicyRoute }, async (req, reply) => {
    const title = PAGES[req.params.policy];
    if (!title) throw notFound();
    const markdown = await readFile(path.join(POLICIES, `${req.params.policy}.md`), 'utf8');
    const ctx = await web.context(req, reply);
    return web.send(
      reply,
      200,
      page({
        title,
        viewer: ctx.viewer,
        csrf: ctx.csrf,
        body: html`<section class="panel prose">${renderReadme(markdown)}</section>`,
      }),
    );
  });
}
