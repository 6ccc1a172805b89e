// The records the transparency log holds, one per public package event, and their exact bytes. Pure.
// docs/transparency-log.md is the normative description; this file and that page change together.
//
// A leaf's bytes are canonical JSON: one object, no whitespace, the keys in the order listed below for its type,
// strings escaped as ECMAScript's JSON.stringify does (which is RFC 8785's string form), integers only, UTF-8.
// A reader rebuilds a leaf by writing the same object in the same order; decodeRecord() refuses any other spelling,
// so each event has exactly one leaf.
import { createHash, timingSafeEqual } from 'node:crypto';

/** The leaf format version; a change to any record's fields or order needs a new one. */
export const LEAF_VERSION = 1;

/** Field order per record type, after the common "v" and "type". Never reorder: it is the serialization. */
export const RECORD_FIELDS = {
  'version-published': ['name', 'version', 'integrity', 'publisher', 'time'],
  'version-unpublished': ['name', 'version', 'actor', 'time'],
  'package-unpublished': ['name', 'actor', 'time'],
  'version-deprecated': ['name', 'version', 'message', 'actor', 'time'],
  'dist-tag-set': ['name', 'tag', 'version', 'actor', 'time'],
  'dist-tag-removed': ['name', 'tag', 'actor', 'time'],
  'maintainer-added': ['name', 'user', 'actor', 'time'],
  'maintainer-removed': ['name', 'user', 'actor', 'time'],
  'team-access-granted': ['name', 'team', 'permission', 'actor', 'time'],
  'team-access-revoked': ['name', 'team', 'actor', 'time'],
  'package-created': ['name', 'actor', 'time'],
  'package-transferred': ['name', 'from', 'to', 'actor', 'time'],
  'malicious-package-removed': ['name', 'version', 'reason', 'actor', 'time'],
} as const;

export type RecordType = keyof typeof RECORD_FIELDS;
type FieldOf<T extends RecordType> = (typeof RECORD_FIELDS)[T][number];
export type LeafRecord = { [T in RecordType]: { type: T } & { [F in FieldOf<T>]: string } }[RecordType];

/** A sealed leaf's type: it commits to a record without showing it (restricted packages). */
export const SEALED_TYPE = 'sealed';
export const SALT_BYTES = 32;

export class LeafError extends Error {
  override name = 'LeafError';
}

/**
 * Who did it, as one string: "user:<name>" for an account. Trusted publishing will add "oidc:<issuer>:<subject>";
 * the prefix keeps the forms apart.
 */
export const userIdentity = (name: string) => `user:${name}`;

/** Times are UTC ISO 8601 with milliseconds, exactly as the packument's `time` object shows them. */
export const leafTime = (ms: number) => new Date(ms).toISOString();

export function encodeRecord(record: LeafRecord): Buffer {
  const fields = RECORD_FIELDS[record.type] as readonly string[];
  if (!fields) throw new LeafError(`unknown record type ${JSON.stringify(record.type)}`);
  const values = record as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = { v: LEAF_VERSION, type: record.type };
  for (const f of fields) {
    const value = values[f];
    if (typeof value !== 'string') throw new LeafError(`a ${record.type} record needs a string "${f}"`);
    out[f] = value;
  }
  const extra = Object.keys(values).filter((k) => k !== 'type' && !fields.includes(k));
  if (extra.length) throw new LeafError(`a ${record.type} record has no field ${extra.join(', ')}`);
  const bytes = Buffer.from(JSON.stringify(out), 'utf8');
  // Entry bundles prefix each entry with a 16-bit length (c2sp.org/tlog-tiles).
  if (bytes.length > 0xffff) throw new LeafError('a log record must be under 64 KiB');
  return bytes;
}

