// GEN-2a as a user meets it: the real npm 11 (and npm 10) CLI deprecating, un-deprecating and unpublishing against a
// running registry, with the refusals the policy requires (docs/policies/unpublish.md), and an operator's
// `bulwark admin package …` commands taking effect on the running server. Fixtures are published over HTTP; npm runs
// only the commands under test. SQLite only: the rules themselves run on both databases in test/http/lifecycle.test.ts.
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bulwark } from '../helpers/bulwark-process.ts';
import { ok, run, sandbox, type ClientName, type Sandbox } from '../helpers/clients.ts';
import { body, publishDoc, type Manifest } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const HOUR = 3600_000;

describe('npm deprecate and unpublish through the real npm CLI (sqlite)', () => {
  let r: TestRegistry;
  let now = Date.now();
  const sb: Record<string, Sandbox> = {};
  const npm = (who: string, args: string[], client: ClientName = 'npm11', cwd?: string) =>
    run(client, args, { cwd: cwd ?? sb[who]!.dir, env: sb[who]!.env });
  const npmOk = (who: string, args: string[], client: ClientName = 'npm11') =>
    ok(client, args, { cwd: sb[who]!.dir, env: sb[who]!.env });
  const tokens: Record<string, string> = {};
  const publish = async (who: string, manifest: Manifest) => {
    const res = await r.request('PUT', `/${manifest.name}`, { token: tokens[who]!, body: body(publishDoc(manifest)) });
    assert.equal(res.status, 201, res.text);
  };
  const versionsOf = async (name: string) =>
    Object.keys(((await r.request('GET', `/${name}`)).json() as { versions?: object }).versions ?? {});

  before(async () => {
    r = await startRegistry('sqlite', {}, { clock: () => now });
    for (const name of ['alice', 'bob']) {
      tokens[name] = (await r.user(name)).token;
      sb[name] = await sandbox(r.url, tokens[name]);
    }
  });
  after(async () => {
    await r.stop();
    for (const s of Object.values(sb)) await rm(s.dir, { recursive: true, force: true });
  });

  it('npm deprecate warns on install, and an empty message takes the warning back', async () => {
    for (const version of ['1.0.0', '1.1.0']) await publish('alice', { name: 'creaky', version, main: 'index.js' });
    await npmOk('alice', ['deprecate', 'creaky@<1.1.0', 'creaky 1.0 leaks file handles: use 1.1']);
    const view = await npmOk('alice', ['view', 'creaky@1.0.0', 'deprecated']);
    assert.equal(view.stdout.trim(), 'creaky 1.0 leaks file handles: use 1.1');
    assert.equal(
      (await npmOk('alice', ['view', 'creaky@1.1.0', 'deprecated'])).stdout.trim(),
      '',
      'only the range is deprecated',
    );

    const project = path.join(sb.bob!.dir, 'app');
    await mkdir(project, { recursive: true });
    await writeFile(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', private: true }),
    );
    const install = await npm('bob', ['install', 'creaky@1.0.0'], 'npm11', project);
    assert.equal(install.code, 0, install.stderr);
    assert.match(install.stderr, /deprecated creaky@1\.0\.0: creaky 1\.0 leaks file handles: use 1\.1/);

    assert.notEqual(
      (await npm('bob', ['deprecate', 'creaky@1.1.0', 'hijacked'])).code,
      0,
      'a stranger cannot deprecate',
    );
    await npmOk('alice', ['deprecate', 'creaky@1.0.0', '']);
    assert.equal((await npmOk('alice', ['view', 'creaky@1.0.0', 'deprecated'])).stdout.trim(), '');
  });

  it('npm unpublish name@version removes it for good, and the version can never be published again', async () => {
    for (const version of ['2.0.0', '2.0.1']) await publish('alice', { name: 'typo-release', version });
    const out = await npmOk('alice', ['unpublish', 'typo-release@2.0.1']);
    assert.match(out.stdout, /- typo-release@2\.0\.1/);
    assert.deepEqual(await versionsOf('typo-release'), ['2.0.0']);
    assert.equal((await npmOk('alice', ['view', 'typo-release', 'dist-tags.latest'])).stdout.trim(), '2.0.0');

    const dir = path.join(sb.alice!.dir, 'republish');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'typo-release', version: '2.0.1' }));
    const again = await npm('alice', ['publish'], 'npm11', dir);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /403[\s\S]*cannot publish over the previously published versions: 2\.0\.1/);
  });

  it('refuses to unpublish a version another package depends on, naming the dependent', async () => {
    await publish('alice', { name: 'core-util', version: '1.0.0' });
    await publish('alice', { name: 'core-util', version: '1.0.1' });
    await publish('bob', { name: 'uses-core', version: '1.0.0', dependencies: { 'core-util': '~1.0.1' } });
    const refused = await npm('alice', ['unpublish', 'core-util@1.0.1']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /403[\s\S]*other packages depend on it: uses-core@1\.0\.0 \(~1\.0\.1\)/);
    assert.deepEqual(await versionsOf('core-util'), ['1.0.0', '1.0.1']);
    await npmOk('alice', ['unpublish', 'core-util@1.0.0']);
    assert.deepEqual(await versionsOf('core-util'), ['1.0.1'], '~1.0.1 does not admit 1.0.0');
  });

  it('refuses after the 72-hour window and says to deprecate instead', async () => {
    await publish('alice', { name: 'long-lived', version: '1.0.0' });
    await publish('alice', { name: 'long-lived', version: '1.0.1' });
    now += 73 * HOUR;
    try {
      const late = await npm('alice', ['unpublish', 'long-lived@1.0.1']);
      assert.notEqual(late.code, 0);
      assert.match(
        late.stderr,
        /can no longer be unpublished: versions can only be unpublished within 72 hours[\s\S]*npm deprecate/,
      );
      assert.notEqual((await npm('alice', ['unpublish', 'long-lived', '--force'])).code, 0);
      assert.deepEqual(await versionsOf('long-lived'), ['1.0.0', '1.0.1']);
    } finally {
      now -= 73 * HOUR;
    }
  });

  it('npm unpublish --force takes the package: npm view says so, installs fail, the name stays its owner’s', async () => {
    await publish('alice', { name: 'short-lived', version: '0.1.0' });
    await publish('alice', { name: 'short-lived', version: '0.2.0' });
    assert.notEqual((await npm('bob', ['unpublish', 'short-lived', '--force'])).code, 0, 'a stranger cannot unpublish');
    await npmOk('alice', ['unpublish', 'short-lived', '--force']);
    const view = await npm('bob', ['view', 'short-lived']);
    assert.notEqual(view.code, 0);
    assert.match(view.stderr, /Unpublished on \d{4}-\d\d-\d\dT/);
    const install = await npm('bob', ['install', 'short-lived', '--no-save']);
    assert.notEqual(install.code, 0);
    // npm reuses the document npm view just cached (as it does against npmjs.com); a cold cache gets our 404.
    assert.match(install.stderr, /No versions available for short-lived|404[\s\S]*short-lived was unpublished/);

    const dir = path.join(sb.bob!.dir, 'squat');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'short-lived', version: '9.9.9' }));
    const squat = await npm('bob', ['publish'], 'npm11', dir);
    assert.notEqual(squat.code, 0);
    assert.match(squat.stderr, /403[\s\S]*its name is held for its previous maintainers until/);
  });

  it('npm 10 unpublishes and deprecates the same way', async () => {
    for (const version of ['1.0.0', '1.0.1']) await publish('alice', { name: 'via-npm10', version });
    await npmOk('alice', ['deprecate', 'via-npm10@1.0.0', 'old'], 'npm10');
    assert.equal((await npmOk('alice', ['view', 'via-npm10@1.0.0', 'deprecated'])).stdout.trim(), 'old');
    await npmOk('alice', ['unpublish', 'via-npm10@1.0.1'], 'npm10');
    assert.deepEqual(await versionsOf('via-npm10'), ['1.0.0']);
  });

  it('an operator removes a version as malicious and transfers a package from the command line; the running server follows', async () => {
    for (const version of ['3.0.0', '3.0.1']) await publish('alice', { name: 'taken-over', version });
    const storeArgs = ['--data-dir', r.dataDir];
    let out = await bulwark(['admin', 'package', 'remove-malicious', 'taken-over@3.0.1', ...storeArgs]);
    assert.equal(out.code, 2, 'the reason is required: a usage error');
    assert.match(out.stderr, /--reason is required/);
    out = await bulwark([
      'admin',
      'package',
      'remove-malicious',
      'taken-over@3.0.1',
      '--reason',
      'postinstall steals npm tokens',
      ...storeArgs,
    ]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /removed taken-over@3\.0\.1 as malicious/);
    out = await bulwark([
      'admin',
      'package',
      'transfer',
      'taken-over',
      '--to',
      'bob',
      '--reason',
      'original author asked',
      ...storeArgs,
    ]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /transferred taken-over from alice to bob/);

    // The server drops its cached copy when it reads the events (about once a second).
    let versions: string[] = [];
    for (let i = 0; i < 50 && (versions = await versionsOf('taken-over')).length !== 1; i++)
      await new Promise((res) => setTimeout(res, 100));
    assert.deepEqual(versions, ['3.0.0']);
    assert.deepEqual((await npmOk('bob', ['owner', 'ls', 'taken-over'])).stdout.trim().split(/\s+/)[0], 'bob');
    const tarball = await r.request('GET', '/taken-over/-/taken-over-3.0.1.tgz');
    assert.equal(tarball.status, 404);
    const republish = await r.request('PUT', '/taken-over', {
      token: tokens.bob!,
      body: body(publishDoc({ name: 'taken-over', version: '3.0.1' })),
    });
    assert.equal(republish.status, 403, 'a removed version is burnt for the new owner too');
  });
});
