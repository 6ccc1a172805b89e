// The malware scanner: one pure function from a tarball (and the previous version's tarball) to a verdict with the
// evidence behind it. It reads the archive in memory, never writes or runs anything, and bounds its work (file
// sizes, decoding depth) so the publish path can give it a time budget. Signals and their weights are documented in
// docs/malware-scanning.md; the thresholds below were tuned on the tuning split of test/fixtures/malware only.
import {
  BEHAVIOUR,
  SENSITIVE,
  analyzeJs,
  analyzeShell,
  emptyFacts,
  flowRule,
  mergeFacts,
  type FileFacts,
  type RawFinding,
} from './analyze.ts';
import { readPackageFiles, type PackageFile } from '../../tarball/read.ts';
import { ROUTINE_INSTALL, SHELL_DANGER } from './patterns.ts';
import type { SignatureDb } from './signatures.ts';

export type Finding = { rule: string; file: string; line: number | null; evidence: string; weight: number };
export type Verdict = 'clean' | 'suspicious' | 'malicious';
export type ScanResult = { verdict: Verdict; score: number; findings: Finding[] };
export type { SignatureDb } from './signatures.ts';

/** Score at which a version is flagged for review (still installable), and at which it is held. */
export const SUSPICIOUS_SCORE = 6;
export const MALICIOUS_SCORE = 12;
/** Weight that makes one finding decisive on its own: a known-bad hash or snippet. */
export const DECISIVE = 100;

/** Files larger than this are hashed but not read: minified bundles this big are built artefacts, not droppers. */
export const MAX_ANALYZED_FILE = 3 * 1024 * 1024;
const NOT_RUN =
  /(^|\/)(test|tests|__tests__|spec|specs|example|examples|benchmark|benchmarks|bench|docs|fixtures|ci|\.evergreen|\.circleci|\.github)\//i;
/**
 * A file this large is a bundle of many modules (a CLI's dependencies, a browser build): that it names a credential
 * file somewhere and uses the network somewhere else says nothing about one piece of code doing both. There only the
 * data flow (a source reaching a sink through variables) is evidence; co-occurrence rules are context. Not for code
 * that installing runs: that runs whole, unasked.
 */
export const BUNDLE_SIZE = 100_000;
const CO_OCCURRENCE = new Set([
  'credential-exfiltration',
  'remote-code-eval',
  'encoded-payload',
  'dns-exfiltration',
  'cloud-metadata',
  'host-fingerprint',
  'identity-to-exfiltration-endpoint',
]);
const LIFECYCLE = ['preinstall', 'install', 'postinstall'] as const;
const JS_FILE = /\.(c|m)?jsx?$|\.(c|m)?tsx?$/i;
const SHELL_FILE = /\.(sh|bash|zsh|ps1|bat|cmd|py)$/i;
const SKIP_TEXT =
  /\.(d\.(c|m)?ts|map|md|markdown|txt|rst|html?|css|scss|less|svg|ya?ml|lock|flow)$|(^|\/)(LICEN[CS]E|CHANGELOG|AUTHORS|NOTICE)[^/]*$/i;

type Pkg = {
  manifest: Record<string, unknown>;
  files: Map<string, PackageFile>;
  problems: string[];
};

