// GEN-2b through the JSON API, on both databases: a signed-in user reports a package or a version and gets a receipt
// (the answer and an email over SMTP); anonymous callers, bad input, unknown versions and packages the reporter may
// not read are refused; the same report twice is de-duplicated; a flood from one account hits 429.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ReportRules, parseSpec, reportInputProblem, reportRisk } from '../../src/safety/reports.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { startSmtp, type Smtp } from '../helpers/smtp.ts';
import { eventsAbout } from '../helpers/events.ts';

const DETAILS = 'postinstall.js reads ~/.npmrc and posts it to a webhook on example.invalid';

describe('report rules (pure)', () => {
  it('scores the worst reason and adds weight for every further reporter, capped at 100', () => {
    assert.equal(reportRisk([]), 0);
    assert.equal(reportRisk(['spam']), 15);
    assert.equal(reportRisk(['malicious']), 60);
    assert.equal(reportRisk(['spam', 'malicious']), 70);
    assert.ok(reportRisk(['typosquat']) > reportRisk(['suspicious']));
    assert.equal(reportRisk(Array(10).fill('malicious')), 100);
  });

  it('checks reason, details and version', () => {
    assert.equal(reportInputProblem({ reason: 'malicious', details: DETAILS }), null);
    assert.match(
      reportInputProblem({ reason: 'ugly', details: DETAILS })!,
      /one of malicious, suspicious, spam, typosquat/,
    );
    assert.match(reportInputProblem({ reason: 'spam', details: 'short' })!, /10 to 5000/);
    assert.match(reportInputProblem({ reason: 'spam', details: 'x'.repeat(5001) })!, /10 to 5000/);
    assert.match(reportInputProblem({ reason: 'spam', details: DETAILS, version: 7 })!, /version/);
  });

  it('splits NAME@VERSION, scoped names included', () => {
    assert.deepEqual(parseSpec('left-pad'), { package: 'left-pad', version: null });
    assert.deepEqual(parseSpec('left-pad@1.0.0'), { package: 'left-pad', version: '1.0.0' });
    assert.deepEqual(parseSpec('@scope/pkg'), { package: '@scope/pkg', version: null });
    assert.deepEqual(parseSpec('@scope/pkg@2.0.0-beta.1'), { package: '@scope/pkg', version: '2.0.0-beta.1' });
  });
});

