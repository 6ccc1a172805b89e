// Name safety through the real clients, on both databases: npm 11's publish of a typosquat is refused with a message
// naming the package it imitates and how to appeal, and succeeds once an administrator allows the name with
// `bulwark names allow`; `bulwark names check` explains verdicts with its exit codes and JSON; reserved names
// (dependency confusion) are refused to anyone outside the owning organisation, look-alikes included.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createOrg } from '../../src/access/orgs.ts';
import { bulwark } from '../helpers/bulwark-process.ts';
import { run, sandbox } from '../helpers/clients.ts';
import { DB_KINDS, testDatabase, type TestDatabase } from '../helpers/db.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { WebClient, csrfIn } from '../helpers/web-client.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

for (const kind of DB_KINDS) {
  describe(`name safety on publish (${kind})`, () => {
    let reg: TestRegistry;
    let db: TestDatabase;
    let storeArgs: string[];
    before(async () => {
      // Our own database, so the bulwark commands can be pointed at the same one the server uses.
      db = await testDatabase(kind);
      const where = { 'data-dir': db.dataDir, ...(db.database ? { database: db.database } : {}) };
      const names = { 'reserved-names': '@acme=acme,acme-*=acme', 'protected-names': 'internal-billing' };
      reg = await startRegistry(kind, { ...where, ...names });
      // The commands get the server's settings, as an operator's shared config file would give them.
      storeArgs = Object.entries({ ...where, ...names }).flatMap(([k, v]) => [`--${k}`, v]);
    });
    after(async () => {
      await reg.stop();
      await db.cleanup();
    });

    it('npm 11 publish of a look-alike name is refused, naming the package and the appeal; allowed after an admin allows it', async () => {
      const alice = await reg.user('alice');
      const sb = await sandbox(reg.url, alice.token);
      const dir = path.join(sb.dir, 'pkg');
      await mkdir(dir);
      await writeFile(
        path.join(dir, 'package.json'),
        JSON.stringify({ name: 'expresss', version: '1.0.0', description: 'not express' }),
      );
      const refused = await run('npm11', ['publish'], { cwd: dir, env: sb.env });
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /403/);
      assert.match(refused.stderr, /too similar to the existing package "express"/);
      assert.match(refused.stderr, /ask the registry's administrators to allow it/);
      assert.equal((await reg.request('GET', '/expresss')).status, 404, 'nothing was created');

      const check = await bulwark(['names', 'check', 'expresss', '--json', ...storeArgs]);
      assert.equal(check.code, 1, check.stderr);
      const explained = JSON.parse(check.stdout) as { verdict: string; reasons: Array<Record<string, unknown>> };
      assert.equal(explained.verdict, 'block');
      assert.deepEqual(
        { rule: explained.reasons[0]!.rule, similar_to: explained.reasons[0]!.similar_to },
        { rule: 'repeated-character', similar_to: 'express' },
      );
      assert.equal(explained.reasons[0]!.tier, 'block');

      const allow = await bulwark([
        'names',
        'allow',
        'expresss',
        '--reason',
        'appeal: a real fork of express',
        ...storeArgs,
      ]);
      assert.equal(allow.code, 0, allow.stderr);
      const event = await reg.store.db
        .selectFrom('events')
        .select(['kind', 'data'])
        .where('subject', '=', 'expresss')
        .where('kind', '=', 'name.allowed')
        .executeTakeFirst();
      assert.ok(event, 'the decision is recorded as an event');
      assert.match(event.data, /real fork/);

      const published = await run('npm11', ['publish'], { cwd: dir, env: sb.env });
      assert.equal(published.code, 0, published.stderr);
      assert.equal((await reg.request('GET', '/expresss')).status, 200);
      const after = await bulwark(['names', 'check', 'expresss', '--json', ...storeArgs]);
      assert.equal(after.code, 0, after.stderr);
      assert.equal(JSON.parse(after.stdout).verdict, 'allow');
    });

    it('administrators allow a refused name on the web page (CSRF-checked, recorded with who and why); others get a 404', async () => {
      const dave = await reg.user('dave');
      const put = () =>
        reg.request('PUT', '/lodahs', {
          token: dave.token,
          body: body(publishDoc({ name: 'lodahs', version: '1.0.0' })),
        });
      const refused = await put();
      assert.equal(refused.status, 403);
      assert.match(refused.json().error, /too similar to the existing package "lodash"/);

      const user = new WebClient(reg.url);
      assert.equal((await user.signIn('dave', 'correct-horse-battery')).status, 303);
      assert.equal((await user.get('/-/web/admin/names')).status, 404, 'not an administrator');
      const admin = new WebClient(reg.url);
      assert.equal((await admin.signIn('admin', 'correct-horse-battery')).status, 303);
      const pageRes = await admin.get('/-/web/admin/names?check=lodahs');
      assert.equal(pageRes.status, 200);
      assert.match(pageRes.text, /edit-distance: looks like “lodash”/);
      assert.equal(
        (await admin.post('/-/web/admin/names/allow', { name: 'lodahs', reason: 'appeal' })).status,
        403,
        'no CSRF token',
      );
      assert.equal((await put()).status, 403, 'still refused');
      const allowed = await admin.post('/-/web/admin/names/allow', {
        name: 'lodahs',
        reason: 'appeal granted: a lodash plugin',
        _csrf: csrfIn(pageRes.text),
      });
      assert.equal(allowed.status, 303);
      const event = await reg.store.db
        .selectFrom('events')
        .select(['actor_id', 'data'])
        .where('subject', '=', 'lodahs')
        .where('kind', '=', 'name.allowed')
        .executeTakeFirstOrThrow();
      const adminRow = await reg.store.db
        .selectFrom('users')
        .select('id')
        .where('name', '=', 'admin')
        .executeTakeFirstOrThrow();
      assert.equal(Number(event.actor_id), Number(adminRow.id));
      assert.equal((await put()).status, 201);
    });

    it('a name the guard is unsure of is published held: the first version waits in the moderation queue', async () => {
      const erin = await reg.user('erin');
      const res = await reg.request('PUT', '/zustand.js', {
        token: erin.token,
        body: body(publishDoc({ name: 'zustand.js', version: '1.0.0' })),
      });
      assert.equal(res.status, 403, res.text);
      assert.equal(res.json().code, 'E_VERSION_HELD');
      assert.match(res.json().error, /held for review: the new name looks like the existing package "zustand"/);
      assert.equal((await reg.request('GET', '/zustand.js/-/zustand.js-1.0.0.tgz')).status, 404, 'not installable');
      const row = await reg.store.db
        .selectFrom('versions')
        .innerJoin('packages', 'packages.id', 'versions.package_id')
        .select(['versions.state'])
        .where('packages.name', '=', 'zustand.js')
        .executeTakeFirstOrThrow();
      assert.equal(row.state, 'held');
      const items = await reg.store.db
        .withTables<{ moderation_items: { package: string; summary: string } }>()
        .selectFrom('moderation_items')
        .select(['summary'])
        .where('package', '=', 'zustand.js')
        .execute();
      assert.equal(items.length, 1);
      assert.match(items[0]!.summary, /new name looks like "zustand" \(affix/);
      const held = await reg.store.db
        .selectFrom('events')
        .select('data')
        .where('subject', '=', 'zustand.js')
        .where('kind', '=', 'package.version-held')
        .executeTakeFirstOrThrow();
      assert.match(held.data, /name-review/);
      // The next version of the held package waits too: the name guard allows names that exist, and the hold must
      // not last one publish (found in review: 1.0.1 was installable at once).
      const next = await reg.request('PUT', '/zustand.js', {
        token: erin.token,
        body: body(publishDoc({ name: 'zustand.js', version: '1.0.1' })),
      });
      assert.equal(next.status, 403, next.text);
      assert.equal(next.json().code, 'E_VERSION_HELD');
      assert.equal((await reg.request('GET', '/zustand.js/-/zustand.js-1.0.1.tgz')).status, 404, 'not installable');
      assert.equal((await reg.request('GET', '/zustand.js')).status, 404, 'the package has no visible version');
      const check = await bulwark(['names', 'check', 'zustand-js', '--json', ...storeArgs]);
      assert.equal(check.code, 3, check.stdout + check.stderr);
      assert.equal(JSON.parse(check.stdout).verdict, 'review');
      // The same kind of name with the imitated package's repository in its package.json is refused outright.
      const claiming = await reg.request('PUT', '/zustand-js', {
        token: erin.token,
        body: body(
          publishDoc({ name: 'zustand-js', version: '1.0.0', repository: 'https://github.com/pmndrs/zustand.git' }),
        ),
      });
      assert.equal(claiming.status, 403, claiming.text);
      assert.equal(claiming.json().code, 'E_NAME_CONFUSABLE');
      assert.match(
        claiming.json().error,
        /"zustand" \(claims\), and its package.json points at that package's own repository/,
      );
      assert.equal((await reg.request('GET', '/zustand-js')).status, 404, 'nothing was created');
      // An ordinary new name is published at once, as before.
      const plain = await reg.request('PUT', '/erins-own-widget-thing', {
        token: erin.token,
        body: body(publishDoc({ name: 'erins-own-widget-thing', version: '1.0.0' })),
      });
      assert.equal(plain.status, 201, plain.text);
    });

    it('bulwark names check: 0 allow, 1 block, 2 error, with the same protected set as the server', async () => {
      let r = await bulwark(['names', 'check', 'a-fresh-and-unrelated-name', '--json', ...storeArgs]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { name: 'a-fresh-and-unrelated-name', verdict: 'allow', reasons: [] });
      r = await bulwark(['names', 'check', 'safer-buffer', '--json', ...storeArgs]);
      assert.equal(r.code, 0, 'a protected name is not a typosquat of another (safe-buffer)');
      r = await bulwark(['names', 'check', 'internal-biling', '--json', ...storeArgs]);
      assert.equal(r.code, 1, 'operator-protected names count');
      assert.equal(JSON.parse(r.stdout).reasons[0].similar_to, 'internal-billing');
      r = await bulwark(['names', 'check', 'Not A Name', '--json', ...storeArgs]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /invalid package name/);
      r = await bulwark(['names', 'check', 'lodahs']);
      assert.equal(r.code, 1, 'without a data dir the shipped list alone is used');
      assert.match(r.stdout, /edit-distance: looks like "lodash"/);
      assert.match(r.stdout, /^block: "lodahs" would be refused/);
    });

    it('the registry’s own most-downloaded packages are protected too', async () => {
      const bob = await reg.user('bob');
      const doc = publishDoc({ name: 'zebra-widgets-kit', version: '1.0.0' });
      assert.equal((await reg.request('PUT', '/zebra-widgets-kit', { token: bob.token, body: body(doc) })).status, 201);
      for (let i = 0; i < 3; i++)
        assert.equal((await reg.request('GET', '/zebra-widgets-kit/-/zebra-widgets-kit-1.0.0.tgz')).status, 200);
      // The download counter writes every few seconds; wait for the row rather than for a fixed time.
      for (let i = 0; i < 150; i++) {
        const row = await reg.store.db.selectFrom('downloads').select('count').executeTakeFirst();
        if (row) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const r = await bulwark(['names', 'check', 'zebra-widgtes-kit', '--json', ...storeArgs]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.equal(JSON.parse(r.stdout).reasons[0].similar_to, 'zebra-widgets-kit');
    });

    it('reserved names: outsiders are refused, look-alikes included; members of the owning org may publish', async () => {
      const carol = await reg.user('carol');
      const mallory = await reg.user('mallory');
      await createOrg(reg.store.db, 'acme', 'carol', null, Date.now());
      for (const name of ['acme-billing', 'acme.billing', 'acmebilling', '@acrne/billing']) {
        const res = await reg.request('PUT', `/${name.replace('/', '%2f')}`, {
          token: mallory.token,
          body: body(publishDoc({ name, version: '1.0.0' })),
        });
        assert.equal(res.status, 403, name);
        assert.match(res.json().error, /reserves for the organisation acme/, name);
      }
      const res = await reg.request('PUT', '/acme-billing', {
        token: carol.token,
        body: body(publishDoc({ name: 'acme-billing', version: '1.0.0' })),
      });
      assert.equal(res.status, 201, res.text);

      const r = await bulwark(['names', 'reserve', 'globex-*', '--org', 'acme', ...storeArgs]);
      assert.equal(r.code, 0, r.stderr);
      const refused = await reg.request('PUT', '/globex-tools', {
        token: mallory.token,
        body: body(publishDoc({ name: 'globex-tools', version: '1.0.0' })),
      });
      assert.equal(refused.status, 403);
      const check = await bulwark(['names', 'check', 'globex-tools', '--json', ...storeArgs]);
      assert.equal(check.code, 1);
      assert.equal(JSON.parse(check.stdout).reasons[0].rule, 'reserved');

      // A reserved name is its organisation's: a member publishes it at once even where the name guard would hold
      // an outsider's look-alike for review (nodemon.js looks like nodemon).
      assert.equal((await bulwark(['names', 'reserve', 'nodemon.*', '--org', 'acme', ...storeArgs])).code, 0);
      const member = await reg.request('PUT', '/nodemon.js', {
        token: carol.token,
        body: body(publishDoc({ name: 'nodemon.js', version: '1.0.0' })),
      });
      assert.equal(member.status, 201, member.text);
      const outsider = await reg.request('PUT', '/nodemon.ts', {
        token: mallory.token,
        body: body(publishDoc({ name: 'nodemon.ts', version: '1.0.0' })),
      });
      assert.equal(outsider.status, 403);
      assert.equal(outsider.json().code, 'E_NAME_RESERVED');
    });
  });
}
