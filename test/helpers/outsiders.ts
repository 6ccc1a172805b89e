// The setting of the invisibility tests (invariant 6): two restricted packages, one in a user's scope and one in an
// org's, and the callers who must not learn that they exist.
import assert from 'node:assert/strict';
import { createOrg } from '../../src/access/orgs.ts';
import { body, publishDoc, type Manifest } from './packages.ts';
import type { TestRegistry } from './registry.ts';

/** The restricted packages alice publishes: @alice/secret, and @acme/secret in her org acme. */
export const SECRETS = ['@alice/secret', '@acme/secret'] as const;

/**
 * Publishes SECRETS (with `extra` in their manifests) and returns alice's token and the callers who may not read them,
 * by description: anonymous, a bad token, a stranger (bob), and carol, a member of acme on no team that can see
 * @acme/secret. bob and carol sign in with the password TestRegistry.user gives every user.
 */
export async function secretsAndOutsiders(
  r: TestRegistry,
  extra: Partial<Manifest> = {},
): Promise<{ owner: string; callers: Record<string, string | null> }> {
  const alice = await r.user('alice');
  await createOrg(r.store.db, 'acme', 'alice', null, Date.now());
  for (const name of SECRETS) {
    const doc = publishDoc({ ...extra, name, version: '1.0.0' }, { access: 'restricted' });
    const res = await r.request('PUT', `/${name.replace('/', '%2f')}`, { token: alice.token, body: body(doc) });
    assert.equal(res.status, 201, res.text);
  }
  const bob = await r.user('bob');
  const carol = await r.user('carol');
  await r.store.db
    .insertInto('org_members')
    .values({ org: 'acme', user_id: carol.id, role: 'developer', created_at: Date.now() })
    .execute();
  return {
    owner: alice.token,
    callers: {
      anonymous: null,
      'bad token': 'bwk_' + 'A'.repeat(42),
      'a stranger': bob.token,
      'an org member without a grant': carol.token,
    },
  };
}