for (const kind of DB_KINDS) {
  describe(`reports API (${kind})`, () => {
    let smtp: Smtp;
    let r: TestRegistry;
    let alice: { id: number; token: string };
    let bob: { id: number; token: string };
    before(async () => {
      smtp = await startSmtp();
      r = await startRegistry(kind, { 'smtp-url': smtp.url });
      alice = await r.user('alice');
      bob = await r.user('bob');
      for (const v of ['1.0.0', '1.0.1'])
        assert.equal(
          (
            await r.request('PUT', '/evil-pkg', {
              token: alice.token,
              body: body(publishDoc({ name: 'evil-pkg', version: v })),
            })
          ).status,
          201,
        );
      assert.equal(
        (
          await r.request('PUT', '/@alice%2fsecret', {
            token: alice.token,
            body: body(publishDoc({ name: '@alice/secret', version: '1.0.0' }, { access: 'restricted' })),
          })
        ).status,
        201,
      );
    });
    after(async () => {
      await r.stop();
      await smtp.stop();
    });

    const report = (token: string | null, b: Record<string, unknown>) =>
      r.request('POST', '/-/bulwark/v1/reports', { token, body: b });

    it('refuses anonymous callers and bad tokens with 401', async () => {
      const res = await report(null, { package: 'evil-pkg', reason: 'malicious', details: DETAILS });
      assert.equal(res.status, 401);
      assert.match(res.json().error, /account/);
      assert.equal(
        (await report('bwk_notarealtoken', { package: 'evil-pkg', reason: 'malicious', details: DETAILS })).status,
        401,
      );
      assert.equal((await r.request('GET', '/-/bulwark/v1/reports')).status, 401);
    });

    it('files a report with a receipt, emails it, and returns the same report when it is sent again', async () => {
      const res = await report(bob.token, {
        package: 'evil-pkg',
        version: '1.0.1',
        reason: 'malicious',
        details: DETAILS,
      });
      assert.equal(res.status, 201, res.text);
      const receipt = res.json();
      assert.equal(typeof receipt.id, 'number');
      assert.deepEqual(
        { ...receipt, id: 0, created: '' },
        {
          id: 0,
          package: 'evil-pkg',
          version: '1.0.1',
          reason: 'malicious',
          details: DETAILS,
          status: 'open',
          outcome: null,
          created: '',
          resolved: null,
          duplicate: false,
        },
      );
      assert.ok(Date.parse(receipt.created) > Date.now() - 60_000);

      const mail = await smtp.waitFor(
        (m) => m.to.includes('bob@example.com') && m.subject.includes(`Report #${receipt.id} received`),
      );
      assert.match(mail.subject, /evil-pkg@1\.0\.1/);
      assert.match(mail.text, /reached the registry's moderators/);

      const again = await report(bob.token, {
        package: 'evil-pkg',
        version: '1.0.1',
        reason: 'spam',
        details: 'a different text this time',
      });
      assert.equal(again.status, 200);
      assert.equal(again.json().id, receipt.id);
      assert.equal(again.json().duplicate, true);
      assert.equal(again.json().reason, 'malicious', 'the first report is returned, not overwritten');
      const rows = await eventsAbout(r.store.db, 'bob', 'report.received');
      assert.equal(rows.length, 1, 'one receipt event, not two');

      // Another reporter of the same version joins the same queue item, which gets riskier.
      const other = await report(alice.token, {
        package: 'evil-pkg',
        version: '1.0.1',
        reason: 'suspicious',
        details: DETAILS,
      });
      assert.equal(other.status, 201);
      const items = await r.store.db
        .withTables<{
          moderation_items: { id: number; risk: number; package: string; version: string | null; status: string };
        }>()
        .selectFrom('moderation_items')
        .selectAll()
        .where('package', '=', 'evil-pkg')
        .execute();
      assert.equal(items.length, 1);
      assert.equal(items[0]!.risk, 70);

      const list = await r.request('GET', '/-/bulwark/v1/reports', { token: bob.token });
      assert.deepEqual(
        list.json().reports.map((x: { id: number }) => x.id),
        [receipt.id],
      );
      assert.equal(
        (await r.request('GET', `/-/bulwark/v1/reports/${receipt.id}`, { token: bob.token })).json().package,
        'evil-pkg',
      );
      assert.equal(
        (await r.request('GET', `/-/bulwark/v1/reports/${receipt.id}`, { token: alice.token })).status,
        404,
        "someone else's report is not found",
      );
    });

    it('emails receipts only to verified addresses', async () => {
      const uma = await r.user('uma', { verified: false });
      assert.equal(
        (await report(uma.token, { package: 'evil-pkg', version: '1.0.0', reason: 'spam', details: DETAILS })).status,
        201,
        'an unverified account may report',
      );
      const dora = await r.user('dora');
      assert.equal(
        (await report(dora.token, { package: 'evil-pkg', version: '1.0.0', reason: 'spam', details: DETAILS })).status,
        201,
      );
      // Events are mailed in order: once dora's receipt (the later one) is out, uma's would have been too.
      await smtp.waitFor((m) => m.to.includes('dora@example.com') && /received/.test(m.subject));
      assert.deepEqual(
        smtp.mails.filter((m) => m.to.includes('uma@example.com') && /Report/.test(m.subject)),
        [],
      );
    });

    it('a whole-package report is separate from a version report', async () => {
      const res = await report(bob.token, {
        package: 'evil-pkg',
        reason: 'typosquat',
        details: 'name imitates a popular package',
      });
      assert.equal(res.status, 201);
      assert.equal(res.json().version, null);
      assert.equal(res.json().duplicate, false);
    });

    it('refuses bad input (400), unknown packages and versions (404), and restricted packages the reporter cannot read (404)', async () => {
      assert.equal((await report(bob.token, { package: 'evil-pkg', reason: 'bad', details: DETAILS })).status, 400);
      assert.equal((await report(bob.token, { package: 'evil-pkg', reason: 'spam', details: 'short' })).status, 400);
      assert.equal((await report(bob.token, { reason: 'spam', details: DETAILS })).status, 400);
      assert.equal((await report(bob.token, { package: 'no-such-pkg', reason: 'spam', details: DETAILS })).status, 404);
      assert.equal(
        (await report(bob.token, { package: 'evil-pkg', version: '9.9.9', reason: 'spam', details: DETAILS })).status,
        404,
      );
      const hidden = await report(bob.token, { package: '@alice/secret', reason: 'malicious', details: DETAILS });
      assert.equal(hidden.status, 404);
      assert.equal(hidden.json().error, 'Not found', 'the same answer as for a package that does not exist');
      const own = await report(alice.token, {
        package: '@alice/secret',
        version: '1.0.0',
        reason: 'suspicious',
        details: DETAILS,
      });
      assert.equal(own.status, 201, 'a reader of the restricted package may report it');
    });

    it('limits how many reports one account files (429 with Retry-After); moderators are not limited', async () => {
      const carol = await r.user('carol');
      const versions = Array.from({ length: ReportRules.reporter.free + 2 }, (_, i) => `2.0.${i}`);
      for (const v of versions)
        assert.equal(
          (
            await r.request('PUT', '/many-versions', {
              token: alice.token,
              body: body(publishDoc({ name: 'many-versions', version: v })),
            })
          ).status,
          201,
        );
      const statuses: number[] = [];
      let refused = null;
      for (const v of versions) {
        const res = await report(carol.token, {
          package: 'many-versions',
          version: v,
          reason: 'spam',
          details: DETAILS,
        });
        statuses.push(res.status);
        if (res.status === 429) refused = res;
      }
      assert.deepEqual(statuses, [...Array(ReportRules.reporter.free + 1).fill(201), 429]);
      assert.ok(refused);
      assert.ok(Number(refused.headers.get('retry-after')) > 0);
      assert.match(refused.json().error, /too many reports/);
      // A duplicate is still answered: it files nothing.
      assert.equal(
        (
          await report(carol.token, {
            package: 'many-versions',
            version: versions[0],
            reason: 'spam',
            details: DETAILS,
          })
        ).status,
        200,
      );

      const mod = await r.user('mod');
      await r.store.db.updateTable('users').set({ is_moderator: 1 }).where('id', '=', mod.id).execute();
      for (const v of versions)
        assert.equal(
          (await report(mod.token, { package: 'many-versions', version: v, reason: 'spam', details: DETAILS })).status,
          201,
        );
    });
  });
}
