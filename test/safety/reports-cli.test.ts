// `bulwark report` against a running registry, with the registry and token found as npm finds them (flags, npm_config_*
// environment, ./.npmrc, ~/.npmrc with ${VAR} expansion), and the refusals it reports with their exit status.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clientConfig, nerfDart } from '../../src/cli/report-commands.ts';
import { bulwark } from '../helpers/bulwark-process.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

describe('client configuration as npm reads it', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'bulwark-npmrc-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('takes the registry from the flag, then npm_config_registry, then ./.npmrc, then the user .npmrc', async () => {
    const project = path.join(dir, 'project');
    const home = path.join(dir, 'home');
    await writeFile(
      path.join(dir, 'user.npmrc'),
      'registry=http://user.example:4873/\n//user.example:4873/:_authToken=${MY_TOKEN}\n',
    );
    const env = { HOME: home, npm_config_userconfig: path.join(dir, 'user.npmrc'), MY_TOKEN: 'bwk_user' };
    assert.deepEqual(clientConfig({}, env, project), { registry: 'http://user.example:4873/', token: 'bwk_user' });
    assert.equal(
      clientConfig({}, { ...env, NPM_CONFIG_REGISTRY: 'http://env.example/' }, project).registry,
      'http://env.example/',
    );
    assert.equal(
      clientConfig({ registry: 'http://flag.example/npm' }, env, project).registry,
      'http://flag.example/npm/',
    );
    await writeFile(path.join(dir, '.npmrc'), '; project config\nregistry = "http://project.example/"\n');
    assert.equal(clientConfig({}, env, dir).registry, 'http://project.example/');
    assert.equal(clientConfig({ token: 'bwk_flag' }, env, project).token, 'bwk_flag');
    assert.equal(clientConfig({}, { ...env, BULWARK_TOKEN: 'bwk_env' }, project).token, 'bwk_env');
    // No token filed for another registry's host: none is sent there.
    assert.equal(clientConfig({ registry: 'http://other.example/' }, env, project).token, null);
  });

  it('finds a token filed under a parent path of the registry, as npm-registry-fetch does', async () => {
    await writeFile(path.join(dir, 'paths.npmrc'), '//reg.example/:_authToken=bwk_root\n');
    assert.equal(nerfDart('https://reg.example/sub/path'), '//reg.example/sub/path/');
    assert.equal(
      clientConfig(
        { registry: 'https://reg.example/sub/path/', userconfig: path.join(dir, 'paths.npmrc') },
        {},
        path.join(dir, 'none'),
      ).token,
      'bwk_root',
    );
  });
});

describe('bulwark report', () => {
  let r: TestRegistry;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let alice: { id: number; token: string };
  before(async () => {
    r = await startRegistry('sqlite');
    alice = await r.user('alice');
    const bob = await r.user('bob');
    assert.equal(
      (
        await r.request('PUT', '/sneaky', {
          token: alice.token,
          body: body(publishDoc({ name: 'sneaky', version: '1.0.0' })),
        })
      ).status,
      201,
    );
    assert.equal(
      (
        await r.request('PUT', '/@alice%2fprivate', {
          token: alice.token,
          body: body(publishDoc({ name: '@alice/private', version: '1.0.0' }, { access: 'restricted' })),
        })
      ).status,
      201,
    );
    dir = await mkdtemp(path.join(os.tmpdir(), 'bulwark-report-cli-'));
    // npm login writes exactly this: the registry and the token under the registry's nerf dart.
    await writeFile(path.join(dir, '.npmrc'), `registry=${r.url}/\n${nerfDart(r.url)}:_authToken=\${BOB_TOKEN}\n`);
    env = {
      HOME: dir,
      BOB_TOKEN: bob.token,
      BULWARK_TOKEN: '',
      npm_config_userconfig: '',
      NPM_CONFIG_USERCONFIG: '',
      npm_config_registry: '',
      NPM_CONFIG_REGISTRY: '',
    };
  });
  after(async () => {
    await r.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const run = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
    bulwark(['report', ...args], { env: { ...env, ...extra }, cwd: dir });

  it('files a report with the user’s npm configuration, and says so when it was filed before', async () => {
    const first = await run([
      'sneaky@1.0.0',
      '--reason',
      'malicious',
      '--details',
      'index.js downloads and runs a binary from example.invalid',
    ]);
    assert.equal(first.code, 0, first.stderr);
    const id = /Report #(\d+) of sneaky@1\.0\.0 sent/.exec(first.stdout)?.[1];
    assert.ok(id, first.stdout);
    const row = await r.store.db
      .withTables<{ reports: { id: number; reporter_id: number; reason: string; version_key: string } }>()
      .selectFrom('reports')
      .selectAll()
      .where('id', '=', Number(id))
      .executeTakeFirstOrThrow();
    assert.equal(row.reason, 'malicious');
    assert.equal(row.version_key, '1.0.0');

    const again = await run([
      'sneaky@1.0.0',
      '--reason',
      'malicious',
      '--details',
      'index.js downloads and runs a binary',
      '--json',
    ]);
    assert.equal(again.code, 0, again.stderr);
    const json = JSON.parse(again.stdout);
    assert.equal(json.id, Number(id));
    assert.equal(json.duplicate, true);
    assert.equal(json.status, 'open');
  });

  it('exits 1 with the registry’s reason when it refuses, and 2 for a usage error', async () => {
    const hidden = await run(['@alice/private', '--reason', 'spam', '--details', 'junk package with no content']);
    assert.equal(hidden.code, 1);
    assert.match(hidden.stderr, /refused the report \(404\)/);
    const anonymous = await run(['sneaky', '--reason', 'spam', '--details', 'junk package with no content'], {
      BOB_TOKEN: '',
    });
    assert.equal(anonymous.code, 1);
    assert.match(anonymous.stderr, /no token for/);
    const badToken = await run([
      'sneaky',
      '--reason',
      'spam',
      '--details',
      'junk package with no content',
      '--token',
      'bwk_forged',
    ]);
    assert.equal(badToken.code, 1);
    assert.match(badToken.stderr, /\(401\)/);
    const badReason = await run(['sneaky', '--reason', 'ugly', '--details', 'junk package with no content']);
    assert.equal(badReason.code, 2);
    assert.match(badReason.stderr, /--reason must be one of/);
    const explicit = await run([
      'sneaky',
      '--reason',
      'typosquat',
      '--details',
      'imitates the name of sneakers',
      '--registry',
      r.url,
      '--token',
      alice.token,
    ]);
    assert.equal(explicit.code, 0, explicit.stderr);
    assert.match(explicit.stdout, /Report #\d+ of sneaky sent/);
  });
});
