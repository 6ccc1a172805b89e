// The registry's own administration through the one gate (invariant 4): every staff action — the administrators'
// account and name pages, the moderation queue, the security reports — and filing a report are actions of decide(),
// with deny by default. First decide() alone, generated over registry role × token kind × action × what the action
// is about, each answer compared with EXPECTED below, written from docs/access-control.md rather than from decide()'s
// code. Then every staff page and action against a running registry (both databases): anonymous callers are sent to
// sign in, signed-in users without the role get the 404 of a missing page, moderators get it for the administrators'
// pages, and none of those attempts changes anything; an administrator whose account protects writes with a second
// factor is asked for it on every staff action; and every staff action and every report passes the gate's write checks.
import { ERRORS } from '../../src/errors.ts';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  Action,
  decide,
  secondFactorApplies,
  type ActionValue,
  type Facts,
  type PackageFacts,
  type RegistryFacts,
} from '../../src/access/decide.ts';
import type { Principal } from '../../src/access/principal.ts';
import { planToken, type ScopeRequest } from '../../src/tokens/scope.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { consumersCaughtUp, eventually } from '../helpers/events.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { codeAt, enableMfa } from '../helpers/totp.ts';
import { WebClient, csrfIn } from '../helpers/web-client.ts';

// ---- the dimensions -------------------------------------------------------------------------------------------------

const REGISTRY_ROLES = ['anonymous', 'user', 'moderator', 'admin'] as const;
type Role = (typeof REGISTRY_ROLES)[number];

/** How a principal reached the registry: a web session or login token (no scope), or one of the token kinds. */
const TOKEN_KINDS = {
  session: { request: null, readonly: false },
  'classic-read-only': { request: null, readonly: true },
  'granular-read-only': { request: { permission: 'read-only', packagesAll: true }, readonly: true },
  'granular-publish': { request: { permission: 'read-write', packages: ['other-pkg'] }, readonly: false },
  'org-admin': { request: { permission: 'no-access', orgs: ['acme'], orgsPermission: 'read-write' }, readonly: true },
} satisfies Record<string, { request: ScopeRequest | null; readonly: boolean }>;
type TokenKind = keyof typeof TOKEN_KINDS;

/** Who may take each staff action, as docs/access-control.md says it: the queue is the moderators', the rest the administrators'. */
const WHO: Partial<Record<ActionValue, 'staff' | 'admin'>> = {
  [Action.ModerationRead]: 'staff',
  [Action.ModerationAct]: 'staff',
  [Action.ModerationLock]: 'staff',
  [Action.NamesRead]: 'admin',
  [Action.NamesWrite]: 'admin',
  [Action.SecurityReportsRead]: 'admin',
  [Action.SecurityReportsAnswer]: 'admin',
  [Action.UsersRead]: 'admin',
  [Action.UsersWrite]: 'admin',
};
const STAFF = Object.keys(WHO) as ActionValue[];
/** What a staff action can be about: the registry, or one queue item (an ordinary one, a security-form one, one whose publisher is an administrator). */
const SUBJECTS = {
  registry: { kind: 'registry' },
  item: { kind: 'registry', item: { securityForm: false, publisherIsAdmin: false } },
  'security-item': { kind: 'registry', item: { securityForm: true, publisherIsAdmin: false } },
  'admin-published-item': { kind: 'registry', item: { securityForm: false, publisherIsAdmin: true } },
} satisfies Record<string, RegistryFacts>;
type Subject = keyof typeof SUBJECTS;

type Outcome = { allow: true } | { allow: false; status: 401 | 403 | 404 };
const ALLOW: Outcome = { allow: true };
const refuse = (status: 401 | 403 | 404): Outcome => ({ allow: false, status });

function principalOf(role: Role, token: TokenKind): Principal | null {
  if (role === 'anonymous') return null;
  const kind = TOKEN_KINDS[token];
  const plan = kind.request ? planToken(kind.request, 0) : null;
  return {
    userId: 7,
    name: 'u',
    email: 'u@example.com',
    isAdmin: role === 'admin',
    isModerator: role === 'moderator',
    emailVerified: true,
    tokenId: token === 'session' ? 0 : 1,
    tokenReadonly: plan?.readonly ?? kind.readonly,
    tokenScope: plan?.scope ?? null,
  };
}

// ---- the expected rules, written from the policy --------------------------------------------------------------------