function parseCanonical(bytes: Uint8Array): Record<string, unknown> {
  let text: string;
  let value: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    value = JSON.parse(text);
  } catch {
    throw new LeafError('a log leaf is not UTF-8 JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new LeafError('a log leaf is not a JSON object');
  const obj = value as Record<string, unknown>;
  if (obj.v !== LEAF_VERSION) throw new LeafError(`unknown leaf version ${JSON.stringify(obj.v)}`);
  return obj;
}

/** Reads a clear leaf; refuses anything that is not exactly the canonical bytes of its record. */
export function decodeRecord(bytes: Uint8Array): LeafRecord {
  const obj = parseCanonical(bytes);
  const { v: _v, ...record } = obj;
  if (typeof record.type !== 'string' || !(record.type in RECORD_FIELDS)) throw new LeafError(`not a clear record: ${JSON.stringify(record.type)}`);
  const again = encodeRecord(record as LeafRecord);
  if (!again.equals(Buffer.from(bytes))) throw new LeafError('a log leaf is not in canonical form');
  return record as LeafRecord;
}

/**
 * The commitment to a record: SHA-256(salt || record bytes), where salt is 32 random bytes kept by the registry and
 * shown only to those who may read the package. Without the salt, a guess at the record (a name and version) cannot be
 * checked against the leaf.
 */
export function commitment(salt: Uint8Array, record: Uint8Array): Buffer {
  if (salt.length !== SALT_BYTES) throw new LeafError(`a salt is ${SALT_BYTES} bytes`);
  return createHash('sha256').update(salt).update(record).digest();
}

/** The leaf that stands for a restricted package's record: {"v":1,"type":"sealed","commitment":"<base64>"}. */
export function sealedLeaf(salt: Uint8Array, record: Uint8Array): Buffer {
  return Buffer.from(JSON.stringify({ v: LEAF_VERSION, type: SEALED_TYPE, commitment: commitment(salt, record).toString('base64') }), 'utf8');
}

export type DecodedLeaf = { sealed: false; record: LeafRecord } | { sealed: true; commitment: Buffer };

export function decodeLeaf(bytes: Uint8Array): DecodedLeaf {
  const obj = parseCanonical(bytes);
  if (obj.type === SEALED_TYPE) {
    const c = typeof obj.commitment === 'string' ? Buffer.from(obj.commitment, 'base64') : null;
    if (!c || c.length !== 32) throw new LeafError('a sealed leaf needs a 32-byte commitment');
    const again = Buffer.from(JSON.stringify({ v: LEAF_VERSION, type: SEALED_TYPE, commitment: c.toString('base64') }), 'utf8');
    if (!again.equals(Buffer.from(bytes))) throw new LeafError('a log leaf is not in canonical form');
    return { sealed: true, commitment: c };
  }
  return { sealed: false, record: decodeRecord(bytes) };
}

/** Opens a sealed leaf with the salt and record its readers get; true only if they are what the leaf committed to. */
export function opensSealedLeaf(leaf: Uint8Array, salt: Uint8Array, record: Uint8Array): boolean {
  const decoded = decodeLeaf(leaf);
  if (!decoded.sealed || salt.length !== SALT_BYTES) return false;
  return timingSafeEqual(decoded.commitment, commitment(salt, record));
}

/** The domain events the log records, with the shape of their data. Other kinds (accounts, sessions) are private. */
export type LoggedEvent = { kind: string; subject: string; data: Record<string, unknown>; createdAt: number; actor: string | null };

const str = (v: unknown) => (typeof v === 'string' ? v : null);

/**
 * The records one domain event adds to the log, in order (none for events the log does not record). A publish adds
 * its version and the dist-tag it moved. `actor` is the identity of who acted, or null when the system did.
 */
export function recordsForEvent(e: LoggedEvent): LeafRecord[] {
  const name = e.subject;
  const time = leafTime(e.createdAt);
  const actor = e.actor ?? 'system';
  const d = e.data;
  switch (e.kind) {
    case 'package.created':
      return [{ type: 'package-created', name, actor, time }];
    case 'package.version-published': {
      const version = str(d.version);
      const integrity = str(d.integrity);
      if (!version || !integrity) throw new LeafError(`event for ${name} has no version or integrity`);
      const out: LeafRecord[] = [{ type: 'version-published', name, version, integrity, publisher: actor, time }];
      const tag = str(d.tag);
      if (tag) out.push({ type: 'dist-tag-set', name, tag, version, actor, time });
      return out;
    }
    case 'package.version-unpublished':
      return [{ type: 'version-unpublished', name, version: str(d.version) ?? '', actor, time }];
    case 'package.unpublished':
      return [{ type: 'package-unpublished', name, actor, time }];
    case 'package.version-deprecated':
      return [{ type: 'version-deprecated', name, version: str(d.version) ?? '', message: str(d.message) ?? '', actor, time }];
    case 'package.dist-tag-set':
      return [{ type: 'dist-tag-set', name, tag: str(d.tag) ?? '', version: str(d.version) ?? '', actor, time }];
    case 'package.dist-tag-removed':
      return [{ type: 'dist-tag-removed', name, tag: str(d.tag) ?? '', actor, time }];
    case 'package.maintainer-added':
      return [{ type: 'maintainer-added', name, user: userIdentity(str(d.user) ?? ''), actor, time }];
    case 'package.maintainer-removed':
      return [{ type: 'maintainer-removed', name, user: userIdentity(str(d.user) ?? ''), actor, time }];
    case 'package.team-access-granted':
      return [{ type: 'team-access-granted', name, team: str(d.team) ?? '', permission: str(d.permission) ?? '', actor, time }];
    case 'package.team-access-revoked':
      return [{ type: 'team-access-revoked', name, team: str(d.team) ?? '', actor, time }];
    case 'package.transferred':
      return [{ type: 'package-transferred', name, from: str(d.from) ?? '', to: str(d.to) ?? '', actor, time }];
    case 'package.malicious-removed':
      return [{ type: 'malicious-package-removed', name, version: str(d.version) ?? '*', reason: str(d.reason) ?? '', actor, time }];
    default:
      return [];
  }
}

/**
 * What a reader recomputes from the full packument the registry serves: the version-published record of one version,
 * from versions[v].dist.integrity, versions[v]._npmUser.name and time[v].
 * @throws LeafError when the packument lacks one of those fields.
 */
export function publishedRecordFromPackument(packument: Record<string, unknown>, version: string): LeafRecord {
  const name = str(packument.name);
  const v = (packument.versions as Record<string, Record<string, unknown>> | undefined)?.[version];
  const integrity = str((v?.dist as Record<string, unknown> | undefined)?.integrity);
  const publisher = str((v?._npmUser as Record<string, unknown> | undefined)?.name);
  const time = str((packument.time as Record<string, unknown> | undefined)?.[version]);
  if (!name || !v || !integrity || !publisher || !time) throw new LeafError(`the packument does not describe ${version} fully (name, dist.integrity, _npmUser, time)`);
  return { type: 'version-published', name, version, integrity, publisher: userIdentity(publisher), time };
}
