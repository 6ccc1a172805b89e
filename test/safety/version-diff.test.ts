// The moderator's view of a flagged publish: what changed since the previous version, modelled on the 2025 chalk/debug
// takeover (a patch release that adds one obfuscated payload to an existing file) and on worms that add a postinstall.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffTarballs, previousVersion } from '../../src/safety/version-diff.ts';
import { packTarball } from '../helpers/packages.ts';

const INDEX = 'module.exports = function colour(s) {\n  return s;\n};\n';

describe('version diff', () => {
  it('shows a new install script, a new dependency, an added file and the changed lines of an edited one', () => {
    const before = packTarball(
      { name: 'colours', version: '1.2.3', main: 'index.js', dependencies: { 'has-flag': '^4.0.0' } },
      { 'package/index.js': INDEX, 'package/logo.png': '\u0000PNG binary' },
    );
    const after = packTarball(
      {
        name: 'colours',
        version: '1.2.4',
        main: 'index.js',
        scripts: { postinstall: 'node setup.js', test: 'node test.js' },
        dependencies: { 'has-flag': '^4.0.0', 'left-stealer': '1.0.0' },
      },
      {
        'package/index.js': INDEX.replace(
          'return s;',
          'return s;\n  /* payload */ eval(Buffer.from("Y29uc29sZS5sb2coMSk=", "base64").toString());',
        ),
        'package/setup.js': 'require("https").get("https://example.invalid/x");\n',
        'package/logo.png': '\u0000PNG other binary',
      },
    );
    const d = diffTarballs(before, after);
    assert.deepEqual(
      d.added.map((f) => f.path),
      ['setup.js'],
    );
    assert.match(d.added[0]!.patch!, /\+require\("https"\)\.get\("https:\/\/example\.invalid\/x"\);/);
    assert.deepEqual(
      d.changed.map((f) => f.path),
      ['index.js', 'logo.png', 'package.json'],
    );
    const index = d.changed.find((f) => f.path === 'index.js')!;
    assert.match(index.patch!, /^\+ {2}\/\* payload \*\/ eval\(Buffer\.from/m);
    assert.doesNotMatch(index.patch!, /^\+module\.exports/m, 'unchanged lines are context, not additions');
    assert.deepEqual(
      d.scripts,
      [{ name: 'postinstall', before: null, after: 'node setup.js' }],
      'only lifecycle scripts are listed',
    );
    assert.deepEqual(d.dependencies, [{ name: 'left-stealer', before: null, after: '1.0.0' }]);
    assert.deepEqual(d.omitted, ['logo.png: binary']);
    assert.equal(d.changed.find((f) => f.path === 'logo.png')!.patch, null);
  });

  it('lists a first version’s files without patches, and removed files', () => {
    const first = diffTarballs(null, packTarball({ name: 'fresh', version: '0.1.0' }, { 'package/a.js': '1' }));
    assert.deepEqual(
      first.added.map((f) => [f.path, f.patch]),
      [
        ['a.js', null],
        ['package.json', null],
        ['README.md', null],
      ],
    );
    const gone = diffTarballs(
      packTarball({ name: 'x', version: '1.0.0' }, { 'package/old.js': 'x' }),
      packTarball({ name: 'x', version: '1.0.1' }),
    );
    assert.deepEqual(
      gone.removed.map((f) => f.path),
      ['old.js'],
    );
  });

  it('compares with the highest version below, else the highest', () => {
    assert.equal(previousVersion(['1.0.0', '1.2.0', '2.0.0', '1.10.0'], '1.11.0'), '1.10.0');
    assert.equal(previousVersion(['2.0.0', '3.0.0'], '1.0.1'), '3.0.0');
    assert.equal(previousVersion(['1.0.0'], '1.0.0'), null);
  });
});
