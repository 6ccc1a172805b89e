import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { logDb } from '../../src/trust/tlog/store.ts';
import { ed25519Cosigner, encodeCosignerKey } from '../../src/trust/tlog/witness.ts';
import { bulwark } from '../helpers/bulwark-process.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { rewriteLogHistory } from '../helpers/log-history.ts';

for (const kind of DB_KINDS) {
  describe(`bulwark log verify and prove (${kind})`, () => {
    let r: TestRegistry;
    let alice: { id: number; token: string };
    let dir: string;
    let state: string;
    before(async () => {
      r = await startRegistry(kind);
      alice = await r.user('alice');
      dir = await mkdtemp(path.join(os.tmpdir(), 'bulwark-log-cli-'));
      state = path.join(dir, 'state.json');
    });
    after(async () => {
      await r.stop();
      await rm(dir, { recursive: true, force: true });
    });

    async function publish(name: string, version: string, opts: { access?: 'restricted' } = {}) {
      const res = await r.request('PUT', `/${name.replace('/', '%2f')}`, {
        token: alice.token,
        body: body(publishDoc({ name, version }, opts.access ? { access: opts.access } : {})),
      });
      assert.equal(res.status, 201);
    }

    async function logged(size: number) {
      const started = Date.now();
      for (;;) {
        const cp = await r.request('GET', '/-/log/checkpoint');
        if (Number(cp.text.split('\n')[1]) >= size) return;
        if (Date.now() - started > 5000) assert.fail(`the log did not reach ${size} entries`);
        await new Promise((res) => setTimeout(res, 25));
      }
    }

    const verify = (...extra: string[]) => bulwark(['log', 'verify', '--registry', r.url, '--state', state, ...extra]);

    it('verifies a healthy log, remembers it, and checks the next run only appended', async () => {
      await publish('left-pad', '1.0.0');
      await publish('left-pad', '1.1.0');
      await publish('@alice/secret', '0.1.0', { access: 'restricted' });
      await logged(8);
      const first = await verify();
      assert.equal(first.code, 0, first.stderr + first.stdout);
      assert.match(first.stdout, /note: trusting the log key the registry serves on first use/);
      assert.match(first.stdout, /verified: 8 entries, root \S+, 2 versions match their packuments, 3 sealed entries/);
      const saved = JSON.parse(await readFile(state, 'utf8'));
      assert.equal(saved.size, 8);

      await publish('left-pad', '1.2.0');
      await logged(10);
      const second = await verify();
      assert.equal(second.code, 0, second.stderr + second.stdout);
      assert.doesNotMatch(second.stdout, /trusting/);
      assert.match(second.stdout, /verified: 10 entries/);
    });

    it("prints and checks one version's inclusion proof; a restricted one only for its readers", async () => {
      const pub = await bulwark(['log', 'prove', 'left-pad@1.1.0', '--registry', r.url, '--state', state]);
      assert.equal(pub.code, 0, pub.stderr);
      assert.match(
        pub.stdout,
        /entry \d+ of \d+: \{"v":1,"type":"version-published","name":"left-pad","version":"1.1.0"/,
      );
      assert.match(pub.stdout, /verified: left-pad@1.1.0 is entry \d+ of the signed log/);
      const anon = await bulwark(['log', 'prove', '@alice/secret@0.1.0', '--registry', r.url, '--state', state]);
      assert.equal(anon.code, 1);
      assert.match(
        anon.stderr,
        /FAILED: GET \/-\/log\/proof\/inclusion\?name=%40alice%2Fsecret&version=0.1.0 answered 404/,
      );
      const mine = await bulwark([
        'log',
        'prove',
        '@alice/secret@0.1.0',
        '--registry',
        r.url,
        '--state',
        state,
        '--token',
        alice.token,
      ]);
      assert.equal(mine.code, 0, mine.stderr);
      assert.match(mine.stdout, /\(sealed, opened\)/);
      const wrongKey = await bulwark([
        'log',
        'prove',
        'left-pad@1.1.0',
        '--registry',
        r.url,
        '--key',
        'other.example+00000000+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k',
      ]);
      assert.equal(wrongKey.code, 1);
    });

    it('checks a lockfile against the log: every registry package logged with the integrity it pins', async () => {
      const integrity = async (name: string, version: string) =>
        (await r.request('GET', `/${name.replace('/', '%2f')}`, { token: alice.token })).json().versions[version].dist
          .integrity as string;
      const lock = {
        name: 'app',
        lockfileVersion: 3,
        packages: {
          '': { name: 'app', dependencies: { 'left-pad': '^1.0.0', '@alice/secret': '0.1.0' } },
          'node_modules/left-pad': {
            version: '1.1.0',
            resolved: `${r.url}/left-pad/-/left-pad-1.1.0.tgz`,
            integrity: await integrity('left-pad', '1.1.0'),
          },
          'node_modules/x/node_modules/left-pad': {
            version: '1.0.0',
            resolved: `${r.url}/left-pad/-/left-pad-1.0.0.tgz`,
            integrity: await integrity('left-pad', '1.0.0'),
          },
          'node_modules/@alice/secret': {
            version: '0.1.0',
            resolved: `${r.url}/@alice/secret/-/secret-0.1.0.tgz`,
            integrity: await integrity('@alice/secret', '0.1.0'),
          },
          'node_modules/local': { version: '1.0.0', resolved: 'file:../local' },
          'node_modules/linked': { link: true, resolved: 'packages/linked' },
        },
      };
      const file = path.join(dir, 'package-lock.json');
      await writeFile(file, JSON.stringify(lock));
      const ok = await bulwark([
        'log',
        'verify-lockfile',
        file,
        '--registry',
        r.url,
        '--state',
        state,
        '--token',
        alice.token,
      ]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(
        ok.stdout,
        /verified: 3 packages are in the signed log of \d+ entries with the integrity the lockfile pins \(2 entries from elsewhere skipped\)/,
      );
      // Without alice's token the restricted package is not hers to prove.
      const anon = await bulwark(['log', 'verify-lockfile', file, '--registry', r.url, '--state', state]);
      assert.equal(anon.code, 1);
      assert.match(
        anon.stderr,
        /PROBLEM: @alice\/secret@0.1.0 is not in the transparency log \(or not readable with this token\)/,
      );
      // A lockfile pinned to another tarball than the one logged at publish.
      lock.packages['node_modules/left-pad'].integrity = `sha512-${Buffer.alloc(64, 8).toString('base64')}`;
      await writeFile(file, JSON.stringify(lock));
      const swapped = await bulwark([
        'log',
        'verify-lockfile',
        file,
        '--registry',
        r.url,
        '--state',
        state,
        '--token',
        alice.token,
      ]);
      assert.equal(swapped.code, 1);
      assert.match(
        swapped.stderr,
        /PROBLEM: left-pad@1.1.0: the lockfile pins sha512-CAgICAgI\S+, the log recorded sha512-\S+ at publish/,
      );
      assert.match(swapped.stderr, /FAILED: 1 of 3 packages do not match/);
    });

    it('detects an entry altered in the database after it was signed', async () => {
      const db = logDb(r.store.db);
      const row = await db
        .selectFrom('log_leaves')
        .select(['idx', 'leaf'])
        .where('package', '=', 'left-pad')
        .where('version', '=', '1.0.0')
        .where('type', '=', 'version-published')
        .executeTakeFirstOrThrow();
      const forged = row.leaf.replace(
        /"integrity":"sha512-[^"]+"/,
        `"integrity":"sha512-${Buffer.alloc(64, 9).toString('base64')}"`,
      );
      await db.updateTable('log_leaves').set({ leaf: forged }).where('idx', '=', row.idx).execute();
      try {
        const res = await verify();
        assert.equal(res.code, 1);
        assert.match(res.stderr, /PROBLEM: the log's entries do not hash to the signed root/);
        assert.match(
          res.stderr,
          /PROBLEM: left-pad@1.0.0: the packument \(integrity, publisher or time\) differs from the logged entry/,
        );
      } finally {
        await db.updateTable('log_leaves').set({ leaf: row.leaf }).where('idx', '=', row.idx).execute();
      }
    });

    it('detects a packument that no longer matches its logged version (a swapped tarball)', async () => {
      const row = await r.store.db
        .selectFrom('versions')
        .select(['id', 'manifest'])
        .where('version', '=', '1.1.0')
        .executeTakeFirstOrThrow();
      const manifest = JSON.parse(row.manifest);
      manifest.dist.integrity = `sha512-${Buffer.alloc(64, 5).toString('base64')}`;
      await r.store.db
        .updateTable('versions')
        .set({ manifest: JSON.stringify(manifest) })
        .where('id', '=', row.id)
        .execute();
      r.app.packages.invalidate('left-pad');
      try {
        const res = await verify();
        assert.equal(res.code, 1);
        assert.match(
          res.stderr,
          /PROBLEM: left-pad@1.1.0: the packument \(integrity, publisher or time\) differs from the logged entry/,
        );
        assert.doesNotMatch(res.stderr, /signed root/);
      } finally {
        await r.store.db.updateTable('versions').set({ manifest: row.manifest }).where('id', '=', row.id).execute();
        r.app.packages.invalidate('left-pad');
      }
    });

    it('detects a rewritten history, validly signed, against the checkpoint it saw before', async () => {
      const before = JSON.parse(await readFile(state, 'utf8'));
      // The operator (or an attacker with the database and the key) rebuilds the log with one event changed.
      await rewriteLogHistory(r.store.db);
      await logged(before.size);
      const res = await verify();
      assert.equal(res.code, 1);
      assert.match(
        res.stderr,
        new RegExp(
          `PROBLEM: the checkpoint of size \\d+ is not consistent with the one of size ${before.size} seen before .*split view or rewritten history`,
        ),
      );
      assert.match(res.stderr, /the remembered checkpoint was kept/);
      assert.equal(JSON.parse(await readFile(state, 'utf8')).root, before.root, 'a failed run does not move the state');
    });
  });
}

describe('bulwark log witness add/list/remove', () => {
  it('configures witnesses in the registry database and refuses a malformed key', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bulwark-log-witness-cli-'));
    try {
      const vkey = encodeCosignerKey(ed25519Cosigner('witness.example/w1', Buffer.alloc(32, 3)));
      const add = await bulwark([
        'log',
        'witness',
        'add',
        '--url',
        'https://witness.example/',
        '--key',
        vkey,
        '--data-dir',
        dir,
      ]);
      assert.equal(add.code, 0, add.stderr);
      assert.match(add.stdout, /witness witness.example\/w1 added/);
      const list = await bulwark(['log', 'witness', 'list', '--data-dir', dir]);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /log key: \(not generated yet/);
      assert.match(
        list.stdout,
        new RegExp(`witness.example/w1  https://witness.example  cosigned size 0  ${vkey.replace(/[+/]/g, '\\$&')}`),
      );
      const bad = await bulwark([
        'log',
        'witness',
        'add',
        '--url',
        'https://w.example',
        '--key',
        vkey.replace(/\+[0-9a-f]{8}\+/, '+00000000+'),
        '--data-dir',
        dir,
      ]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /FAILED: cannot add the witness: witness key ID does not match its key/);
      assert.equal((await bulwark(['log', 'witness', 'remove', 'witness.example/w1', '--data-dir', dir])).code, 0);
      assert.equal((await bulwark(['log', 'witness', 'remove', 'witness.example/w1', '--data-dir', dir])).code, 1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
