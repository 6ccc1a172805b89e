// Reads one file's JavaScript (or shell) and reports what it does that malware does: where it reaches for
// credentials, where it sends data, what it runs, and whether it hides any of that behind encoding or obfuscation.
// Pure: text in, findings and capability facts out. Nothing in the scanned package is ever executed; encoded
// strings are decoded by this code and the result is analysed as text, to a bounded depth.
import { parse, type Node, type Options } from 'acorn';
import { full } from 'acorn-walk';
import {
  CLOUD_METADATA,
  CREDENTIAL_PATTERNS,
  EXEC_MODULES,
  EXFIL_ENDPOINTS,
  NETWORK_MODULES,
  RAW_IP_URL,
  SHELL_DANGER,
  stripNode,
} from './patterns.ts';
import { hiddenCode } from './hidden.ts';
import { dataFlows, type FlowInfo } from './flow.ts';

export type RawFinding = { rule: string; line: number | null; evidence: string; weight: number };

/** What a file can do, for the package-level rules and the comparison with the previous version. */
export type FileFacts = {
  modules: Set<string>;
  exec: boolean;
  network: boolean;
  credentials: Set<string>;
  envDump: boolean;
  exfil: Set<string>;
  obfuscated: boolean;
  npmPublish: boolean;
  npmToken: boolean;
  relativeRequires: string[];
  /** Hosts named in network calls. */
  endpoints: Set<string>;
  /** Calls that read the machine's or user's identity (host name, user, interfaces, DNS servers). */
  identity: number;
  /** Sources reaching sinks in this file, and what it exports from a source (for flows across modules). */
  flow?: FlowInfo;
};

export type AnalyzeOptions = { depth: number; decodedFrom?: string; budget: { decodedBytes: number }; loose?: boolean };

/**
 * Text that can do something worth a closer look: run processes, evaluate strings, decode, use the network, read
 * the environment. Files with none of these are not parsed (most of a package), which keeps a scan fast; their strings
 * are still checked when they name a credential location or an exfiltration service.
 */
