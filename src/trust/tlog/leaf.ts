// The records the transparency log holds, one per public package event, and their exact bytes. Pure.
// docs/transparency-log.md is the normative description; this file and that page change together.
//
// A leaf's bytes are canonical JSON: one object, no whitespace, the keys in the order listed below for its type,
// strings escaped as ECMAScript's JSON.stringify does (which is RFC 8785's string form), integers only, UTF-8.
// A reader rebuilds a leaf by writing the same object in the same order; decodeRecord() refuses any other spelling,
// so each event has exactly one leaf.
import { createHash, timingSafeEqual } from 'node:crypto';
import { EventKind, type EventData, type EventKindValue } from '../../store/events.ts';

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
  'version-proxied': ['name', 'version', 'integrity', 'upstream', 'time'],
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
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new LeafError('a log leaf is not a JSON object');
  const obj = value as Record<string, unknown>;
  if (obj.v !== LEAF_VERSION) throw new LeafError(`unknown leaf version ${JSON.stringify(obj.v)}`);
  return obj;
}

/** Reads a clear leaf; refuses anything that is not exactly the canonical bytes of its record. */
export function decodeRecord(bytes: Uint8Array): LeafRecord {
  const obj = parseCanonical(bytes);
  const { v: _v, ...record } = obj;
  if (typeof record.type !== 'string' || !(record.type in RECORD_FIELDS))
    throw new LeafError(`not a clear record: ${JSON.stringify(record.type)}`);
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
  return Buffer.from(
    JSON.stringify({ v: LEAF_VERSION, type: SEALED_TYPE, commitment: commitment(salt, record).toString('base64') }),
    'utf8',
  );
}

export type DecodedLeaf = { sealed: false; record: LeafRecord } | { sealed: true; commitment: Buffer };

