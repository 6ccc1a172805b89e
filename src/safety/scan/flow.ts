// Data flow, not co-occurrence: whether what a file reads from a sensitive source (the whole environment, secret
// environment variables, credential files, the host's identity, browser storage) reaches a sink (the network, a
// child process) through its variables, and across the package's own modules through what they export. A
// may-analysis over one parsed file: variables are tainted by assignment, `push`, and member writes, to a fixpoint;
// a sink is reported when an argument mentions a tainted variable or a source. Variables are bindings, not names:
// each identifier is resolved through the scopes of the parse (functions, blocks, catch clauses), because minifiers
// give one-letter names to thousands of unrelated variables of one bundle. Pure: AST in, flows out.
import type { Node } from 'acorn';
import { CREDENTIAL_PATTERNS } from './patterns.ts';
import { patternIdentifiers, walkScoped } from './scopes.ts';

type AnyNode = Node & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export type Source = 'environment' | 'secret variable' | 'credential file' | 'host identity' | 'browser storage';
export type Flow = { source: Source; sink: 'network' | 'process'; line: number; via?: string };
export type FlowInfo = {
  flows: Flow[];
  /** What the module hands out (returns or exports) that came from a source. */
  exports: Source | null;
  /** Relative modules whose exported value reaches a sink here: a flow if that module exports a source. */
  importsToSink: Array<{ spec: string; sink: Flow['sink']; line: number }>;
};

const SECRET_VAR = /TOKEN|SECRET|PASSW|_KEY\b|KEY_ID|AUTH|CREDENTIAL|NPM_CONFIG__AUTH/i;
const NETWORK_CALL =
  /^(fetch|axios|got|needle|request|superagent|(https?|http2|axios|got|request|needle|superagent|undici)\.(request|get|post|put|patch|fetch)|(dns|dns\.promises)\.(resolve\w*|lookup)|net\.(connect|createConnection)|navigator\.sendBeacon)$/;
const EXEC_CALL = /^((child_process|cp|childProcess)\.)?(exec|execSync|spawn|spawnSync|execFile|execFileSync)$/;
const WRITE_CALL = /\.(write|end|send)$/;
const IDENTITY_CALL = /(^|\.)(hostname|userInfo|networkInterfaces|getServers)$/;

const nameOf = (n: AnyNode): string | null => {
  if (n.type === 'Identifier') return n.name;
  if (n.type === 'MemberExpression') {
    const o = nameOf(n.object);
    const p = n.computed ? (n.property.type === 'Literal' ? String(n.property.value) : null) : n.property.name;
    return o && p ? `${o}.${p}` : null;
  }
  if (n.type === 'CallExpression' && n.callee.type === 'Identifier' && n.callee.name === 'require') {
    const a = n.arguments[0];
    return a?.type === 'Literal' ? String(a.value).replace(/^node:/, '') : null;
  }
  return null;
};

/** The base variable an expression writes to: `out` for `out[k]`, `out.list`, `out.push(…)`. */
const baseOf = (n: AnyNode): AnyNode | null =>
  n.type === 'Identifier' ? n : n.type === 'MemberExpression' ? baseOf(n.object) : null;

/** `process.env` itself, or with a fallback (`process.env || {}`): an alias of it reads like it. */
const isEnv = (n: AnyNode | null | undefined): boolean =>
  !!n &&
  (nameOf(n) === 'process.env' ||
    (n.type === 'LogicalExpression' && isEnv(n.left)) ||
    (n.type === 'ConditionalExpression' && (isEnv(n.consequent) || isEnv(n.alternate))));

