// npm 10's quick audit against a hostile request (adversarial review). Anyone may send it on a public registry, gzipped:
// a few kilobytes on the wire unfold into a lockfile tree that is deep (a chain of long names) and broad (thousands of
// copies at its bottom). Each copy's path ("a>b>c", as deep as the chain) was spelled out up front and, for copies of
// a package with an advisory, listed in the answer: a 0.6 MB tree made half a gigabyte of paths on the server. Paths
// are now made only for the copies an answer lists, and an advisory lists at most MAX_PATHS_PER_ADVISORY of them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { MAX_PATHS_PER_ADVISORY } from '../../src/safety/audit.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const QUICK = '/-/npm/v1/security/audits/quick';
const gz = (value: unknown) => ({
  raw: gzipSync(JSON.stringify(value)),
  headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
});

/** A lockfile tree: a chain of `depth` names of `nameLength` characters, with `copies` packages at its bottom, each
 * depending on evil-lib@1.0.1. */
function deepAndBroad(depth: number, nameLength: number, copies: number) {
  const bottom: Record<string, unknown> = {};
  for (let i = 0; i < copies; i++)
    bottom[`copy-${i}`] = { version: '1.0.0', dependencies: { 'evil-lib': { version: '1.0.1' } } };
  let node: Record<string, unknown> = { version: '1.0.0', dependencies: bottom };
  for (let d = 0; d < depth; d++)
    node = { version: '1.0.0', dependencies: { [`n${d}-`.padEnd(nameLength, 'x')]: node } };
  return { name: 'app', version: '1.0.0', dependencies: { root: node } };
}

describe('npm 10’s quick audit against a deep and broad tree', () => {
  let r: TestRegistry;
  before(async () => {
    r = await startRegistry('sqlite');
    for (const version of ['1.0.0', '1.0.1']) {
      const res = await r.request('PUT', '/evil-lib', {
        token: r.adminToken,
        body: body(publishDoc({ name: 'evil-lib', version })),
      });
      assert.equal(res.status, 201, res.text);
    }
    await r.app.lifecycle.removeMalicious({ id: null, name: 'moderator' }, 'evil-lib', '1.0.1', {
      reason: 'steals .npmrc tokens',
    });
  });
  after(() => r.stop());

  it('answers with a bounded list of paths, each spelled out in full', async () => {
    const tree = deepAndBroad(100, 214, 2000);
    const sent = gz(tree);
    assert.ok(sent.raw.length < 64 * 1024, `${sent.raw.length} bytes on the wire`);
    const res = await r.request('POST', QUICK, sent);
    assert.equal(res.status, 200, res.text.slice(0, 200));
    assert.ok(res.bytes.length < 5_000_000, `the answer is ${res.bytes.length} bytes`);
    const [advisory] = Object.values(res.json().advisories) as Array<{
      findings: Array<{ version: string; paths: string[] }>;
    }>;
    const paths = advisory!.findings.flatMap((f) => f.paths);
    assert.equal(paths.length, MAX_PATHS_PER_ADVISORY);
    assert.equal(paths[0]!.split('>').length, 103, 'root, the chain, the copy, evil-lib');
    assert.match(paths[0]!, /^root>n99-x+>n98-x+>.*>n0-x+>copy-0>evil-lib$/);
    // Every copy still counts, listed or not.
    assert.equal(res.json().metadata.vulnerabilities.critical, 2000);
  });

  it('refuses a name longer than npm allows', async () => {
    const res = await r.request('POST', QUICK, gz(deepAndBroad(3, 215, 1)));
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json().code, 'E_INVALID_REQUEST');
  });
});