function expectedStaff(role: Role, token: TokenKind, action: ActionValue, subject: Subject): Outcome {
  const who = WHO[action];
  if (!who) return refuse(403); // not a staff action: nothing about the registry allows it
  if (role === 'anonymous') return refuse(401);
  const admin = role === 'admin';
  // The pages do not advertise themselves: without the role, the 404 of a missing page.
  if (who === 'admin' ? !admin : !(admin || role === 'moderator')) return refuse(404);
  const item = (SUBJECTS[subject] as RegistryFacts).item;
  if (item?.securityForm && !admin) return refuse(404); // reports about the registry itself
  // Tokens only take rights away: no scope names the registry's administration; read-only tokens only read.
  if (TOKEN_KINDS[token].request) return refuse(403);
  if (TOKEN_KINDS[token].readonly && !action.endsWith(':read')) return refuse(403);
  if (action === Action.ModerationLock && item?.publisherIsAdmin && !admin) return refuse(403);
  return ALLOW;
}

/** Packages a report can name: public, restricted and readable by the reporter (a maintainer), restricted and not, missing. */
const REPORTED = {
  public: { name: 'pub', access: 'public', maintainerIds: [1], scope: null, scopeOwnerId: null, scopeNamesakeId: null },
  'restricted-mine': {
    name: '@acme/mine',
    access: 'restricted',
    maintainerIds: [7],
    scope: 'acme',
    scopeOwnerId: 1,
    scopeNamesakeId: null,
    scopeIsOrg: true,
    relation: { orgRole: null, teamGrant: null, developer: false },
  },
  'restricted-other': {
    name: '@acme/other',
    access: 'restricted',
    maintainerIds: [1],
    scope: 'acme',
    scopeOwnerId: 1,
    scopeNamesakeId: null,
    scopeIsOrg: true,
    relation: { orgRole: null, teamGrant: null, developer: false },
  },
  missing: { name: 'ghost', access: null, maintainerIds: [], scope: null, scopeOwnerId: null, scopeNamesakeId: null },
} satisfies Record<string, PackageFacts>;
type Reported = keyof typeof REPORTED;

function expectedReport(role: Role, token: TokenKind, pkg: Reported): Outcome {
  if (role === 'anonymous') return refuse(401);
  if (pkg === 'missing') return refuse(404);
  const reads = pkg === 'public' || role === 'admin' || pkg === 'restricted-mine';
  // A token that does not reach a restricted package does not see it (granular tokens here name other packages).
  const tokenHides = pkg !== 'public' && (token === 'granular-publish' || token === 'org-admin');
  return reads && !tokenHides ? ALLOW : refuse(404);
}

const same = (got: ReturnType<typeof decide>, want: Outcome) =>
  got.allow === want.allow && (got.allow || (!want.allow && ERRORS[got.code].status === want.status));
const POLICY = { readAccess: 'public' } as const;