export function dataFlows(
  ast: Node,
  strings: string[],
  usesNetwork: boolean,
  lineOf: (offset: number) => number,
): FlowInfo {
  const credentialFile = strings.some((s) => CREDENTIAL_PATTERNS.some((p) => p.re.test(s)));
  // Keyed by binding (scopes.ts), never by bare name.
  const tainted = new Map<string, Source>();
  const fromModule = new Map<string, string>(); // variable -> relative spec it was required from
  const assigns: Array<[string, AnyNode]> = [];
  // Variables that are process.env under another name: `e.HOME` through one is a setting, as `process.env.HOME` is.
  const envAliases = new Set<string>();
  const sinks: Array<{ sink: Flow['sink']; args: AnyNode[]; line: number }> = [];
  const returns: AnyNode[] = [];
  // Objects a network call returned (a request, a socket): writing to them sends.
  const netVars = new Set<string>();
  const writes: Array<{ base: string; args: AnyNode[]; line: number }> = [];
  let keyOf: (id: AnyNode) => string = (id) => `g:${id.name as string}`;
  /** `const { HOME, NPM_TOKEN, ...rest } = process.env` takes a setting, a secret and everything; from any other
   * value, every name bound takes what the value carries. */
  const direct: Array<[string, Source]> = [];
  const destructure = (pattern: AnyNode, init: AnyNode) => {
    if (pattern.type === 'ObjectPattern' && isEnv(init)) {
      for (const p of pattern.properties) {
        const target =
          p.type === 'RestElement' ? p.argument : p.value.type === 'AssignmentPattern' ? p.value.left : p.value;
        if (target?.type !== 'Identifier') continue;
        if (p.type === 'RestElement') direct.push([keyOf(target), 'environment']);
        else if (!p.computed && SECRET_VAR.test(p.key.name ?? String(p.key.value)))
          direct.push([keyOf(target), 'secret variable']);
      }
      return;
    }
    for (const name of patternIdentifiers(pattern)) assigns.push([keyOf(name), init]);
  };
  keyOf = walkScoped(ast, (n: AnyNode, resolve) => {
    keyOf = resolve;
    if (n.type === 'VariableDeclarator' && n.init) {
      const init = n.init.type === 'AwaitExpression' ? n.init.argument : n.init;
      if (n.id.type === 'Identifier' && (init.type === 'CallExpression' || init.type === 'NewExpression')) {
        const callee = nameOf(init.callee) ?? '';
        if (NETWORK_CALL.test(callee) || /(^|\.)(Socket|WebSocket|createConnection|connect)$/.test(callee))
          netVars.add(keyOf(n.id));
      }
      if (n.id.type === 'Identifier') {
        if (isEnv(init)) envAliases.add(keyOf(n.id));
        else assigns.push([keyOf(n.id), n.init]);
      } else destructure(n.id, init);
    } else if (n.type === 'AssignmentExpression') {
      const b = baseOf(n.left);
      if (b && n.left.type === 'Identifier' && isEnv(n.right)) envAliases.add(keyOf(b));
      else if (b) assigns.push([keyOf(b), n.right]);
      if (n.left.type === 'MemberExpression' && /^(module\.exports|exports)/.test(nameOf(n.left) ?? ''))
        returns.push(n.right);
    } else if (n.type === 'ForOfStatement' || n.type === 'ForInStatement') {
      const decl = n.left.type === 'VariableDeclaration' ? n.left.declarations[0]?.id : n.left;
      if (decl?.type === 'Identifier') assigns.push([keyOf(decl), n.right]);
    } else if (n.type === 'ReturnStatement' && n.argument) returns.push(n.argument);
    else if (n.type === 'CallExpression' || n.type === 'NewExpression') {
      const name = nameOf(n.callee) ?? '';
      // Collections filled from a source: out.push(x), form.append(k, x), map.set(k, x).
      if (
        n.callee.type === 'MemberExpression' &&
        /^(push|unshift|append|set|concat|add)$/.test(n.callee.property?.name ?? '')
      ) {
        const b = baseOf(n.callee.object);
        if (b) for (const a of n.arguments) assigns.push([keyOf(b), a]);
      }
      const last = name.split('.').slice(-2).join('.');
      if (NETWORK_CALL.test(name) || NETWORK_CALL.test(last) || name === 'WebSocket')
        sinks.push({ sink: 'network', args: n.arguments, line: n.start });
      else if (EXEC_CALL.test(name) || EXEC_CALL.test(last))
        sinks.push({ sink: 'process', args: n.arguments, line: n.start });
      else if (usesNetwork && WRITE_CALL.test(name) && n.callee.type === 'MemberExpression') {
        const base = baseOf(n.callee.object);
        if (base) writes.push({ base: keyOf(base), args: n.arguments, line: n.start });
      }
    }
  });

  for (const w of writes) if (netVars.has(w.base)) sinks.push({ sink: 'network', args: w.args, line: w.line });

  /** The source an expression reads, directly or through a tainted variable; function bodies are not entered. */
  const sourceIn = (expr: AnyNode): { source: Source; via?: string } | null => {
    let found: { source: Source; via?: string } | null = null;
    // process.env.HOME or process.env[name] is a setting, process.env.NPM_TOKEN a secret; process.env handed on
    // whole is everything.
    const envRead = (member: AnyNode | null) => {
      if (!member) found = { source: 'environment' };
      else if (member.computed) visit(member.property, member);
      else if (SECRET_VAR.test(member.property.name ?? '')) found = { source: 'secret variable' };
    };
    const visit = (n: AnyNode, parent: AnyNode | null) => {
      if (found || !n || typeof n.type !== 'string') return;
      // A callback passed along is code, not data: what it does is judged where it makes its own calls.
      if (n.type === 'FunctionExpression' || n.type === 'ArrowFunctionExpression' || n.type === 'FunctionDeclaration')
        return;
      if (n.type === 'Identifier') {
        const key = keyOf(n);
        if (envAliases.has(key)) {
          envRead(parent?.type === 'MemberExpression' && parent.object === n ? parent : null);
          return;
        }
        const t = tainted.get(key);
        if (t) found = { source: t };
        else if (fromModule.has(key)) found = { source: 'environment', via: fromModule.get(key) };
        return;
      }
      if (n.type === 'MemberExpression') {
        const name = nameOf(n) ?? '';
        if (name === 'process.env') {
          envRead(parent?.type === 'MemberExpression' && parent.object === n ? parent : null);
          return;
        }
        if (/^process\.env\./.test(name) && SECRET_VAR.test(name.slice(12))) {
          found = { source: 'secret variable' };
          return;
        }
        if (/^(document\.cookie|localStorage|sessionStorage|window\.localStorage)/.test(name)) {
          found = { source: 'browser storage' };
          return;
        }
        visit(n.object, n);
        if (n.computed) visit(n.property, n);
        return;
      }
      if (n.type === 'CallExpression') {
        const name = nameOf(n.callee) ?? '';
        if (IDENTITY_CALL.test(name) && /^(os|require\.os|\w+)\./.test(name)) {
          found = { source: 'host identity' };
          return;
        }
        if (/(^|\.)(readFileSync|readFile|readdirSync)$/.test(name) && credentialFile) {
          found = { source: 'credential file' };
          return;
        }
        if (name === 'require' && n.arguments[0]?.type === 'Literal' && /^\.\.?\//.test(String(n.arguments[0].value))) {
          found = { source: 'environment', via: String(n.arguments[0].value) };
          return;
        }
      }
      for (const key of Object.keys(n)) {
        if (key === 'type' || key === 'start' || key === 'end' || key === 'loc') continue;
        const v = n[key];
        if (Array.isArray(v)) for (const x of v) visit(x, n);
        else if (v && typeof v === 'object' && typeof v.type === 'string') visit(v, n);
      }
    };
    visit(expr, null);
    return found;
  };

  for (const [key, source] of direct) tainted.set(key, source);
  for (let pass = 0; pass < 4; pass++) {
    let changed = false;
    for (const [name, expr] of assigns) {
      if (tainted.has(name) || fromModule.has(name)) continue;
      const s = sourceIn(expr);
      if (!s) continue;
      if (s.via) fromModule.set(name, s.via);
      else tainted.set(name, s.source);
      changed = true;
    }
    if (!changed) break;
  }

  const flows: Flow[] = [];
  const importsToSink: FlowInfo['importsToSink'] = [];
  for (const s of sinks) {
    // A child process's options ({ env: process.env }) hand the environment on, which every build tool does.
    const args = s.sink === 'process' ? s.args.filter((a) => a.type !== 'ObjectExpression').slice(0, 2) : s.args;
    for (const a of args) {
      const src = sourceIn(a);
      if (!src) continue;
      if (src.via) importsToSink.push({ spec: src.via, sink: s.sink, line: lineOf(s.line) });
      else flows.push({ source: src.source, sink: s.sink, line: lineOf(s.line) });
      break;
    }
  }
  let exported: Source | null = null;
  for (const r of returns) {
    const s = sourceIn(r);
    if (s && !s.via) {
      exported = s.source;
      break;
    }
  }
  return { flows, exports: exported, importsToSink };
}
