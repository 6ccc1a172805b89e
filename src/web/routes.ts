// The web UI: server-rendered pages under /-/web/ (and / for browsers), each with a strict Content-Security-Policy.
// Everything here runs in its own Fastify scope, so the form parser, the CSRF check on every POST and the session
// cookie apply to these routes only; the npm protocol routes never see a cookie-based principal.
import { viewerOf } from './layout.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { REGISTRY, type RegistryFacts, type StaffAction } from '../access/decide.ts';
import type { Principal } from '../access/principal.ts';
import { wantsHtml } from '../http/accepts.ts';
import type { Gate } from '../http/gate.ts';
import type { SecondFactorDeps } from '../http/second-factor.ts';
import { notFound } from '../errors.ts';
import type { Representation } from '../packages/cache.ts';
import { isServableName } from '../names/syntax.ts';
import { search } from '../packages/search.ts';
import { dependentsOf, weeklyDownloads } from '../packages/package-insights.ts';
import type { Packages } from '../packages/service.ts';
import type { Db } from '../store/db.ts';
import type { AccountQuery } from './account-query.ts';
import type { ModerationLifecycle } from '../safety/moderation.ts';
import type { UserRow } from '../store/schema.ts';
import * as accountRoutes from './account-routes.ts';
import { CSRF_FIELD, Csrf } from './csrf.ts';
import type { Html } from './html.ts';
import type { Viewer } from './layout.ts';
import { AccountSlot, placeholderSection, type AccountSlotValue } from './pages/account.ts';
import { errorPage, homePage, searchPage, unpublishedPage, type Listed } from './pages/browse.ts';
import { packagePage, packageView, type PackageView } from './pages/package.ts';
import { STYLESHEET_PATH, stylesheet } from './static.ts';
import { NAME_MAX, Str, Type, schema, type RouteTypes } from '../http/schemas.ts';
import { sessionPrincipal, WebSessions, type WebSession } from './session.ts';

export type WebDeps = {
  db: Db;
  packages: Packages;
  gate: Gate;
  signup: 'open' | 'closed';
  secretKey: Buffer;
  /** the limiter and one-time-password check npm sign-in uses, so the web sign-in is no weaker. */
  secondFactor: SecondFactorDeps;
  clock: () => number;
  /** the registry's base URL, shown in the "use it with npm" hint. */
  publicUrl: () => string;
  /** what the moderators' actions do to a version (quarantine, release, remove). */
  lifecycle: ModerationLifecycle;
};

// https://cheatsheetseries.owasp.org/cheatsheets/Content_Security_Policy_Cheat_Sheet.html: nothing loads unless
// listed; no inline script or style at all; forms post only here; no framing (clickjacking); no <base> hijack.
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

/** True for requests from a browser that asked for a page: they get HTML errors instead of npm's JSON ones. */

/** Whether a change made by this account asks for a one-time password (the gate's second-factor check): forms show the field. */
export const asksForOtp = (user: Pick<UserRow, 'totp_mode'>): boolean => user.totp_mode === 'auth-and-writes';

/** What an account-settings slot renders for the signed-in user. */
export type AccountSectionRenderer = (ctx: {
  req: FastifyRequest;
  reply: FastifyReply;
  user: UserRow;
  csrf: string;
  now: number;
  /** the account page's query (checked by its route); empty when a form's refusal draws the page. */
  query: AccountQuery;
}) => Promise<Html>;

/** What a page handler knows about the viewer: the session (if any), and the CSRF token for the header's forms. */
export type PageContext = { session: WebSession | null; viewer: Viewer; csrf: string | null };

type FormBody = Record<string, string>;

const SearchRoute = schema({
  querystring: Type.Object({
    q: Type.Optional(Type.String()),
    from: Type.Optional(Type.String({ pattern: '^[0-9]{0,5}$', description: 'a whole number' })),
  }),
});
const PackageRoute = schema({
  params: Type.Object({ scope: Type.Optional(Str(NAME_MAX)), name: Str(NAME_MAX * 2) }),
});

export class WebUi {
  readonly deps: WebDeps;
  readonly sessions: WebSessions;
  readonly csrf: Csrf;
  readonly #webRequests = new WeakSet<FastifyRequest>();
  readonly #slots = new Map<AccountSlotValue, AccountSectionRenderer>();
  readonly #extensions: Array<(scope: FastifyInstance, web: WebUi) => void> = [];
  readonly #views = new WeakMap<Representation, PackageView>();

