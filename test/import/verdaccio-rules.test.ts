// The pure parts of the Verdaccio import: which packages and versions are local, the htpasswd file, config.yaml's
// packages rules in Bulwark's terms, and the tarball check.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { parseHtpasswd } from '../../src/import/htpasswd.ts';
import { parseVerdaccioConfig, patternMatches, translateRules } from '../../src/import/verdaccio-config.ts';
import { planPackage } from '../../src/import/verdaccio-storage.ts';
import { tarballMismatch } from '../../src/import/verdaccio.ts';

const version = (name: string, v: string, file = `${name.split('/').pop()}-${v}.tgz`) => ({
  name,
  version: v,
  dist: { tarball: `http://verdaccio.local/${name}/-/${file}`, shasum: 'x' },
});

describe('planPackage', () => {
  const doc = {
    name: 'lib',
    versions: { '1.0.0': version('lib', '1.0.0'), '2.0.0': version('lib', '2.0.0'), '0.9.0': version('lib', '0.9.0') },
    time: {
      created: '2024-01-01T00:00:00.000Z',
      '0.9.0': '2024-01-01T00:00:00.000Z',
      '1.0.0': '2024-02-01T00:00:00.000Z',
      '2.0.0': '2024-03-01T00:00:00.000Z',
    },
    'dist-tags': { latest: '1.0.0', next: '2.0.0', old: '0.9.0' },
    _attachments: {
      'lib-1.0.0.tgz': { shasum: 'x', version: '1.0.0' },
      'lib-2.0.0.tgz': { shasum: 'x', version: '2.0.0' },
    },
    _distfiles: { 'lib-0.9.0.tgz': { url: 'https://registry.npmjs.org/lib/-/lib-0.9.0.tgz' } },
    _uplinks: { npmjs: { etag: 'W/"1"', fetched: 1 } },
  };

  it('a listed package: versions Verdaccio recorded as published, oldest first; uplink versions and their tags left out', () => {
    const plan = planPackage('lib', doc, new Set(['lib']));
    assert.equal(plan.kind, 'local');
    assert.deepEqual(
      plan.versions.map((v) => v.version),
      ['1.0.0', '2.0.0'],
    );
    assert.deepEqual(plan.cachedVersions, ['0.9.0']);
    assert.deepEqual(plan.distTags, { latest: '1.0.0', next: '2.0.0' });
    assert.equal(plan.versions[0]!.publishedAt, Date.parse('2024-02-01T00:00:00.000Z'));
  });

  it('an unlisted package with an uplink record is a cache; without .verdaccio-db.json the uplink record decides', () => {
    assert.equal(planPackage('lib', doc, new Set(['other'])).kind, 'cached');
    assert.equal(planPackage('lib', doc, null).kind, 'cached');
    assert.equal(planPackage('lib', { ...doc, _uplinks: {} }, null).kind, 'local');
  });

  it('refuses a tarball file name that could leave the package folder, and takes owners from maintainers and _npmUser', () => {
    const plan = planPackage(
      'lib',
      {
        versions: {
          '1.0.0': { ...version('lib', '1.0.0'), dist: { tarball: 'http://x/lib/-/..%2F..%2Fetc%2Fpasswd.tgz' } },
          '1.0.1': { ...version('lib', '1.0.1'), _npmUser: { name: 'carol' } },
        },
        maintainers: [{ name: 'alice', email: 'a@example.com' }],
      },
      new Set(['lib']),
    );
    assert.deepEqual(
      plan.versions.map((v) => v.version),
      ['1.0.1'],
    );
    assert.match(plan.problems[0]!.reason, /names no tarball file/);
    assert.deepEqual(plan.owners.sort(), ['alice', 'carol']);
  });
});

