// The signature database: known-bad file hashes and code snippets from published incident write-ups. The shipped
// database (signatures/seed.json) is generated from public indicator lists with their source recorded; operators add
// their own files in the same format (docs/malware-scanning.md) with `--signatures` or the scan pool's options.
import { readFileSync } from 'node:fs';

export type HashSignature = { sha256: string; description: string; source: string; ref?: string };
export type SnippetSignature = {
  id: string;
  text: string;
  severity: 'malicious' | 'suspicious';
  description: string;
  source: string;
  ref?: string;
};
export type SignatureFile = {
  format: 'bulwark-malware-signatures';
  version: 1;
  sources?: Array<{ id: string; repo?: string; commit?: string; path?: string; url?: string }>;
  hashes?: HashSignature[];
  snippets?: SnippetSignature[];
};
export type SignatureDb = {
  hashes: Map<string, HashSignature>;
  snippets: SnippetSignature[];
  /** One regular expression over every snippet, so a file is searched once whatever the number of snippets. */
  snippetPattern: RegExp | null;
  files: string[];
};

export const SHIPPED_SIGNATURES = new URL('./signatures/seed.json', import.meta.url);

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

type Trie = { end: boolean; next: Map<string, Trie> };

/**
 * One regular expression matching any of the strings, shaped as a trie (common prefixes shared) so the engine tries
 * one branch per distinct next character instead of every string at every position of the file. Greedy optional
 * groups make the longest string win at a position.
 */
export function trieRegexSource(strings: string[]): string {
  const root: Trie = { end: false, next: new Map() };
  for (const str of strings) {
    let node = root;
    for (const ch of str) {
      let child = node.next.get(ch);
      if (!child) node.next.set(ch, (child = { end: false, next: new Map() }));
      node = child;
    }
    node.end = true;
  }
  const emit = (node: Trie): string => {
    const branches = [...node.next].map(([ch, child]) => escape(ch) + emit(child));
    if (branches.length === 0) return '';
    const body = branches.length === 1 ? branches[0]! : `(?:${branches.join('|')})`;
    return node.end ? `(?:${body})?` : body;
  };
  return emit(root);
}

/** Checks one parsed signature file; throws with the file and the offending entry so an operator can fix it. */
export function validateSignatureFile(doc: unknown, where: string): SignatureFile {
  const fail = (why: string): never => {
    throw new Error(`signature file ${where}: ${why}`);
  };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) fail('must be a JSON object');
  const d = doc as Record<string, unknown>;
  if (d.format !== 'bulwark-malware-signatures') fail('"format" must be "bulwark-malware-signatures"');
  if (d.version !== 1) fail('"version" must be 1');
  for (const [i, h] of ((d.hashes ?? []) as unknown[]).entries()) {
    const x = h as Partial<HashSignature>;
    if (typeof x?.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(x.sha256))
      fail(`hashes[${i}].sha256 must be 64 lowercase hex digits`);
    if (typeof x.description !== 'string' || typeof x.source !== 'string')
      fail(`hashes[${i}] needs "description" and "source"`);
  }
  for (const [i, s] of ((d.snippets ?? []) as unknown[]).entries()) {
    const x = s as Partial<SnippetSignature>;
    if (typeof x?.text !== 'string' || x.text.length < 6)
      fail(`snippets[${i}].text must be a string of at least 6 characters`);
    if (x.severity !== 'malicious' && x.severity !== 'suspicious')
      fail(`snippets[${i}].severity must be "malicious" or "suspicious"`);
    if (typeof x.id !== 'string' || typeof x.description !== 'string' || typeof x.source !== 'string')
      fail(`snippets[${i}] needs "id", "description" and "source"`);
  }
  return d as SignatureFile;
}

export function buildSignatureDb(files: Array<{ doc: SignatureFile; where: string }>): SignatureDb {
  const hashes = new Map<string, HashSignature>();
  const byText = new Map<string, SnippetSignature>();
  for (const { doc } of files) {
    for (const h of doc.hashes ?? []) hashes.set(h.sha256, h);
    for (const s of doc.snippets ?? []) byText.set(s.text, s);
  }
  const snippets = [...byText.values()];
  return {
    hashes,
    snippets,
    snippetPattern: snippets.length ? new RegExp(trieRegexSource(snippets.map((s) => s.text)), 'g') : null,
    files: files.map((f) => f.where),
  };
}

/** The shipped database plus the operator's files (later files win on a repeated hash or snippet text). */
export function loadSignatures(paths: string[] = []): SignatureDb {
  const files = [SHIPPED_SIGNATURES, ...paths].map((p) => {
    const where = p instanceof URL ? 'shipped seed.json' : p;
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(p, 'utf8'));
    } catch (err) {
      throw new Error(`signature file ${where}: ${(err as Error).message}`, { cause: err });
    }
    return { doc: validateSignatureFile(doc, where), where };
  });
  return buildSignatureDb(files);
}