  constructor(deps: WebDeps) {
    this.deps = deps;
    this.sessions = new WebSessions(deps.db, deps.clock);
    this.csrf = new Csrf(deps.secretKey, this.sessions);
    // The session cookie identifies the viewer only on the web UI's own routes (marked in register()); anywhere else
    // this source answers null, so a browser's cookie can never stand in for an npm token.
    deps.gate.addPrincipalSource(async (req) => {
      if (!this.#webRequests.has(req)) return null;
      const session = await this.sessions.current(req);
      return session ? sessionPrincipal(session) : null;
    });
  }

  /** Lets a capability fill an account-settings slot (password change, two-factor, security history). */
  setAccountSection(slot: AccountSlotValue, render: AccountSectionRenderer): void {
    this.#slots.set(slot, render);
  }

  /** Adds routes to the web scope (form parsing, CSRF on POST, session cookie). Call before register(). */
  extend(registrar: (scope: FastifyInstance, web: WebUi) => void): void {
    this.#extensions.push(registrar);
  }

  async accountSlots(ctx: Parameters<AccountSectionRenderer>[0]): Promise<Record<AccountSlotValue, Html>> {
    const out = {} as Record<AccountSlotValue, Html>;
    for (const slot of Object.values(AccountSlot)) {
      const render = this.#slots.get(slot);
      out[slot] = render ? await render(ctx) : placeholderSection(slot);
    }
    return out;
  }

  async context(req: FastifyRequest, reply: FastifyReply): Promise<PageContext> {
    const session = await this.sessions.current(req);
    return {
      session,
      viewer: session ? viewerOf(session.user) : null,
      csrf: session ? await this.csrf.token(req, reply) : null,
    };
  }

  /**
   * A page or action of the registry's own administration (moderators' and administrators' pages), through the gate
   * like every other: null after redirecting a signed-out browser to sign in; otherwise decide() for the session (the
   * 404 of a missing page for anyone who may not use it), and for a change (write) the gate's write checks too, with
   * the form's one-time password standing in for npm's npm-otp header. `facts` loads what the action is about (a
   * queue item), only once the caller may use the page at all, so nothing stored is looked at for anyone else.
   */
  async staff(
    req: FastifyRequest,
    reply: FastifyReply,
    action: StaffAction,
    opts: { write?: boolean; facts?: () => Promise<RegistryFacts> } = {},
  ): Promise<{ session: WebSession; principal: Principal } | null> {
    const session = await this.sessions.current(req);
    if (!session) {
      await reply
        .code(303)
        .header('location', `/-/web/signin?next=${encodeURIComponent(req.url)}`)
        .send();
      return null;
    }
    const gate = this.deps.gate;
    let facts = REGISTRY;
    if (opts.facts) {
      await gate.screen(req, [action], REGISTRY);
      facts = await opts.facts();
    }
    const otp = (req.body as FormBody | null)?.otp;
    if (opts.write && typeof otp === 'string' && otp.trim()) req.headers['npm-otp'] = otp.trim();
    const principal = opts.write ? await gate.write(req, action, facts) : await gate.authorize(req, action, facts);
    // The page acts for the signed-in browser: a request that also carries a token for another account is not it.
    if (principal.userId !== session.user.id) throw notFound();
    return { session, principal };
  }

  send(reply: FastifyReply, status: number, body: Html): FastifyReply {
    return reply.code(status).type('text/html; charset=utf-8').send(body.value);
  }

  /** The error page for a browser. Uses the viewer only if this request already looked the session up. */
  sendError(req: FastifyRequest, reply: FastifyReply, status: number, message: string): FastifyReply {
    const session = this.sessions.known(req);
    return this.send(reply, status, errorPage({ status, message, viewer: session ? viewerOf(session.user) : null }));
  }

  register(app: FastifyInstance): void {
    // On the root instance: every HTML response gets the headers, including error pages and other capabilities' pages.
    // Callback style, not async: it runs on every response, and an async hook costs a promise each time.
    app.addHook('onSend', (_req, reply, payload, done) => {
      const type = reply.getHeader('content-type');
      if (typeof type === 'string' && type.startsWith('text/html')) {
        for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
        // Pages can show who is signed in: never store them in shared or back-button caches.
        reply.header('cache-control', 'no-store');
      }
      done(null, payload);
    });

    app.get('/', async (req, reply) => {
      reply.header('vary', 'Accept');
      if (!wantsHtml(req)) return { registry: 'bulwark', ok: true };
      return this.#webScoped(req, () => this.#home(req, reply));
    });

    app.register(async (scope) => {
      scope.addHook('onRequest', async (req) => {
        this.#webRequests.add(req);
      });
      // Pages post forms, nothing else: any other body (JSON, text) is refused with 415 before it is read, so an
      // anonymous client cannot make the server read and parse a large document ahead of the CSRF check.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string', bodyLimit: 64 * 1024 },
        (_req, body, done) => {
          // First value wins; defineProperty (not assignment) keeps a field named "__proto__" a plain field.
          const form: FormBody = {};
          for (const [k, v] of new URLSearchParams(body as string))
            if (!Object.hasOwn(form, k)) Object.defineProperty(form, k, { value: v, enumerable: true });
          done(null, form);
        },
      );
      scope.addHook('preHandler', async (req) => {
        if (req.method === 'POST') await this.csrf.verify(req, (req.body as FormBody | null)?.[CSRF_FIELD]);
      });

      scope.get(STYLESHEET_PATH, async (_req, reply) =>
        reply
          .type('text/css; charset=utf-8')
          .header('cache-control', 'public, max-age=31536000, immutable')
          .header('x-content-type-options', 'nosniff')
          .send(stylesheet),
      );
      scope.get<RouteTypes<typeof SearchRoute>>('/-/web/search', { schema: SearchRoute }, (req, reply) =>
        this.#search(req, reply),
      );
      scope.get<RouteTypes<typeof PackageRoute>>('/-/web/package/:name', { schema: PackageRoute }, (req, reply) =>
        this.#package(req, reply, req.params.name),
      );
      scope.get<RouteTypes<typeof PackageRoute>>(
        '/-/web/package/@:scope/:name',
        { schema: PackageRoute },
        (req, reply) => this.#package(req, reply, `@${req.params.scope ?? ''}/${req.params.name}`),
      );
      accountRoutes.register(scope, this);
      for (const extension of this.#extensions) extension(scope, this);
    });
  }

  // GET / is registered outside the web scope (it also answers non-browsers), so it marks itself as a web request.
  #webScoped<T>(req: FastifyRequest, fn: () => Promise<T>): Promise<T> {
    this.#webRequests.add(req);
    return fn();
  }

