// Invariant 3 has one implementation (src/packages/visible.ts): a version a moderator releases becomes visible exactly
// as a clean publish does — the same registry signature, the same publish event, the same log records, the same
// package row — and a release never takes a dist-tag back from a newer version.
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { recordsForEvent } from '../../src/trust/tlog/leaf.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { body, packTarball, publishDoc, type Manifest } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const SAMPLE = path.resolve(import.meta.dirname, '../fixtures/malware/samples/tuning/reverse-shell/package');
const MODERATOR = { id: null, name: 'moderator' };
const sample = JSON.parse(readFileSync(path.join(SAMPLE, 'package.json'), 'utf8')) as Manifest;

/** The inert reverse-shell sample (guarded so it never runs): the scan holds it. */
function heldDoc(version: string) {
  const manifest = { ...sample, version };
  return publishDoc(manifest, {
    tarball: packTarball(manifest, { 'package/index.js': readFileSync(path.join(SAMPLE, 'index.js'), 'utf8') }),
  });
}

type Signature = { keyid: string; sig: string };

for (const kind of DB_KINDS) {
  describe(`a released version is made visible as a published one is (${kind})`, () => {
    let r: TestRegistry;
    let alice: { id: number; token: string };
    before(async () => {
      r = await startRegistry(kind);
      alice = await r.user('alice');
    });
    after(() => r.stop());

    /** What becoming visible left behind for name@version. */
    async function visibleAs(name: string, version: string) {
      const db = r.store.db;
      const row = await db
        .selectFrom('versions')
        .innerJoin('packages', 'packages.id', 'versions.package_id')
        .select(['versions.state', 'versions.manifest', 'versions.integrity', 'versions.held_tag'])
        .select(['packages.latest_version', 'packages.description'])
        .where('packages.name', '=', name)
        .where('versions.version', '=', version)
        .executeTakeFirstOrThrow();
      const event = await db
        .selectFrom('events')
        .select(['data', 'actor_id', 'created_at'])
        .where('subject', '=', name)
        .where('kind', '=', 'package.version-published')
        .executeTakeFirstOrThrow();
      const data = JSON.parse(event.data) as Record<string, unknown>;
      const dist = (JSON.parse(row.manifest) as { dist: { signatures?: Signature[] } }).dist;
      const leaves = recordsForEvent({
        kind: 'package.version-published',
        subject: name,
        data,
        createdAt: Number(event.created_at),
        actor: 'user:alice',
      });
      return { row, event, data, dist, leaves };
    }

    async function verifies(name: string, version: string, integrity: string, signature: Signature) {
      const keys = (await r.request('GET', '/-/npm/v1/keys')).json().keys as Array<{ keyid: string; key: string }>;
      const key = keys.find((k) => k.keyid === signature.keyid);
      assert.ok(key, `${name}@${version} is signed with a published key`);
      // npm's message: name@version:integrity (pacote's verifySignatures).
      return verify(
        'sha256',
        Buffer.from(`${name}@${version}:${integrity}`),
        createPublicKey({ key: Buffer.from(key.key, 'base64'), format: 'der', type: 'spki' }),
        Buffer.from(signature.sig, 'base64'),
      );
    }

    it('gives the same signature, event, log records and package row', async () => {
      const published = await r.request('PUT', '/plain-lib', {
        token: alice.token,
        body: body(publishDoc({ name: 'plain-lib', version: '1.0.0', description: 'A small utility' })),
      });
      assert.equal(published.status, 201, published.text);
      const held = await r.request('PUT', `/${sample.name}`, { token: alice.token, body: body(heldDoc('1.0.0')) });
      assert.equal(held.status, 403, held.text);
      const unsigned = await visibleAs(sample.name, '1.0.0').catch(() => null);
      assert.equal(unsigned, null, 'a held version has no publish event yet');
      await r.app.lifecycle.release(MODERATOR, sample.name, '1.0.0', 'false positive: inert test sample');

      const a = await visibleAs('plain-lib', '1.0.0');
      const b = await visibleAs(sample.name, '1.0.0');
      assert.equal(b.row.state, 'visible');
      assert.equal(b.row.held_tag, null);
      assert.deepEqual(Object.keys(b.dist).sort(), Object.keys(a.dist).sort(), 'dist carries the same fields');
      assert.equal(a.dist.signatures?.length, 1);
      assert.equal(b.dist.signatures?.length, 1);
      assert.equal(b.dist.signatures[0]!.keyid, a.dist.signatures[0]!.keyid);
      assert.ok(await verifies('plain-lib', '1.0.0', a.row.integrity, a.dist.signatures[0]!));
      assert.ok(await verifies(sample.name, '1.0.0', b.row.integrity, b.dist.signatures[0]!));
      assert.ok(
        !(await verifies(sample.name, '1.0.0', a.row.integrity, b.dist.signatures[0]!)),
        'a signature is bound to its own integrity',
      );

      // One event shape: only whether it came through a token or a release differs.
      assert.deepEqual(Object.keys(b.data).sort(), Object.keys(a.data).sort());
      assert.deepEqual(a.data, {
        version: '1.0.0',
        integrity: a.row.integrity,
        tag: 'latest',
        tokenId: a.data.tokenId,
        released: false,
      });
      assert.equal(typeof a.data.tokenId, 'number');
      assert.deepEqual(b.data, {
        version: '1.0.0',
        integrity: b.row.integrity,
        tag: 'latest',
        tokenId: null,
        released: true,
      });
      assert.equal(a.event.actor_id, alice.id);
      assert.equal(b.event.actor_id, alice.id, 'a release is logged as its publisher’s publish');
      assert.deepEqual(
        b.leaves.map((l) => l.type),
        a.leaves.map((l) => l.type),
      );
      assert.deepEqual(
        a.leaves.map((l) => l.type),
        ['version-published', 'dist-tag-set'],
      );

      // The package row: latest and the description of the latest version.
      assert.deepEqual(
        { latest: b.row.latest_version, description: b.row.description },
        { latest: '1.0.0', description: sample.description },
      );
      assert.deepEqual(
        { latest: a.row.latest_version, description: a.row.description },
        { latest: '1.0.0', description: 'A small utility' },
      );
    });

    it('a release does not take a dist-tag back from a newer version, and its event names no tag', async () => {
      const held = await r.request('PUT', `/${sample.name}`, { token: alice.token, body: body(heldDoc('1.0.1')) });
      assert.equal(held.status, 403, held.text);
      const newer = await r.request('PUT', `/${sample.name}`, {
        token: alice.token,
        body: body(publishDoc({ name: sample.name, version: '2.0.0', description: 'the rewrite' })),
      });
      assert.equal(newer.status, 201, newer.text);
      await r.app.lifecycle.release(MODERATOR, sample.name, '1.0.1', 'false positive');
      const doc = (await r.request('GET', `/${sample.name}`)).json();
      assert.deepEqual(doc['dist-tags'], { latest: '2.0.0' });
      assert.ok(doc.versions['1.0.1'].dist.signatures?.length, 'signed all the same');
      const events = await r.store.db
        .selectFrom('events')
        .select('data')
        .where('subject', '=', sample.name)
        .where('kind', '=', 'package.version-published')
        .orderBy('seq')
        .execute();
      const released = events.map((e) => JSON.parse(e.data)).find((d) => d.version === '1.0.1');
      assert.equal(released.tag, null, 'the log does not record a tag move that did not happen');
      const pkg = await r.store.db
        .selectFrom('packages')
        .select(['latest_version', 'description'])
        .where('name', '=', sample.name)
        .executeTakeFirstOrThrow();
      assert.deepEqual(pkg, { latest_version: '2.0.0', description: 'the rewrite' });
    });
  });
}
