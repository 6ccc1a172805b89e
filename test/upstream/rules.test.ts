// The upstream proxy's pure rules: routing patterns, the minimum release age, the integrity check and where a
// tarball may be fetched from.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { integrityProblem, expectedHash } from '../../src/upstream/integrity.ts';
import { parseUpstreamDoc, tarballSource } from '../../src/upstream/packument.ts';
import { applyCooldown, cooldownMessage } from '../../src/upstream/policy.ts';
import { matchesPattern, upstreamFor } from '../../src/upstream/rules.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-10T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('upstream routing patterns', () => {
  const cases: Array<[string, string, boolean]> = [
    ['*', 'express', true],
    ['**', '@a/b', true],
    ['@corp/*', '@corp/tool', true],
    ['@corp/*', '@corpx/tool', false],
    ['@corp', '@corp/tool', true],
    ['@corp', 'corp-tool', false],
    ['lodash*', 'lodash.merge', true],
    ['lodash*', 'xlodash', false],
    ['express', 'express', true],
    ['express', 'express-session', false],
    ['Express', 'express', true],
  ];
  for (const [pattern, name, expected] of cases)
    it(`${pattern} ${expected ? 'covers' : 'does not cover'} ${name}`, () =>
      assert.equal(matchesPattern(pattern, name), expected));

  it('takes the first rule that matches, and none when no rule does', () => {
    const rules = [
      { pattern: '@corp/*', url: 'https://corp.example' },
      { pattern: 'left-*', url: 'https://mirror.example' },
    ];
    assert.equal(upstreamFor(rules, '@corp/x')?.url, 'https://corp.example');
    assert.equal(upstreamFor(rules, 'left-pad')?.url, 'https://mirror.example');
    assert.equal(upstreamFor(rules, 'express'), null);
    assert.equal(
      upstreamFor([...rules, { pattern: '*', url: 'https://npm.example' }], 'express')?.url,
      'https://npm.example',
    );
  });
});

describe('the minimum release age', () => {
  const time = {
    '1.0.0': iso(NOW - 30 * DAY),
    '1.1.0': iso(NOW - 4 * DAY),
    '1.2.0': iso(NOW - 3600_000),
    '2.0.0': iso(NOW - 10 * DAY),
    '2.1.0-rc.1': iso(NOW - 5 * DAY),
  };
  const versions = Object.keys(time);

  it('hides young versions and says when each comes of age', () => {
    const c = applyCooldown({ versions, time, distTags: { latest: '1.2.0', next: '2.1.0-rc.1' } }, 3 * DAY, NOW);
    assert.deepEqual(c.visible, ['1.0.0', '1.1.0', '2.0.0', '2.1.0-rc.1']);
    assert.deepEqual([...c.hidden], [['1.2.0', NOW - 3600_000 + 3 * DAY]]);
    assert.equal(c.distTags.next, '2.1.0-rc.1');
  });

  it('falls latest back to the newest old-enough release not above it, never to another major on another tag', () => {
    const c = applyCooldown({ versions, time, distTags: { latest: '1.2.0' } }, 3 * DAY, NOW);
    assert.equal(c.distTags.latest, '1.1.0');
    const none = applyCooldown({ versions, time, distTags: { latest: '1.2.0' } }, 40 * DAY, NOW);
    assert.deepEqual(none.distTags, {});
  });

  it('drops a tag whose version is hidden, except latest which falls back', () => {
    const c = applyCooldown({ versions, time, distTags: { latest: '1.0.0', beta: '1.2.0' } }, 3 * DAY, NOW);
    assert.deepEqual(c.distTags, { latest: '1.0.0' });
  });

  it('holds back a version without a publication time, unless the cooldown is off', () => {
    const c = applyCooldown({ versions: ['1.0.0', '3.0.0'], time, distTags: {} }, DAY, NOW);
    assert.deepEqual(c.visible, ['1.0.0']);
    assert.ok(Number.isNaN(c.hidden.get('3.0.0')));
    assert.deepEqual(applyCooldown({ versions: ['3.0.0'], time, distTags: {} }, 0, NOW).visible, ['3.0.0']);
    assert.match(cooldownMessage('p', '3.0.0', NaN, DAY), /gives no publication time/);
  });

  it('says when a refused version becomes available', () => {
    const msg = cooldownMessage('p', '1.2.0', NOW + 2 * DAY, 3 * DAY);
    assert.match(msg, /less than 3 days ago/);
    assert.ok(msg.includes(`becomes available at ${iso(NOW + 2 * DAY)}`));
  });
});

describe('the integrity check', () => {
  const bytes = Buffer.from('tarball bytes');
  const sri = `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
  const sha1 = createHash('sha1').update(bytes).digest('hex');

  it('accepts bytes matching the sha512 integrity, or the shasum when there is no sha512', () => {
    assert.equal(integrityProblem(bytes, { integrity: sri, shasum: sha1 }), null);
    assert.equal(integrityProblem(bytes, { shasum: sha1 }), null);
    assert.equal(integrityProblem(bytes, { integrity: `sha1-abc ${sri}` }), null);
  });

  it('refuses other bytes, and a version that gives no hash at all', () => {
    assert.match(integrityProblem(Buffer.from('other'), { integrity: sri, shasum: sha1 })!, /hash to sha512/);
    // A correct shasum does not save a wrong sha512: the strongest hash counts.
    const wrong = `sha512-${createHash('sha512').update('x').digest('base64')}`;
    assert.ok(integrityProblem(bytes, { integrity: wrong, shasum: sha1 }));
    assert.match(integrityProblem(bytes, {})!, /no sha512 integrity or shasum/);
    assert.equal(expectedHash({ integrity: 'md5-xyz' }), null);
  });
});

describe('upstream documents', () => {
  it('keeps only versions whose manifest names the package and the version', () => {
    const doc = parseUpstreamDoc(
      'p',
      JSON.stringify({
        name: 'p',
        versions: {
          '1.0.0': { name: 'p', version: '1.0.0', dist: {} },
          '1.0.1': { name: 'other', version: '1.0.1', dist: {} },
          '1.0.2': { name: 'p', version: '1.0.3', dist: {} },
          'not-semver': { name: 'p', version: 'not-semver', dist: {} },
          '1.0.4': 'nope',
        },
      }),
    );
    assert.deepEqual([...doc.versions.keys()], ['1.0.0']);
    assert.throws(() => parseUpstreamDoc('p', JSON.stringify({ name: 'q', versions: {} })), /for "q", not p/);
    assert.throws(() => parseUpstreamDoc('p', '[]'), /not a JSON object/);
  });

  it('fetches a tarball from the upstream’s own host only', () => {
    const v = (tarball: unknown) => ({ version: '1.0.0', dist: { tarball }, publishedAt: 0 });
    const up = 'https://registry.npmjs.org';
    assert.equal(tarballSource(up, 'p', v('http://registry.npmjs.org/p/-/p-1.0.0.tgz')), `${up}/p/-/p-1.0.0.tgz`);
    assert.equal(tarballSource(up, 'p', v('http://169.254.169.254/latest/meta-data')), `${up}/p/-/p-1.0.0.tgz`);
    assert.equal(tarballSource(up, '@s/p', v(undefined)), `${up}/@s/p/-/p-1.0.0.tgz`);
  });
});