/** The package as npm would install it; what the archive hides or garbles from some reader is among the problems. */
function loadPackage(tgz: Buffer): Pkg {
  // Files over MAX_ANALYZED_FILE are hashed only, so their bytes are not kept.
  const { files, problems } = readPackageFiles(tgz, MAX_ANALYZED_FILE);
  let manifest: Record<string, unknown> = {};
  const pj = files.get('package.json');
  if (pj) {
    try {
      const parsed: unknown = JSON.parse(pj.data.toString('utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) manifest = parsed as Record<string, unknown>;
    } catch {
      problems.push('package.json is not valid JSON');
    }
  } else problems.push('no package.json at package/package.json');
  return { manifest, files, problems };
}

const installScripts = (manifest: Record<string, unknown>): Record<string, string> => {
  const scripts = (manifest.scripts ?? {}) as Record<string, unknown>;
  return Object.fromEntries(
    LIFECYCLE.filter((k) => typeof scripts[k] === 'string').map((k) => [k, scripts[k] as string]),
  );
};

/** The files an install script hands to an interpreter: `node x.js`, `bun run y`, `sh z.sh`, `node -e "…"` code. */
function scriptTargets(command: string): { files: string[]; inline: string[] } {
  const files: string[] = [];
  const inline: string[] = [];
  for (const part of command.split(/\s*(?:&&|\|\||;|\|)\s*/)) {
    const words = part.trim().match(/"(?:\\.|[^"])*"|'[^']*'|\S+/g) ?? [];
    const interp = words.findIndex((w) =>
      /^(node|nodejs|bun|deno|sh|bash|zsh|python3?|pwsh|powershell)(\.exe)?$/.test(w),
    );
    if (interp === -1) continue;
    for (let i = interp + 1; i < words.length; i++) {
      const w = words[i]!;
      if (w === '-e' || w === '-p' || w === '--eval' || w === '-c') {
        const code = words[i + 1];
        if (code) inline.push(code.replace(/^(["'])([\s\S]*)\1$/, '$2').replace(/\\"/g, '"'));
        break;
      }
      if (w === 'run' || w.startsWith('-')) continue;
      files.push(w.replace(/^(["'])(.*)\1$/, '$2').replace(/^\.\//, ''));
      break;
    }
  }
  return { files, inline };
}

/**
 * A lifecycle command and the package scripts it runs through `npm run x` (`npm run-script`, `yarn x`, `pnpm run x`),
 * followed a few levels: `"postinstall": "npm run setup"` runs whatever `setup` says, at install time.
 */
export function expandRunScripts(
  manifest: Record<string, unknown>,
  command: string,
): Array<{ command: string; via: string }> {
  const all = (manifest.scripts ?? {}) as Record<string, unknown>;
  const out = [{ command, via: '' }];
  const seen = new Set<string>();
  for (let i = 0; i < out.length && out.length < 10; i++)
    for (const m of out[i]!.command.matchAll(
      /\b(?:npm\s+run(?:-script)?|pnpm(?:\s+run)?|yarn(?:\s+run)?)\s+(?:--?[\w-]+\s+)*([\w:.-]+)/g,
    )) {
      const name = m[1]!;
      const next = all[name];
      if (typeof next !== 'string' || seen.has(name)) continue;
      seen.add(name);
      out.push({ command: next, via: `npm run ${name}` });
    }
  return out;
}

/** The commands of gyp's command expansions, `<!(cmd)` and `<!@(cmd)`, in a binding.gyp's strings. */
export function gypCommands(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(["'])<!@?\(((?:\\.|(?!\1)[^\\])*)\)\1/g))
    out.push(m[2]!.replace(/\\(["'\\])/g, '$1'));
  return out.slice(0, 50);
}

function resolveLocal(pkg: Pkg, from: string, spec: string): string | null {
  const dir = from.includes('/') ? from.slice(0, from.lastIndexOf('/') + 1) : '';
  const parts: string[] = [];
  for (const seg of (spec.startsWith('.') ? dir + spec : spec).split('/')) {
    if (seg === '..') parts.pop();
    else if (seg && seg !== '.') parts.push(seg);
  }
  const base = parts.join('/');
  for (const cand of [base, `${base}.js`, `${base}.cjs`, `${base}.mjs`, `${base}/index.js`])
    if (pkg.files.has(cand)) return cand;
  return null;
}

type PackageAnalysis = {
  findings: Finding[];
  facts: FileFacts;
  perFile: Map<string, FileFacts>;
  scripts: Record<string, string>;
};

function analyzePackage(pkg: Pkg, sigs: SignatureDb): PackageAnalysis {
  const findings: Finding[] = [];
  const facts = emptyFacts();
  // What the code run at install time does: a worm spreads from there, npm's own tooling publishes from its CLI.
  const installFacts = emptyFacts();
  const perFile = new Map<string, FileFacts>();
  const bundles = new Set<string>();
  const push = (file: string, f: RawFinding, factor = 1) =>
    findings.push({ rule: f.rule, file, line: f.line, evidence: f.evidence, weight: f.weight * factor });

  for (const p of pkg.problems)
    findings.push({ rule: 'unreadable-archive', file: '', line: null, evidence: p, weight: SUSPICIOUS_SCORE });

  // Install lifecycle scripts, and the files they run (which run with the installing user's rights, unasked).
  const scripts = installScripts(pkg.manifest);
  const installTime = new Set<string>();
  const commands: Array<[string, string]> = Object.entries(scripts).flatMap(([hook, command]) =>
    expandRunScripts(pkg.manifest, command).map((c, i): [string, string] => [
      i ? `${hook} → ${c.via}` : hook,
      c.command,
    ]),
  );
  // npm runs `node-gyp rebuild` for a package with a binding.gyp and no install script, and gyp runs the commands
  // of its <!(…) expansions while configuring: install-time code with nothing in package.json.
  const gyp = pkg.files.get('binding.gyp');
  if (gyp) for (const command of gypCommands(gyp.data.toString('utf8'))) commands.push(['binding.gyp <!(…)', command]);
  for (const [hook, command] of commands) {
    const danger = SHELL_DANGER.filter((p) => p.re.test(command));
    for (const d of danger)
      findings.push({
        rule: 'install-script-command',
        file: 'package.json',
        line: null,
        evidence: `${hook}: ${d.kind}: ${command}`,
        weight: 8,
      });
    const routine = command
      .split(/\s*(?:&&|\|\||;)\s*/)
      .every(
        (c) =>
          ROUTINE_INSTALL.test(c.trim()) ||
          /^node\s+-e\s+["']?try\s*\{\s*require\(['"][./\w-]+['"]\)\s*\}\s*catch/.test(c.trim()),
      );
    findings.push({
      rule: 'install-script',
      file: hook.startsWith('binding.gyp') ? 'binding.gyp' : 'package.json',
      line: null,
      evidence: `${hook}: ${command}`,
      weight: routine ? 0 : 1,
    });
    const { files, inline } = scriptTargets(command);
    for (const f of files) {
      const resolved = resolveLocal(pkg, '', f);
      if (resolved) installTime.add(resolved);
    }
    for (const code of inline) {
      if (code.length < 60 && !/require|import|http|exec|spawn|Buffer|eval/.test(code)) continue;
      const a = analyzeJs(code, { depth: 0, budget: { decodedBytes: 0 } });
      if (code.length > 200)
        findings.push({
          rule: 'install-script-inline-code',
          file: 'package.json',
          line: null,
          evidence: `${hook}: ${code.slice(0, 160)}…`,
          weight: 2,
        });
      for (const f of a.findings) push(`package.json (${hook})`, f, 2);
      if (a.facts.identity > 0 && a.facts.network)
        findings.push({
          rule: 'install-time-beacon',
          file: `package.json (${hook})`,
          line: null,
          evidence: 'install-time code reads the host or user identity and uses the network',
          weight: 5,
        });
      mergeFacts(facts, a.facts);
      mergeFacts(installFacts, a.facts);
    }
  }

  const budget = { decodedBytes: 0 };
  const order = [...installTime, ...[...pkg.files.keys()].filter((p) => !installTime.has(p))];
  for (const path of order) {
    const file = pkg.files.get(path)!;
    const digest = file.sha256;
    const known = sigs.hashes.get(digest);
    if (known)
      findings.push({
        rule: 'known-malware-hash',
        file: path,
        line: null,
        evidence: `sha256 ${digest}: ${known.description} (${known.source})`,
        weight: DECISIVE,
      });
    if (SKIP_TEXT.test(path)) continue;
    const isJs = JS_FILE.test(path);
    const isShell = SHELL_FILE.test(path);
    const head = file.head.toString('latin1');
    const shebang = head.startsWith('#!');
    if (!isJs && !isShell && !shebang && path !== 'package.json' && !installTime.has(path)) continue;
    if (file.size > MAX_ANALYZED_FILE) {
      findings.push({
        rule: 'large-file-not-analyzed',
        file: path,
        line: null,
        evidence: `${file.size} bytes; hashed only`,
        weight: installTime.has(path) ? 2 : 0,
      });
      continue;
    }
    const text = file.data.toString('utf8');
    const isNodeScript = isJs || (shebang && /node|bun|deno/.test(head.split('\n')[0]!));
    // Parse what can act (and everything install scripts run); check only the strings of the rest, and skip files
    // with neither behaviour nor secrets in them: most of a package, and the reason a scan stays fast.
    const acts = !isNodeScript || installTime.has(path) || path === 'package.json' || BEHAVIOUR.test(text);
    // Known-bad snippets are searched everywhere: an operator's indicator may be a bare string.
    if (sigs.snippetPattern) {
      sigs.snippetPattern.lastIndex = 0;
      const hit = new Set<string>();
      for (const m of text.matchAll(sigs.snippetPattern)) {
        if (hit.has(m[0])) continue;
        hit.add(m[0]);
        const sig = sigs.snippets.find((s) => s.text === m[0])!;
        const line = text.slice(0, m.index).split('\n').length;
        findings.push({
          rule: 'known-malware-snippet',
          file: path,
          line,
          evidence: `${m[0]}: ${sig.description} (${sig.source})`,
          weight: sig.severity === 'malicious' ? DECISIVE : 3,
        });
        if (hit.size >= 5) break;
      }
    }
    if (path === 'package.json' || (!acts && !SENSITIVE.test(text))) continue;
    let a;
    try {
      a = isNodeScript ? analyzeJs(text, { depth: 0, budget }) : analyzeShell(text);
    } catch (err) {
      // A file built to exhaust the analyser (nesting deep enough to overflow the stack) is a finding, not a crash.
      findings.push({
        rule: 'file-not-analyzed',
        file: path,
        line: null,
        evidence: `analysis failed: ${(err as Error).message}`,
        weight: 3,
      });
      continue;
    }
    // Install-time code runs unasked; tests and examples are not run by installing or requiring the package.
    const factor = installTime.has(path) ? 2 : NOT_RUN.test(path) ? 0.5 : 1;
    // Naming a credential file without sending anything is what package-manager tooling does all day.
    const bundle = !installTime.has(path) && file.size >= BUNDLE_SIZE;
    if (bundle) bundles.add(path);
    const sends = (a.facts.network || a.facts.exfil.size > 0) && !bundle;
    for (const f of a.findings) push(path, installTime.has(path) ? f : outsideInstall(f, sends, bundle), factor);
    perFile.set(path, a.facts);
    mergeFacts(facts, a.facts);
    if (installTime.has(path)) mergeFacts(installFacts, a.facts);
    // Code the install script runs can pull in more of the package: follow its relative requires.
    if (installTime.has(path))
      for (const spec of a.facts.relativeRequires) {
        const r = resolveLocal(pkg, path, spec);
        if (r && !installTime.has(r)) {
          installTime.add(r);
          order.splice(order.indexOf(r), 1);
          order.splice(order.indexOf(path) + 1, 0, r);
        }
      }
  }

  // Combinations: each behaviour alone is common in honest packages; together they are what stealers do.
  for (const [path, f] of perFile) {
    const sends = f.network || f.exfil.size > 0;
    if ((f.credentials.size > 0 || f.envDump) && sends) {
      findings.push({
        rule: 'credential-exfiltration',
        file: path,
        line: null,
        evidence: `reads ${[...f.credentials, ...(f.envDump ? ['the whole environment'] : [])].join(', ')} and sends data over the network${f.exfil.size ? ` (${[...f.exfil].join(', ')})` : ''}`,
        weight: installTime.has(path) ? 6 : bundles.has(path) ? 1 : NOT_RUN.test(path) ? 2 : 4,
      });
    }
    // Binary installers read the platform, not who the user is or what the machine is called.
    if (installTime.has(path) && f.identity > 0 && (f.network || f.exfil.size > 0))
      findings.push({
        rule: 'install-time-beacon',
        file: path,
        line: null,
        evidence: 'install-time code reads the host or user identity and uses the network',
        weight: 5,
      });
  }
  // Flows across modules: a module that exports what it read from a source, required by one that sends it.
  for (const [path, f] of perFile)
    for (const imp of f.flow?.importsToSink ?? []) {
      const target = resolveLocal(pkg, path, imp.spec);
      const source = target ? perFile.get(target)?.flow?.exports : null;
      if (!source) continue;
      const [rule, weight] = flowRule(source, imp.sink);
      findings.push({
        rule,
        file: path,
        line: imp.line,
        evidence: `${source} read in ${target} reaches ${imp.sink === 'network' ? 'a network call' : 'a child process'} here`,
        weight: weight * (installTime.has(path) || installTime.has(target!) ? 2 : NOT_RUN.test(path) ? 0.5 : 1),
      });
      break;
    }
  // Release tools (npm, np, lerna, release-it) publish with the user's token when asked to; a worm does it unasked,
  // from the code that installing runs (or code new in a version: diffFindings).
  if (installFacts.npmPublish && installFacts.npmToken)
    findings.push({
      rule: 'self-propagation',
      file: '',
      line: null,
      evidence: 'install-time code uses npm tokens and publishes packages',
      weight: 6,
    });
  return { findings, facts, perFile, scripts };
}

/**
 * How a finding weighs in code that runs only when asked (a library's functions, a CLI's commands): naming a
 * credential file without sending anything, and publishing or asking npm who the user is, are what package-manager
 * and release tooling do all day; in a bundle, co-occurrence within the file is context (BUNDLE_SIZE).
 */
function outsideInstall(f: RawFinding, sends: boolean, bundle: boolean): RawFinding {
  if (bundle && CO_OCCURRENCE.has(f.rule)) return { ...f, weight: Math.min(f.weight, 1) };
  if (f.rule === 'credential-access' && !sends) return { ...f, weight: f.weight / 2 };
  if (f.rule === 'npm-publish' || f.rule === 'npm-account-enumeration') return { ...f, weight: Math.min(f.weight, 1) };
  return f;
}

const semverParts = (v: unknown) =>
  typeof v === 'string' ? (/^(\d+)\.(\d+)\.(\d+)/.exec(v)?.slice(1).map(Number) ?? null) : null;

/** What changed since the previous version that an account takeover would change (chalk/debug, Shai-Hulud). */
function diffFindings(now: PackageAnalysis, nowPkg: Pkg, before: PackageAnalysis, beforePkg: Pkg): Finding[] {
  const out: Finding[] = [];
  const a = semverParts(beforePkg.manifest.version);
  const b = semverParts(nowPkg.manifest.version);
  const small = !!a && !!b && a[0] === b[0];
  const release = small ? (a[1] === b[1] ? 'patch release' : 'minor release') : 'new version';
  const k = small ? 1.5 : 1;
  for (const [hook, command] of Object.entries(now.scripts)) {
    if (before.scripts[hook] === command) continue;
    const routine = command.split(/\s*(?:&&|\|\||;)\s*/).every((c) => ROUTINE_INSTALL.test(c.trim()));
    const added = before.scripts[hook] === undefined;
    out.push({
      rule: added ? 'new-install-script' : 'changed-install-script',
      file: 'package.json',
      line: null,
      evidence: `${hook} ${added ? 'added' : 'changed'} in a ${release}: ${command}`,
      weight: (routine ? 1 : added ? 4 : 3) * k,
    });
  }
  if (now.facts.exec && !before.facts.exec)
    out.push({
      rule: 'new-process-execution',
      file: firstWith(now, (f) => f.exec),
      line: null,
      evidence: `starts processes (child_process) for the first time in a ${release}`,
      weight: 2 * k,
    });
  if (now.facts.network && !before.facts.network)
    out.push({
      rule: 'new-network-access',
      file: firstWith(now, (f) => f.network),
      line: null,
      evidence: `uses the network for the first time in a ${release}`,
      weight: 2 * k,
    });
  for (const [path, f] of now.perFile) {
    if (f.obfuscated && !before.perFile.get(path)?.obfuscated)
      out.push({
        rule: 'new-obfuscated-file',
        file: path,
        line: null,
        evidence: `obfuscated or encoded code ${beforePkg.files.has(path) ? 'appears in' : 'added as'} ${path} in a ${release}`,
        weight: 3 * k,
      });
  }
  if (now.facts.npmPublish && now.facts.npmToken && !(before.facts.npmPublish && before.facts.npmToken))
    out.push({
      rule: 'self-propagation',
      file: firstWith(now, (f) => f.npmPublish),
      line: null,
      evidence: `uses npm tokens and publishes packages, new in a ${release}`,
      weight: 6,
    });
  const newCreds = [...now.facts.credentials].filter((c) => !before.facts.credentials.has(c));
  if (newCreds.length)
    out.push({
      rule: 'new-credential-access',
      file: firstWith(now, (f) => f.credentials.size > 0),
      line: null,
      evidence: `newly reads ${newCreds.join(', ')} in a ${release}`,
      weight: 2 * k,
    });
  const newHosts = [...now.facts.endpoints].filter(
    (h) => !before.facts.endpoints.has(h) && h !== 'localhost' && !/^127\./.test(h),
  );
  if (newHosts.length && small)
    out.push({
      rule: 'new-network-endpoint',
      file: firstWith(now, (f) => f.endpoints.size > 0),
      line: null,
      evidence: `sends requests to ${newHosts.slice(0, 3).join(', ')}, new in a ${release}`,
      weight: 2 * k,
    });
  const newExfil = [...now.facts.exfil].filter((c) => !before.facts.exfil.has(c));
  if (newExfil.length)
    out.push({
      rule: 'new-exfiltration-endpoint',
      file: firstWith(now, (f) => f.exfil.size > 0),
      line: null,
      evidence: `newly contacts ${newExfil.join(', ')} in a ${release}`,
      weight: 2 * k,
    });
  return out;
}

const firstWith = (a: PackageAnalysis, pred: (f: FileFacts) => boolean) =>
  [...a.perFile].find(([, f]) => pred(f))?.[0] ?? '';

/** Per rule, repeated matches add up only to twice the rule's largest single weight: many weak hits stay weak. */
export function scoreOf(findings: Finding[]): number {
  const byRule = new Map<string, { sum: number; max: number }>();
  for (const f of findings) {
    const r = byRule.get(f.rule) ?? { sum: 0, max: 0 };
    r.sum += f.weight;
    r.max = Math.max(r.max, f.weight);
    byRule.set(f.rule, r);
  }
  // Rules whose every finding is weak (weight 1 or less) are context, not evidence: together they add at most
  // WEAK_TOTAL, so a large honest package cannot reach review on a pile of them.
  let score = 0;
  let weak = 0;
  for (const { sum, max } of byRule.values()) {
    if (max <= 1) weak += Math.min(sum, 2 * max);
    else score += Math.min(sum, 2 * max);
  }
  return Math.round((score + Math.min(weak, WEAK_TOTAL)) * 10) / 10;
}

const WEAK_TOTAL = 2;

export function verdictOf(score: number): Verdict {
  return score >= MALICIOUS_SCORE ? 'malicious' : score >= SUSPICIOUS_SCORE ? 'suspicious' : 'clean';
}

/**
 * Scans a package tarball. With `previous` (the tarball of the version this one follows) it also weighs what changed.
 * Never throws on hostile input: an archive it cannot read fully is reported as a finding that flags it for review.
 */
export function scanTarball(tgz: Buffer, opts: { previous?: Buffer | null; signatures: SignatureDb }): ScanResult {
  const pkg = loadPackage(tgz);
  const now = analyzePackage(pkg, opts.signatures);
  const findings = [...now.findings];
  if (opts.previous) {
    const prevPkg = loadPackage(opts.previous);
    const before = analyzePackage(prevPkg, opts.signatures);
    findings.push(...diffFindings(now, pkg, before, prevPkg));
  }
  findings.sort((x, y) => y.weight - x.weight || x.file.localeCompare(y.file) || (x.line ?? 0) - (y.line ?? 0));
  const score = scoreOf(findings);
  return { verdict: verdictOf(score), score, findings };
}