export const BEHAVIOUR =
  /child_process|\beval\s*\(|\bFunction\s*\(|fromCharCode|\batob\b|['"](base64|hex|base64url)['"]|_0x[0-9a-f]{4}|process\.env(?!\.(NODE_ENV|DEBUG|NODE_DEBUG|TERM|FORCE_COLOR|NO_COLOR|CI)\b)|['"](node:)?(https?|http2|net|tls|dgram|dns|vm)['"]|\bfetch\s*\(|XMLHttpRequest|WebSocket|\bethereum\b|\.signTransaction\b|\.fetch\s*=[^=]|prototype\.(open|send)\s*=[^=]|\.connect\s*\(|homedir\s*\(|hostname\s*\(|userInfo\s*\(|npm\s+publish|_compile|module\.constructor|\bexeca\b|cross-spawn|shelljs|['"](?:[0-9a-f]{2}){4,32}['"]|['"][A-Za-z0-9+/]{40,}={0,2}['"]/;
export const SENSITIVE =
  /npmrc|_authToken|\.ssh|id_rsa|id_ed25519|\.aws|credentials|169\.254\.|metadata\.google|[Ww]allet|keystore|Login Data|Local Storage|User Data|Profiles|keychain|webhook|discord|telegram|pipedream|requestbin|oast|interact\.sh|burpcollaborator|ngrok|pastebin|transfer\.sh|curl|wget|powershell|\/dev\/tcp|trufflehog|\.github\/workflows|\/etc\/(passwd|shadow)|ipify|ipinfo/;

export const MAX_DECODE_DEPTH = 3;
const MAX_DECODED_BYTES = 2 * 1024 * 1024;
const MAX_STRINGS = 50_000;
const HIDDEN_API =
  /^(_compile|crypto|env|aes(128|192|256)(-\w+)?|createDecipher(iv)?|child_process|eval|exec(Sync)?|spawn(Sync)?|npm_package_description|process|mainModule|constructor|require|fromCharCode|runInThisContext|http|https|net|Function)$|_compile|child_process|npm_package_|\.npmrc|authToken/;
const DECODERS =
  /\b(atob|fromCharCode|decodeURIComponent|unescape)\b|Buffer\.from\([^)]*,\s*['"`](base64|hex|base64url)['"`]/;

export const emptyFacts = (): FileFacts => ({
  modules: new Set(),
  exec: false,
  network: false,
  credentials: new Set(),
  envDump: false,
  exfil: new Set(),
  obfuscated: false,
  npmPublish: false,
  npmToken: false,
  relativeRequires: [],
  endpoints: new Set(),
  identity: 0,
});

const clip = (s: string, n = 160) => (s.length > n ? s.slice(0, n) + '…' : s).replace(/\s+/g, ' ');

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

const printableRatio = (s: string) => {
  let ok = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 32 && c < 127) || c === 9 || c === 10 || c === 13) ok++;
  }
  return s.length ? ok / s.length : 0;
};

/** Decodes a base64 or hex literal when the result is readable text; binary payloads (images, fonts, wasm) are not. */
export function tryDecode(s: string): { how: 'base64' | 'hex'; text: string } | null {
  if (s.length < 24) return null;
  let how: 'base64' | 'hex' | null = null;
  if (/^(?:[0-9a-fA-F]{2}){12,}$/.test(s)) how = 'hex';
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(s) && /[A-Z]/.test(s) && /[a-z]/.test(s) && /\d|[+/=]/.test(s))
    how = 'base64';
  if (!how) return null;
  const text = Buffer.from(s, how === 'hex' ? 'hex' : 'base64').toString('latin1');
  if (text.length < 16 || printableRatio(text) < 0.95) return null;
  // Readable words or code, not a coincidentally printable hash.
  if (!/[a-z]{3,}/i.test(text) || !/[\s(.=:/]/.test(text)) return null;
  return { how, text };
}

function parseJs(text: string): Node | null {
  const base: Options = {
    ecmaVersion: 'latest',
    allowHashBang: true,
    allowAwaitOutsideFunction: true,
    allowImportExportEverywhere: true,
    allowReserved: true,
  };
  const module: Options = { ...base, sourceType: 'module' };
  const script: Options = { ...base, sourceType: 'script', allowReturnOutsideFunction: true };
  // Try the likelier grammar first: a second parse is the costliest thing a scan does.
  const order = /^\s*(import|export)\b/m.test(text) ? [module, script] : [script, module];
  for (const options of order) {
    try {
      return parse(text, options);
    } catch {
      /* try the other grammar */
    }
  }
  return null;
}

type AnyNode = Node & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Browser and wallet entry points that address swappers and drainers replace (chalk/debug, 2025). */
const HOOKED_API =
  /^(fetch|XMLHttpRequest\.prototype\.(open|send|setRequestHeader)|(ethereum|web3\.currentProvider|solana|phantom\.solana)\.(request|send|sendAsync|signTransaction|signAllTransactions|signAndSendTransaction))$/;
const WALLET_HOOK = /^(ethereum|web3|solana|phantom)/;
/** A regular expression matching Ethereum or Bitcoin addresses, or a literal one. */
const ADDRESS_REGEX = /0x\[a-fA-F0-9\]\{40\}|0x\[0-9a-fA-F\]\{40\}|\[a-km-zA-HJ-NP-Z1-9\]\{2[0-9],/;
const ADDRESS_LITERAL = /^(0x[a-fA-F0-9]{40}|(bc1|[13])[a-km-zA-HJ-NP-Z0-9]{25,39})$/;
const MEDIA_FILE = /\.(png|jpe?g|gif|bmp|ico|webp|tiff?|wav|mp3|ogg|ttf|otf|woff2?)$/i;

/** The string literals anywhere under a node (`__dirname + '/img/a.png'` names an image even though it does not fold). */
function stringsIn(n: AnyNode): string[] {
  const out: string[] = [];
  full(n, (x: AnyNode) => {
    if (x.type === 'Literal' && typeof x.value === 'string') out.push(x.value);
    else if (x.type === 'TemplateLiteral') for (const q of x.quasis) out.push(q.value.cooked ?? '');
  });
  return out;
}

const memberName = (n: AnyNode): string | null => {
  if (n.type === 'Identifier') return n.name;
  if (n.type === 'MemberExpression') {
    const obj = memberName(n.object);
    const prop = n.computed ? (n.property.type === 'Literal' ? String(n.property.value) : null) : n.property.name;
    return obj && prop ? `${obj}.${prop}` : prop ? `?.${prop}` : null;
  }
  return null;
};

type Folded = { value: string; decoded: string | null };

/** The last name of every call the analysis looks at (see collectAst); any other call is skipped unread. */
const CALLS_OF_INTEREST = new Set([
  'require',
  'eval',
  'Function',
  'runInThisContext',
  'runInNewContext',
  'runInContext',
  'compileFunction',
  'Script',
  'exec',
  'execSync',
  'spawn',
  'spawnSync',
  'execFile',
  'execFileSync',
  'fork',
  'execa',
  'execaSync',
  'execaCommand',
  'execaCommandSync',
  'stringify',
  'keys',
  'entries',
  'values',
  'hostname',
  'userInfo',
  'networkInterfaces',
  'getServers',
  'homedir',
  'resolve',
  'resolve4',
  'resolveTxt',
  'lookup',
  'resolveAny',
  'connect',
  'createConnection',
  'fetch',
  'XMLHttpRequest',
  'WebSocket',
  'request',
  'get',
  'post',
  'put',
  'open',
  'axios',
  'got',
  'toString',
  'from',
  'atob',
  'fromCharCode',
  'decodeURIComponent',
  'unescape',
  'join',
  'constructor',
  'readFileSync',
  'readFile',
  '_compile',
]);

/** What the analysis of one piece of JavaScript collects before rules weigh it. */
type Collected = {
  strings: Array<{ value: string; line: number | null; decoded: string | null }>;
  modules: Set<string>;
  execCalls: Array<{ line: number | null; command: string | null }>;
  /** `variable`: the argument is a variable or property, i.e. data rather than an expression built from constants. */
  evalCalls: Array<{ line: number | null; kind: string; literal: boolean; decoded: boolean; variable?: boolean }>;
  envDump: Array<{ line: number | null; strong: boolean }>;
  recon: Set<string>;
  dnsDynamic: number | null;
  rawSocket: number | null;
  detached: number | null;
  fetchCall: boolean;
  hexIds: Set<string>;
  packer: number | null;
  envNpmToken: boolean;
  endpoints: Set<string>;
  moduleCompile: number | null;
  /** `module._compile(code)` of a computed string: how loaders (and stego payloads) run text as a module. */
  compiles: boolean;
  /** Reads an image, font or audio file of the package (a steganographic carrier when the result is evaluated). */
  readsMedia: number | null;
  /** Browser or wallet APIs the code replaces: `window.fetch = …`, `XMLHttpRequest.prototype.open = …`. */
  hooks: Array<{ api: string; line: number }>;
  /** A regular expression or literals for crypto-currency addresses. */
  addressPattern: number | null;
};

const newCollected = (): Collected => ({
  strings: [],
  modules: new Set(),
  execCalls: [],
  evalCalls: [],
  envDump: [],
  recon: new Set(),
  dnsDynamic: null,
  rawSocket: null,
  detached: null,
  fetchCall: false,
  hexIds: new Set(),
  packer: null,
  envNpmToken: false,
  endpoints: new Set(),
  moduleCompile: null,
  compiles: false,
  readsMedia: null,
  hooks: [],
  addressPattern: null,
});

function collectAst(ast: Node, text: string): Collected {
  const c = newCollected();
  const vars = new Map<string, AnyNode>();
  // Operands of a longer "+" chain: only the whole chain is worth a string (analysing every prefix is quadratic).
  const inner = new WeakSet<AnyNode>();
  // One walk over the tree; the nodes worth a look are processed afterwards, once every variable is known.
  const nodes: AnyNode[] = [];
  full(ast, (n: AnyNode) => {
    switch (n.type) {
      case 'VariableDeclaration':
        // Only constants fold: a let or var may be reassigned (a downloaded body built up chunk by chunk).
        if (n.kind === 'const')
          for (const d of n.declarations) if (d.id.type === 'Identifier' && d.init) vars.set(d.id.name, d.init);
        return;
      case 'BinaryExpression':
        if (n.operator === '+') {
          inner.add(n.left);
          inner.add(n.right);
          nodes.push(n);
        }
        return;
      case 'Identifier':
        if (n.name.startsWith('_0x') && /^_0x[0-9a-f]{4,}$/.test(n.name)) c.hexIds.add(n.name);
        return;
      case 'MemberExpression':
        if (n.object.type === 'MemberExpression' && n.object.property?.name === 'env') nodes.push(n);
        return;
      case 'Literal':
        if (typeof n.value === 'string') nodes.push(n);
        else if (n.regex && ADDRESS_REGEX.test(n.regex.pattern)) c.addressPattern ??= n.start;
        return;
      case 'AssignmentExpression':
        if (n.left.type === 'MemberExpression') nodes.push(n);
        return;
      case 'TemplateLiteral':
      case 'ImportDeclaration':
      case 'ExportAllDeclaration':
      case 'ExportNamedDeclaration':
      case 'ImportExpression':
      case 'NewExpression':
      case 'CallExpression':
        nodes.push(n);
    }
  });
  const memo = new WeakMap<AnyNode, Folded | null>();
  const fold = (n: AnyNode | null | undefined, depth = 0): Folded | null => {
    if (!n || depth > 6) return null;
    if (memo.has(n)) return memo.get(n)!;
    memo.set(n, null);
    let r: Folded | null = null;
    switch (n.type) {
      case 'Literal':
        if (typeof n.value === 'string') r = { value: n.value, decoded: null };
        break;
      case 'TemplateLiteral':
        if (n.expressions.length === 0)
          r = { value: n.quasis.map((q: AnyNode) => q.value.cooked ?? '').join(''), decoded: null };
        break;
      case 'Identifier': {
        const init = vars.get(n.name);
        if (init && init !== n) r = fold(init, depth + 1);
        break;
      }
      case 'BinaryExpression':
        if (n.operator === '+') {
          const a = fold(n.left, depth + 1);
          const b = fold(n.right, depth + 1);
          if (a && b && a.value.length + b.value.length <= 4_000_000)
            r = { value: a.value + b.value, decoded: a.decoded ?? b.decoded };
        }
        break;
      case 'ArrayExpression':
        break;
      case 'CallExpression': {
        const name = memberName(n.callee) ?? '';
        const args: AnyNode[] = n.arguments;
        if (/(^|\.)toString$/.test(name) && n.callee.type === 'MemberExpression') r = fold(n.callee.object, depth + 1);
        else if (/^(Buffer\.from|\?\.from)$/.test(name) && args.length >= 2) {
          const enc = fold(args[1], depth + 1)?.value;
          const data = fold(args[0], depth + 1);
          if (data && (enc === 'base64' || enc === 'hex' || enc === 'base64url'))
            r = { value: Buffer.from(data.value, enc).toString('latin1'), decoded: enc };
        } else if (name === 'atob' && args[0]) {
          const data = fold(args[0], depth + 1);
          if (data) r = { value: Buffer.from(data.value, 'base64').toString('latin1'), decoded: 'base64' };
        } else if (/fromCharCode$/.test(name)) {
          const list =
            args.length === 1 && args[0]!.type === 'SpreadElement'
              ? args[0]!.argument.type === 'ArrayExpression'
                ? args[0]!.argument.elements
                : null
              : args;
          if (
            list &&
            list.length > 0 &&
            list.every((a: AnyNode) => a && a.type === 'Literal' && typeof a.value === 'number')
          )
            r = { value: String.fromCharCode(...list.map((a: AnyNode) => a.value as number)), decoded: 'char codes' };
        } else if (/^(decodeURIComponent|unescape)$/.test(name) && args[0]) {
          const data = fold(args[0], depth + 1);
          if (data) {
            try {
              r = { value: decodeURIComponent(data.value), decoded: 'percent-encoding' };
            } catch {
              r = null;
            }
          }
        } else if (/^(path|\?)\.(join|resolve|posix\.join|win32\.join)$/.test(name) && args.length >= 2) {
          // path.join(home, '.ssh', 'id_rsa'): unknown parts stay as placeholders, so location patterns still match.
          const parts = args.map((a: AnyNode) => fold(a, depth + 1));
          if (parts.some(Boolean))
            r = {
              value: parts.map((p: Folded | null) => p?.value ?? '…').join('/'),
              decoded: parts.find((p: Folded | null) => p?.decoded)?.decoded ?? null,
            };
        } else if (/\.join$/.test(name) && n.callee.type === 'MemberExpression') {
          const sep = args[0] ? fold(args[0], depth + 1)?.value : ',';
          const obj: AnyNode = n.callee.object;
          if (sep !== undefined && obj.type === 'ArrayExpression' && obj.elements.length <= 4096) {
            const parts = obj.elements.map((e: AnyNode) => fold(e, depth + 1));
            if (parts.every(Boolean))
              r = {
                value: parts.map((p: Folded | null) => p!.value).join(sep),
                decoded: parts.find((p: Folded | null) => p!.decoded)?.decoded ?? null,
              };
          } else if (sep === '' && obj.type === 'CallExpression' && /\.reverse$/.test(memberName(obj.callee) ?? '')) {
            // "…".split("").reverse().join("")
            const inner = obj.callee.object as AnyNode;
            if (inner.type === 'CallExpression' && /\.split$/.test(memberName(inner.callee) ?? '')) {
              const s = fold(inner.callee.object, depth + 1);
              if (s) r = { value: [...s.value].reverse().join(''), decoded: 'reversed string' };
            }
          }
        }
        break;
      }
    }
    memo.set(n, r);
    return r;
  };
  let lineStarts: number[] | null = null;
  const lineOf = (n: AnyNode): number => {
    if (!lineStarts) {
      lineStarts = [0];
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
    }
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= n.start) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const hasDecoder = (n: AnyNode | undefined): boolean => {
    if (!n) return false;
    let found = false;
    full(n, (x: AnyNode) => {
      if (found) return;
      if (x.type === 'CallExpression') {
        const name = memberName(x.callee) ?? '';
        if (/(^|\.)(atob|fromCharCode)$/.test(name)) found = true;
        // Percent-decoding a URL parameter is routine; percent-decoding a constant is hiding it.
        else if (/(^|\.)(decodeURIComponent|unescape)$/.test(name) && x.arguments[0] && fold(x.arguments[0]))
          found = true;
        else if (/from$/.test(name) && x.arguments.length >= 2) {
          const enc = fold(x.arguments[1])?.value;
          if (enc === 'base64' || enc === 'hex' || enc === 'base64url') found = true;
        }
      }
      if (x.type === 'Identifier' && x !== n) {
        const init = vars.get(x.name);
        if (init && init.type === 'CallExpression' && /(^|\.)(atob|fromCharCode)$/.test(memberName(init.callee) ?? ''))
          found = true;
      }
      const f = x.type === 'Identifier' ? fold(x) : null;
      if (f?.decoded) found = true;
    });
    return found;
  };
  const seen = new Set<string>();
  const addString = (value: string, line: number | null, decoded: string | null) => {
    if (value.length < 4 || c.strings.length >= MAX_STRINGS) return;
    const key = `${decoded ?? ''}\0${value}`;
    if (seen.has(key)) return;
    seen.add(key);
    c.strings.push({ value, line, decoded });
  };
  // Identity of the machine and its user, what recon beacons send; platform and architecture are what every
  // prebuilt-binary installer reads, so they do not count.
  const recon = /^(os\.hostname|os\.userInfo|os\.networkInterfaces|dns\.getServers|os\.homedir)$/;
  if (c.addressPattern !== null) c.addressPattern = lineOf({ start: c.addressPattern } as AnyNode);
  for (const n of nodes) {
    switch (n.type) {
      case 'AssignmentExpression': {
        const target = memberName(n.left) ?? '';
        const api = HOOKED_API.exec(target.replace(/^(window|globalThis|self|global)\./, ''))?.[0];
        if (api) c.hooks.push({ api, line: lineOf(n) });
        break;
      }
      case 'Literal':
        if (typeof n.value === 'string') {
          addString(n.value, lineOf(n), null);
          if (c.addressPattern === null && ADDRESS_LITERAL.test(n.value)) c.addressPattern = lineOf(n);
        }
        break;
      case 'TemplateLiteral':
        for (const q of n.quasis) if (q.value.cooked) addString(q.value.cooked, lineOf(n), null);
        break;
      case 'BinaryExpression': {
        const f = n.operator === '+' && !inner.has(n) ? fold(n) : null;
        if (f) addString(f.value, lineOf(n), f.decoded);
        break;
      }
      case 'ImportDeclaration':
      case 'ExportAllDeclaration':
      case 'ExportNamedDeclaration':
        if (n.source && typeof n.source.value === 'string') c.modules.add(n.source.value);
        break;
      case 'ImportExpression': {
        const f = fold(n.source);
        if (f) c.modules.add(f.value);
        break;
      }
      case 'NewExpression':
      case 'CallExpression': {
        // Most calls of a bundle are none of the ones below: decide from the last name before building the full one.
        const callee: AnyNode = n.callee;
        const last =
          callee.type === 'Identifier'
            ? callee.name
            : callee.type === 'MemberExpression'
              ? callee.computed
                ? callee.property.type === 'Literal'
                  ? String(callee.property.value)
                  : ''
                : callee.property.name
              : '';
        if (!CALLS_OF_INTEREST.has(last)) break;
        const name = memberName(n.callee) ?? '';
        const args: AnyNode[] = n.arguments;
        const f = n.type === 'CallExpression' ? fold(n) : null;
        if (f) addString(f.value, lineOf(n), f.decoded);
        if (n.type === 'NewExpression' && name === 'module.constructor') c.moduleCompile = lineOf(n);
        if (/\._compile$/.test(name) && args[0] && args[0].type !== 'Literal') c.compiles = true;
        if (
          /(^|\.)(readFileSync|readFile)$/.test(name) &&
          c.readsMedia === null &&
          args[0] &&
          stringsIn(args[0]).some((v) => MEDIA_FILE.test(v))
        )
          c.readsMedia = lineOf(n);
        if (name === 'require' && args[0]) {
          const m = fold(args[0]);
          if (m) c.modules.add(m.value);
        }
        if (
          name === 'eval' ||
          name === 'Function' ||
          /^(vm|\?)\.(runInThisContext|runInNewContext|runInContext|compileFunction)$/.test(name) ||
          (/(^|\.)Script$/.test(name) && n.type === 'NewExpression')
        ) {
          const last = name === 'Function' ? args[args.length - 1] : args[0];
          const literal =
            !last || last.type === 'Literal' || (last.type === 'TemplateLiteral' && last.expressions.length === 0);
          const folded = last ? fold(last) : null;
          if (folded?.decoded || (last && !literal && hasDecoder(last)))
            c.evalCalls.push({ line: lineOf(n), kind: name, literal, decoded: true });
          else if (folded && !literal) {
            // A computed but constant string: what it evaluates is visible, so it is analysed like any literal.
            addString(folded.value, lineOf(n), null);
            c.evalCalls.push({ line: lineOf(n), kind: name, literal: true, decoded: false });
          } else
            c.evalCalls.push({
              line: lineOf(n),
              kind: name,
              literal,
              decoded: false,
              variable: last?.type === 'Identifier' || last?.type === 'MemberExpression',
            });
          // eval(function(p,a,c,k,e,d){…}(…)): Dean Edwards' packer.
          const packed = last?.type === 'CallExpression' ? last.callee : null;
          if (
            name === 'eval' &&
            packed?.type === 'FunctionExpression' &&
            packed.params
              .slice(0, 5)
              .map((p: AnyNode) => p.name)
              .join('') === 'packe'
          )
            c.packer = lineOf(n);
        }
        if (
          /(^|\.)(exec|execSync|spawn|spawnSync|execFile|execFileSync|fork|execa|execaSync|execaCommand|execaCommandSync)$/.test(
            name,
          ) &&
          (/^(child_process|cp|childProcess|\?)\./.test(name) || !name.includes('.'))
        ) {
          let command = args[0] ? (fold(args[0])?.value ?? null) : null;
          if (command !== null && args[1]?.type === 'ArrayExpression') {
            const rest = args[1].elements.map((e: AnyNode) => fold(e)?.value ?? '…');
            command = [command, ...rest].join(' ');
          }
          c.execCalls.push({ line: lineOf(n), command });
          if (command) addString(command, lineOf(n), null);
          const opts = args.find((a: AnyNode) => a.type === 'ObjectExpression');
          if (opts?.properties.some((p: AnyNode) => p.key?.name === 'detached' && p.value?.value === true))
            c.detached = lineOf(n);
        }
        if (name === 'JSON.stringify' && args[0] && memberName(args[0]) === 'process.env')
          c.envDump.push({ line: lineOf(n), strong: true });
        if (/^Object\.(keys|entries|values)$/.test(name) && args[0] && memberName(args[0]) === 'process.env')
          c.envDump.push({ line: lineOf(n), strong: false });
        if (recon.test(name) || /^\?\.(hostname|userInfo|networkInterfaces|getServers)$/.test(name))
          c.recon.add(name.replace(/^\?\./, ''));
        if (
          /(^|\.)(resolve|resolve4|resolveTxt|lookup|resolveAny)$/.test(name) &&
          /^(dns|\?)\./.test(name) &&
          args[0] &&
          !fold(args[0]) &&
          args[0].type !== 'Identifier'
        )
          c.dnsDynamic = lineOf(n);
        if (/(^|\.)(connect|createConnection)$/.test(name)) {
          const values = args.flatMap((a: AnyNode) =>
            a.type === 'ObjectExpression' ? a.properties.map((p: AnyNode) => p.value) : [a],
          );
          const host = values
            .map((a: AnyNode) => fold(a)?.value)
            .find((v: string | undefined) => v && /^\d{1,3}(\.\d{1,3}){3}$/.test(v));
          if (host && !/^(127\.|10\.|192\.168\.|0\.)/.test(host)) c.rawSocket = lineOf(n);
        }
        if (name === 'fetch' || name === 'XMLHttpRequest' || name === 'WebSocket') c.fetchCall = true;
        if (
          /(^|\.)(fetch|request|get|post|put|connect|createConnection|open)$/.test(name) ||
          name === 'WebSocket' ||
          name === 'axios' ||
          name === 'got'
        ) {
          for (const a of args.slice(0, 2)) {
            const values =
              a.type === 'ObjectExpression'
                ? a.properties
                    .filter((p: AnyNode) => /^(host|hostname|url|baseURL)$/.test(p.key?.name ?? p.key?.value ?? ''))
                    .map((p: AnyNode) => p.value)
                : [a];
            for (const v of values) {
              const f = fold(v)?.value;
              const host = f
                ? (/^[a-z][a-z0-9+.-]*:\/\/([^/:?#]+)/i.exec(f)?.[1] ??
                  (/^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(f) ? f : null))
                : null;
              if (host) c.endpoints.add(host.toLowerCase());
            }
          }
        }
        break;
      }
      case 'MemberExpression': {
        const name = memberName(n);
        if (name && /^process\.env\.(NPM_TOKEN|NPM_AUTH_TOKEN|NODE_AUTH_TOKEN|NPM_CONFIG__AUTHTOKEN)$/i.test(name))
          c.envNpmToken = true;
        break;
      }
    }
  }
  return c;
}

const QUOTED = /(["'`])((?:\\.|(?!\1)[^\\\n]){4,2000})\1/g;

/** For files the parser rejects (TypeScript, JSX, broken code): strings and calls found by pattern instead. */
function collectLoose(text: string): Collected {
  const c = newCollected();
  const stripped = text.length > 4_000_000 ? text.slice(0, 4_000_000) : text;
  let lineStarts: number[] | null = null;
  const lineAt = (idx: number) => {
    if (!lineStarts) {
      lineStarts = [0];
      for (let i = 0; i < stripped.length; i++) if (stripped.charCodeAt(i) === 10) lineStarts.push(i + 1);
    }
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= idx) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  for (const m of stripped.matchAll(QUOTED)) {
    if (c.strings.length >= MAX_STRINGS) break;
    let v = m[2]!;
    try {
      v = v.replace(/\\x([0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})/g, (_, h, u) => String.fromCharCode(parseInt(h ?? u, 16)));
    } catch {
      /* keep raw */
    }
    c.strings.push({ value: v, line: lineAt(m.index!), decoded: null });
  }
  for (const m of stripped.matchAll(
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)|\bfrom\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]/g,
  ))
    c.modules.add(m[1] ?? m[2] ?? m[3]!);
  // Not page.$eval( or obj.eval(: only the global eval and the Function constructor.
  for (const m of stripped.matchAll(/(?<![\w$.])(eval|new\s+Function)\s*\(\s*([^)]{0,200})/g)) {
    const arg = m[2]!;
    const literal = /^\s*(['"`])[^'"`]*\1\s*$/.test(arg);
    c.evalCalls.push({
      line: lineAt(m.index!),
      kind: m[1]!.replace(/\s+/g, ' '),
      literal,
      decoded: DECODERS.test(arg),
      variable: /^[\w$.]+\s*$/.test(arg),
    });
  }
  c.compiles = /\._compile\s*\(\s*[^'"`\s)]/.test(stripped);
  for (const m of stripped.matchAll(
    /\b(?:exec|execSync|spawn|spawnSync|execFile|execFileSync)\s*\(\s*(['"`])([^'"`]*)\1/g,
  ))
    c.execCalls.push({ line: lineAt(m.index!), command: m[2]! });
  for (const m of stripped.matchAll(/_0x[0-9a-f]{4,}\b/g)) {
    c.hexIds.add(m[0]);
    if (c.hexIds.size > 200) break;
  }
  const env = /JSON\.stringify\(\s*process\.env\s*\)/.exec(stripped);
  if (env) c.envDump.push({ line: lineAt(env.index), strong: true });
  if (/process\.env\.(NPM_TOKEN|NODE_AUTH_TOKEN)\b/.test(stripped)) c.envNpmToken = true;
  if (/\bfetch\s*\(/.test(stripped)) c.fetchCall = true;
  const packer = /eval\s*\(\s*function\s*\(\s*p\s*,\s*a\s*,\s*c\s*,\s*k\s*,\s*e\s*,/.exec(stripped);
  if (packer) c.packer = lineAt(packer.index);
  return c;
}

/** Every rule in analyzeStrings needs one of these substrings; a string without any is skipped. */
const STRING_HINT =
  /mshta|rundll32|regsvr32|bitsadmin|wscript|cscript|npmrc|_authToken|ssh|id_(rsa|dsa|ecdsa|ed25519)|aws|credentials|\.azure|\.kube|\.docker|git-credentials|gh[\\/]hosts|_history|\/etc\/|wallet|Exodus|Electrum|atomic|nkbihf|bfnael|ejbalb|solana|keystore|Bitcoin|Chrome|Brave|Firefox|Edge|Login Data|logins\.json|key4\.db|Local Storage|keychain|find-generic-password|169\.254|metadata|100\.100\.100\.200|discord|telegram|webhook|pipedream|requestbin|hookbin|beeceptor|requestcatcher|mockbin|postb\.in|burpcollaborator|oastify|interact\.sh|oast\.|dnslog|ceye\.io|canarytokens|bxss|ngrok|trycloudflare|serveo|localtunnel|loca\.lt|paste|hastebin|transfer\.sh|0x0\.st|termbin|bashupload|file\.io|anonfiles|gofile|tmpfiles|ipify|ipinfo|ifconfig\.me|icanhazip|ip-api|:\/\/\d|curl|wget|iwr|Invoke-|IEX|DownloadString|certutil|bitsadmin|\/dev\/tcp|\bnc(at)?\s|mkfifo|socat|sh\s+-i|powershell|base64|trufflehog|gh\s+auth|docker\s+run|sudoers|rm\s+-rf|nslookup|dig\s|cron|LaunchAgents|Startup|CurrentVersion|systemctl|\|\s*(node|python|perl)|shred|del\s+\/|Remove-Item|npm\s+(publish|whoami)|whoami|maintainer:|\.github/i;

export type FileAnalysis = { findings: RawFinding[]; facts: FileFacts; parsed: boolean };

/**
 * Analyses JavaScript source. `depth` counts decoding levels: a payload decoded from a string is analysed again with
 * depth + 1, up to MAX_DECODE_DEPTH, and within a shared byte budget so nested encodings cannot multiply the work.
 */
export function analyzeJs(text: string, opts: AnalyzeOptions): FileAnalysis {
  const ast = opts.loose ? null : parseJs(text);
  const c = ast ? collectAst(ast, text) : collectLoose(text);
  const findings: RawFinding[] = [];
  const facts = emptyFacts();
  const add = (rule: string, line: number | null, evidence: string, weight: number) =>
    findings.push({
      rule,
      line,
      evidence: opts.decodedFrom ? `[decoded ${opts.decodedFrom}] ${clip(evidence)}` : clip(evidence),
      weight,
    });
  for (const m of c.modules) {
    const bare = stripNode(m);
    facts.modules.add(bare);
    if (EXEC_MODULES.has(bare)) facts.exec = true;
    if (NETWORK_MODULES.has(bare)) facts.network = true;
    if (m.startsWith('./') || m.startsWith('../')) facts.relativeRequires.push(m);
  }
  if (c.fetchCall) facts.network = true;
  for (const h of c.endpoints) facts.endpoints.add(h);
  if (
    c.execCalls.length &&
    !facts.modules.has('child_process') &&
    !facts.modules.has('execa') &&
    !facts.modules.has('cross-spawn')
  ) {
    // exec() of some other library (a regex, a database) is not a process.
    c.execCalls = c.execCalls.filter(
      (e) => e.command !== null && /\b(sh|bash|cmd|powershell|curl|wget|node|npm|python)\b/.test(e.command),
    );
  }
  if (c.execCalls.length) facts.exec = true;
  if (c.envNpmToken) facts.npmToken = true;

  analyzeStrings(c.strings, facts, add);

  for (const e of c.execCalls)
    if (e.command)
      for (const p of SHELL_DANGER)
        if (p.re.test(e.command)) add('shell-command', e.line, `${p.kind}: ${e.command}`, 6);
  for (const e of c.evalCalls) {
    if (e.decoded) add('eval-decoded', e.line, `${e.kind}() of decoded data`, 6);
    else if (!e.literal) add('dynamic-eval', e.line, `${e.kind}() of a computed string`, 1);
  }
  // Evaluating a computed string in a file that also fetches: the shape of a loader running a downloaded stage.
  const dynamicEval = c.evalCalls.find((e) => e.variable && !e.decoded && e.kind !== 'Function');
  if (dynamicEval && facts.network)
    add(
      'remote-code-eval',
      dynamicEval.line,
      `${dynamicEval.kind}() of a computed string in a file that uses the network`,
      4,
    );
  for (const d of c.envDump)
    add(
      'env-dump',
      d.line,
      d.strong
        ? 'JSON.stringify(process.env): the whole environment serialised'
        : 'enumerates every environment variable',
      d.strong ? 3 : 1,
    );
  if (c.envDump.some((d) => d.strong)) facts.envDump = true;
  facts.identity = [...c.recon].filter((r) => r !== 'os.homedir').length;
  if (facts.identity > 0 && facts.exfil.size > 0 && c.recon.size < 3)
    add(
      'identity-to-exfiltration-endpoint',
      null,
      `reads ${[...c.recon].join(', ')} and names ${[...facts.exfil].join(', ')}`,
      3,
    );
  if ((c.recon.size >= 3 || facts.identity >= 2) && facts.network)
    add('host-fingerprint', null, `collects ${[...c.recon].slice(0, 6).join(', ')} and uses the network`, 3);
  if (c.dnsDynamic !== null)
    add(
      'dns-exfiltration',
      c.dnsDynamic,
      'DNS query for a computed host name (data can ride in the subdomain)',
      c.recon.size >= 2 ? 4 : 1,
    );
  if (c.rawSocket !== null)
    add('raw-socket', c.rawSocket, 'opens a TCP connection to a hard-coded IP address', facts.exec ? 7 : 3);
  if (c.detached !== null && facts.network)
    add('detached-process', c.detached, 'starts a detached background process', 1);
  if (c.hexIds.size >= 20) {
    facts.obfuscated = true;
    add('obfuscated-code', null, `${c.hexIds.size} _0x… identifiers (javascript-obfuscator style)`, 4);
  }
  if (c.packer !== null) {
    facts.obfuscated = true;
    add('packed-code', c.packer, 'eval(function(p,a,c,k,e,…)) packer', 4);
  }
  if (!opts.decodedFrom) {
    const blobs = c.strings.filter(
      (s) => !s.decoded && s.value.length >= 1024 && !/^data:/.test(s.value) && entropy(s.value.slice(0, 8192)) > 5.3,
    );
    if (blobs.length)
      add(
        'high-entropy-string',
        blobs[0]!.line,
        `${blobs.length} long high-entropy string${blobs.length > 1 ? 's' : ''} (${blobs[0]!.value.length} characters)`,
        1,
      );
  }
  // Names of dangerous APIs spelled in hex or base64 (event-stream's flatmap-stream kept "_compile",
  // "createDecipher" and "npm_package_description" that way).
  const hiddenNames = new Map<string, number | null>();
  for (const s of c.strings) {
    if (s.value.length < 8 || s.value.length > 64) continue;
    const hex = /^(?:[0-9a-f]{2}){4,}$/i.test(s.value) ? Buffer.from(s.value, 'hex').toString('latin1') : null;
    const b64 =
      !hex && /^[A-Za-z0-9+/]{8,}={0,2}$/.test(s.value) && s.value.length % 4 === 0
        ? Buffer.from(s.value, 'base64').toString('latin1')
        : null;
    const dec = hex ?? b64;
    if (dec && HIDDEN_API.test(dec) && /^[\x20-\x7e]+$/.test(dec) && !hiddenNames.has(dec))
      hiddenNames.set(dec, s.line);
  }
  if (hiddenNames.size) {
    facts.obfuscated = true;
    const [firstName, firstLine] = [...hiddenNames][0]!;
    add(
      'encoded-api-name',
      firstLine,
      `hex or base64 strings spell ${[...hiddenNames.keys()]
        .slice(0, 5)
        .map((x) => `"${x}"`)
        .join(', ')}${firstName ? '' : ''}`,
      Math.min(6, 2 + hiddenNames.size),
    );
  }
  if (ast) {
    let starts: number[] | null = null;
    const lineAt = (pos: number) => {
      if (!starts) {
        starts = [0];
        for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
      }
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid]! <= pos) lo = mid;
        else hi = mid - 1;
      }
      return lo + 1;
    };
    const fi = dataFlows(
      ast,
      c.strings.map((x) => x.value),
      facts.network || facts.exfil.size > 0,
      lineAt,
    );
    facts.flow = fi;
    const seenFlow = new Set<string>();
    for (const f of fi.flows) {
      const key = `${f.source}>${f.sink}`;
      if (seenFlow.has(key)) continue;
      seenFlow.add(key);
      const [rule, weight] = flowRule(f.source, f.sink);
      add(rule, f.line, `${f.source} reaches ${f.sink === 'network' ? 'a network call' : 'a child process'}`, weight);
    }
  }
  if (c.moduleCompile !== null)
    add('module-compile', c.moduleCompile, 'new module.constructor(): compiles a module from a string', 3);
  const evaluates = c.evalCalls.some((e) => !e.literal) || c.moduleCompile !== null || c.compiles;
  if (c.readsMedia !== null && evaluates) {
    facts.obfuscated = true;
    add(
      'payload-from-media',
      c.readsMedia,
      'evaluates code in a file that reads an image, font or audio file of its own',
      6,
    );
  }
  if (!opts.decodedFrom) {
    const hidden = hiddenCode(text);
    // A run of invisible characters in a file that never evaluates anything is data (code-page tables, fonts
    // mapped to private-use characters), not a program: context only.
    for (const h of hidden)
      add(h.rule, h.line, h.evidence, h.rule === 'invisible-characters' && !evaluates ? 1 : h.weight);
    if (hidden.some((h) => h.rule === 'invisible-characters') && evaluates) {
      facts.obfuscated = true;
      add('invisible-payload-eval', null, 'evaluates code in a file that carries a run of invisible characters', 4);
    }
    if (hidden.some((h) => h.rule === 'offscreen-code')) facts.obfuscated = true;
  }
  // Replacing fetch or XMLHttpRequest is what polyfills, mocks and error trackers do; replacing a wallet's signing
  // or request method, or rewriting responses while carrying crypto-currency address patterns, is what drainers do.
  for (const h of c.hooks.filter((x) => WALLET_HOOK.test(x.api)).slice(0, 1))
    add('wallet-provider-hook', h.line, `replaces ${h.api}: intercepts wallet requests or transactions`, 6);
  const netHook = c.hooks.find((x) => !WALLET_HOOK.test(x.api));
  if (netHook)
    add(
      c.addressPattern !== null ? 'address-swap-hook' : 'network-api-hook',
      netHook.line,
      `replaces ${netHook.api}${c.addressPattern !== null ? ' in a file that matches or names crypto-currency addresses' : ''}`,
      c.addressPattern !== null ? 6 : 1,
    );
  // Payloads hidden in strings: decode base64 / hex literals and analyse what they hide.
  if (opts.depth < MAX_DECODE_DEPTH) {
    for (const s of c.strings) {
      if (opts.budget.decodedBytes > MAX_DECODED_BYTES) break;
      const dec = s.decoded
        ? { how: s.decoded, text: s.value }
        : s.value.length >= 24 && s.value.length <= 1_000_000
          ? tryDecode(s.value)
          : null;
      if (!dec) continue;
      if (/^\s*[{[]/.test(dec.text) && /"(mappings|version|sources)"/.test(dec.text)) continue; // inline source maps
      opts.budget.decodedBytes += dec.text.length;
      const inner = analyzeJs(dec.text, { depth: opts.depth + 1, decodedFrom: dec.how, budget: opts.budget });
      const looksLikeCode = inner.parsed && /\b(require|function|=>|process\.|child_process|eval)\b/.test(dec.text);
      if (inner.findings.length || looksLikeCode) {
        add(
          'encoded-payload',
          s.line,
          `${dec.how} string decodes to ${looksLikeCode ? 'code' : 'text'}: ${dec.text}`,
          inner.findings.length ? 3 : 2,
        );
        facts.obfuscated = true;
      }
      for (const f of inner.findings) findings.push({ ...f, line: s.line, weight: f.weight + 1 });
      mergeFacts(facts, inner.facts);
    }
  }
  return { findings, facts, parsed: ast !== null };
}

/** How much a source reaching a sink weighs: stolen secrets outweigh a beacon; tokens in API headers are routine. */
export function flowRule(source: string, sink: 'network' | 'process'): [string, number] {
  if (source === 'host identity') return ['data-flow-beacon', sink === 'network' ? 3 : 1];
  if (source === 'secret variable') return ['data-flow-secret', 2];
  // Build tools hand the environment and settings to the commands they run all day: context, not evidence.
  return sink === 'network' ? ['data-flow-exfiltration', 6] : ['data-flow-to-process', 1];
}

export function mergeFacts(into: FileFacts, from: FileFacts): void {
  for (const m of from.modules) into.modules.add(m);
  for (const k of from.credentials) into.credentials.add(k);
  for (const k of from.exfil) into.exfil.add(k);
  for (const k of from.endpoints) into.endpoints.add(k);
  into.exec ||= from.exec;
  into.network ||= from.network;
  into.envDump ||= from.envDump;
  into.obfuscated ||= from.obfuscated;
  into.npmPublish ||= from.npmPublish;
  into.npmToken ||= from.npmToken;
  into.identity += from.identity;
}

type Add = (rule: string, line: number | null, evidence: string, weight: number) => void;

/** Rules over string values: credential locations, exfiltration endpoints, dangerous shell commands. */
export function analyzeStrings(
  strings: Array<{ value: string; line: number | null }>,
  facts: FileFacts,
  add: Add,
): void {
  const once = new Set<string>();
  const first = (key: string) => (once.has(key) ? false : (once.add(key), true));
  for (const { value, line } of strings) {
    // One cheap test first: most strings of a bundle mention nothing any rule below looks for.
    if (value.length > 200_000 || !STRING_HINT.test(value)) continue;
    for (const p of CREDENTIAL_PATTERNS) {
      if (p.re.test(value) && first(`cred:${p.kind}`)) {
        facts.credentials.add(p.kind);
        if (p.kind === 'npm token file') facts.npmToken = true;
        add('credential-access', line, `${p.kind}: ${value}`, 2);
      }
    }
    if (CLOUD_METADATA.test(value) && first('metadata')) {
      facts.credentials.add('cloud metadata service');
      add('cloud-metadata', line, value, 2);
    }
    for (const p of EXFIL_ENDPOINTS) {
      if (p.re.test(value) && first(`exfil:${p.kind}`)) {
        facts.exfil.add(p.kind);
        add('exfiltration-endpoint', line, `${p.kind}: ${value}`, p.kind === 'public IP lookup' ? 1 : 3);
      }
    }
    if (RAW_IP_URL.test(value) && first('rawip')) {
      facts.exfil.add('raw IP address');
      add('raw-ip-url', line, value, 2);
    }
    for (const p of SHELL_DANGER)
      if (p.re.test(value) && first(`shell:${p.kind}`))
        add('shell-command', line, `${p.kind}: ${value}`, p.kind === 'credential tool' ? 4 : 6);
    // A command, not prose: documentation strings mention "npm publish" all the time.
    if (/^\s*(npx\s+)?npm\s+publish\b/.test(value) && first('publish')) {
      facts.npmPublish = true;
      add('npm-publish', line, value, 3);
    }
    if (/\/-\/v1\/search\?text=maintainer:|\/-\/whoami\b|\bnpm\s+whoami\b/.test(value) && first('whoami')) {
      facts.npmPublish = true;
      add('npm-account-enumeration', line, value, 2);
    }
    // Tools that set up CI write workflows too; with credential theft it is how Shai-Hulud kept stealing.
    if (/(^|[\\/])\.github[\\/]workflows[\\/]?/.test(value) && first('workflow'))
      add('ci-workflow-write', line, value, 1);
  }
}

/** Shell scripts, batch files and other text the install scripts may run. */
export function analyzeShell(text: string): FileAnalysis {
  const findings: RawFinding[] = [];
  const facts = emptyFacts();
  const lines = text
    .split('\n')
    .slice(0, 20_000)
    .map((value, i) => ({ value, line: i + 1 }));
  analyzeStrings(lines, facts, (rule, line, evidence, weight) =>
    findings.push({ rule, line, evidence: clip(evidence), weight }),
  );
  if (/\b(curl|wget|Invoke-WebRequest|iwr)\b/.test(text)) facts.network = true;
  return { findings, facts, parsed: true };
}
