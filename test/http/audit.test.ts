// npm's audit endpoints over HTTP, on both databases: the bulk request npm 11 sends (gzipped) and npm 10's quick-audit
// fallback, answered from the registry's malicious-package advisories. Bodies arrive compressed, so the decoding is
// tested too: gzip and deflate are read, a zip bomb is cut off at the decoded limit (413) without inflating the rest,
// a body that is not what its Content-Encoding says is a 400, and every other route refuses encoded bodies (415)
// before reading them. An advisory about a restricted package is invisible to whoever cannot read the package: the
// answer is the one given for a package that never had an advisory.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import { createOrg } from '../../src/access/orgs.ts';
import { AUDIT_BODY_LIMIT } from '../../src/http/audit-routes.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const BULK = '/-/npm/v1/security/advisories/bulk';
const QUICK = '/-/npm/v1/security/audits/quick';
const MODERATOR = { id: null, name: 'moderator' };

// npm 10's own conversion of a quick-audit answer into the bulk shape it then uses (@npmcli/arborist).
const npm10 = createRequire(path.resolve(import.meta.dirname, '../../node_modules/npm10/package.json'));
const { auditToBulk } = npm10('@npmcli/arborist/lib/audit-report.js') as {
  auditToBulk: (report: unknown) => Record<string, Array<Record<string, unknown>>>;
};

