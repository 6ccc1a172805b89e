// OSV advisories for packages removed as malicious (GEN-3c), on both databases: every record the registry publishes
// validates against the official OSV schema (vendored with its source), ids are allocated without duplicates under
// concurrent removals, and the HTTP endpoints serve the records, an index and a zip that real unzip tools read.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { crc32, inflateRawSync } from 'node:zlib';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { ConfigError, loadSettings } from '../../src/config.ts';
import { Lifecycle } from '../../src/packages/lifecycle.ts';
import {
  advisoryRecorder,
  findAdvisory,
  recordMaliciousAdvisory,
  withAdvisories,
} from '../../src/safety/advisories.ts';
import { isAdvisoryId, maliciousRecord, npmPurl, withReferences } from '../../src/safety/osv.ts';
import { zipFiles } from '../../src/safety/osv-zip.ts';
import type { Db } from '../../src/store/db.ts';
import { DB_KINDS, testStore } from '../helpers/db.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const run = promisify(execFile);
const fixture = (p: string) => path.join(import.meta.dirname, '../fixtures/osv', p);

// ajv ships CommonJS with a default export; under Node's ESM interop it may arrive wrapped once more.
const Ajv2020: typeof Ajv2020Module.default = (Ajv2020Module as any).default ?? Ajv2020Module;
const addFormats: typeof addFormatsModule.default = (addFormatsModule as any).default ?? addFormatsModule;
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
const validateOsv = ajv.compile(JSON.parse(readFileSync(fixture('schema.json'), 'utf8')));

function assertValid(record: unknown, what = 'record') {
  const ok = validateOsv(record);
  assert.ok(
    ok,
    `${what} does not validate against the OSV schema: ${ajv.errorsText(validateOsv.errors)}\n${JSON.stringify(record, null, 2)}`,
  );
}

const T0 = Date.UTC(2026, 10, 30, 9, 0, 0);
const input = (
  name: string,
  versions: string[] | null,
  extra: Partial<{ reason: string; evidence: string; reporters: string[]; actor: string }> = {},
) => ({
  name,
  versions,
  reason: extra.reason ?? `${name} runs a postinstall script that sends ~/.npmrc to example.invalid`,
  evidence:
    extra.evidence ?? 'scanner: install-script, credential-access (.npmrc), exfiltration (https://example.invalid/c)',
  reporters: extra.reporters ?? [],
  actor: extra.actor ?? 'mod-mia',
});

async function recordOne(db: Db, args: ReturnType<typeof input>, now: number, prefix?: string): Promise<string> {
  return db
    .transaction()
    .execute((trx) => (prefix ? advisoryRecorder(prefix)(trx, args, now) : recordMaliciousAdvisory(trx, args, now)));
}