describe('parseHtpasswd', () => {
  it('reads name:hash[:comment] lines as Verdaccio does; the last line for a name wins', () => {
    const entries = parseHtpasswd(
      'alice:$2y$10$' + 'a'.repeat(53) + ':autocreated 2024\r\nbob:{SHA}abc\n\n#x:y\nalice:abNANd1rDfiNc\n',
    );
    assert.deepEqual(
      entries.map((e) => [e.name, e.kind]),
      [
        ['alice', 'crypt'],
        ['bob', null],
      ],
    );
  });
});

describe('Verdaccio packages rules', () => {
  it('matches patterns as minimatch does for package names', () => {
    assert.ok(patternMatches('@acme/*', '@acme/widget'));
    assert.ok(!patternMatches('@acme/*', '@acme2/widget'));
    assert.ok(patternMatches('**', '@any/thing'));
    assert.ok(patternMatches('private-*', 'private-x'));
    assert.ok(!patternMatches('private-*', 'xprivate-x'));
    assert.ok(!patternMatches('*', '@scope/name'));
  });

  const config = parseVerdaccioConfig(`
storage: ./storage
auth: { htpasswd: { file: ./htpasswd } }
packages:
  '@acme/*': { access: $all, publish: alice bob, unpublish: alice }
  '@secret/*': { access: alice carol, publish: alice }
  'private-*': { access: alice, publish: alice }
  '**': { access: $authenticated, publish: $authenticated, proxy: npmjs }
`);

  it('reads storage, htpasswd and the rules in order', () => {
    assert.equal(config.storage, './storage');
    assert.equal(config.htpasswd, './htpasswd');
    assert.deepEqual(
      config.rules.map((r) => r.pattern),
      ['@acme/*', '@secret/*', 'private-*', '**'],
    );
    assert.deepEqual(config.rules[0]!.publish, ['alice', 'bob']);
  });

  it('maps named publishers to maintainers and $all to public; says what does not map', () => {
    const t = translateRules(
      config.rules,
      ['@acme/w', '@secret/s', 'private-p', 'open', '@other/o'],
      new Set(['alice', 'bob']),
    );
    const by = Object.fromEntries(t.packages.map((p) => [p.name, p]));
    assert.deepEqual(by['@acme/w'], {
      name: '@acme/w',
      rule: '@acme/*',
      maintainers: ['alice', 'bob'],
      access: 'public',
      readers: [],
    });
    assert.equal(by['@secret/s']!.access, 'restricted');
    assert.deepEqual(by['@secret/s']!.maintainers, ['alice']);
    assert.equal(by['private-p']!.access, null, 'an unscoped package cannot be restricted');
    assert.equal(by['@other/o']!.access, 'restricted');
    const said = t.unmapped.join('\n');
    assert.match(said, /@secret\/s .*access "carol" is not a user/);
    assert.match(said, /private-p .*an unscoped package is public/);
    assert.match(said, /open .*publish \$authenticated: only a package's maintainers publish/);
    assert.match(said, /open .*access \$authenticated: an unscoped package is public/);
    assert.match(said, /proxy npmjs: route these names upstream/);
    assert.match(said, /@acme\/w .*unpublish alice/);
  });

  it('a config that is not a mapping is refused', () => {
    assert.throws(() => parseVerdaccioConfig('- a\n- b\n'), /not a YAML mapping/);
  });
});

describe('tarballMismatch', () => {
  const bytes = Buffer.from('tarball bytes');
  const sha512 = `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
  const sha1 = createHash('sha1').update(bytes).digest('hex');
  it('accepts bytes that match, refuses any recorded hash that does not, and bytes with nothing to check by', () => {
    assert.equal(tarballMismatch(bytes, { dist: { integrity: sha512, shasum: sha1 } }, { shasum: sha1 }), null);
    assert.match(tarballMismatch(Buffer.from('other'), { dist: { integrity: sha512 } }, undefined)!, /sha512/);
    assert.match(tarballMismatch(bytes, { dist: { integrity: sha512 } }, { shasum: 'f'.repeat(40) })!, /sha1/);
    assert.match(tarballMismatch(bytes, { dist: {} }, undefined)!, /no integrity or shasum/);
  });
});
