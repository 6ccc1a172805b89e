// The token scope rules (tokens/scope.ts), without I/O: what planToken accepts and refuses, how CIDRs match, and
// what tokenScopeDecision says for every permission × action × package shape.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientError } from '../../src/errors.ts';
import {
  DAY,
  SESSION_TTL_MS,
  WRITE_DEFAULT_DAYS,
  cidrAllows,
  parseCidr,
  parseScope,
  planToken,
  scopeSummary,
  serializeScope,
  tokenScopeDecision,
  type ScopeRequest,
  type TokenScope,
} from '../../src/tokens/scope.ts';

const NOW = Date.UTC(2026, 10, 30);

function refused(req: ScopeRequest, message: RegExp) {
  assert.throws(
    () => planToken(req, NOW),
    (err: unknown) => err instanceof ClientError && err.code === 'E_TOKEN_REQUEST' && message.test(err.message),
    JSON.stringify(req),
  );
}

describe('planToken', () => {
  it('defaults to a read-only token on all packages that does not expire', () => {
    const p = planToken({}, NOW);
    assert.equal(p.readonly, true);
    assert.equal(p.expiresAt, null);
    assert.deepEqual(p.scope.packages, { permission: 'read-only', all: true, names: [], scopes: [] });
    assert.equal(p.scope.bypass2fa, false);
  });

  it('gives every write token an expiry: 30 days by default, never more than 90', () => {
    const listed = planToken({ permission: 'read-write', packages: ['left-pad'] }, NOW);
    assert.equal(listed.expiresAt, NOW + WRITE_DEFAULT_DAYS * DAY);
    assert.equal(listed.readonly, false);
    const all = planToken({ permission: 'read-write', packagesAll: true, expiresDays: 90 }, NOW);
    assert.equal(all.expiresAt, NOW + 90 * DAY);
    refused({ permission: 'read-write', packagesAll: true, expiresDays: 91 }, /from 1 to 90/);
    refused({ permission: 'read-write', packages: ['a'], expiresDays: 0 }, /from 1 to 90/);
    refused({ permission: 'read-write', packages: ['a'], expiresDays: 1.5 }, /whole number/);
    assert.equal(
      planToken({ orgs: ['acme'], orgsPermission: 'read-write', permission: 'no-access' }, NOW).expiresAt,
      NOW + 30 * DAY,
      'org administration is writing too',
    );
    assert.equal(planToken({ expiresDays: 365 }, NOW).expiresAt, NOW + 365 * DAY, 'read-only tokens may live longer');
    assert.ok(SESSION_TTL_MS <= 2 * 3_600_000, 'npm login sessions are short');
  });

  it('allows bypass2fa only on expiring read-write tokens limited to packages or scopes', () => {
    const p = planToken({ permission: 'read-write', packages: ['a'], scopes: ['@acme/*'], bypass2fa: true }, NOW);
    assert.equal(p.scope.bypass2fa, true);
    assert.equal(p.expiresAt, NOW + 30 * DAY);
    assert.deepEqual(p.scope.packages.scopes, ['@acme']);
    refused({ permission: 'read-write', packagesAll: true, bypass2fa: true }, /limited to listed packages/);
    refused({ permission: 'read-write', bypass2fa: true }, /must say which packages|limited to listed/);
    refused({ permission: 'read-only', packages: ['a'], bypass2fa: true }, /read-write/);
    refused({ permission: 'read-write', packages: ['a'], bypass2fa: true, expiresDays: 120 }, /from 1 to 90/);
    refused(
      { permission: 'read-write', packages: ['a'], bypass2fa: true, orgs: ['acme'], orgsPermission: 'read-write' },
      /cannot administer orgs/,
    );
  });

  it('refuses bad input with a reason', () => {
    refused({ permission: 'read-write' }, /must say which packages/);
    refused({ permission: 'write' }, /must be one of read-only, read-write, no-access/);
    refused({ permission: 'read-write-stage-only', packages: ['a'] }, /staged publishing/);
    refused({ packagesAll: true, packages: ['a'] }, /either all packages or a list/);
    refused({ packages: ['Not A Name'] }, /invalid package name/);
    refused({ scopes: ['@/x'] }, /invalid scope/);
    refused({ cidr: ['10.0.0.0/33'] }, /prefix length/);
    refused({ cidr: ['10.0.0.300/8'] }, /not an IPv4 or IPv6 address/);
    refused({ cidr: ['2001:db8::/129'] }, /prefix length/);
    refused({ permission: 'no-access' }, /could do nothing/);
    refused({ orgsPermission: 'read-write' }, /needs the orgs/);
  });

  it('stores a versioned scope that reads back the same, and fails closed on records it cannot read', () => {
    const p = planToken(
      { permission: 'read-write', packages: ['a'], cidr: ['10.1.0.0/16', '2001:db8::/32'], orgs: ['acme'] },
      NOW,
    );
    const text = serializeScope(p.scope);
    assert.equal(JSON.parse(text).v, 1);
    assert.deepEqual(parseScope(text), p.scope);
    assert.equal(parseScope(null), null);
    const unknown = parseScope('{"v":99}')!;
    assert.ok(
      tokenScopeDecision({ tokenScope: unknown }, 'package:versions:publish', 'a', null),
      'an unreadable scope allows nothing',
    );
    assert.equal(cidrAllows(unknown.cidr, '127.0.0.1'), false);
    assert.match(
      scopeSummary(p.scope, p.readonly),
      /read-write on a; read-only org administration of acme; only from 10\.1\.0\.0\/16, 2001:db8::\/32/,
    );
  });
});

