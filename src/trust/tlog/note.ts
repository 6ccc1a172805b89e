// Signed notes (c2sp.org/signed-note) with Ed25519 keys, and the checkpoint body (c2sp.org/tlog-checkpoint) that the
// transparency log signs. Pure: keys come in as bytes; nothing here reads a clock, a file or the network.
// Key text formats follow Go's golang.org/x/mod/sumdb/note so that its tools read our keys and we read theirs:
//   verifier key  <name>+<hex key id>+<base64(0x01 || 32-byte public key)>
//   signer key    PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || 32-byte seed)>
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  randomBytes,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';

/** c2sp.org/signed-note signature type identifier for Ed25519. */
export const ALG_ED25519 = 0x01;

export class NoteError extends Error {
  override name = 'NoteError';
}

// Ed25519 keys as DER, the only raw-key import Node offers: RFC 8410 PKCS#8 and SPKI prefixes for a 32-byte key.
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

/** Key names MUST be non-empty and contain no Unicode spaces and no plus sign (c2sp.org/signed-note). */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name) && isValidText(name) && !name.includes('\n');
}

/** Valid UTF-8 (a JS string already is, unless it holds lone surrogates) with no control characters but newline. */
function isValidText(text: string): boolean {
  if (!text.isWellFormed()) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return false;
  }
  return true;
}

/** key ID = SHA-256(key name || 0x0A || signature type || public key)[:4], big-endian. */
export function keyId(name: string, publicKey: Uint8Array, alg = ALG_ED25519): number {
  return createHash('sha256').update(name).update(Uint8Array.of(0x0a, alg)).update(publicKey).digest().readUInt32BE(0);
}

const hex8 = (id: number) => id.toString(16).padStart(8, '0');

export type Verifier = {
  name: string;
  id: number;
  publicKey: Buffer;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
};
export type Signer = { name: string; id: number; publicKey: Buffer; sign(message: Uint8Array): Buffer };

function publicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519, raw]), format: 'der', type: 'spki' });
}

export function ed25519Verifier(name: string, publicKey: Uint8Array): Verifier {
  if (!isValidKeyName(name)) throw new NoteError(`invalid key name ${JSON.stringify(name)}`);
  if (publicKey.length !== 32) throw new NoteError('an Ed25519 public key is 32 bytes');
  const key = publicKeyObject(publicKey);
  return {
    name,
    id: keyId(name, publicKey),
    publicKey: Buffer.from(publicKey),
    verify: (message, signature) => signature.length === 64 && cryptoVerify(null, message, key, signature),
  };
}

export function ed25519Signer(name: string, seed: Uint8Array): Signer {
  if (!isValidKeyName(name)) throw new NoteError(`invalid key name ${JSON.stringify(name)}`);
  if (seed.length !== 32) throw new NoteError('an Ed25519 seed is 32 bytes');
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = Buffer.from(
    createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519.length),
  );
  return { name, id: keyId(name, publicKey), publicKey, sign: (message) => cryptoSign(null, message, key) };
}

/** A new Ed25519 key; `random` is injectable so tests can be deterministic. */
export function generateSeed(random: (n: number) => Buffer = randomBytes): Buffer {
  return random(32);
}

export function encodeVerifierKey(v: Pick<Verifier, 'name' | 'id' | 'publicKey'>): string {
  return `${v.name}+${hex8(v.id)}+${Buffer.concat([Uint8Array.of(ALG_ED25519), v.publicKey]).toString('base64')}`;
}

