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
} from '../../../src/trust/tlog/leaf.ts';
import { fullPackument } from '../../../src/packages/packument.ts';
import { EventKind } from '../../../src/store/events.ts';

const INTEGRITY = 'sha512-' + Buffer.alloc(64, 1).toString('base64');

describe('log leaf records', () => {
  it('serializes a published version to the exact documented bytes', () => {
    const bytes = encodeRecord({
      type: 'version-published',
      name: '@acme/widget',
      version: '1.2.3',
      integrity: INTEGRITY,
      publisher: 'user:alice',
      time: '2026-11-30T07:00:00.123Z',
    });
    // The same string appears in docs/transparency-log.md.
    assert.equal(
      bytes.toString('utf8'),
      `{"v":1,"type":"version-published","name":"@acme/widget","version":"1.2.3","integrity":"${INTEGRITY}","publisher":"user:alice","time":"2026-11-30T07:00:00.123Z"}`,
    );
    assert.deepEqual(decodeRecord(bytes), {
      type: 'version-published',
      name: '@acme/widget',
      version: '1.2.3',
      integrity: INTEGRITY,
      publisher: 'user:alice',
      time: '2026-11-30T07:00:00.123Z',
    });
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
    const record = encodeRecord({
      type: 'version-published',
      name: '@secret/pkg',
      version: '1.0.0',
      integrity: INTEGRITY,
      publisher: 'user:alice',
      time: '2026-11-30T07:00:00.000Z',
    });
    const salt = Buffer.alloc(32, 9);
    const leaf = sealedLeaf(salt, record);
    assert.doesNotMatch(leaf.toString(), /secret|1\.0\.0|alice/);
    const decoded = decodeLeaf(leaf);
    assert.equal(decoded.sealed, true);
    assert.ok(opensSealedLeaf(leaf, salt, record));
    assert.ok(!opensSealedLeaf(leaf, Buffer.alloc(32, 8), record));
    const other = encodeRecord({
      type: 'version-published',
      name: '@secret/pkg',
      version: '1.0.1',
      integrity: INTEGRITY,
      publisher: 'user:alice',
      time: '2026-11-30T07:00:00.000Z',
    });
    assert.ok(!opensSealedLeaf(leaf, salt, other));
    assert.throws(() => decodeLeaf(Buffer.from(leaf.toString().replace('{"v":1,', '{"v":1, '))), LeafError);
  });

  it('turns a publish event into its version record and the dist-tag it moved; private events into nothing', () => {
    const records = recordsForEvent({
      kind: 'package.version-published',
      subject: 'left-pad',
      data: { version: '1.0.0', integrity: INTEGRITY, tag: 'latest', tokenId: 3 },
      createdAt: Date.UTC(2026, 0, 2),
      actor: 'user:alice',
    });
    assert.deepEqual(records, [
      {
        type: 'version-published',
        name: 'left-pad',
        version: '1.0.0',
        integrity: INTEGRITY,
        publisher: 'user:alice',
        time: '2026-01-02T00:00:00.000Z',
      },
      {
        type: 'dist-tag-set',
        name: 'left-pad',
        tag: 'latest',
        version: '1.0.0',
        actor: 'user:alice',
        time: '2026-01-02T00:00:00.000Z',
      },
    ]);
    assert.deepEqual(
      recordsForEvent({ kind: 'user.password-changed', subject: 'alice', data: {}, createdAt: 0, actor: null }),
      [],
    );
    assert.deepEqual(
      recordsForEvent({ kind: 'session.created', subject: 'alice', data: {}, createdAt: 0, actor: null }),
      [],
    );
  });

  it('lets a reader recompute a version leaf from the packument the registry serves', () => {
    const publishedAt = Date.UTC(2026, 10, 30, 7, 1, 2, 345);
    const packument = fullPackument(
      {
        name: 'left-pad',
        rev: 1,
        createdAt: publishedAt,
        modifiedAt: publishedAt,
        versions: [
          {
            version: '1.0.0',
            manifest: {
              name: 'left-pad',
              version: '1.0.0',
              dist: { integrity: INTEGRITY, shasum: 'x' },
              _npmUser: { name: 'alice', email: 'a@example.com' },
            },
            readme: '',
            publishedAt,
          },
        ],
        distTags: { latest: '1.0.0' },
        maintainers: [{ name: 'alice', email: 'a@example.com' }],
      },
      'http://registry.example',
    );
    const [fromEvent] = recordsForEvent({
      kind: 'package.version-published',
      subject: 'left-pad',
      data: { version: '1.0.0', integrity: INTEGRITY, tag: 'latest' },
      createdAt: publishedAt,
      actor: 'user:alice',
    });
    assert.ok(encodeRecord(publishedRecordFromPackument(packument, '1.0.0')).equals(encodeRecord(fromEvent!)));
    assert.throws(() => publishedRecordFromPackument(packument, '2.0.0'), LeafError);
  });

  // The log already holds signed leaves of every kind below: their bytes may never change (a change needs a new
  // LEAF_VERSION). One event per logged kind, with the data its call site records, and the exact leaves it yields.
  it('pins the leaf bytes of every logged event kind', () => {
    const at = Date.UTC(2026, 10, 30, 7, 0, 0, 123);
    const pins: Array<[kind: string, data: Record<string, unknown>, leaves: string[]]> = [
      [
        EventKind.PackageCreated,
        { access: 'public' },
        [
          '{"v":1,"type":"package-created","name":"@acme/widget","actor":"user:alice","time":"2026-11-30T07:00:00.123Z"}',
        ],
      ],
      [
        EventKind.VersionPublished,
        { version: '1.2.3', integrity: INTEGRITY, tag: 'latest', tokenId: 7 },
        [
          `{"v":1,"type":"version-published","name":"@acme/widget","version":"1.2.3","integrity":"${INTEGRITY}","publisher":"user:alice","time":"2026-11-30T07:00:00.123Z"}`,
          '{"v":1,"type":"dist-tag-set","name":"@acme/widget","tag":"latest","version":"1.2.3","actor":"user:alice","time":"2026-11-30T07:00:00.123Z"}',
        ],
      ],
      // A publish that names no dist-tag (a held version a moderator released) adds only its version.
      [
        EventKind.VersionPublished,
        { version: '1.2.4', integrity: INTEGRITY, tag: null, released: true },
        [
          `{"v":1,"type":"version-published","name":"@acme/widget","version":"1.2.4","integrity":"${INTEGRITY}","publisher":"user:alice","time":"2026-11-30T07:00:00.123Z"}`,
        ],
      ],
      [
        EventKind.VersionUnpublished,
        { version: '1.2.3' },
        [
          '{"v":1,"type":"version-unpublished","name":"@acme/widget","version":"1.2.3","actor":"user:alice","time":"2026-11-30T07:00:00.123Z"}',
        ],
      ],
      [
        EventKind.PackageUnpublished,
        { versions: ['1.2.3', '1.2.4'] },
        [
          '{"v":1,"type":"package-unpublished","name":"@acme/widget","actor":"user:alice","time":"2026-11-30T07:00:00.123Z"}',
        ],
      ],
      [
        EventKind.VersionDeprecated,
        { version: '1.2.3', message: 'use 2.x: "fixed" — see <https://example.com>' },
        [
          '{"v":1,"type":"version-deprecated","name":"@acme/widget","version":"1.2.3","message":"use 2.x: \\"fixed\\" — see <https://example.com>","actor":"user:alice","time":"2026-11-30T07:00:00.123Z"}',
        ],
      ],
      // An empty message un-deprecates: it is a value, and logged as one.
      [
        EventKind.VersionDeprecated,
        { version: '1.2.4', message: '' },
        [
          '{"v":1,"type":"version-deprecated","name":"@acme/widget","version":"1.2.4","message":"","actor":"user:alice","time":"2026-11-30T07:00:00.123Z"}',
        ],
      ],
      [
        EventKind.DistTagSet,
        { tag: 'next', version: '2.0.0-rc.1' },
        [
          '{"v":1,"type":"dist-tag-set","name":"@acme/widget","tag":"next","version":"2.0.0-rc.1","actor":"user:alice","time":"2026-11-30T07:00:00.123Z"}',
        ],
      ],
      [
        EventKind.DistTagRemoved,
        { tag: 'next' },
        [
          '{"v":1,"type":"dist-tag-removed","name":"@acme/widget","tag":"next","actor":"user:alice","time":"2026-11-30T07:00:00.123Z"}',
        ],
      ],
      [
        EventKind.MaintainerAdded,
        { user: 'bob' },
        [
          '{"v":1,"type":"maintainer-added","name":"@acme/widget","user":"user:bob","actor":"user:alice","time":"2026-11-30T07:00:00.123Z"}',
        ],
      ],
      [
        EventKind.MaintainerRemoved,
        { user: 'bob' },
        [
          '{"v":1,"type":"maintainer-removed","name":"@acme/widget","user":"user:bob","actor":"user:alice","time":"2026-11-30T07:00:00.123Z"}',
        ],
      ],
      [
        EventKind.TeamGrantAdded,
        { team: 'acme:devs', permission: 'read-write' },
        [
          '{"v":1,"type":"team-access-granted","name":"@acme/widget","team":"acme:devs","permission":"read-write","actor":"user:alice","time":"2026-11-30T07:00:00.123Z"}',
        ],
      ],
      [
        EventKind.TeamGrantRemoved,
        { team: 'acme:devs' },
        [
          '{"v":1,"type":"team-access-revoked","name":"@acme/widget","team":"acme:devs","actor":"user:alice","time":"2026-11-30T07:00:00.123Z"}',
        ],
      ],
      [
        EventKind.PackageTransferred,
        { from: 'user:alice,user:bob', to: 'user:carol', reason: 'handover' },
        [
          '{"v":1,"type":"package-transferred","name":"@acme/widget","from":"user:alice,user:bob","to":"user:carol","actor":"user:alice","time":"2026-11-30T07:00:00.123Z"}',
        ],
      ],
      [
        EventKind.MaliciousRemoved,
        { version: '*', versions: ['1.2.3'], reason: 'steals tokens', actor: 'mod' },
        [
          '{"v":1,"type":"malicious-package-removed","name":"@acme/widget","version":"*","reason":"steals tokens","actor":"user:alice","time":"2026-11-30T07:00:00.123Z"}',
        ],
      ],
      [
        EventKind.MaliciousRemoved,
        { version: '1.2.3', versions: ['1.2.3'], reason: 'steals tokens', actor: 'mod' },
        [
          '{"v":1,"type":"malicious-package-removed","name":"@acme/widget","version":"1.2.3","reason":"steals tokens","actor":"user:alice","time":"2026-11-30T07:00:00.123Z"}',
        ],
      ],
      // A version served from an upstream: no actor (the proxy admitted it), the upstream it came from instead.
      [
        EventKind.UpstreamVersionAdmitted,
        { version: '4.22.1', integrity: INTEGRITY, upstream: 'https://registry.npmjs.org' },
        [
          `{"v":1,"type":"version-proxied","name":"@acme/widget","version":"4.22.1","integrity":"${INTEGRITY}","upstream":"https://registry.npmjs.org","time":"2026-11-30T07:00:00.123Z"}`,
        ],
      ],
    ];
    for (const [kind, data, leaves] of pins) {
      const records = recordsForEvent({ kind, subject: '@acme/widget', data, createdAt: at, actor: 'user:alice' });
      assert.deepEqual(
        records.map((r) => encodeRecord(r).toString('utf8')),
        leaves,
        kind,
      );
    }
    // Done by the registry itself: the actor is "system".
    const [bySystem] = recordsForEvent({
      kind: EventKind.PackageCreated,
      subject: '@acme/widget',
      data: { access: 'public' },
      createdAt: at,
      actor: null,
    });
    assert.equal(
      encodeRecord(bySystem!).toString('utf8'),
      '{"v":1,"type":"package-created","name":"@acme/widget","actor":"system","time":"2026-11-30T07:00:00.123Z"}',
    );

    // Every other kind is private: it adds nothing to the log.
    const logged = new Set(pins.map(([kind]) => kind));
    for (const kind of Object.values(EventKind).filter((k) => !logged.has(k))) {
      assert.deepEqual(recordsForEvent({ kind, subject: 'alice', data: {}, createdAt: at, actor: null }), [], kind);
    }
  });

  it('refuses an event that lacks a field its leaf needs, instead of signing an empty string', () => {
    const at = Date.UTC(2026, 0, 1);
    const lacking: Array<[kind: string, data: Record<string, unknown>]> = [
      [EventKind.VersionPublished, { integrity: INTEGRITY, tag: 'latest' }],
      [EventKind.VersionPublished, { version: '1.0.0', tag: 'latest' }],
      [EventKind.VersionUnpublished, {}],
      [EventKind.VersionDeprecated, { version: '1.0.0' }],
      [EventKind.VersionDeprecated, { message: 'old' }],
      [EventKind.DistTagSet, { tag: 'latest' }],
      [EventKind.DistTagSet, { version: '1.0.0' }],
      [EventKind.DistTagRemoved, {}],
      [EventKind.UpstreamVersionAdmitted, { version: '1.0.0', integrity: INTEGRITY }],
      [EventKind.UpstreamVersionAdmitted, { version: '1.0.0', upstream: 'https://registry.npmjs.org' }],
      [EventKind.MaintainerAdded, {}],
      [EventKind.MaintainerRemoved, { user: 7 }],
      [EventKind.TeamGrantAdded, { team: 'acme:devs' }],
      [EventKind.TeamGrantRemoved, {}],
      [EventKind.PackageTransferred, { to: 'user:carol' }],
      [EventKind.PackageTransferred, { from: 'user:alice' }],
      [EventKind.MaliciousRemoved, { version: '1.0.0' }],
      [EventKind.MaliciousRemoved, { reason: 'steals tokens' }],
    ];
    for (const [kind, data] of lacking) {
      assert.throws(
        () => recordsForEvent({ kind, subject: 'left-pad', data, createdAt: at, actor: 'user:alice' }),
        LeafError,
        `${kind} ${JSON.stringify(data)}`,
      );
    }
  });

  it('refuses an event kind it does not know, rather than leaving it out of the log unnoticed', () => {
    assert.throws(
      () =>
        recordsForEvent({
          kind: 'package.version-publshed',
          subject: 'left-pad',
          data: { version: '1.0.0', integrity: INTEGRITY },
          createdAt: 0,
          actor: null,
        }),
      LeafError,
    );
  });
});
