import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ERRORS, type ErrorCode } from '../src/errors.ts';
import { body, publishDoc } from './helpers/packages.ts';
import { startRegistry, type TestRegistry } from './helpers/registry.ts';

const root = path.resolve(import.meta.dirname, '..');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('the error registry', () => {
  it('is what docs/errors.md lists: every code, its status and its meaning, and nothing else', () => {
    const doc = fs.readFileSync(path.join(root, 'docs/errors.md'), 'utf8');
    const rows = new Map<string, { status: number; means: string }>();
    for (const m of doc.matchAll(/^\| `(E_[A-Z0-9_]+)` \| (\d{3}) \| (.+) \|$/gm)) {
      assert.ok(!rows.has(m[1]!), `${m[1]} is listed twice`);
      rows.set(m[1]!, { status: Number(m[2]), means: m[3]! });
    }
    assert.deepEqual([...rows.keys()].sort(), Object.keys(ERRORS).sort());
    for (const [code, entry] of Object.entries(ERRORS)) assert.deepEqual(rows.get(code), { ...entry }, code);
  });

  it('has no code that no part of the registry raises', () => {
    const text = sourceFiles(path.join(root, 'src'))
      .filter((f) => !f.endsWith(`${path.sep}errors.ts`))
      .map((f) => fs.readFileSync(f, 'utf8'))
      .join('\n');
    const unused = Object.keys(ERRORS).filter((code) => !text.includes(`'${code}'`));
    assert.deepEqual(unused, []);
  });

  it('gives each code one status from the HTTP error range', () => {
    for (const [code, { status }] of Object.entries(ERRORS)) assert.ok(status >= 400 && status < 600, code);
  });
});

describe('error bodies on the wire', () => {
  let r: TestRegistry;
  before(async () => {
    r = await startRegistry('sqlite');
  });
  after(() => r.stop());

  const codeOf = async (res: Promise<{ status: number; json: () => { error: string; code: ErrorCode } }>) => {
    const got = await res;
    const b = got.json();
    assert.equal(typeof b.error, 'string', 'npm still finds its sentence in "error"');
    assert.equal(got.status, ERRORS[b.code].status, `the status is the code's (${b.code})`);
    return b.code;
  };

  it('names the code of every kind of refusal beside the sentence', async () => {
    assert.equal(await codeOf(r.request('GET', '/no-such-package')), 'E_NOT_FOUND');
    assert.equal(await codeOf(r.request('GET', '/-/no/such/route')), 'E_NOT_FOUND');
    const x = body(publishDoc({ name: 'x', version: '1.0.0' }));
    assert.equal(await codeOf(r.request('PUT', '/x', { body: x })), 'E_AUTH_REQUIRED');
    assert.equal(await codeOf(r.request('GET', '/-/whoami', { token: 'bwk_not-a-real-token' })), 'E_TOKEN_INVALID');
    assert.equal(
      await codeOf(
        r.request('PUT', '/x', {
          token: r.adminToken,
          raw: '{"name":',
          headers: { 'content-type': 'application/json' },
        }),
      ),
      'E_INVALID_REQUEST',
    );
    assert.equal(
      await codeOf(r.request('PUT', '/x', { token: r.adminToken, body: { ...x, versions: {} } })),
      'E_PUBLISH_INVALID',
    );
    assert.equal(
      await codeOf(
        r.request('PUT', '/Bad%20Name', {
          token: r.adminToken,
          body: body(publishDoc({ name: 'Bad Name', version: '1.0.0' })),
        }),
      ),
      'E_NAME_INVALID',
    );
    const doc = body(publishDoc({ name: 'twice', version: '1.0.0' }));
    assert.equal((await r.request('PUT', '/twice', { token: r.adminToken, body: doc })).status, 201);
    assert.equal(await codeOf(r.request('PUT', '/twice', { token: r.adminToken, body: doc })), 'E_VERSION_EXISTS');
  });
});
