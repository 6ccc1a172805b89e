import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  LeafError,
  decodeLeaf,
  decodeRecord,
  encodeRecord,
  opensSealedLeaf,
  publishedRecordFromPackument,
  recordsForEvent,
  sealedLeaf,
} from '../../src/log/leaf.ts';
import { fullPackument } from '../../src/packages/packument.ts';

const INTEGRITY = 'sha512-' + Buffer.alloc(64, 1).toString('base64');

describe('log leaf records', () => {
  it('serializes a published version to the exact documented bytes', () => {
    const bytes = encodeRecord({ type: 'version-published', name: '@acme/widget', version: '1.2.3', integrity: INTEGRITY, publisher: 'user:alice', time: '2026-11-30T07:00:00.123Z' });
    // The same string appears in docs/transparency-log.md.
    assert.equal(
      bytes.toString('utf8'),
      `{"v":1,"type":"version-published","name":"@acme/widget","version":"1.2.3","integrity":"${INTEGRITY}","publisher":"user:alice","time":"2026-11-30T07:00:00.123Z"}`,
    );
    assert.deepEqual(decodeRecord(bytes), { type: 'version-published', name: '@acme/widget', version: '1.2.3', integrity: INTEGRITY, publisher: 'user:alice', time: '2026-11-30T07:00:00.123Z' });
  });

  it('refuses every non-canonical spelling of a record', () => {
    const good = `{"v":1,"type":"dist-tag-set","name":"a","tag":"latest","version":"1.0.0","actor":"user:bob","time":"2026-01-01T00:00:00.000Z"}`;
    decodeRecord(Buffer.from(good));
    for (const bad of [
      good.replace(',"name"', ', "name"'), // whitespace
      good.replace('"tag":"latest","version":"1.0.0"', '"version":"1.0.0","tag":"latest"'), // order
      good.replace('}', ',"extra":"x"}'), // unknown field
      good.replace('"v":1', '"v":2'), // version
      good.replace('"a"', '"\\u0061"'), // escaped where JSON.stringify would not
      good.replace(',"actor":"user:bob"', ''), // missing field
      '[]',
      '\xff',
    ]) {
      assert.throws(() => decodeRecord(Buffer.from(bad, bad === '\xff' ? 'latin1' : 'utf8')), LeafError, bad);
    }
  });

  it('seals a restricted record so only the salt holder can open it', () => {
    const record = encodeRecord({ type: 'version-published', name: '@secret/pkg', version: '1.0.0', integrity: INTEGRITY, publisher: 'user:alice', time: '2026-11-30T07:00:00.000Z' });
    const salt = Buffer.alloc(32, 9);
    const leaf = sealedLeaf(salt, record);
    assert.doesNotMatch(leaf.toString(), /secret|1\.0\.0|alice/);
    const decoded = decodeLeaf(leaf);
    assert.equal(decoded.sealed, true);
    assert.ok(opensSealedLeaf(leaf, salt, record));
    assert.ok(!opensSealedLeaf(leaf, Buffer.alloc(32, 8), record));
    const other = encodeRecord({ type: 'version-published', name: '@secret/pkg', version: '1.0.1', integrity: INTEGRITY, publisher: 'user:alice', time: '2026-11-30T07:00:00.000Z' });
    assert.ok(!opensSealedLeaf(leaf, salt, other));
    assert.throws(() => decodeLeaf(Buffer.from(leaf.toString().replace('{"v":1,', '{"v":1, '))), LeafError);
  });

  it('turns a publish event into its version record and the dist-tag it moved; private events into nothing', () => {
    const records = recordsForEvent({ kind: 'package.version-published', subject: 'left-pad', data: { version: '1.0.0', integrity: INTEGRITY, tag: 'latest', tokenId: 3 }, createdAt: Date.UTC(2026, 0, 2), actor: 'user:alice' });
    assert.deepEqual(records, [
      { type: 'version-published', name: 'left-pad', version: '1.0.0', integrity: INTEGRITY, publisher: 'user:alice', time: '2026-01-02T00:00:00.000Z' },
      { type: 'dist-tag-set', name: 'left-pad', tag: 'latest', version: '1.0.0', actor: 'user:alice', time: '2026-01-02T00:00:00.000Z' },
    ]);
    assert.deepEqual(recordsForEvent({ kind: 'user.password-changed', subject: 'alice', data: {}, createdAt: 0, actor: null }), []);
    assert.deepEqual(recordsForEvent({ kind: 'session.created', subject: 'alice', data: {}, createdAt: 0, actor: null }), []);
  });

  it('lets a reader recompute a version leaf from the packument the registry serves', () => {
    const publishedAt = Date.UTC(2026, 10, 30, 7, 1, 2, 345);
    const packument = fullPackument(
      {
        name: 'left-pad',
        rev: 1,
        createdAt: publishedAt,
        modifiedAt: publishedAt,
        versions: [{ version: '1.0.0', manifest: { name: 'left-pad', version: '1.0.0', dist: { integrity: INTEGRITY, shasum: 'x' }, _npmUser: { name: 'alice', email: 'a@example.com' } }, readme: '', publishedAt }],
        distTags: { latest: '1.0.0' },
        maintainers: [{ name: 'alice', email: 'a@example.com' }],
      },
      'http://registry.example',
    );
    const [fromEvent] = recordsForEvent({ kind: 'package.version-published', subject: 'left-pad', data: { version: '1.0.0', integrity: INTEGRITY, tag: 'latest' }, createdAt: publishedAt, actor: 'user:alice' });
    assert.ok(encodeRecord(publishedRecordFromPackument(packument, '1.0.0')).equals(encodeRecord(fromEvent!)));
    assert.throws(() => publishedRecordFromPackument(packument, '2.0.0'), LeafError);
  });
});
