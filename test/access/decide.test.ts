import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Action, decide, type PackageFacts } from '../../src/access/decide.ts';
import type { Principal } from '../../src/access/principal.ts';

describe('decide', () => {
  const user = (id: number, extra: Partial<Principal> = {}): Principal => ({
    userId: id,
    name: `u${id}`,
    email: '',
    isAdmin: false,
    emailVerified: true,
    tokenId: 1,
    tokenReadonly: false,
    ...extra,
  });
  const pkg = (extra: Partial<PackageFacts> = {}): PackageFacts => ({
    access: 'public',
    maintainerIds: [1],
    scope: null,
    scopeOwnerId: null,
    scopeNamesakeId: null,
    ...extra,
  });
  const policy = { readAccess: 'public' } as const;

  it('lets maintainers publish and refuses everyone else, invisibly for restricted packages', () => {
    assert.equal(decide(user(1), Action.PackagePublish, pkg(), policy).allow, true);
    assert.deepEqual(decide(user(2), Action.PackagePublish, pkg(), policy), {
      allow: false,
      code: 'E_FORBIDDEN',
      reason:
        'you do not have permission to change this package: you are not one of its maintainers and no team of yours has read-write access to it',
    });
    // A publish to a package the caller cannot read answers as a first publish of that name would (issue 15.4).
    const hidden = pkg({ access: 'restricted', scope: 'acme', scopeOwnerId: 1 });
    assert.deepEqual(
      decide(user(2), Action.PackagePublish, hidden, policy),
      decide(user(2), Action.PackageCreate, { ...hidden, access: null, maintainerIds: [] }, policy),
    );
    assert.equal((decide(user(2), Action.PackagePublish, hidden, policy) as { code: string }).code, 'E_NAME_TAKEN');
    assert.equal((decide(null, Action.PackagePublish, pkg(), policy) as { code: string }).code, 'E_AUTH_REQUIRED');
    assert.equal(
      (decide(user(1, { tokenReadonly: true }), Action.PackagePublish, pkg(), policy) as { code: string }).code,
      'E_TOKEN_READONLY',
    );
    assert.equal(
      (decide(user(1, { emailVerified: false }), Action.PackagePublish, pkg(), policy) as { code: string }).code,
      'E_EMAIL_UNVERIFIED',
    );
  });

  it('gives a scope to its owner, or before first use to the user of the same name', () => {
    const fresh = pkg({ access: null, maintainerIds: [], scope: 'acme' });
    assert.equal(
      decide(user(2), Action.PackageCreate, fresh, policy).allow,
      true,
      'an unclaimed scope with no namesake',
    );
    assert.equal(decide(user(2), Action.PackageCreate, { ...fresh, scopeNamesakeId: 3 }, policy).allow, false);
    assert.equal(decide(user(3), Action.PackageCreate, { ...fresh, scopeNamesakeId: 3 }, policy).allow, true);
    assert.equal(
      decide(user(2), Action.PackageCreate, { ...fresh, scopeOwnerId: 4, scopeNamesakeId: 2 }, policy).allow,
      false,
      'the owner wins over a namesake',
    );
  });

  it('hides restricted packages and, under authenticated reads, everything from anonymous callers', () => {
    assert.equal(decide(null, Action.PackageRead, pkg(), policy).allow, true);
    assert.equal(
      (decide(null, Action.PackageRead, pkg({ access: 'restricted' }), policy) as { code: string }).code,
      'E_NOT_FOUND',
    );
    assert.equal(decide(user(1), Action.PackageRead, pkg({ access: 'restricted' }), policy).allow, true);
    assert.equal(
      decide(user(9, { isAdmin: true }), Action.PackageRead, pkg({ access: 'restricted' }), policy).allow,
      true,
    );
    assert.equal(
      (decide(null, Action.PackageRead, pkg({ access: null }), { readAccess: 'authenticated' }) as { code: string })
        .code,
      'E_AUTH_REQUIRED',
      'existence is not revealed',
    );
  });
});
