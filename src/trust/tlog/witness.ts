// Witnesses (c2sp.org/tlog-witness) and their Ed25519 cosignatures (c2sp.org/tlog-cosignature, type 0x04). Pure:
// the add-checkpoint request format, the witness's decision for a request, and cosignature signing and checking.
// A witness remembers the latest checkpoint it cosigned per log and cosigns a new one only if it is consistent with
// it, so a log that showed different trees to different people would need the witnesses to collude.
import { sign as cryptoSign, verify as cryptoVerify, createPrivateKey, createPublicKey } from 'node:crypto';
import { verifyConsistency, ProofError, EMPTY_ROOT } from './merkle.ts';
import {
  NoteError,
  ed25519Signer,
  isValidKeyName,
  keyId,
  openNote,
  parseCheckpoint,
  parseNote,
  type Verifier,
} from './note.ts';

/** c2sp.org/signed-note signature type for timestamped Ed25519 checkpoint cosignatures. */
export const ALG_COSIGNATURE_V1 = 0x04;

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

/** The message a v1 cosignature signs: a header line, a time line, then the checkpoint text. */
export function cosignedMessage(checkpointText: string, timestamp: number): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${timestamp}\n${checkpointText}`, 'utf8');
}

export type Cosigner = {
  name: string;
  id: number;
  publicKey: Buffer;
  cosign(checkpointText: string, timestamp: number): string;
};

/** A witness key: signs cosignatures and renders them as note signature lines. */
export function ed25519Cosigner(name: string, seed: Uint8Array): Cosigner {
  if (!isValidKeyName(name)) throw new NoteError(`invalid key name ${JSON.stringify(name)}`);
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = ed25519Signer(name, seed).publicKey;
  const id = keyId(name, publicKey, ALG_COSIGNATURE_V1);
  return {
    name,
    id,
    publicKey,
    cosign(text, timestamp) {
      const head = Buffer.alloc(12);
      head.writeUInt32BE(id, 0);
      head.writeBigUInt64BE(BigInt(timestamp), 4);
      const sig = cryptoSign(null, cosignedMessage(text, timestamp), key);
      return `— ${name} ${Buffer.concat([head, sig]).toString('base64')}\n`;
    },
  };
}

/**
 * A note Verifier for a witness's cosignatures: the signature bytes after the key ID are an 8-byte big-endian
 * timestamp and an Ed25519 signature over cosignedMessage(text, timestamp).
 */
export function cosignatureVerifier(
  name: string,
  publicKey: Uint8Array,
  now?: () => number,
): Verifier & { timestampOf(sig: Uint8Array): number } {
  if (publicKey.length !== 32) throw new NoteError('an Ed25519 public key is 32 bytes');
  const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519, publicKey]), format: 'der', type: 'spki' });
  const timestampOf = (sig: Uint8Array) => Number(Buffer.from(sig).readBigUInt64BE(0));
  return {
    name,
    id: keyId(name, publicKey, ALG_COSIGNATURE_V1),
    publicKey: Buffer.from(publicKey),
    timestampOf,
    verify(message, signature) {
      if (signature.length !== 72) return false;
      const ts = Buffer.from(signature).readBigUInt64BE(0);
      if (ts >= 2n ** 63n) return false;
      // A cosignature from the future is refused when the caller gives a clock (with a minute of skew allowed).
      if (now && Number(ts) > now() / 1000 + 60) return false;
      return cryptoVerify(
        null,
        cosignedMessage(Buffer.from(message).toString('utf8'), Number(ts)),
        key,
        Buffer.from(signature).subarray(8),
      );
    },
  };
}

export function encodeCosignerKey(c: Pick<Cosigner, 'name' | 'id' | 'publicKey'>): string {
  return `${c.name}+${c.id.toString(16).padStart(8, '0')}+${Buffer.concat([Uint8Array.of(ALG_COSIGNATURE_V1), c.publicKey]).toString('base64')}`;
}

export function parseCosignerKey(vkey: string): Verifier & { timestampOf(sig: Uint8Array): number } {
  const [name, idHex, ...rest] = vkey.split('+');
  const raw = Buffer.from(rest.join('+'), 'base64');
  if (
    !name ||
    !isValidKeyName(name) ||
    !idHex ||
    !/^[0-9a-f]{8}$/.test(idHex) ||
    raw.length !== 33 ||
    raw[0] !== ALG_COSIGNATURE_V1 ||
    raw.toString('base64') !== rest.join('+')
  )
    throw new NoteError('malformed witness key');
  const v = cosignatureVerifier(name, raw.subarray(1));
  if (v.id.toString(16).padStart(8, '0') !== idHex) throw new NoteError('witness key ID does not match its key');
  return v;
}

/** The add-checkpoint request body: "old <size>", the consistency proof, an empty line, the signed checkpoint. */
export function formatAddCheckpoint(oldSize: number, proof: readonly Uint8Array[], checkpointNote: string): string {
  return `old ${oldSize}\n${proof.map((p) => `${Buffer.from(p).toString('base64')}\n`).join('')}\n${checkpointNote}`;
}

export class WitnessRefusal extends Error {
  override name = 'WitnessRefusal';
  readonly status: number;
  readonly body: string;
  readonly contentType: string;
  constructor(status: number, message: string, body?: string, contentType = 'text/plain; charset=utf-8') {
    super(message);
    this.status = status;
    this.body = body ?? `${message}\n`;
    this.contentType = contentType;
  }
}

export function parseAddCheckpoint(body: string): { oldSize: number; proof: Buffer[]; note: string } {
  const blank = body.indexOf('\n\n');
  if (blank < 0) throw new WitnessRefusal(400, 'malformed add-checkpoint request');
  const lines = body.slice(0, blank).split('\n');
  const m = /^old (0|[1-9][0-9]*)$/.exec(lines[0] ?? '');
  if (!m || !Number.isSafeInteger(Number(m[1]))) throw new WitnessRefusal(400, 'malformed old size line');
  const proof = lines.slice(1).map((l) => {
    const b = Buffer.from(l, 'base64');
    if (b.length !== 32 || b.toString('base64') !== l)
      throw new WitnessRefusal(400, 'malformed consistency proof line');
    return b;
  });
  if (proof.length > 63) throw new WitnessRefusal(400, 'too many consistency proof lines');
  return { oldSize: Number(m[1]), proof, note: body.slice(blank + 2) };
}

export type WitnessedLog = { origin: string; keys: Verifier[] };
type Latest = { size: number; root: Buffer };

/**
 * The decision part of a witness, with its state in memory. handle() is synchronous, so checking the old size and
 * recording the new checkpoint happen atomically (the race the spec warns about cannot occur within one process).
 */
export class WitnessCore {
  readonly #logs: Map<string, WitnessedLog>;
  readonly #latest = new Map<string, Latest>();
  readonly #cosigner: Cosigner;
  readonly #clock: () => number;

  constructor(cosigner: Cosigner, logs: readonly WitnessedLog[], clock: () => number = Date.now) {
    this.#cosigner = cosigner;
    this.#logs = new Map(logs.map((l) => [l.origin, l]));
    this.#clock = clock;
  }

  latest(origin: string): Latest | undefined {
    return this.#latest.get(origin);
  }

  /** Returns the cosignature lines, or throws WitnessRefusal with the status the spec assigns. */
  addCheckpoint(body: string): string {
    const req = parseAddCheckpoint(body);
    let text: string;
    let parsed;
    try {
      ({ text } = parseNote(req.note));
      parsed = parseCheckpoint(text);
    } catch {
      throw new WitnessRefusal(400, 'malformed checkpoint');
    }
    const log = this.#logs.get(parsed.origin);
    if (!log) throw new WitnessRefusal(404, 'unknown log origin');
    try {
      openNote(req.note, log.keys);
    } catch {
      throw new WitnessRefusal(403, 'the checkpoint is not validly signed by the log');
    }
    if (req.oldSize > parsed.size) throw new WitnessRefusal(400, 'the old size is larger than the checkpoint');
    const latest = this.#latest.get(parsed.origin) ?? { size: 0, root: EMPTY_ROOT };
    if (req.oldSize !== latest.size)
      throw new WitnessRefusal(
        409,
        'the old size is not the latest cosigned size',
        `${latest.size}\n`,
        'text/x.tlog.size',
      );
    if (parsed.size === 0 && !parsed.root.equals(EMPTY_ROOT))
      throw new WitnessRefusal(422, 'an empty tree has the empty root');
    if (req.oldSize === 0) {
      if (req.proof.length) throw new WitnessRefusal(422, 'no proof is needed from the empty tree');
    } else if (req.oldSize === parsed.size) {
      if (req.proof.length || !latest.root.equals(parsed.root))
        throw new WitnessRefusal(422, 'same size, different tree');
    } else {
      try {
        verifyConsistency(req.oldSize, parsed.size, req.proof, latest.root, parsed.root);
      } catch (err) {
        if (err instanceof ProofError)
          throw new WitnessRefusal(
            422,
            `the checkpoint is not consistent with the one cosigned before: ${err.message}`,
          );
        throw err;
      }
    }
    this.#latest.set(parsed.origin, { size: parsed.size, root: parsed.root });
    return this.#cosigner.cosign(text, Math.floor(this.#clock() / 1000));
  }
}