describe('staff actions in decide(): registry role × token kind × action × subject against the expected rules', () => {
  it('agrees on every combination, and every staff action is both allowed and refused somewhere', () => {
    const wrong: string[] = [];
    const actions = [...STAFF, Action.PackagePublish, Action.OrgCreate, Action.ReportCreate];
    for (const role of REGISTRY_ROLES)
      for (const token of Object.keys(TOKEN_KINDS) as TokenKind[])
        for (const action of actions)
          for (const subject of Object.keys(SUBJECTS) as Subject[]) {
            const want = expectedStaff(role, token, action, subject);
            const got = decide(principalOf(role, token), action, SUBJECTS[subject], POLICY);
            if (!same(got, want))
              wrong.push(
                `${action} on ${subject} by ${role}/${token}: expected ${want.allow ? 'allow' : want.status}, got ${got.allow ? 'allow' : `${got.code} (${got.reason})`}`,
              );
          }
    assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} disagreements`);
    for (const action of STAFF) {
      const answers = new Set(
        REGISTRY_ROLES.flatMap((role) =>
          (Object.keys(TOKEN_KINDS) as TokenKind[]).map((t) => expectedStaff(role, t, action, 'registry').allow),
        ),
      );
      assert.equal(answers.size, 2, `${action} is both allowed and refused`);
    }
  });

  it('a report needs a signed-in principal who may read the package, whatever their token may change', () => {
    const wrong: string[] = [];
    for (const role of REGISTRY_ROLES)
      for (const token of Object.keys(TOKEN_KINDS) as TokenKind[])
        for (const pkg of Object.keys(REPORTED) as Reported[]) {
          const want = expectedReport(role, token, pkg);
          const got = decide(principalOf(role, token), Action.ReportCreate, REPORTED[pkg], POLICY);
          if (!same(got, want))
            wrong.push(
              `report ${pkg} by ${role}/${token}: expected ${want.allow ? 'allow' : want.status}, got ${got.allow ? 'allow' : `${got.code} (${got.reason})`}`,
            );
        }
    assert.deepEqual(wrong, []);
    // Reporting is no staff action and no package change: the registry's facts and an org's refuse it.
    const user = principalOf('admin', 'session');
    assert.equal(decide(user, Action.ReportCreate, SUBJECTS.registry, POLICY).allow, false);
    const org: Facts = {
      kind: 'org',
      org: 'acme',
      exists: true,
      scopeOwnerId: 7,
      scopeNamesakeId: null,
      relation: { orgRole: 'owner' },
    };
    assert.equal(decide(user, Action.ReportCreate, org, POLICY).allow, false);
  });

  it('every write asks for the second factor where the account says so, except filing a report', () => {
    for (const action of Object.values(Action)) {
      if (action.endsWith(':read')) continue;
      assert.equal(secondFactorApplies(action), action !== Action.ReportCreate, action);
    }
  });
});

// ---- every staff page and action through HTTP -----------------------------------------------------------------------

type Ctx = { item: number; adminItem: number; securityItem: number; securityReport: number };
type StaffRoute = {
  id: string;
  who: 'staff' | 'admin';
  method: 'GET' | 'POST';
  path: (c: Ctx) => string;
  form?: Record<string, string>;
};
const REASON = { reason: 'staff matrix' };
const STAFF_ROUTES: StaffRoute[] = [
  { id: 'users', who: 'admin', method: 'GET', path: () => '/-/web/admin/users' },
  { id: 'user', who: 'admin', method: 'GET', path: () => '/-/web/admin/users/victim' },
  ...['disable', 'enable', 'force-reset', 'recover/complete', 'recover/cancel'].map((a): StaffRoute => ({
    id: `user-${a}`,
    who: 'admin',
    method: 'POST',
    path: () => `/-/web/admin/users/victim/${a}`,
    form: REASON,
  })),
  {
    id: 'user-delete',
    who: 'admin',
    method: 'POST',
    path: () => '/-/web/admin/users/victim/delete',
    form: { ...REASON, confirm: 'victim' },
  },
  {
    id: 'user-recover-start',
    who: 'admin',
    method: 'POST',
    path: () => '/-/web/admin/users/victim/recover/start',
    form: { ...REASON, evidence: 'none', email: 'new@example.com' },
  },
  { id: 'names', who: 'admin', method: 'GET', path: () => '/-/web/admin/names?check=expres' },
  {
    id: 'names-allow',
    who: 'admin',
    method: 'POST',
    path: () => '/-/web/admin/names/allow',
    form: { ...REASON, name: 'expres' },
  },
  {
    id: 'security-answer',
    who: 'admin',
    method: 'POST',
    path: (c) => `/-/web/security/reports/${c.securityReport}/answer`,
    form: { answer: 'staff matrix' },
  },
  { id: 'security-item', who: 'admin', method: 'GET', path: (c) => `/-/web/moderation/${c.securityItem}` },
  {
    id: 'security-item-dismiss',
    who: 'admin',
    method: 'POST',
    path: (c) => `/-/web/moderation/${c.securityItem}/dismiss`,
    form: REASON,
  },
  { id: 'queue', who: 'staff', method: 'GET', path: () => '/-/web/moderation' },
  { id: 'queue-resolved', who: 'staff', method: 'GET', path: () => '/-/web/moderation?status=resolved' },
  { id: 'item', who: 'staff', method: 'GET', path: (c) => `/-/web/moderation/${c.item}` },
  ...['dismiss', 'quarantine', 'release', 'remove', 'lock'].map((a): StaffRoute => ({
    id: `item-${a}`,
    who: 'staff',
    method: 'POST',
    path: (c) => `/-/web/moderation/${c.item}/${a}`,
    form: REASON,
  })),
  {
    id: 'admin-item-lock',
    who: 'staff',
    method: 'POST',
    path: (c) => `/-/web/moderation/${c.adminItem}/lock`,
    form: REASON,
  },
];

const PASSWORD = 'correct-horse-battery';

type Extra = {
  name_allows: { name: string };
  moderation_items: { id: number; status: string; resolution: string | null; summary: string; package: string | null };
  security_reports: { id: number; status: string; answer: string | null };
};

for (const kind of DB_KINDS) {
  describe(`staff pages and actions through the gate (${kind})`, () => {
    let r: TestRegistry;
    let now = Date.now();
    let ctx: Ctx;
    const clients = new Map<Role, WebClient>();
    /** The actions the gate's write checks saw, in order (a check registered like the second factor's). */
    const written: string[] = [];

    before(async () => {
      r = await startRegistry(kind, {}, { clock: () => now });
      const db = r.store.db;
      const pub = await r.user('pub');
      const eve = await r.user('eve');
      const mod = await r.user('mod');
      await r.user('victim');
      await r.user('boss', { admin: true });
      await db.updateTable('users').set({ is_moderator: 1 }).where('id', '=', mod.id).execute();
      for (const [token, name] of [
        [pub.token, 'staff-lib'],
        [r.adminToken, 'admin-lib'],
      ] as const) {
        assert.equal(
          (await r.request('PUT', `/${name}`, { token, body: body(publishDoc({ name, version: '1.0.0' })) })).status,
          201,
        );
      }
      const report = async (name: string) => {
        const res = await r.request('POST', '/-/bulwark/v1/reports', {
          token: eve.token,
          body: {
            package: name,
            version: '1.0.0',
            reason: 'malicious',
            details: 'sends the environment to a remote host',
          },
        });
        assert.equal(res.status, 201, res.text);
      };
      await report('staff-lib');
      await report('admin-lib');
      const researcher = new WebClient(r.url);
      const sent = await researcher.post('/-/web/security/report', {
        _csrf: await researcher.csrf('/-/web/security/report'),
        email: 'r@example.org',
        subject: 'XSS',
        body: 'A crafted README runs script on the package page.',
      });
      assert.equal(sent.status, 201);
      const securityReport = Number(/number (\d+)/.exec(sent.text)![1]);
      const items = db.withTables<Extra>();
      await eventually(
        async () =>
          (await items.selectFrom('moderation_items').select('id').where('status', '=', 'open').execute()).length === 3,
        'the three items are queued',
      );
      const idOf = async (column: 'package' | 'summary', value: string) =>
        Number(
          (await items.selectFrom('moderation_items').select('id').where(column, '=', value).executeTakeFirstOrThrow())
            .id,
        );
      ctx = {
        item: await idOf('package', 'staff-lib'),
        adminItem: await idOf('package', 'admin-lib'),
        securityItem: await idOf('summary', 'XSS'),
        securityReport,
      };
      clients.set('anonymous', new WebClient(r.url));
      for (const [role, name] of [
        ['user', 'eve'],
        ['moderator', 'mod'],
        ['admin', 'admin'],
      ] as const) {
        const web = new WebClient(r.url);
        assert.equal((await web.signIn(name, PASSWORD)).status, 303);
        clients.set(role, web);
      }
      r.app.gate.addWriteCheck(async (_req, _principal, action) => void written.push(action));
    });
    after(() => r.stop());

    /** Everything a staff action could change, once the event consumers have caught up. */
    async function state() {
      const db = r.store.db;
      const events = await consumersCaughtUp(db);
      const x = db.withTables<Extra>();
      return {
        events,
        outbox: (await db.selectFrom('outbox').select('id').execute()).length,
        victim: await db
          .selectFrom('users')
          .select(['disabled_at', 'deleted_at', 'password_hash', 'email', 'totp_mode'])
          .where('name', '=', 'victim')
          .executeTakeFirstOrThrow(),
        allowed: (await x.selectFrom('name_allows').select('name').execute()).map((a) => a.name),
        items: await x.selectFrom('moderation_items').select(['id', 'status', 'resolution']).orderBy('id').execute(),
        security: await x.selectFrom('security_reports').select(['id', 'status', 'answer']).orderBy('id').execute(),
        versions: await db.selectFrom('versions').select(['version', 'state']).orderBy('id').execute(),
        staffWrites: written.length,
      };
    }

    it('refuses every staff page and action to anonymous callers, to users without the role, and the administrators’ to moderators, changing nothing', async () => {
      const before = await state();
      const wrong: string[] = [];
      for (const role of ['anonymous', 'user', 'moderator'] as const) {
        const web = clients.get(role)!;
        // A valid CSRF token for the caller (a pre-session one when signed out): the refusal must be the gate's.
        const csrf = csrfIn((await web.get('/-/web/security/report')).text);
        for (const route of STAFF_ROUTES) {
          if (role === 'moderator' && route.who === 'staff') continue;
          const path = route.path(ctx);
          const res =
            route.method === 'GET' ? await web.get(path) : await web.post(path, { _csrf: csrf, ...route.form });
          const ok =
            role === 'anonymous'
              ? res.status === 303 && /^\/-\/web\/signin\?next=/.test(res.location ?? '')
              : res.status === 404;
          if (!ok) wrong.push(`${role} ${route.method} ${path}: ${res.status} ${res.location ?? ''}`);
        }
      }
      assert.deepEqual(wrong, []);
      assert.deepEqual(await state(), before, 'no refused attempt changed anything');
      // The security reports page is everyone's for their own reports; only administrators see the others'.
      assert.doesNotMatch((await clients.get('user')!.get('/-/web/security/reports')).text, /XSS/);
      assert.doesNotMatch((await clients.get('moderator')!.get('/-/web/security/reports')).text, /XSS/);
      assert.match((await clients.get('admin')!.get('/-/web/security/reports')).text, /XSS/);
    });

    it('asks an administrator whose account protects writes for the one-time password on every staff action, and acts only with it', async () => {
      const secret = await enableMfa(r, 'boss', 'auth-and-writes', now);
      now += 30_000;
      const boss = new WebClient(r.url);
      const first = await boss.signIn('boss', PASSWORD);
      const ticket = /name="ticket" value="([^"]+)"/.exec(first.text)![1]!;
      assert.equal(
        (await boss.post('/-/web/signin/otp', { _csrf: csrfIn(first.text), ticket, otp: codeAt(secret, now) })).status,
        303,
      );
      const attempts: Array<[page: string, action: string, form: Record<string, string>]> = [
        ['/-/web/admin/users/victim', '/-/web/admin/users/victim/disable', REASON],
        ['/-/web/admin/names', '/-/web/admin/names/allow', { ...REASON, name: 'expres' }],
        [
          '/-/web/security/reports',
          `/-/web/security/reports/${ctx.securityReport}/answer`,
          { answer: 'Fixed, thank you.' },
        ],
        [`/-/web/moderation/${ctx.item}`, `/-/web/moderation/${ctx.item}/dismiss`, REASON],
      ];
      for (const [page, action, form] of attempts) {
        const shown = await boss.get(page);
        assert.match(shown.text, /name="otp"/, `${page} asks for the code`);
        const before = await state();
        const refused = await boss.post(action, { _csrf: csrfIn(shown.text), ...form });
        assert.equal(refused.status, 401, `${action} without a code`);
        assert.match(refused.text, /one-time password/);
        assert.deepEqual(await state(), before, `${action} changed nothing without the code`);
        now += 30_000;
        const done = await boss.post(action, { _csrf: csrfIn(shown.text), ...form, otp: codeAt(secret, now) });
        assert.equal(done.status, 303, `${action} with the code: ${done.text.slice(0, 300)}`);
      }
      const after = await state();
      assert.notEqual(after.victim.disabled_at, null);
      assert.deepEqual(after.allowed, ['expres']);
      assert.equal(after.security.find((s) => s.id === ctx.securityReport)?.status, 'answered');
      assert.equal(after.items.find((i) => i.id === ctx.item)?.resolution, 'dismissed');
    });

    it('passes every staff action and every report through the gate’s write checks', async () => {
      const admin = clients.get('admin')!;
      written.length = 0;
      const csrf = await admin.csrf('/-/web/admin/users/victim');
      assert.equal((await admin.post('/-/web/admin/users/victim/enable', { _csrf: csrf, ...REASON })).status, 303);
      assert.equal(
        (await admin.post(`/-/web/moderation/${ctx.adminItem}/quarantine`, { _csrf: csrf, ...REASON })).status,
        303,
      );
      const eve = clients.get('user')!;
      const form = await eve.get('/-/web/report?package=staff-lib');
      assert.equal(
        (
          await eve.post('/-/web/report', {
            _csrf: csrfIn(form.text),
            package: 'staff-lib',
            version: '',
            reason: 'spam',
            details: 'an empty package that only advertises',
          })
        ).status,
        201,
      );
      const { token } = await r.user('reporter');
      assert.equal(
        (
          await r.request('POST', '/-/bulwark/v1/reports', {
            token,
            body: { package: 'admin-lib', reason: 'spam', details: 'an empty package that only advertises' },
          })
        ).status,
        201,
      );
      assert.deepEqual(written, [Action.UsersWrite, Action.ModerationAct, Action.ReportCreate, Action.ReportCreate]);
    });
  });
}
