// The organisations pages: the list of one's organisations with the form to create one (/-/web/orgs), an
// organisation's page (/-/web/org/:org, drawn by org-page.ts), and deleting an organisation.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Action, type OrgRole } from '../access/decide.ts';
import { createOrg, deleteOrg } from '../access/orgs.ts';
import { orgFacts } from '../access/relations.ts';
import { fail } from '../errors.ts';
import { NAME_MAX, schema, type RouteTypes } from '../http/schemas.ts';
import { Field, formChange, formOf, formRoute, signedIn } from './form.ts';
import { viewerOf } from './layout.ts';
import { actorOf, DoneQuery, noticeOf, OrgParams, OrgRoute, renderOrg } from './org-page.ts';
import { orgHref, orgsPage } from './pages/orgs.ts';
import type { WebUi } from './routes.ts';
import type { WebSession } from './session.ts';
import { Type } from '../http/schemas.ts';

const CreateForm = Type.Object({ name: Field(NAME_MAX) });
const DeleteForm = Type.Object({ confirm: Field(NAME_MAX) });
const OrgsRoute = schema({ querystring: DoneQuery });

export function register(scope: FastifyInstance, web: WebUi): void {
  const { db, gate, clock } = web.deps;

  async function renderOrgs(
    req: FastifyRequest,
    reply: FastifyReply,
    session: WebSession,
    status = 200,
    error: string | null = null,
    name = '',
    done?: string,
  ) {
    const rows = await db
      .selectFrom('org_members')
      .select(['org', 'role'])
      .where('user_id', '=', session.user.id)
      .orderBy('org')
      .execute();
    const csrf = await web.csrf.token(req, reply);
    return web.send(
      reply,
      status,
      orgsPage({
        viewer: viewerOf(session.user),
        csrf,
        otp: session.user.totp_mode === 'auth-and-writes',
        orgs: rows.map((r) => ({ name: r.org, role: r.role as OrgRole })),
        error,
        notice: noticeOf(done),
        name,
      }),
    );
  }
  scope.get<RouteTypes<typeof OrgsRoute>>('/-/web/orgs', { schema: OrgsRoute }, async (req, reply) => {
    const session = await signedIn(web.sessions, req, reply);
    return session ? renderOrgs(req, reply, session, 200, null, '', req.query.done) : reply;
  });
  scope.post('/-/web/orgs', formRoute(CreateForm), async (req, reply) => {
    const session = await signedIn(web.sessions, req, reply);
    if (!session) return reply;
    let name = '';
    return formChange(req, reply, {
      get back() {
        return orgHref(name);
      },
      run: async () => {
        name = formOf(req, CreateForm).name.trim().replace(/^@/, '').toLowerCase();
        if (!name) throw fail('E_ORG_INVALID', 'give the organisation a name');
        const principal = await gate.write(req, Action.OrgCreate, await orgFacts(db, name, null));
        await createOrg(db, name, principal.name, actorOf(principal), clock());
        return 'created';
      },
      render: (status, error) => renderOrgs(req, reply, session, status, error, req.validationError ? '' : name),
    });
  });

  scope.get<RouteTypes<typeof OrgRoute>>('/-/web/org/:org', { schema: OrgRoute }, async (req, reply) => {
    const session = await signedIn(web.sessions, req, reply);
    return session ? renderOrg(web, req, reply, req.params.org, 200, null, req.query.done) : reply;
  });
  scope.post<RouteTypes<{ params: typeof OrgParams }>>(
    '/-/web/org/:org/delete',
    { ...formRoute(DeleteForm), schema: { params: OrgParams, body: DeleteForm } },
    async (req, reply) => {
      const session = await signedIn(web.sessions, req, reply);
      if (!session) return reply;
      const org = req.params.org;
      return formChange(req, reply, {
        back: '/-/web/orgs',
        run: async () => {
          if (formOf(req, DeleteForm).confirm.trim() !== org)
            throw fail('E_ORG_INVALID', `type the organisation's name (${org}) to confirm`);
          const principal = await gate.write(req, Action.OrgDelete, await orgFacts(db, org, null));
          await deleteOrg(db, org, actorOf(principal), clock());
          return 'org-deleted';
        },
        render: (status, error) => renderOrg(web, req, reply, org, status, error),
      });
    },
  );
}
