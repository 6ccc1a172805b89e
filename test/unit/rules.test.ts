// Pure rules, tested without I/O.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Action, decide, type PackageFacts } from '../../src/access/decide.ts';
import type { Principal } from '../../src/access/principal.ts';
import { ConfigError, loadSettings, parseSize } from '../../src/config.ts';
import { LruCache, etagMatches, negotiateEncoding } from '../../src/packages/cache.ts';
import { parsePeriod } from '../../src/packages/downloads.ts';
import { isServableName, nameProblem, tarballFile } from '../../src/names/syntax.ts';
import { parseQuery, popularity, relevance } from '../../src/packages/search.ts';
import { TOKEN_PATTERN, isWellFormedToken, newToken } from '../../src/tokens/format.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

describe('token format', () => {
  it('makes distinct tokens that a scanner regex finds and whose checksum rejects look-alikes', () => {
    const tokens = new Set(Array.from({ length: 200 }, newToken));
    assert.equal(tokens.size, 200);
    for (const t of tokens) {
      assert.ok(isWellFormedToken(t), t);
      assert.ok(TOKEN_PATTERN.test(`npm_config_token=${t} leaked in a log`));
    }
    const t = [...tokens][0]!;
    const flipped = t.slice(0, 10) + (t[10] === 'a' ? 'b' : 'a') + t.slice(11);
    assert.equal(isWellFormedToken(flipped), false, 'a one-character change fails the checksum');
    assert.equal(isWellFormedToken(t.slice(0, -1)), false);
    assert.equal(isWellFormedToken(`npm_${t.slice(4)}`), false);
  });
});

describe('decide', () => {
  const user = (id: number, extra: Partial<Principal> = {}): Principal => ({
    userId: id,
    name: `u${id}`,
    email: '',
    isAdmin: false,
    emailVerified: true,
    tokenId: 1,
    tokenReadonly: false,
    ...extra,
  });
  const pkg = (extra: Partial<PackageFacts> = {}): PackageFacts => ({
    access: 'public',
    maintainerIds: [1],
    scope: null,
    scopeOwnerId: null,
    scopeNamesakeId: null,
    ...extra,
  });
  const policy = { readAccess: 'public' } as const;

  it('lets maintainers publish and refuses everyone else, invisibly for restricted packages', () => {
    assert.equal(decide(user(1), Action.PackagePublish, pkg(), policy).allow, true);
    assert.deepEqual(decide(user(2), Action.PackagePublish, pkg(), policy), {
      allow: false,
      code: 'E_FORBIDDEN',
      reason:
        'you do not have permission to change this package: you are not one of its maintainers and no team of yours has read-write access to it',
    });
    // A publish to a package the caller cannot read answers as a first publish of that name would (issue 15.4).
    const hidden = pkg({ access: 'restricted', scope: 'acme', scopeOwnerId: 1 });
    assert.deepEqual(
      decide(user(2), Action.PackagePublish, hidden, policy),
      decide(user(2), Action.PackageCreate, { ...hidden, access: null, maintainerIds: [] }, policy),
    );
    assert.equal((decide(user(2), Action.PackagePublish, hidden, policy) as { code: string }).code, 'E_NAME_TAKEN');
    assert.equal((decide(null, Action.PackagePublish, pkg(), policy) as { code: string }).code, 'E_AUTH_REQUIRED');
    assert.equal(
      (decide(user(1, { tokenReadonly: true }), Action.PackagePublish, pkg(), policy) as { code: string }).code,
      'E_TOKEN_READONLY',
    );
    assert.equal(
      (decide(user(1, { emailVerified: false }), Action.PackagePublish, pkg(), policy) as { code: string }).code,
      'E_EMAIL_UNVERIFIED',
    );
  });

  it('gives a scope to its owner, or before first use to the user of the same name', () => {
    const fresh = pkg({ access: null, maintainerIds: [], scope: 'acme' });
    assert.equal(
      decide(user(2), Action.PackageCreate, fresh, policy).allow,
      true,
      'an unclaimed scope with no namesake',
    );
    assert.equal(decide(user(2), Action.PackageCreate, { ...fresh, scopeNamesakeId: 3 }, policy).allow, false);
    assert.equal(decide(user(3), Action.PackageCreate, { ...fresh, scopeNamesakeId: 3 }, policy).allow, true);
    assert.equal(
      decide(user(2), Action.PackageCreate, { ...fresh, scopeOwnerId: 4, scopeNamesakeId: 2 }, policy).allow,
      false,
      'the owner wins over a namesake',
    );
  });

  it('hides restricted packages and, under authenticated reads, everything from anonymous callers', () => {
    assert.equal(decide(null, Action.PackageRead, pkg(), policy).allow, true);
    assert.equal(
      (decide(null, Action.PackageRead, pkg({ access: 'restricted' }), policy) as { code: string }).code,
      'E_NOT_FOUND',
    );
    assert.equal(decide(user(1), Action.PackageRead, pkg({ access: 'restricted' }), policy).allow, true);
    assert.equal(
      decide(user(9, { isAdmin: true }), Action.PackageRead, pkg({ access: 'restricted' }), policy).allow,
      true,
    );
    assert.equal(
      (decide(null, Action.PackageRead, pkg({ access: null }), { readAccess: 'authenticated' }) as { code: string })
        .code,
      'E_AUTH_REQUIRED',
      'existence is not revealed',
    );
  });
});