for (const kind of DB_KINDS) {
  describe(`npm audit endpoints (${kind})`, () => {
    let r: TestRegistry;
    let carol: { id: number; token: string };
    let dave: { id: number; token: string };
    const gz = (value: unknown, headers: Record<string, string> = {}) => ({
      raw: gzipSync(JSON.stringify(value)),
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', ...headers },
    });
    const publish = async (name: string, version: string, token = r.adminToken, access?: 'restricted') => {
      const res = await r.request('PUT', `/${name.replace('/', '%2f')}`, {
        token,
        body: body(publishDoc({ name, version }, access ? { access } : {})),
      });
      assert.equal(res.status, 201, res.text);
    };

    before(async () => {
      r = await startRegistry(kind);
      carol = await r.user('carol');
      dave = await r.user('dave');
      for (const v of ['1.0.0', '1.0.1', '1.1.0']) await publish('evil-lib', v);
      for (const v of ['2.0.0', '2.0.1']) await publish('gone-lib', v);
      await publish('good-lib', '1.0.0');
      await createOrg(r.store.db, 'acme', 'carol', null, Date.now());
      for (const v of ['1.0.0', '1.0.1']) await publish('@acme/secret', v, carol.token, 'restricted');
      await r.app.lifecycle.removeMalicious(MODERATOR, 'evil-lib', '1.0.1', { reason: 'steals .npmrc tokens' });
      await r.app.lifecycle.removeMalicious(MODERATOR, 'gone-lib', null, { reason: 'the account was taken over' });
      await r.app.lifecycle.removeMalicious(MODERATOR, '@acme/secret', '1.0.1', {
        reason: 'an insider planted a miner',
      });
    });
    after(() => r.stop());

    it('answers the gzipped bulk request with the advisories that affect an installed version', async () => {
      const res = await r.request(
        'POST',
        BULK,
        gz({
          'evil-lib': ['1.0.0', '1.0.1'],
          'gone-lib': ['2.0.0'],
          'good-lib': ['1.0.0'],
          'not-here': ['1.0.0'],
        }),
      );
      assert.equal(res.status, 200, res.text);
      const report = res.json();
      assert.deepEqual(Object.keys(report).sort(), ['evil-lib', 'gone-lib']);
      const [evil] = report['evil-lib'];
      assert.match(evil.id, /^x_BWK-MAL-\d{4}-\d+$/);
      assert.equal(evil.url, `${r.url}/-/bulwark/v1/osv/${evil.id}`);
      assert.equal(evil.title, 'Malicious code in evil-lib (npm)');
      assert.equal(evil.severity, 'critical');
      assert.equal(evil.vulnerable_versions, '1.0.1');
      assert.deepEqual(evil.cwe, ['CWE-506']);
      assert.deepEqual(report['gone-lib'][0].vulnerable_versions, '*', 'a whole package: every version');
      // The advisory's URL serves the OSV record it was made from.
      const osv = await r.request('GET', `/-/bulwark/v1/osv/${evil.id}`);
      assert.equal(osv.json().summary, evil.title);
    });

    it('leaves out packages whose installed versions no advisory covers: a clean tree is {}', async () => {
      const res = await r.request('POST', BULK, gz({ 'evil-lib': ['1.0.0', '1.1.0'], 'good-lib': ['1.0.0'] }));
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json(), {});
    });

    it('reads deflate and plain bodies too', async () => {
      const request = { 'evil-lib': ['1.0.1'] };
      const deflated = await r.request('POST', BULK, {
        raw: deflateSync(JSON.stringify(request)),
        headers: { 'content-type': 'application/json', 'content-encoding': 'deflate' },
      });
      assert.equal(deflated.status, 200, deflated.text);
      assert.equal(deflated.json()['evil-lib'].length, 1);
      const plain = await r.request('POST', BULK, { body: request });
      assert.deepEqual(plain.json(), deflated.json());
    });

    it('keeps an advisory about a restricted package from those who cannot read it', async () => {
      const request = { '@acme/secret': ['1.0.1'] };
      const missing = { '@acme/never-was': ['1.0.1'] };
      for (const token of [null, dave.token]) {
        const res = await r.request('POST', BULK, { ...gz(request), token });
        assert.equal(res.status, 200);
        assert.deepEqual(res.json(), {});
        const twin = await r.request('POST', BULK, { ...gz(missing), token });
        assert.equal(twin.text, res.text, 'answered as for a package that never had an advisory');
      }
      for (const token of [carol.token, r.adminToken]) {
        const reader = await r.request('POST', BULK, { ...gz(request), token });
        assert.equal(reader.json()['@acme/secret'][0].vulnerable_versions, '1.0.1', 'its readers are warned');
      }
    });

    it('refuses malformed requests as a whole instead of answering "nothing found"', async () => {
      for (const bad of [[], 'x', { 'evil-lib': '1.0.1' }, { 'evil-lib': [1] }, { '': ['1.0.0'] }]) {
        const res = await r.request('POST', BULK, gz(bad));
        assert.equal(res.status, 400, JSON.stringify(bad));
        assert.equal(res.json().code, 'E_INVALID_REQUEST');
      }
      const notJson = await r.request('POST', BULK, {
        raw: gzipSync('{"evil-lib": ['),
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      });
      assert.equal(notJson.status, 400);
      const deep = await r.request('POST', BULK, {
        raw: gzipSync('['.repeat(300_000)),
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      });
      assert.equal(deep.status, 400);
      assert.match(deep.json().error, /nests deeper/);
      const notGzip = await r.request('POST', BULK, {
        raw: Buffer.from(JSON.stringify({ 'evil-lib': ['1.0.1'] })),
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      });
      assert.equal(notGzip.status, 400);
      assert.match(notGzip.json().error, /not valid gzip data/);
      const brotli = await r.request('POST', BULK, {
        raw: Buffer.from('{}'),
        headers: { 'content-type': 'application/json', 'content-encoding': 'br' },
      });
      assert.equal(brotli.status, 415);
      assert.match(brotli.json().error, /gzip or deflate/);
    });

    it('stops inflating a zip bomb at the decoded limit (413), and keeps serving', async () => {
      // 1 GiB of zeros is about 1 MiB gzipped; decoding stops a little past 4 MiB.
      const bomb = gzipSync(Buffer.alloc(256 * 1024 * 1024), { level: 9 });
      const started = performance.now();
      const res = await r.request('POST', BULK, {
        raw: bomb,
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      });
      const ms = performance.now() - started;
      assert.equal(res.status, 413, res.text);
      assert.equal(res.json().code, 'E_BODY_TOO_LARGE');
      assert.match(res.json().error, new RegExp(`more than ${AUDIT_BODY_LIMIT} bytes`));
      // Inflating all 256 MiB takes seconds; stopping at 4 MiB takes a fraction of one (the bound allows a busy machine).
      assert.ok(ms < 10_000, `${ms} ms`);
      assert.equal((await r.request('GET', '/-/ping')).status, 200);
      const plainTooLarge = await r.request('POST', BULK, {
        raw: Buffer.alloc(AUDIT_BODY_LIMIT + 1, 0x20),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(plainTooLarge.status, 413);
    });

    it('every other route refuses an encoded body before reading it (415)', async () => {
      const doc = gzipSync(JSON.stringify(body(publishDoc({ name: 'zipped-lib', version: '1.0.0' }))));
      const cases: Array<[string, string, string | null]> = [
        ['PUT', '/zipped-lib', r.adminToken],
        ['POST', '/-/v1/login', null],
        ['PUT', '/-/user/org.couchdb.user:zed', null],
        ['POST', '/-/npm/v1/tokens', r.adminToken],
      ];
      for (const [method, url, token] of cases) {
        const res = await r.request(method, url, {
          token,
          raw: doc,
          headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        });
        assert.equal(res.status, 415, `${method} ${url}: ${res.text}`);
        assert.match(res.json().error, /send it uncompressed/);
      }
      assert.equal((await r.request('GET', '/zipped-lib')).status, 404, 'nothing was published');
    });

    it('answers npm 10’s quick audit in the shape npm 10 converts', async () => {
      const lockTree = {
        name: 'app',
        version: '1.0.0',
        requires: { 'evil-lib': '^1.0.0', 'good-lib': '^1.0.0' },
        dependencies: {
          'evil-lib': { version: '1.0.1' },
          'good-lib': {
            version: '1.0.0',
            requires: { 'evil-lib': '1.0.1' },
            dependencies: { 'evil-lib': { version: '1.0.1', dev: true } },
          },
        },
        metadata: { node_version: 'v26.0.0', npm_version: '10.9.9', platform: 'linux', arch: 'x64' },
      };
      const res = await r.request('POST', QUICK, gz(lockTree));
      assert.equal(res.status, 200, res.text);
      const report = res.json();
      const [advisory] = Object.values(report.advisories) as Array<Record<string, any>>;
      assert.deepEqual(advisory!.findings, [{ version: '1.0.1', paths: ['evil-lib', 'good-lib>evil-lib'] }]);
      assert.equal(report.metadata.vulnerabilities.critical, 2);
      assert.equal(report.metadata.totalDependencies, 3);
      const bulk = auditToBulk(report);
      assert.deepEqual(Object.keys(bulk), ['evil-lib']);
      assert.equal(bulk['evil-lib']![0]!.vulnerable_versions, '1.0.1');
      assert.equal(bulk['evil-lib']![0]!.severity, 'critical');
      const clean = await r.request(
        'POST',
        QUICK,
        gz({ ...lockTree, dependencies: { 'good-lib': { version: '1.0.0' } } }),
      );
      assert.deepEqual(clean.json().advisories, {});
    });

    it('needs a token where every read does', async () => {
      const locked = await startRegistry(kind, { 'read-access': 'authenticated' });
      try {
        assert.equal((await locked.request('POST', BULK, gz({ x: ['1.0.0'] }))).status, 401);
        const ok = await locked.request('POST', BULK, { ...gz({ x: ['1.0.0'] }), token: locked.adminToken });
        assert.equal(ok.status, 200);
      } finally {
        await locked.stop();
      }
    });
  });
}