const STRICT_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeBase64(text: string): Buffer | null {
  if (!STRICT_B64.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  // Node ignores non-zero padding bits; a canonical encoding must round-trip.
  return bytes.toString('base64') === text ? bytes : null;
}

function splitKey(text: string, parts: number): string[] | null {
  const fields = text.split('+');
  // The base64 part may itself contain '+': rejoin everything after the fixed fields.
  if (fields.length < parts) return null;
  return [...fields.slice(0, parts - 1), fields.slice(parts - 1).join('+')];
}

/** Parses a verifier key; refuses unknown algorithms, wrong lengths and a key ID that does not match the key. */
export function parseVerifierKey(vkey: string): Verifier {
  const parts = splitKey(vkey, 3);
  if (!parts) throw new NoteError('malformed verifier key');
  const [name, idHex, keyB64] = parts as [string, string, string];
  const key = decodeBase64(keyB64);
  if (!isValidKeyName(name) || !/^[0-9a-f]{8}$/.test(idHex) || !key || key.length !== 33 || key[0] !== ALG_ED25519)
    throw new NoteError('malformed verifier key');
  const v = ed25519Verifier(name, key.subarray(1));
  if (hex8(v.id) !== idHex) throw new NoteError('verifier key ID does not match its key');
  return v;
}

export function encodeSignerKey(name: string, seed: Uint8Array): string {
  const s = ed25519Signer(name, seed);
  return `PRIVATE+KEY+${name}+${hex8(s.id)}+${Buffer.concat([Uint8Array.of(ALG_ED25519), seed]).toString('base64')}`;
}

export function parseSignerKey(skey: string): Signer {
  if (!skey.startsWith('PRIVATE+KEY+')) throw new NoteError('malformed signer key');
  const parts = splitKey(skey.slice('PRIVATE+KEY+'.length), 3);
  if (!parts) throw new NoteError('malformed signer key');
  const [name, idHex, keyB64] = parts as [string, string, string];
  const key = decodeBase64(keyB64);
  if (!isValidKeyName(name) || !/^[0-9a-f]{8}$/.test(idHex) || !key || key.length !== 33 || key[0] !== ALG_ED25519)
    throw new NoteError('malformed signer key');
  const s = ed25519Signer(name, key.subarray(1));
  if (hex8(s.id) !== idHex) throw new NoteError('signer key ID does not match its key');
  return s;
}

export type NoteSignature = { name: string; id: number; base64: string };

function checkText(text: string): void {
  if (!text.endsWith('\n') || !isValidText(text)) throw new NoteError('malformed note text');
}

/** Signs `text` (which MUST end in a newline) with each signer, appending to any signatures already given. */
export function signNote(text: string, signers: readonly Signer[], existing: readonly NoteSignature[] = []): string {
  checkText(text);
  const message = Buffer.from(text, 'utf8');
  const lines = existing
    .filter((s) => !signers.some((x) => x.name === s.name && x.id === s.id))
    .map((s) => `— ${s.name} ${s.base64}\n`);
  for (const s of signers) {
    const sig = Buffer.alloc(4);
    sig.writeUInt32BE(s.id, 0);
    lines.push(`— ${s.name} ${Buffer.concat([sig, s.sign(message)]).toString('base64')}\n`);
  }
  return `${text}\n${lines.join('')}`;
}

/** Go's note package refuses more; the spec asks verifiers to accept at least 16. */
const MAX_SIGNATURES = 100;

export type OpenedNote = { text: string; verified: NoteSignature[]; unverified: NoteSignature[] };

/** Splits a signed note into its text and signature lines without checking any signature. */
export function parseNote(input: string | Uint8Array): { text: string; signatures: NoteSignature[] } {
  let note: string;
  try {
    note = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
  } catch {
    throw new NoteError('malformed note');
  }
  if (!isValidText(note)) throw new NoteError('malformed note');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('malformed note');
  const text = note.slice(0, split + 1);
  const rest = note.slice(split + 2);
  if (!rest.endsWith('\n')) throw new NoteError('malformed note');
  const signatures: NoteSignature[] = [];
  for (const line of rest.slice(0, -1).split('\n')) {
    const m = /^— (\S+) (\S+)$/u.exec(line);
    if (!m) throw new NoteError('malformed note');
    const [, name, base64] = m as unknown as [string, string, string];
    const raw = decodeBase64(base64);
    if (!isValidKeyName(name) || !raw || raw.length < 5) throw new NoteError('malformed note');
    signatures.push({ name, id: raw.readUInt32BE(0), base64 });
    if (signatures.length > MAX_SIGNATURES) throw new NoteError('too many signatures');
  }
  if (signatures.length === 0) throw new NoteError('malformed note');
  return { text, signatures };
}

/**
 * Verifies a signed note against known keys. Signatures by unknown keys are ignored (they may be witnesses'); a
 * signature by a known key that fails to verify rejects the whole note, and so does a note no known key signed.
 * @throws NoteError
 */
export function openNote(note: string | Uint8Array, verifiers: readonly Verifier[]): OpenedNote {
  const { text, signatures } = parseNote(note);
  const message = Buffer.from(text, 'utf8');
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seen = new Set<string>();
  for (const sig of signatures) {
    // A repeated signature line says nothing new; Go's note package keeps one of each too.
    const line = `${sig.name} ${sig.base64}`;
    if (seen.has(line)) continue;
    seen.add(line);
    const matches = verifiers.filter((v) => v.name === sig.name && v.id === sig.id);
    if (matches.length === 0) {
      unverified.push(sig);
      continue;
    }
    if (matches.length > 1) throw new NoteError(`ambiguous key ${sig.name}+${hex8(sig.id)}`);
    if (!matches[0]!.verify(message, Buffer.from(sig.base64, 'base64').subarray(4)))
      throw new NoteError(`invalid signature by ${sig.name}+${hex8(sig.id)}`);
    verified.push(sig);
  }
  if (verified.length === 0) throw new NoteError('the note is not signed by a known key');
  return { text, verified, unverified };
}

export type Checkpoint = { origin: string; size: number; root: Buffer; extensions: string[] };

/** The c2sp.org/tlog-checkpoint note text: origin, decimal tree size, base64 root hash, each on its own line. */
export function formatCheckpoint(c: { origin: string; size: number; root: Uint8Array }): string {
  if (!c.origin || !isValidText(c.origin) || c.origin.includes('\n')) throw new NoteError('invalid checkpoint origin');
  if (!Number.isSafeInteger(c.size) || c.size < 0) throw new NoteError('invalid checkpoint tree size');
  if (c.root.length !== 32) throw new NoteError('a checkpoint root hash is 32 bytes');
  return `${c.origin}\n${c.size}\n${Buffer.from(c.root).toString('base64')}\n`;
}

export function parseCheckpoint(text: string): Checkpoint {
  checkText(text);
  const lines = text.slice(0, -1).split('\n');
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (!origin || !sizeText || !rootText || extensions.some((l) => l === ''))
    throw new NoteError('malformed checkpoint');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText)))
    throw new NoteError('malformed checkpoint tree size');
  const root = decodeBase64(rootText);
  if (!root || root.length !== 32) throw new NoteError('malformed checkpoint root hash');
  return { origin, size: Number(sizeText), root, extensions };
}

/** Opens a signed checkpoint: the log's key must have signed it, and its origin must be the one expected. */
export function openCheckpoint(
  note: string | Uint8Array,
  origin: string,
  logKey: Verifier,
  others: readonly Verifier[] = [],
): Checkpoint & { note: OpenedNote } {
  const opened = openNote(note, [logKey, ...others]);
  if (!opened.verified.some((s) => s.name === logKey.name && s.id === logKey.id))
    throw new NoteError('the checkpoint is not signed by the log key');
  const cp = parseCheckpoint(opened.text);
  if (cp.origin !== origin)
    throw new NoteError(`the checkpoint is for ${JSON.stringify(cp.origin)}, not ${JSON.stringify(origin)}`);
  return { ...cp, note: opened };
}
