// `bulwark scan` through the real binary: exit codes (0 clean, 1 flagged, 2 error), the --json shape, --previous and
// an operator's --signatures file.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadSamples, packFiles } from '../fixtures/malware/corpus.ts';
import { bulwark } from '../helpers/bulwark-process.ts';

describe('bulwark scan', () => {
  let dir: string;
  const file = (name: string) => path.join(dir, name);
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'bulwark-scan-cli-'));
    await writeFile(
      file('clean.tgz'),
      packFiles({
        'package.json': JSON.stringify({ name: 'clean-pkg', version: '1.0.0' }),
        'index.js': 'module.exports = (a, b) => a + b;\n',
      }),
    );
    const worm = loadSamples('tuning').find((s) => s.name === 'shai-hulud-worm')!;
    await writeFile(file('worm.tgz'), worm.tgz);
    await writeFile(file('worm-prev.tgz'), worm.previous!);
    // Honest code, and a new postinstall in a patch release: only the comparison flags it.
    await writeFile(
      file('v1.tgz'),
      packFiles({
        'package.json': JSON.stringify({ name: 'p', version: '1.0.0' }),
        'index.js': 'module.exports = 1;\n',
      }),
    );
    await writeFile(
      file('v2.tgz'),
      packFiles({
        'package.json': JSON.stringify({ name: 'p', version: '1.0.1', scripts: { postinstall: 'node setup.js' } }),
        'index.js': 'module.exports = 1;\n',
        'setup.js': "require('child_process').spawn('sh', ['-c', 'echo hi']);\nfetch('https://x.example.invalid/');\n",
      }),
    );
    await writeFile(
      file('marker.tgz'),
      packFiles({
        'package.json': JSON.stringify({ name: 'm', version: '1.0.0' }),
        'index.js': "const host = 'collector.corp.example.invalid';\n",
      }),
    );
    await writeFile(
      file('sigs.json'),
      JSON.stringify({
        format: 'bulwark-malware-signatures',
        version: 1,
        snippets: [
          {
            id: 'ops:1',
            text: 'collector.corp.example.invalid',
            severity: 'malicious',
            description: 'exfiltration host from an incident',
            source: 'ops',
          },
        ],
      }),
    );
    await writeFile(file('bad-sigs.json'), JSON.stringify({ format: 'nope' }));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('exits 0 for a clean tarball', async () => {
    const r = await bulwark(['scan', file('clean.tgz')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^clean \(score 0\)/);
  });

  it('exits 1 with the evidence for a malicious tarball; --json has verdict, score and findings', async () => {
    const r = await bulwark(['scan', file('worm.tgz'), '--json']);
    assert.equal(r.code, 1, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.verdict, 'malicious');
    assert.equal(typeof out.score, 'number');
    assert.ok(out.findings.length > 0);
    for (const f of out.findings) assert.deepEqual(Object.keys(f).sort(), ['evidence', 'file', 'line', 'rule']);
    assert.ok(out.findings.some((f: any) => f.rule === 'self-propagation'));
  });

  it('--previous weighs what changed since the previous version', async () => {
    const alone = await bulwark(['scan', file('v2.tgz'), '--json']);
    const diffed = await bulwark(['scan', file('v2.tgz'), '--previous', file('v1.tgz'), '--json']);
    assert.equal(diffed.code, 1, diffed.stdout);
    const rules = JSON.parse(diffed.stdout).findings.map((f: any) => f.rule);
    assert.ok(rules.includes('new-install-script'));
    assert.ok(JSON.parse(diffed.stdout).score > JSON.parse(alone.stdout).score);
  });

  it('--signatures adds an operator database', async () => {
    assert.equal((await bulwark(['scan', file('marker.tgz')])).code, 0);
    const r = await bulwark(['scan', file('marker.tgz'), '--signatures', file('sigs.json')]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /known-malware-snippet/);
  });

  it('exits 2 on errors: a missing file, a bad signature file, no argument', async () => {
    const missing = await bulwark(['scan', file('nope.tgz')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /ENOENT|no such file/);
    const bad = await bulwark(['scan', file('clean.tgz'), '--signatures', file('bad-sigs.json')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /format/);
    assert.equal((await bulwark(['scan'])).code, 2);
  });
});