export function decodeLeaf(bytes: Uint8Array): DecodedLeaf {
  const obj = parseCanonical(bytes);
  if (obj.type === SEALED_TYPE) {
    const c = typeof obj.commitment === 'string' ? Buffer.from(obj.commitment, 'base64') : null;
    if (!c || c.length !== 32) throw new LeafError('a sealed leaf needs a 32-byte commitment');
    const again = Buffer.from(
      JSON.stringify({ v: LEAF_VERSION, type: SEALED_TYPE, commitment: c.toString('base64') }),
      'utf8',
    );
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

/** A domain event as the log reads it from the event stream: its data is as recorded (JSON), not yet checked. */
export type LoggedEvent = {
  kind: string;
  subject: string;
  data: Record<string, unknown>;
  createdAt: number;
  actor: string | null;
};

/** One event of kind K, as a mapping to records sees it: subject as name, the time and actor in their leaf forms. */
type EventFor<K extends EventKindValue> = { kind: K; name: string; data: EventData<K>; actor: string; time: string };
type Mapping<K extends EventKindValue> = ((e: EventFor<K>) => LeafRecord[]) | typeof PRIVATE;
/** The fields of D that always hold a string. */
type StringField<D> = { [F in keyof D]-?: D[F] extends string ? F : never }[keyof D] & string;

/** Marks a kind the log never records: account, session, organisation and moderation events are not public. */
const PRIVATE = 'private';

const str = (v: unknown) => (typeof v === 'string' ? v : null);

/**
 * A field of the event's data that its record needs. Recorded events are JSON written by earlier code: a field that
 * is missing (or not a string) is an error, never signed as a stand-in value.
 */
function need<K extends EventKindValue>(e: EventFor<K>, field: StringField<EventData<K>>): string {
  const value = (e.data as Record<string, unknown>)[field];
  if (typeof value !== 'string') throw new LeafError(`a ${e.kind} event for ${e.name} has no "${field}"`);
  return value;
}

/**
 * The records each kind of event adds to the log, in order, or PRIVATE. Every kind is listed, so a new kind does not
 * compile until it is mapped or marked private here. A publish adds its version and the dist-tag it moved.
 */
const LEAVES = {
  [EventKind.PackageCreated]: (e) => [{ type: 'package-created', name: e.name, actor: e.actor, time: e.time }],
  [EventKind.VersionPublished]: (e) => {
    const version = need(e, 'version');
    const out: LeafRecord[] = [
      {
        type: 'version-published',
        name: e.name,
        version,
        integrity: need(e, 'integrity'),
        publisher: e.actor,
        time: e.time,
      },
    ];
    // An event that names no tag moved none.
    const tag = str(e.data.tag);
    if (tag) out.push({ type: 'dist-tag-set', name: e.name, tag, version, actor: e.actor, time: e.time });
    return out;
  },
  [EventKind.VersionUnpublished]: (e) => [
    { type: 'version-unpublished', name: e.name, version: need(e, 'version'), actor: e.actor, time: e.time },
  ],
  [EventKind.PackageUnpublished]: (e) => [{ type: 'package-unpublished', name: e.name, actor: e.actor, time: e.time }],
  [EventKind.VersionDeprecated]: (e) => [
    {
      type: 'version-deprecated',
      name: e.name,
      version: need(e, 'version'),
      message: need(e, 'message'),
      actor: e.actor,
      time: e.time,
    },
  ],
  [EventKind.DistTagSet]: (e) => [
    {
      type: 'dist-tag-set',
      name: e.name,
      tag: need(e, 'tag'),
      version: need(e, 'version'),
      actor: e.actor,
      time: e.time,
    },
  ],
  [EventKind.DistTagRemoved]: (e) => [
    { type: 'dist-tag-removed', name: e.name, tag: need(e, 'tag'), actor: e.actor, time: e.time },
  ],
  [EventKind.MaintainerAdded]: (e) => [
    { type: 'maintainer-added', name: e.name, user: userIdentity(need(e, 'user')), actor: e.actor, time: e.time },
  ],
  [EventKind.MaintainerRemoved]: (e) => [
    { type: 'maintainer-removed', name: e.name, user: userIdentity(need(e, 'user')), actor: e.actor, time: e.time },
  ],
  [EventKind.TeamGrantAdded]: (e) => [
    {
      type: 'team-access-granted',
      name: e.name,
      team: need(e, 'team'),
      permission: need(e, 'permission'),
      actor: e.actor,
      time: e.time,
    },
  ],
  [EventKind.TeamGrantRemoved]: (e) => [
    { type: 'team-access-revoked', name: e.name, team: need(e, 'team'), actor: e.actor, time: e.time },
  ],
  [EventKind.PackageTransferred]: (e) => [
    {
      type: 'package-transferred',
      name: e.name,
      from: need(e, 'from'),
      to: need(e, 'to'),
      actor: e.actor,
      time: e.time,
    },
  ],
  [EventKind.MaliciousRemoved]: (e) => [
    {
      type: 'malicious-package-removed',
      name: e.name,
      version: need(e, 'version'),
      reason: need(e, 'reason'),
      actor: e.actor,
      time: e.time,
    },
  ],
  // A version of a package not hosted here, served from an upstream after its checks: what this registry vouched for
  // under the name, and where it came from (a registry that later serves other bytes for it is caught by this entry).
  [EventKind.UpstreamVersionAdmitted]: (e) => [
    {
      type: 'version-proxied',
      name: e.name,
      version: need(e, 'version'),
      integrity: need(e, 'integrity'),
      upstream: need(e, 'upstream'),
      time: e.time,
    },
  ],
  // Who can read a package changes nothing the log shows: its records are sealed or clear as the package is when logged.
  [EventKind.PackageAccessChanged]: PRIVATE,
  [EventKind.VersionHeld]: PRIVATE,
  [EventKind.VersionQuarantined]: PRIVATE,
  [EventKind.VersionReleased]: PRIVATE,
  [EventKind.VersionsSigned]: PRIVATE,
  [EventKind.ModerationAction]: PRIVATE,
  [EventKind.ReportReceived]: PRIVATE,
  [EventKind.ReportResolved]: PRIVATE,
  [EventKind.SecurityReportAnswered]: PRIVATE,
  [EventKind.SecurityReportReceived]: PRIVATE,
  [EventKind.NameAllowed]: PRIVATE,
  [EventKind.NameReservationRemoved]: PRIVATE,
  [EventKind.NameReserved]: PRIVATE,
  [EventKind.OrgCreated]: PRIVATE,
  [EventKind.OrgDeleted]: PRIVATE,
  [EventKind.OrgMemberAdded]: PRIVATE,
  [EventKind.OrgMemberRemoved]: PRIVATE,
  [EventKind.OrgMemberRoleChanged]: PRIVATE,
  [EventKind.TeamCreated]: PRIVATE,
  [EventKind.TeamDeleted]: PRIVATE,
  [EventKind.TeamMemberAdded]: PRIVATE,
  [EventKind.TeamMemberRemoved]: PRIVATE,
  [EventKind.SigningKeyCreated]: PRIVATE,
  [EventKind.SigningKeyRotated]: PRIVATE,
  // A star is a reader's bookmark, not a change to what the package is: nothing for the log to prove.
  [EventKind.StarAdded]: PRIVATE,
  [EventKind.StarRemoved]: PRIVATE,
  [EventKind.SessionCreated]: PRIVATE,
  [EventKind.TokenCreated]: PRIVATE,
  [EventKind.TokenRevoked]: PRIVATE,
  [EventKind.RecoveryCodeUsed]: PRIVATE,
  [EventKind.RecoveryCodesRegenerated]: PRIVATE,
  [EventKind.UserCreated]: PRIVATE,
  [EventKind.UserDeleted]: PRIVATE,
  [EventKind.UserDisabled]: PRIVATE,
  [EventKind.UserEnabled]: PRIVATE,
  [EventKind.UserPasswordResetForced]: PRIVATE,
  [EventKind.UserRecoveredByAdmin]: PRIVATE,
  [EventKind.UserRecoveryCancelled]: PRIVATE,
  [EventKind.UserRecoveryStarted]: PRIVATE,
  [EventKind.UserSignInLocked]: PRIVATE,
  [EventKind.UserEmailChanged]: PRIVATE,
  [EventKind.UserEmailVerified]: PRIVATE,
  [EventKind.UserMfaDisabled]: PRIVATE,
  [EventKind.UserMfaEnabled]: PRIVATE,
  [EventKind.UserMfaModeChanged]: PRIVATE,
  [EventKind.UserModeratorChanged]: PRIVATE,
  [EventKind.UserPasswordChanged]: PRIVATE,
  [EventKind.UserPasswordResetRequested]: PRIVATE,
  [EventKind.UserProfileChanged]: PRIVATE,
  [EventKind.UserVerificationRequested]: PRIVATE,
} satisfies { [K in EventKindValue]: Mapping<K> };

const isEventKind = (kind: string): kind is EventKindValue => Object.hasOwn(LEAVES, kind);

/**
 * The records one domain event adds to the log, in order (none for a private kind). `actor` is the identity of who
 * acted, or null when the system did.
 * @throws LeafError for a kind this code does not know (a newer release recorded it, or it was renamed) and for data
 * that lacks a field its records need: the log stops there, loudly, rather than leave an event out or sign a guess.
 */
export function recordsForEvent(e: LoggedEvent): LeafRecord[] {
  if (!isEventKind(e.kind))
    throw new LeafError(`unknown event kind ${JSON.stringify(e.kind)} (event for ${e.subject})`);
  const mapping: Mapping<EventKindValue> = LEAVES[e.kind] as Mapping<EventKindValue>;
  if (mapping === PRIVATE) return [];
  // The data is checked field by field as the mapping reads it (need()).
  return mapping({
    kind: e.kind,
    name: e.subject,
    data: e.data as EventData<EventKindValue>,
    actor: e.actor ?? 'system',
    time: leafTime(e.createdAt),
  });
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
  if (!name || !v || !integrity || !publisher || !time)
    throw new LeafError(`the packument does not describe ${version} fully (name, dist.integrity, _npmUser, time)`);
  return { type: 'version-published', name, version, integrity, publisher: userIdentity(publisher), time };
}