describe('OSV records (pure)', () => {
  it('the vendored schema accepts real OpenSSF malicious-packages npm entries and refuses ids outside OSV’s prefixes', () => {
    for (const f of ['MAL-2022-11.json', 'MAL-2026-3667.json'])
      assertValid(JSON.parse(readFileSync(fixture(`malicious-packages/${f}`), 'utf8')), f);
    const record = maliciousRecord(
      'x_BWK-MAL-2026-1',
      'left-padd',
      [{ at: T0, versions: ['1.0.0'], reason: 'r', evidence: 'e', reporters: [], actor: 'm', tarballs: [] }],
      T0,
    );
    assertValid(record);
    // A self-hosted registry is not a registered OSV home database: without "x_" the id is refused.
    assert.equal(validateOsv({ ...record, id: 'BWK-MAL-2026-1' }), false);
    assert.equal(validateOsv({ ...record, modified: '2026-11-30 09:00:00' }), false);
    assert.equal(
      validateOsv({ ...record, affected: [{ ...record.affected[0], package: { ecosystem: 'npmjs', name: 'x' } }] }),
      false,
    );
  });

  it('follows the malicious-packages conventions for a whole package and for chosen versions', () => {
    const whole = maliciousRecord(
      'x_BWK-MAL-2026-2',
      '@evil/pkg',
      [
        {
          at: T0,
          versions: null,
          reason: 'steals tokens',
          evidence: 'scanner: exfiltration',
          reporters: ['ann', 'ann', ' '],
          actor: 'm',
          tarballs: [{ version: '1.0.0', integrity: 'sha512-AAAA', shasum: 'ab'.repeat(20) }],
        },
      ],
      T0,
    );
    const real = JSON.parse(readFileSync(fixture('malicious-packages/MAL-2022-11.json'), 'utf8'));
    assert.deepEqual(
      whole.affected[0]!.ranges,
      real.affected[0].ranges,
      'a whole package is expressed as MAL-2022-11 expresses it',
    );
    assert.equal(whole.affected[0]!.versions, undefined);
    assert.deepEqual(whole.affected[0]!.database_specific.cwes, real.affected[0].database_specific.cwes);
    assert.equal(whole.summary, 'Malicious code in @evil/pkg (npm)');
    assert.equal(whole.affected[0]!.package.purl, 'pkg:npm/%40evil/pkg');
    assert.deepEqual(whole.credits, [{ name: 'ann', type: 'REPORTER' }]);
    assert.deepEqual(whole.affected[0]!.database_specific.indicators, {
      package_integrity: [{ filename: 'pkg-1.0.0.tgz', hashes: { sha1: 'ab'.repeat(20), sha512_sri: 'sha512-AAAA' } }],
    });
    assert.doesNotMatch(JSON.stringify(whole), /"m"/, 'the moderator is not named in the published record');
    assertValid(whole);
    const refs = withReferences(whole, 'https://npm.example.com');
    assert.deepEqual(refs.references, [
      { type: 'ADVISORY', url: 'https://npm.example.com/-/bulwark/v1/osv/x_BWK-MAL-2026-2' },
      { type: 'PACKAGE', url: 'https://npm.example.com/-/web/package/@evil/pkg' },
    ]);
    assertValid(refs);
    assert.equal(npmPurl('plain'), 'pkg:npm/plain');
  });

  it('validates --advisory-prefix like every setting', () => {
    const prefix = (value?: string) =>
      loadSettings({ flags: value === undefined ? {} : { 'advisory-prefix': value }, env: {} }).advisoryPrefix;
    assert.equal(prefix(), 'BWK');
    assert.equal(prefix('ACME2'), 'ACME2');
    assert.equal(prefix('x_ACME'), 'ACME', 'the x_ that OSV requires is added, never doubled');
    for (const bad of ['', 'BWK-MAL', '2BWK', 'x_', 'A'.repeat(17), 'bwk/../x', 'x_x_BWK'])
      assert.throws(() => prefix(bad), ConfigError, JSON.stringify(bad));
  });

  it('recognises only ids of the registry’s shape', () => {
    assert.ok(isAdvisoryId('x_BWK-MAL-2026-1'));
    for (const bad of [
      'BWK-MAL-2026-1',
      'x_BWK-MAL-2026-0',
      'x_BWK-MAL-26-1',
      'x_-MAL-2026-1',
      'x_BWK-MAL-2026-1/..',
      'x_BWK-MAL-2026-01',
      'MAL-2026-1',
      `x_${'A'.repeat(17)}-MAL-2026-1`,
    ])
      assert.ok(!isAdvisoryId(bad), bad);
  });

  it('writes a deterministic zip whose entries read back byte for byte through its central directory', async () => {
    const files = [
      { name: 'a.json', data: Buffer.from('{"a":1}\n'), mtime: T0 },
      { name: 'b.json', data: Buffer.from('x'.repeat(10_000)), mtime: T0 + 2000 },
    ];
    const zip = await zipFiles(files);
    assert.deepEqual(await zipFiles(files), zip, 'the same entries give the same bytes');
    assert.ok(zip.length < 10_000, 'entries are compressed');
    // Read it back the way unzip does: end record -> central directory -> local header -> deflated data.
    const end = zip.length - 22;
    assert.equal(zip.readUInt32LE(end), 0x06054b50);
    assert.equal(zip.readUInt16LE(end + 10), files.length);
    let at = zip.readUInt32LE(end + 16);
    for (const f of files) {
      assert.equal(zip.readUInt32LE(at), 0x02014b50);
      const [crc, csize, size, nameLen, local] = [
        zip.readUInt32LE(at + 16),
        zip.readUInt32LE(at + 20),
        zip.readUInt32LE(at + 24),
        zip.readUInt16LE(at + 28),
        zip.readUInt32LE(at + 42),
      ];
      assert.equal(zip.subarray(at + 46, at + 46 + nameLen).toString(), f.name);
      assert.equal(zip.readUInt32LE(local), 0x04034b50);
      const dataAt = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = inflateRawSync(zip.subarray(dataAt, dataAt + csize));
      assert.deepEqual(data, f.data);
      assert.equal(size, f.data.length);
      assert.equal(crc, crc32(f.data));
      at += 46 + nameLen;
    }
  });
});