  async #home(req: FastifyRequest, reply: FastifyReply) {
    const principal = await this.deps.gate.read(req);
    const now = this.deps.clock();
    // search() is the one place that knows what this viewer may see; recency is applied to what it returns.
    const all = await search(this.deps.db, { text: '', size: 2000, from: 0, principal, now });
    const recent: Listed[] = all.objects
      .map((o) => o.package)
      .sort((a, b) => Date.parse(b.date) - Date.parse(a.date))
      .slice(0, 10);
    const ctx = await this.context(req, reply);
    return this.send(
      reply,
      200,
      homePage({ viewer: ctx.viewer, csrf: ctx.csrf, recent, registryUrl: this.deps.publicUrl(), now }),
    );
  }

  async #search(req: FastifyRequest<RouteTypes<typeof SearchRoute>>, reply: FastifyReply) {
    const principal = await this.deps.gate.read(req);
    const query = (req.query.q ?? '').slice(0, 256);
    const from = req.query.from ? Math.min(Number(req.query.from), 10_000) : 0;
    const size = 20;
    const now = this.deps.clock();
    const results = await search(this.deps.db, { text: query, size, from, principal, now });
    const ctx = await this.context(req, reply);
    return this.send(reply, 200, searchPage({ viewer: ctx.viewer, csrf: ctx.csrf, query, results, from, size, now }));
  }

  async #package(req: FastifyRequest, reply: FastifyReply, name: string) {
    if (!isServableName(name)) throw notFound();
    const entry = await this.deps.packages.entry(name);
    // The same read decision as the packument: a restricted package is a 404 to anyone who may not read it.
    await this.deps.gate.readPackage(req, entry.facts);
    if (!entry.full || entry.facts.access === null) throw notFound();
    const hold = entry.facts.nameHold;
    if (hold) {
      const ctx = await this.context(req, reply);
      return this.send(reply, 404, unpublishedPage({ name, since: hold.since, viewer: ctx.viewer, csrf: ctx.csrf }));
    }
    let view = this.#views.get(entry.full);
    if (!view) {
      // Keyed by the cached representation: a publish replaces it, and the rendered README goes with it.
      view = packageView(JSON.parse(entry.full.body.toString('utf8')) as Record<string, unknown>);
      this.#views.set(entry.full, view);
    }
    const now = this.deps.clock();
    // Dependents are those this viewer may read: a restricted dependent is neither listed nor counted for others.
    const [ctx, downloads, dependents] = await Promise.all([
      this.context(req, reply),
      entry.facts.id === null ? 0 : weeklyDownloads(this.deps.db, entry.facts.id, now),
      this.deps.gate.read(req).then((principal) => dependentsOf(this.deps.db, name, principal)),
    ]);
    const extras = { weeklyDownloads: downloads, dependents };
    return this.send(
      reply,
      200,
      packagePage({ view, extras, access: entry.facts.access, viewer: ctx.viewer, csrf: ctx.csrf, now }),
    );
  }
}
