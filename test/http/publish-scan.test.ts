// GEN-2c at publish (docs/malware-scanning.md, "Publish states"): every tarball is scanned in the worker pool before
// the version becomes visible. A clean version is served at once; a malicious one is answered 403 "held for security
// review", stays invisible (no tag moves, no log entry, no signature) and waits in the moderation queue; a scan over
// its budget holds the version too. A moderator's release makes it visible, signed and logged at that moment.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { withModeration } from '../../src/safety/moderation-tables.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { body, packTarball, publishDoc, type Manifest } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { startSmtp, type Smtp } from '../helpers/smtp.ts';

const SAMPLE = path.resolve(import.meta.dirname, '../fixtures/malware/samples/tuning/reverse-shell/package');
const MODERATOR = { id: null, name: 'moderator' };

/** The inert reverse-shell sample (guarded so it never runs), under its own name and a version we choose. */
function maliciousDoc(version: string) {
  const manifest = { ...(JSON.parse(readFileSync(path.join(SAMPLE, 'package.json'), 'utf8')) as Manifest), version };
  const tarball = packTarball(manifest, { 'package/index.js': readFileSync(path.join(SAMPLE, 'index.js'), 'utf8') });
  return { manifest, doc: publishDoc(manifest, { tarball }) };
}