describe('CIDR allow-lists', () => {
  it('matches IPv4, IPv6 and IPv4-mapped addresses, and an empty list allows anywhere', () => {
    assert.equal(parseCidr('127.0.0.1').text, '127.0.0.1/32');
    assert.equal(cidrAllows([], '203.0.113.9'), true);
    assert.equal(cidrAllows(['127.0.0.1/32'], '127.0.0.1'), true);
    assert.equal(cidrAllows(['127.0.0.1/32'], '127.0.0.2'), false);
    assert.equal(cidrAllows(['127.0.0.1/32'], '::ffff:127.0.0.1'), true);
    assert.equal(cidrAllows(['10.0.0.0/8'], '10.200.3.4'), true);
    assert.equal(cidrAllows(['10.0.0.0/8'], '11.0.0.1'), false);
    assert.equal(cidrAllows(['2001:db8::/32'], '2001:db8:1::5'), true);
    assert.equal(cidrAllows(['2001:db8::/32'], '2001:db9::5'), false);
    assert.equal(cidrAllows(['::1/128'], '::1'), true);
    assert.equal(cidrAllows(['10.0.0.0/8'], 'not-an-ip'), false);
  });
});

describe('tokenScopeDecision', () => {
  const scope = (req: ScopeRequest): { tokenScope: TokenScope } => ({ tokenScope: planToken(req, NOW).scope });
  const PUBLISH = 'package:versions:publish';
  const CREATE = 'package:create';
  const READ = 'package:read';

  it('does not restrict principals without a scoped token', () => {
    assert.equal(tokenScopeDecision(null, PUBLISH, 'a', null), null);
    assert.equal(tokenScopeDecision({ tokenScope: null }, PUBLISH, 'a', null), null);
    assert.equal(tokenScopeDecision({}, PUBLISH, 'a', null), null);
  });

  it('lets a package-limited token change its packages and nothing else', () => {
    const t = scope({ permission: 'read-write', packages: ['a', '@acme/tool'] });
    assert.equal(tokenScopeDecision(t, PUBLISH, 'a', null), null);
    assert.equal(tokenScopeDecision(t, CREATE, '@acme/tool', 'acme'), null);
    for (const [name, sc] of [
      ['b', null],
      ['@acme/other', 'acme'],
      ['a-b', null],
      ['@a/a', 'a'],
    ] as const) {
      for (const action of [PUBLISH, CREATE, 'package:dist-tags:write', 'package:owners:write']) {
        const d = tokenScopeDecision(t, action, name, sc);
        assert.equal(d?.code, 'E_TOKEN_SCOPE', `${action} ${name}`);
        assert.match(d!.reason, /limited to other packages/);
      }
    }
    assert.equal(
      tokenScopeDecision(t, PUBLISH, undefined, null)?.code,
      'E_TOKEN_SCOPE',
      'a package without a known name is refused',
    );
  });

  it('lets a scope-limited token change @scope/* only', () => {
    const t = scope({ permission: 'read-write', scopes: ['@acme/*'] });
    assert.equal(tokenScopeDecision(t, PUBLISH, '@acme/x', 'acme'), null);
    assert.equal(tokenScopeDecision(t, CREATE, '@acme/new', 'acme'), null);
    assert.equal(tokenScopeDecision(t, PUBLISH, '@acmex/x', 'acmex')?.code, 'E_TOKEN_SCOPE');
    assert.equal(tokenScopeDecision(t, PUBLISH, 'acme', null)?.code, 'E_TOKEN_SCOPE');
  });

  it('keeps read-only tokens from writing, and hides restricted packages outside the list while public ones stay readable', () => {
    const ro = scope({ permission: 'read-only', packages: ['a'] });
    assert.match(tokenScopeDecision(ro, PUBLISH, 'a', null)!.reason, /read-only/);
    assert.equal(tokenScopeDecision(ro, READ, 'a', null, 'restricted'), null);
    assert.equal(tokenScopeDecision(ro, READ, 'b', null, 'public'), null);
    assert.equal(tokenScopeDecision(ro, READ, 'b', null, 'restricted')?.code, 'E_NOT_FOUND');
    const all = scope({});
    assert.match(tokenScopeDecision(all, PUBLISH, 'a', null)!.reason, /read-only/);
    assert.equal(tokenScopeDecision(all, READ, 'b', null, 'restricted'), null);
  });

  it('gives org administration only for listed orgs and at the granted level', () => {
    const admin = scope({ orgs: ['acme'], orgsPermission: 'read-write', permission: 'no-access' });
    assert.equal(tokenScopeDecision(admin, 'org:members:write', null, 'acme'), null);
    assert.equal(tokenScopeDecision(admin, 'org:members:write', null, 'other')?.code, 'E_TOKEN_SCOPE');
    assert.equal(
      tokenScopeDecision(admin, PUBLISH, '@acme/x', 'acme')?.code,
      'E_TOKEN_SCOPE',
      'org rights are not publishing rights',
    );
    const reader = scope({ orgs: ['acme'] });
    assert.equal(tokenScopeDecision(reader, 'org:read', null, 'acme'), null);
    assert.match(tokenScopeDecision(reader, 'org:teams:write', null, 'acme')!.reason, /only read/);
    const none = scope({ permission: 'read-write', packages: ['a'] });
    assert.equal(tokenScopeDecision(none, 'org:read', null, 'acme')?.code, 'E_TOKEN_SCOPE');
  });
});