for (const kind of DB_KINDS) {
  describe(`advisories in the database (${kind})`, () => {
    let store: Awaited<ReturnType<typeof testStore>>;
    before(async () => {
      store = await testStore(kind);
    });
    after(() => store.cleanup());

    it('numbers advisories per year, one per package, and extends a package’s advisory on a later removal', async () => {
      const first = await recordOne(store.db, input('evil-one', ['1.0.1'], { reporters: ['ann'] }), T0);
      assert.equal(first, 'x_BWK-MAL-2026-1');
      const second = await recordOne(store.db, input('evil-two', null), T0 + 1000);
      assert.equal(second, 'x_BWK-MAL-2026-2');
      // The same package removed again, now whole: same advisory, affected becomes every version.
      const again = await recordOne(
        store.db,
        input('evil-one', null, { reason: 'every version carries the payload', reporters: ['bob', 'ann'] }),
        T0 + 2000,
      );
      assert.equal(again, first);
      const a = (await findAdvisory(store.db, first))!;
      assertValid(a.record);
      assert.deepEqual(a.record.affected[0]!.ranges, [{ type: 'SEMVER', events: [{ introduced: '0' }] }]);
      assert.equal(a.record.published, '2026-11-30T09:00:00.000Z');
      assert.equal(a.record.modified, '2026-11-30T09:00:02.000Z');
      assert.deepEqual(a.record.credits, [
        { name: 'ann', type: 'REPORTER' },
        { name: 'bob', type: 'REPORTER' },
      ]);
      assert.equal(a.record.affected[0]!.database_specific.evidence.length, 2);
      assert.match(a.record.details, /every version carries the payload/);
      // A new year starts again at 1; a configured prefix names the registry.
      assert.equal(
        await recordOne(store.db, input('evil-three', ['0.0.1']), Date.UTC(2027, 0, 1), 'ACME'),
        'x_ACME-MAL-2027-1',
      );
      assert.equal(
        await recordOne(store.db, input('evil-four', ['0.0.1']), Date.UTC(2027, 0, 2), 'ACME'),
        'x_ACME-MAL-2027-2',
      );
    });

    it('moves modified forward even when two removals land in the same millisecond', async () => {
      const id = await recordOne(store.db, input('same-ms', ['1.0.0']), T0);
      await recordOne(store.db, input('same-ms', ['1.0.1']), T0);
      const a = (await findAdvisory(store.db, id))!;
      assert.equal(a.modifiedAt, T0 + 1);
      assert.deepEqual(a.record.affected[0]!.versions, ['1.0.0', '1.0.1']);
    });

    it('gives a rolled-back removal’s number to the next one', async () => {
      const rows = await withAdvisories(store.db)
        .selectFrom('advisory_counters')
        .select('last')
        .where('year', '=', 2026)
        .executeTakeFirstOrThrow();
      await assert.rejects(
        store.db.transaction().execute(async (trx) => {
          await recordMaliciousAdvisory(trx, input('rolled-back', ['1.0.0']), T0);
          throw new Error('the removal failed after the advisory was written');
        }),
        /removal failed/,
      );
      const next = await recordOne(store.db, input('after-rollback', ['1.0.0']), T0);
      assert.equal(next, `x_BWK-MAL-2026-${Number(rows.last) + 1}`);
      assert.equal(await findAdvisory(store.db, `x_BWK-MAL-2026-${Number(rows.last) + 2}`), null);
    });

    it('allocates distinct, consecutive ids to concurrent removals of different packages', async () => {
      const before = Number(
        (
          await withAdvisories(store.db)
            .selectFrom('advisory_counters')
            .select('last')
            .where('year', '=', 2026)
            .executeTakeFirstOrThrow()
        ).last,
      );
      const ids = await Promise.all(
        Array.from({ length: 12 }, (_, i) => recordOne(store.db, input(`concurrent-${i}`, ['1.0.0']), T0 + i)),
      );
      assert.equal(new Set(ids).size, ids.length, `duplicate ids: ${ids.join(', ')}`);
      const numbers = ids.map((id) => Number(id.split('-').at(-1))).sort((a, b) => a - b);
      assert.deepEqual(
        numbers,
        Array.from({ length: 12 }, (_, i) => before + 1 + i),
      );
    });

    it('joins concurrent removals of one package into one advisory', async () => {
      const ids = await Promise.all(
        ['1.0.0', '1.0.1', '1.0.2', '1.0.3'].map((v, i) =>
          recordOne(store.db, input('raced', [v], { reporters: [`r${i}`] }), T0 + i),
        ),
      );
      assert.equal(new Set(ids).size, 1, `one package, one advisory: ${ids.join(', ')}`);
      const a = (await findAdvisory(store.db, ids[0]!))!;
      assert.deepEqual(a.record.affected[0]!.versions, ['1.0.0', '1.0.1', '1.0.2', '1.0.3']);
      assert.equal(a.record.credits?.length, 4);
      assertValid(a.record);
      const count = await withAdvisories(store.db)
        .selectFrom('advisories')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('package_name', '=', 'raced')
        .executeTakeFirstOrThrow();
      assert.equal(Number(count.n), 1);
    });

    it('refuses an empty reason and texts too long to publish, and writes nothing then', async () => {
      await assert.rejects(
        recordOne(store.db, input('no-reason', ['1.0.0'], { reason: '  ' }), T0),
        (err: any) => err.status === 400,
      );
      await assert.rejects(
        recordOne(store.db, input('long-evidence', ['1.0.0'], { evidence: 'x'.repeat(9000) }), T0),
        (err: any) => err.status === 400,
      );
      await assert.rejects(recordOne(store.db, input('no-versions', []), T0), /removed versions/);
      const none = await withAdvisories(store.db)
        .selectFrom('advisories')
        .select('id')
        .where('package_name', 'in', ['no-reason', 'long-evidence', 'no-versions'])
        .execute();
      assert.deepEqual(none, []);
    });
  });

  describe(`advisory endpoints (${kind})`, () => {
    let r: TestRegistry;
    let scratch: string;
    let publicId: string;
    let restrictedId: string;
    let alice: { id: number; token: string };
    let bob: { id: number; token: string };
    const doc = publishDoc({ name: 'qq-evil-widget', version: '1.2.3' });

    before(async () => {
      scratch = await mkdtemp(path.join(os.tmpdir(), 'bulwark-osv-'));
      r = await startRegistry(kind, { 'advisory-prefix': 'TEST' });
      alice = await r.user('alice');
      bob = await r.user('bob');
      let res = await r.request('PUT', '/qq-evil-widget', { token: alice.token, body: body(doc) });
      assert.equal(res.status, 201, res.text);
      res = await r.request('PUT', '/@alice%2fsecret-thing', {
        token: alice.token,
        body: body(publishDoc({ name: '@alice/secret-thing', version: '0.1.0' }, { access: 'restricted' })),
      });
      assert.equal(res.status, 201, res.text);
      const record = advisoryRecorder('TEST');
      publicId = await r.store.db
        .transaction()
        .execute((trx) => record(trx, input('qq-evil-widget', ['1.2.3'], { reporters: ['bob'] }), Date.now()));
      restrictedId = await r.store.db
        .transaction()
        .execute((trx) => record(trx, input('@alice/secret-thing', ['0.1.0']), Date.now() + 1));
    });
    after(async () => {
      await r.stop();
      await rm(scratch, { recursive: true, force: true });
    });

    it('serves a record as JSON that validates and carries the removed tarball’s hashes', async () => {
      assert.match(publicId, /^x_TEST-MAL-\d{4}-1$/);
      const res = await r.request('GET', `/-/bulwark/v1/osv/${publicId}`);
      assert.equal(res.status, 200, res.text);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const record = res.json();
      assertValid(record);
      assert.equal(record.id, publicId);
      assert.deepEqual(record.affected[0].versions, ['1.2.3']);
      assert.deepEqual(record.affected[0].database_specific.indicators.package_integrity, [
        { filename: 'qq-evil-widget-1.2.3.tgz', hashes: { sha1: doc.shasum, sha512_sri: doc.integrity } },
      ]);
      assert.deepEqual(record.credits, [{ name: 'bob', type: 'REPORTER' }]);
      assert.deepEqual(record.references[0], { type: 'ADVISORY', url: `${r.url}/-/bulwark/v1/osv/${publicId}` });
      // OSV's bucket spelling <id>.json gives the same bytes; a revalidation with the ETag is a 304.
      const again = await r.request('GET', `/-/bulwark/v1/osv/${publicId}.json`);
      assert.equal(again.text, res.text);
      assert.equal(
        (
          await r.request('GET', `/-/bulwark/v1/osv/${publicId}`, {
            headers: { 'if-none-match': res.headers.get('etag')! },
          })
        ).status,
        304,
      );
    });

    it('answers unknown and malformed ids with a clear 404, never a 500', async () => {
      const unknown = await r.request('GET', '/-/bulwark/v1/osv/x_TEST-MAL-2026-999');
      assert.equal(unknown.status, 404);
      assert.match(unknown.json().error, /no advisory x_TEST-MAL-2026-999/);
      for (const bad of [
        'BWK-MAL-2026-1',
        'x_TEST-MAL-2026-0',
        '..%2f..%2fetc%2fpasswd',
        `x_TEST-MAL-2026-1${'9'.repeat(40)}`,
        "x_TEST-MAL-2026-1'%20OR%201=1",
        '%E2%80%AE',
        'x_TEST-MAL-2026-1.json.json',
      ]) {
        const res = await r.request('GET', `/-/bulwark/v1/osv/${bad}`);
        assert.equal(res.status, 404, `${bad}: ${res.status} ${res.text}`);
        assert.equal(typeof res.json().error, 'string');
      }
      assert.equal((await r.request('GET', '/-/bulwark/v1/osv/x_TEST-MAL-2026-1%00')).status, 400);
    });

    it('lists ids with modified times as JSON and as OSV’s modified_id.csv, newest first', async () => {
      const res = await r.request('GET', '/-/bulwark/v1/osv');
      assert.equal(res.status, 200);
      const { advisories } = res.json();
      assert.deepEqual(
        advisories.map((a: any) => a.id),
        [publicId],
        'the restricted package’s advisory is not listed to strangers',
      );
      const record = (await r.request('GET', `/-/bulwark/v1/osv/${publicId}`)).json();
      assert.equal(advisories[0].modified, record.modified);
      assert.deepEqual(advisories[0].package, { ecosystem: 'npm', name: 'qq-evil-widget' });

      const mine = (await r.request('GET', '/-/bulwark/v1/osv', { token: alice.token }))
        .json()
        .advisories.map((a: any) => a.id);
      assert.deepEqual(mine, [restrictedId, publicId], 'the restricted package’s reader sees both, newest first');
      const csv = await r.request('GET', '/-/bulwark/v1/osv/modified_id.csv', { token: alice.token });
      assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
      assert.equal(csv.headers.get('cache-control'), 'private, max-age=60');
      const lines = csv.text
        .trimEnd()
        .split('\n')
        .map((l) => l.split(','));
      assert.deepEqual(
        lines.map((l) => l[1]),
        [restrictedId, publicId],
      );
      for (const [when] of lines) assert.match(when!, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    });

    it('keeps an advisory about a restricted package as invisible as the package', async () => {
      assert.equal((await r.request('GET', `/-/bulwark/v1/osv/${restrictedId}`)).status, 404);
      assert.equal((await r.request('GET', `/-/bulwark/v1/osv/${restrictedId}`, { token: bob.token })).status, 404);
      const res = await r.request('GET', `/-/bulwark/v1/osv/${restrictedId}`, { token: alice.token });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('cache-control'), 'private, max-age=60');
      assertValid(res.json());
    });

    it('keeps hiding it when the restricted package is later deleted outright', async () => {
      let res = await r.request('PUT', '/@alice%2fdeleted-thing', {
        token: alice.token,
        body: body(publishDoc({ name: '@alice/deleted-thing', version: '1.0.0' }, { access: 'restricted' })),
      });
      assert.equal(res.status, 201, res.text);
      const id = await r.store.db
        .transaction()
        .execute((trx) => advisoryRecorder('TEST')(trx, input('@alice/deleted-thing', null), Date.now() + 2));
      assert.equal((await r.request('GET', `/-/bulwark/v1/osv/${id}`, { token: alice.token })).status, 200);
      await r.store.db.deleteFrom('packages').where('name', '=', '@alice/deleted-thing').execute();
      res = await r.request('GET', `/-/bulwark/v1/osv/${id}`, { token: alice.token });
      assert.equal(res.status, 404, 'the name of a restricted package does not surface through its advisory');
      assert.ok(
        !(await r.request('GET', '/-/bulwark/v1/osv', { token: alice.token }))
          .json()
          .advisories.some((a: any) => a.id === id),
      );
      assert.ok(
        !(await r.request('GET', '/-/bulwark/v1/osv/modified_id.csv', { token: r.adminToken })).text.includes(id),
      );
    });

    it('serves all.zip, which unzip and Python’s zipfile read, with each record byte for byte', async () => {
      const res = await r.request('GET', '/-/bulwark/v1/osv/all.zip', { token: alice.token });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/zip');
      const file = path.join(scratch, 'all.zip');
      await writeFile(file, res.bytes);
      const listed = (await run('unzip', ['-l', file])).stdout;
      assert.match(listed, new RegExp(`${publicId}\\.json`));
      assert.match(listed, new RegExp(`${restrictedId}\\.json`));
      assert.match((await run('unzip', ['-t', file])).stdout, /No errors detected/);
      const py = (await run('python3', ['-m', 'zipfile', '-l', file])).stdout;
      assert.match(py, new RegExp(`${publicId}\\.json`));
      await run('python3', ['-m', 'zipfile', '-e', file, path.join(scratch, 'out')]);
      for (const id of [publicId, restrictedId]) {
        const extracted = await readFile(path.join(scratch, 'out', `${id}.json`), 'utf8');
        assert.equal(extracted, (await r.request('GET', `/-/bulwark/v1/osv/${id}`, { token: alice.token })).text);
        assertValid(JSON.parse(extracted), `${id}.json from the zip`);
      }
      // A stranger's zip leaves the restricted package's advisory out.
      const theirs = await r.request('GET', '/-/bulwark/v1/osv/all.zip');
      await writeFile(file, theirs.bytes);
      const names = (await run('python3', ['-m', 'zipfile', '-l', file])).stdout;
      assert.match(names, new RegExp(`${publicId}\\.json`));
      assert.doesNotMatch(names, new RegExp(`${restrictedId}\\.json`));
    });
  });

  describe(`a moderator's removal publishes its advisory in the same transaction (${kind})`, () => {
    let r: TestRegistry;
    let lifecycle: Lifecycle;
    const moderator = { id: null, name: 'mod-mia' };
    before(async () => {
      r = await startRegistry(kind);
      const alice = await r.user('alice');
      for (const v of ['1.0.0', '1.0.1', '1.0.2']) {
        const res = await r.request('PUT', '/qq-trojan-kit', {
          token: alice.token,
          body: body(publishDoc({ name: 'qq-trojan-kit', version: v })),
        });
        assert.equal(res.status, 201, res.text);
      }
      lifecycle = new Lifecycle({
        db: r.store.db,
        clock: Date.now,
        invalidate: (name) => r.app.packages.invalidate(name),
        recordAdvisory: advisoryRecorder('BWK'),
      });
    });
    after(() => r.stop());

    it('removes a version, then the package, under one advisory', async () => {
      const first = await lifecycle.removeMalicious(moderator, 'qq-trojan-kit', '1.0.2', {
        reason: 'a patch release added a credential stealer',
        evidence: 'scanner: new install script in a patch release',
        reporters: ['alice'],
      });
      assert.match(first.advisory ?? '', /^x_BWK-MAL-\d{4}-1$/);
      let record = (await r.request('GET', `/-/bulwark/v1/osv/${first.advisory}`)).json();
      assertValid(record);
      assert.deepEqual(record.affected[0].versions, ['1.0.2']);
      assert.ok(
        !('1.0.2' in (await r.request('GET', '/qq-trojan-kit')).json().versions),
        'the version is gone from the packument',
      );

      const whole = await lifecycle.removeMalicious(moderator, 'qq-trojan-kit', null, {
        reason: 'every version phones home',
      });
      assert.equal(whole.advisory, first.advisory);
      record = (await r.request('GET', `/-/bulwark/v1/osv/${first.advisory}`)).json();
      assertValid(record);
      assert.deepEqual(record.affected[0].ranges, [{ type: 'SEMVER', events: [{ introduced: '0' }] }]);
      assert.deepEqual(
        record.affected[0].database_specific.indicators.package_integrity.map((p: any) => p.filename),
        ['qq-trojan-kit-1.0.0.tgz', 'qq-trojan-kit-1.0.1.tgz', 'qq-trojan-kit-1.0.2.tgz'],
      );
      assert.deepEqual(record.credits, [{ name: 'alice', type: 'REPORTER' }]);
    });

    it('leaves the version in place when its advisory cannot be written', async () => {
      await r.request('PUT', '/qq-other-kit', {
        token: r.adminToken,
        body: body(publishDoc({ name: 'qq-other-kit', version: '2.0.0' })),
      });
      await assert.rejects(
        lifecycle.removeMalicious(moderator, 'qq-other-kit', '2.0.0', { reason: 'x'.repeat(5000) }),
        (err: any) => err.status === 400,
      );
      const res = await r.request('GET', '/qq-other-kit');
      assert.equal(res.status, 200);
      assert.ok('2.0.0' in res.json().versions, 'the removal rolled back with its advisory');
      assert.deepEqual(
        (await r.request('GET', '/-/bulwark/v1/osv')).json().advisories.map((a: any) => a.package.name),
        ['qq-trojan-kit'],
      );
    });
  });

  describe(`advisory endpoints with --read-access authenticated (${kind})`, () => {
    let r: TestRegistry;
    before(async () => {
      r = await startRegistry(kind, { 'read-access': 'authenticated' });
      await r.store.db
        .transaction()
        .execute((trx) => recordMaliciousAdvisory(trx, input('gone-pkg', null), Date.now()));
    });
    after(() => r.stop());

    it('answers strangers 401 on every advisory route and serves signed-in readers', async () => {
      const id = `x_BWK-MAL-${new Date().getUTCFullYear()}-1`;
      for (const url of [
        '/-/bulwark/v1/osv',
        '/-/bulwark/v1/osv/modified_id.csv',
        '/-/bulwark/v1/osv/all.zip',
        `/-/bulwark/v1/osv/${id}`,
      ]) {
        assert.equal((await r.request('GET', url)).status, 401, url);
        const res = await r.request('GET', url, { token: r.adminToken });
        assert.equal(res.status, 200, `${url}: ${res.text}`);
        assert.match(res.headers.get('cache-control') ?? '', /^private/);
      }
      assertValid((await r.request('GET', `/-/bulwark/v1/osv/${id}`, { token: r.adminToken })).json());
    });
  });
}
