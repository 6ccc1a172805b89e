// A look-alike that claims the imitated package's repository is refused rather than held (src/names/claims.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { claimedTarget, withClaims } from '../../src/names/claims.ts';
import type { Verdict } from '../../src/names/similarity.ts';

const review: Verdict = {
  name: 'zustand.js',
  verdict: 'review',
  reasons: [{ rule: 'affix', similar_to: 'zustand', cost: 1.5, budget: 1.74, tier: 'review' }],
};

test('a repository, home page or issue tracker named after the look-alike’s target is a claim', () => {
  for (const manifest of [
    { repository: 'github:pmndrs/zustand' },
    { repository: { type: 'git', url: 'git+https://github.com/pmndrs/zustand.git' } },
    { homepage: 'https://github.com/pmndrs/zustand#readme' },
    { bugs: { url: 'https://github.com/pmndrs/zustand/issues' } },
    { repository: 'git@github.com:pmndrs/zustand.git' },
  ])
    assert.equal(claimedTarget('zustand.js', manifest, review), 'zustand', JSON.stringify(manifest));
});

test('a project of its own, or no repository at all, claims nothing', () => {
  assert.equal(claimedTarget('zustand.js', { repository: 'github:someone/zustand.js' }, review), null);
  assert.equal(claimedTarget('zustand.js', { repository: 'github:someone/zustand-helpers' }, review), null);
  assert.equal(claimedTarget('zustand.js', {}, review), null);
  assert.equal(claimedTarget('zustand.js', { repository: 42 }, review), null);
});

test('only a held verdict is made a refusal; allow and block stay as they are', () => {
  const claimed = withClaims('zustand.js', { repository: 'github:pmndrs/zustand' }, review);
  assert.equal(claimed.verdict, 'block');
  assert.deepEqual(claimed.reasons[0], { rule: 'claims', similar_to: 'zustand', tier: 'block' });
  assert.equal(withClaims('zustand.js', {}, review), review);
  const allow: Verdict = { name: 'x', verdict: 'allow', reasons: [] };
  assert.equal(withClaims('x', { repository: 'github:pmndrs/zustand' }, allow), allow);
});
