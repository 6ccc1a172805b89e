// Issue 16: a held version released from the command line must become visible exactly as one released on the
// moderation page does: signed with the registry key at that moment (invariant 3), tagged and logged. The command
// once built its own Lifecycle without the signer, and the version went out unsigned.
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bulwark } from '../helpers/bulwark-process.ts';
import { body, packTarball, publishDoc, type Manifest } from '../helpers/packages.ts';
import { startRegistry, TEST_SECRET_KEY, type TestRegistry } from '../helpers/registry.ts';

const SAMPLE = path.resolve(import.meta.dirname, '../fixtures/malware/samples/tuning/reverse-shell/package');

describe('bulwark admin package release against a running server (sqlite)', () => {
  let r: TestRegistry;
  let manifest: Manifest;
  before(async () => {
    r = await startRegistry('sqlite');
    const alice = await r.user('alice');
    manifest = {
      ...(JSON.parse(readFileSync(path.join(SAMPLE, 'package.json'), 'utf8')) as Manifest),
      version: '1.0.0',
    };
    const tarball = packTarball(manifest, { 'package/index.js': readFileSync(path.join(SAMPLE, 'index.js'), 'utf8') });
    const res = await r.request('PUT', `/${manifest.name}`, {
      token: alice.token,
      body: body(publishDoc(manifest, { tarball })),
    });
    assert.equal(res.status, 403, `held for review: ${res.text}`);
    // The command line opens the same data directory with the same instance key as the server.
    writeFileSync(path.join(r.dataDir, 'secret.key'), TEST_SECRET_KEY.toString('base64'));
  });
  after(() => r.stop());

  it('signs the version it makes visible, with a signature npm verifies against /-/npm/v1/keys', async () => {
    const out = await bulwark([
      'admin',
      'package',
      'release',
      `${manifest.name}@1.0.0`,
      '--reason',
      'false positive: inert test sample',
      '--data-dir',
      r.dataDir,
    ]);
    assert.equal(out.code, 0, out.stderr);
    const row = await r.store.db
      .selectFrom('versions')
      .select(['state', 'manifest', 'integrity'])
      .where('version', '=', '1.0.0')
      .executeTakeFirstOrThrow();
    assert.equal(row.state, 'visible');
    const stored = JSON.parse(row.manifest) as { dist: { signatures?: Array<{ keyid: string; sig: string }> } };
    assert.equal(stored.dist.signatures?.length, 1, 'signed when released');

    // The running server follows the command's change (event stream) and serves the signature.
    let served: { dist: { integrity: string; signatures?: Array<{ keyid: string; sig: string }> } } | undefined;
    for (const started = Date.now(); !served?.dist.signatures && Date.now() - started < 15_000;) {
      const res = await r.request('GET', `/${manifest.name}`);
      if (res.status === 200) served = res.json().versions['1.0.0'];
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const [signature] = served?.dist.signatures ?? [];
    assert.ok(signature, 'the server serves the released version with its signature');
    const keys = (await r.request('GET', '/-/npm/v1/keys')).json().keys as Array<{ keyid: string; key: string }>;
    const key = keys.find((k) => k.keyid === signature.keyid);
    assert.ok(key, 'signed with a published key');
    // npm's message: name@version:integrity (pacote's verifySignatures).
    const message = Buffer.from(`${manifest.name}@1.0.0:${served!.dist.integrity}`);
    assert.ok(
      verify(
        'sha256',
        message,
        createPublicKey({ key: Buffer.from(key.key, 'base64'), format: 'der', type: 'spki' }),
        Buffer.from(signature.sig, 'base64'),
      ),
    );
    const kinds = (
      await r.store.db.selectFrom('events').select('kind').where('subject', '=', manifest.name).orderBy('seq').execute()
    ).map((e) => e.kind);
    assert.ok(kinds.includes('package.version-published'), 'the release enters the log');
  });
});
