// Which variable an identifier means. A minified bundle calls thousands of unrelated variables `e`, `t` and `n`;
// an analysis keyed by name sees one variable where there are thousands. This walk resolves every identifier of a
// parsed file to its binding — the function, block, catch clause or class that declares it, or the global scope —
// following JavaScript's rules closely enough for taint tracking: `var` and function declarations belong to the
// enclosing function, `let`, `const` and `class` to the enclosing block, parameters to their function. Pure: AST in,
// binding keys out; one pass over the tree.
import type { Node } from 'acorn';

type AnyNode = Node & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

type Scope = { id: number; names: Set<string>; parent: Scope | null };

/** The identifiers a declaration pattern binds: `a`, `{ a, b: c }`, `[a, ...d]`, `a = 1`. */
export function patternIdentifiers(p: AnyNode | null | undefined, out: AnyNode[] = []): AnyNode[] {
  if (!p) return out;
  switch (p.type) {
    case 'Identifier':
      out.push(p);
      break;
    case 'ObjectPattern':
      for (const prop of p.properties)
        patternIdentifiers(prop.type === 'RestElement' ? prop.argument : prop.value, out);
      break;
    case 'ArrayPattern':
      for (const e of p.elements) patternIdentifiers(e, out);
      break;
    case 'AssignmentPattern':
      patternIdentifiers(p.left, out);
      break;
    case 'RestElement':
      patternIdentifiers(p.argument, out);
      break;
  }
  return out;
}

const patternNames = (p: AnyNode | null | undefined): string[] => patternIdentifiers(p).map((x) => x.name as string);

const isFunction = (n: AnyNode) =>
  n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression' || n.type === 'ArrowFunctionExpression';

const HOLDS_DECLARATIONS = new Set([
  'Program',
  'BlockStatement',
  'IfStatement',
  'ForStatement',
  'ForInStatement',
  'ForOfStatement',
  'WhileStatement',
  'DoWhileStatement',
  'TryStatement',
  'CatchClause',
  'SwitchStatement',
  'SwitchCase',
  'LabeledStatement',
  'WithStatement',
  'ExportNamedDeclaration',
  'ExportDefaultDeclaration',
]);

/** `var` and function declarations anywhere in a function body, not inside nested functions. */
function hoist(n: AnyNode | null | undefined, names: Set<string>): void {
  if (!n || typeof n.type !== 'string') return;
  if (n.type === 'FunctionDeclaration') {
    if (n.id) names.add(n.id.name);
    return;
  }
  if (isFunction(n) || n.type === 'ClassExpression' || n.type === 'ClassDeclaration') return;
  if (n.type === 'VariableDeclaration') {
    if (n.kind === 'var') for (const d of n.declarations) for (const x of patternNames(d.id)) names.add(x);
    return;
  }
  // Only statements hold declarations; expressions cannot (functions inside them are skipped above).
  if (!HOLDS_DECLARATIONS.has(n.type)) return;
  for (const key in n) {
    if (key === 'type' || key === 'start' || key === 'end' || key === 'loc') continue;
    const v = n[key];
    if (Array.isArray(v)) for (const x of v) hoist(x, names);
    else if (v && typeof v === 'object') hoist(v, names);
  }
}

/** `let`, `const` and `class` declared directly in a list of statements (a block, a switch, a program). */
function lexical(statements: AnyNode[], names: Set<string>): void {
  for (let s of statements) {
    if (s.type === 'ExportNamedDeclaration' || s.type === 'ExportDefaultDeclaration') s = s.declaration ?? s;
    if (s.type === 'VariableDeclaration' && s.kind !== 'var')
      for (const d of s.declarations) for (const x of patternNames(d.id)) names.add(x);
    else if (s.type === 'ClassDeclaration' && s.id) names.add(s.id.name);
    else if (s.type === 'ImportDeclaration') for (const sp of s.specifiers) names.add(sp.local.name);
  }
}

/**
 * Walks the tree, calling `visit` for every node after its children (like acorn-walk's `full`) with the resolver of
 * binding keys: `<scope id>:<name>` for each identifier that names a variable, or `g:<name>` for a global.
 */