describe('settings', () => {
  it('applies flag > environment > config file > default and collects every problem', () => {
    const s = loadSettings({
      flags: { port: '1234' },
      env: { BULWARK_PORT: '999', BULWARK_SIGNUP: 'closed', BULWARK_TRUST_PROXY: '10.0.0.0/8, ::1' },
    });
    assert.equal(s.port, 1234);
    assert.equal(s.signup, 'closed');
    assert.deepEqual(s.trustProxy, ['10.0.0.0/8', '::1']);
    assert.equal(s.maxTarballSize, 50 * 1024 * 1024);
    assert.equal(s.publicUrl, null);
    assert.equal(
      loadSettings({ flags: { 'public-url': 'https://npm.example.com/base/' }, env: {} }).publicUrl,
      'https://npm.example.com/base',
    );
    try {
      loadSettings({ flags: { port: '-1', 'read-access': 'nobody' }, env: { BULWARK_MAX_TARBALL_SIZE: 'huge' } });
      assert.fail('should have thrown');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems.length, 3);
    }
    assert.deepEqual(
      s.passwordHash,
      { memoryCost: 19456, timeCost: 2, parallelism: 1 },
      'OWASP’s recommended argon2id cost by default',
    );
    assert.deepEqual(loadSettings({ flags: { 'password-hash': 'm=65536,t=3,p=4' }, env: {} }).passwordHash, {
      memoryCost: 65536,
      timeCost: 3,
      parallelism: 4,
    });
    for (const weak of [
      'm=1024,t=1,p=1',
      'm=19456,t=1,p=1',
      'm=7168,t=4,p=1',
      'm=19456,t=2,p=0',
      'argon2',
      'm=19456;t=2;p=1',
    ]) {
      assert.throws(() => loadSettings({ flags: { 'password-hash': weak }, env: {} }), ConfigError, weak);
    }
    assert.equal(parseSize('1.5mb'), 1.5 * 1024 * 1024);
  });

  it('takes config file keys as flag names, setting names or environment variables (issue 19: "dataDir" was refused)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bulwark-config-'));
    const file = path.join(dir, 'config.json');
    try {
      writeFileSync(
        file,
        JSON.stringify({
          dataDir: '/srv/a',
          'max-tarball-size': '2mb',
          BULWARK_SIGNUP: 'closed',
          trustProxy: ['10.0.0.0/8', '::1'],
        }),
      );
      const s = loadSettings({ flags: {}, env: {}, file });
      assert.equal(s.dataDir, '/srv/a');
      assert.equal(s.maxTarballSize, 2 * 1024 * 1024);
      assert.equal(s.signup, 'closed');
      assert.deepEqual(s.trustProxy, ['10.0.0.0/8', '::1']);
      writeFileSync(file, JSON.stringify({ dataDir: '/srv/a', 'data-dir': '/srv/b', datadir: 'x' }));
      assert.throws(
        () => loadSettings({ flags: {}, env: {}, file }),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.deepEqual(
            err.problems.map((p) => p.replace(file, 'FILE')),
            [
              'config file FILE: "data-dir" sets data-dir a second time',
              'config file FILE: unknown setting "datadir" (keys are the option names, e.g. "data-dir"; see bulwark serve --help)',
            ],
          );
          return true;
        },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.throws(() => parseSize('12'), /at least 1kb/);
  });
});