for (const kind of DB_KINDS) {
  describe(`malware scan at publish (${kind})`, () => {
    let r: TestRegistry;
    let smtp: Smtp;
    let alice: { id: number; token: string };
    before(async () => {
      smtp = await startSmtp();
      r = await startRegistry(kind, { 'smtp-url': smtp.url });
      alice = await r.user('alice');
      const mod = await r.user('mod');
      await r.store.db.updateTable('users').set({ is_moderator: 1 }).where('id', '=', mod.id).execute();
    });
    after(async () => {
      await r.stop();
      await smtp.stop();
    });

    const versionRow = (name: string, version: string) =>
      r.store.db
        .selectFrom('versions')
        .innerJoin('packages', 'packages.id', 'versions.package_id')
        .select(['versions.state', 'versions.scan_verdict', 'versions.held_tag'])
        .where('packages.name', '=', name)
        .where('versions.version', '=', version)
        .executeTakeFirst();

    it('serves a clean version at once and records its verdict', async () => {
      const res = await r.request('PUT', '/plain-lib', {
        token: alice.token,
        body: body(publishDoc({ name: 'plain-lib', version: '1.0.0', main: 'index.js' })),
      });
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(await versionRow('plain-lib', '1.0.0'), {
        state: 'visible',
        scan_verdict: 'clean',
        held_tag: null,
      });
      assert.equal((await r.request('GET', '/plain-lib')).status, 200);
    });

    it('holds a malicious version: 403, invisible, unsigned, unlogged, queued for moderators', async () => {
      const { manifest, doc } = maliciousDoc('1.0.1');
      const res = await r.request('PUT', `/${manifest.name}`, { token: alice.token, body: body(doc) });
      assert.equal(res.status, 403);
      assert.match(
        res.json().error,
        new RegExp(
          `${manifest.name}@1\\.0\\.1 is held for security review: the malware scan found signs of malicious code`,
        ),
      );
      assert.deepEqual(await versionRow(manifest.name, '1.0.1'), {
        state: 'held',
        scan_verdict: 'malicious',
        held_tag: 'latest',
      });
      assert.equal(
        (await r.request('GET', `/${manifest.name}`)).status,
        404,
        'a package whose only version is held does not exist for readers',
      );
      assert.equal((await r.request('GET', `/${manifest.name}/-/${manifest.name}-1.0.1.tgz`)).status, 404);
      const kinds = (
        await r.store.db
          .selectFrom('events')
          .select('kind')
          .where('subject', '=', manifest.name)
          .orderBy('seq')
          .execute()
      ).map((e) => e.kind);
      assert.ok(kinds.includes('package.version-held'));
      assert.ok(!kinds.includes('package.version-published'), 'nothing enters the log while the version is held');
      const item = await withModeration(r.store.db)
        .selectFrom('moderation_items')
        .select(['source', 'version', 'risk', 'status', 'summary'])
        .where('package', '=', manifest.name)
        .executeTakeFirstOrThrow();
      assert.equal(item.source, 'scan');
      assert.equal(item.version, '1.0.1');
      assert.equal(item.status, 'open');
      assert.ok(item.risk >= 12, `risk ${item.risk}`);
      assert.match(item.summary, /raw-socket/);
      for (const staff of ['mod@example.com', 'admin@example.com']) {
        const mail = await smtp.waitFor(
          (m) => m.to.includes(staff) && m.subject === `Held for review: ${manifest.name}@1.0.1`,
        );
        assert.match(mail.text, /\/-\/web\/moderation/);
      }
      assert.ok(
        !smtp.mails.some((m) => m.to.includes('alice@example.com') && /Held for review/.test(m.subject)),
        'the publisher is told by the 403, not by a staff alert',
      );
      const again = await r.request('PUT', `/${manifest.name}`, { token: alice.token, body: body(doc) });
      assert.equal(again.status, 403, 'a held name@version is taken: it cannot be published over either');
      assert.match(again.json().error, /previously published/);
    });

    it('a moderator’s release makes the held version visible, tagged, signed and logged, dated at the release', async () => {
      const { manifest } = maliciousDoc('1.0.1');
      await r.app.lifecycle.release(MODERATOR, manifest.name, '1.0.1', 'false positive: a test fixture');
      const doc = (await r.request('GET', `/${manifest.name}`)).json();
      assert.deepEqual(doc['dist-tags'], { latest: '1.0.1' });
      assert.ok(doc.versions['1.0.1'].dist.signatures?.length, 'signed when it became visible');
      assert.equal((await r.request('GET', `/${manifest.name}/-/${manifest.name}-1.0.1.tgz`)).status, 200);
      const published = await r.store.db
        .selectFrom('events')
        .select(['data', 'actor_id'])
        .where('subject', '=', manifest.name)
        .where('kind', '=', 'package.version-published')
        .executeTakeFirstOrThrow();
      assert.equal(published.actor_id, alice.id, 'the log names the publisher, as the packument does');
      assert.equal(JSON.parse(published.data).version, '1.0.1');
      await assert.rejects(r.app.lifecycle.release(MODERATOR, manifest.name, '1.0.1'), /is not held or in quarantine/);
    });

    it('removing a held version as malicious burns it and publishes an advisory', async () => {
      const { manifest, doc } = maliciousDoc('1.0.2');
      const res = await r.request('PUT', `/${manifest.name}`, { token: alice.token, body: body(doc) });
      assert.equal(res.status, 403, res.text);
      const removed = await r.app.lifecycle.removeMalicious(MODERATOR, manifest.name, '1.0.2', {
        reason: 'reverse shell in postinstall',
      });
      assert.deepEqual(removed.versions, ['1.0.2']);
      assert.match(removed.advisory ?? '', /^x_BWK-MAL-\d{4}-\d+$/);
      assert.deepEqual(Object.keys((await r.request('GET', `/${manifest.name}`)).json().versions), ['1.0.1']);
      assert.equal((await r.request('PUT', `/${manifest.name}`, { token: alice.token, body: body(doc) })).status, 403);
    });
  });
}

describe('a scan over its budget holds the version (sqlite)', () => {
  let r: TestRegistry;
  before(async () => {
    r = await startRegistry('sqlite', { 'scan-budget': '0s' });
  });
  after(() => r.stop());

  it('answers 403 and keeps the version for review', async () => {
    const alice = await r.user('alice');
    const res = await r.request('PUT', '/slow-lib', {
      token: alice.token,
      body: body(publishDoc({ name: 'slow-lib', version: '1.0.0' })),
    });
    assert.equal(res.status, 403);
    assert.match(res.json().error, /held for security review: the malware scan did not finish within its time budget/);
    const row = await r.store.db.selectFrom('versions').select(['state', 'scan_verdict']).executeTakeFirstOrThrow();
    assert.deepEqual(row, { state: 'held', scan_verdict: 'timeout' });
    const item = await withModeration(r.store.db)
      .selectFrom('moderation_items')
      .select(['risk', 'summary'])
      .where('package', '=', 'slow-lib')
      .executeTakeFirstOrThrow();
    assert.equal(item.risk, 100, 'an unscanned version goes to the top of the queue');
    assert.match(item.summary, /did not finish \(over the 0 ms budget\)/, 'moderators see why');
  });
});