export function walkScoped(
  ast: Node,
  visit: (n: AnyNode, keyOf: (id: AnyNode) => string) => void,
): (id: AnyNode) => string {
  const keys = new WeakMap<AnyNode, string>();
  const keyOf = (id: AnyNode) => keys.get(id) ?? `g:${id.name as string}`;
  let nextId = 0;
  const scope = (parent: Scope | null, names = new Set<string>()): Scope => ({ id: nextId++, names, parent });
  const resolve = (name: string, s: Scope | null): string => {
    for (let x = s; x; x = x.parent) if (x.names.has(name)) return `${x.id}:${name}`;
    return `g:${name}`;
  };

  const walk = (n: AnyNode | null | undefined, s: Scope): void => {
    if (!n || typeof n.type !== 'string') return;
    switch (n.type) {
      case 'Identifier':
        keys.set(n, resolve(n.name, s));
        break;
      case 'Program': {
        const names = new Set<string>();
        hoist(n, names);
        lexical(n.body, names);
        const ps = scope(s, names);
        for (const x of n.body) walk(x, ps);
        break;
      }
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression': {
        if (n.type === 'FunctionDeclaration' && n.id) walk(n.id, s);
        const names = new Set<string>();
        // A named function expression sees its own name.
        if (n.type === 'FunctionExpression' && n.id) names.add(n.id.name);
        for (const p of n.params) for (const x of patternNames(p)) names.add(x);
        if (n.body.type === 'BlockStatement') {
          hoist(n.body, names);
          lexical(n.body.body, names);
        }
        const fs = scope(s, names);
        if (n.type === 'FunctionExpression' && n.id) walk(n.id, fs);
        for (const p of n.params) walk(p, fs);
        if (n.body.type === 'BlockStatement') for (const x of n.body.body) walk(x, fs);
        else walk(n.body, fs);
        break;
      }
      case 'BlockStatement':
      case 'StaticBlock': {
        const names = new Set<string>();
        lexical(n.body, names);
        const bs = names.size ? scope(s, names) : s;
        for (const x of n.body) walk(x, bs);
        break;
      }
      case 'SwitchStatement': {
        walk(n.discriminant, s);
        const names = new Set<string>();
        for (const c of n.cases) lexical(c.consequent, names);
        const ss = names.size ? scope(s, names) : s;
        for (const c of n.cases) walk(c, ss);
        break;
      }
      case 'ForStatement':
      case 'ForInStatement':
      case 'ForOfStatement': {
        const head = n.type === 'ForStatement' ? n.init : n.left;
        const names = new Set<string>();
        if (head?.type === 'VariableDeclaration' && head.kind !== 'var') lexical([head], names);
        const fs = names.size ? scope(s, names) : s;
        for (const key of ['init', 'test', 'update', 'left', 'right', 'body']) walk(n[key], fs);
        break;
      }
      case 'CatchClause': {
        const cs = n.param ? scope(s, new Set(patternNames(n.param))) : s;
        walk(n.param, cs);
        walk(n.body, cs);
        break;
      }
      case 'ClassDeclaration':
      case 'ClassExpression': {
        const cs = n.type === 'ClassExpression' && n.id ? scope(s, new Set([n.id.name])) : s;
        walk(n.id, cs);
        walk(n.superClass, cs);
        walk(n.body, cs);
        break;
      }
      case 'MemberExpression':
        walk(n.object, s);
        if (n.computed) walk(n.property, s);
        break;
      case 'Property':
      case 'MethodDefinition':
      case 'PropertyDefinition':
        if (n.computed) walk(n.key, s);
        // `{ a }` is `{ a: a }`: acorn gives the shorthand's key and value as the same node.
        walk(n.value, s);
        break;
      case 'LabeledStatement':
        walk(n.body, s);
        break;
      case 'BreakStatement':
      case 'ContinueStatement':
      case 'MetaProperty':
        break;
      case 'ImportSpecifier':
      case 'ImportDefaultSpecifier':
      case 'ImportNamespaceSpecifier':
        walk(n.local, s);
        break;
      case 'ExportSpecifier':
        walk(n.local, s);
        break;
      default:
        for (const key in n) {
          if (key === 'type' || key === 'start' || key === 'end' || key === 'loc') continue;
          const v = n[key];
          if (Array.isArray(v)) for (const x of v) walk(x, s);
          else if (v && typeof v === 'object' && typeof v.type === 'string') walk(v, s);
        }
    }
    visit(n, keyOf);
  };
  walk(ast as AnyNode, scope(null));
  return keyOf;
}