describe('package names, periods and search ranking', () => {
  it('follows npm name rules', () => {
    assert.equal(nameProblem('express'), null);
    assert.equal(nameProblem('@scope/pkg'), null);
    assert.match(nameProblem('Express') ?? '', /capital/);
    assert.match(nameProblem('../evil') ?? '', /invalid package name/);
    assert.equal(isServableName('JSONStream'), true, 'old packages with capitals can still be served');
    assert.equal(isServableName('a/b/c'), false);
    assert.equal(tarballFile('@scope/pkg', '1.2.3'), 'pkg-1.2.3.tgz');
  });

  it('parses npm download periods', () => {
    const now = Date.parse('2026-03-10T12:00:00Z');
    assert.deepEqual(parsePeriod('last-day', now), { start: '2026-03-10', end: '2026-03-10' });
    assert.deepEqual(parsePeriod('last-week', now), { start: '2026-03-04', end: '2026-03-10' });
    assert.deepEqual(parsePeriod('2026-01-01:2026-01-31', now), { start: '2026-01-01', end: '2026-01-31' });
    assert.throws(() => parsePeriod('2026-02-30', now), /invalid period/);
    assert.throws(() => parsePeriod('2026-03-01:2026-02-01', now), /start is after the end/);
  });

  it('ranks exact and prefix name matches above keyword and description matches', () => {
    const c = (name: string, description = '', keywords = '') => ({ name, description, keywords, downloads: 0 });
    const terms = parseQuery('react').terms;
    const scores = [c('react'), c('react-dom'), c('preact'), c('ui', '', 'react'), c('x', 'a react thing')].map((x) =>
      relevance(x, terms),
    );
    assert.deepEqual(
      [...scores].sort((a, b) => b - a),
      scores,
    );
    assert.deepEqual(parseQuery('keywords:a,b scope:@acme maintainer:bob  text'), {
      terms: ['text'],
      keywords: ['a', 'b'],
      scope: 'acme',
      maintainer: 'bob',
    });
    assert.ok(popularity(1000) > popularity(10) && popularity(0) === 0);
  });
});

describe('HTTP caching rules', () => {
  it('negotiates encodings by q-value and matches ETags weakly', () => {
    assert.equal(negotiateEncoding('gzip, deflate, br', 5000), 'br');
    assert.equal(negotiateEncoding('gzip', 5000), 'gzip');
    assert.equal(negotiateEncoding('br;q=0, gzip', 5000), 'gzip');
    assert.equal(negotiateEncoding('*', 5000), 'br');
    assert.equal(negotiateEncoding('identity', 5000), 'identity');
    assert.equal(negotiateEncoding('gzip', 100), 'identity', 'tiny bodies are not worth compressing');
    assert.ok(etagMatches('W/"abc", "def"', '"abc"'));
    assert.ok(etagMatches('*', '"x"'));
    assert.equal(etagMatches('"abc-gzip"', '"abc"'), false);
  });

  it('keeps an LRU within its byte budget and never caches a value loaded before an invalidation', async () => {
    const cache = new LruCache<{ size: number; v: number }>(100);
    let version = 1;
    const load = async () => ({ size: 40, v: version });
    await cache.get('a', load);
    await cache.get('b', load);
    await cache.get('a', load); // a is now most recent
    await cache.get('c', load); // evicts b
    assert.equal(cache.bytes, 80);
    let loads = 0;
    await cache.get('b', async () => (loads++, { size: 40, v: 0 }));
    assert.equal(loads, 1, 'b was evicted');

    let release!: () => void;
    const slow = cache.get('d', () => {
      const seen = version;
      return new Promise((res) => (release = () => res({ size: 10, v: seen })));
    });
    version = 2;
    cache.invalidate('d');
    release();
    assert.equal((await slow).v, 1, 'the waiting request gets the value it asked for');
    assert.equal((await cache.get('d', load)).v, 2, 'but the stale value is not kept');
  });
});
