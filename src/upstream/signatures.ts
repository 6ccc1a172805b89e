// The upstream's registry signatures, checked before a proxied version is offered: exactly the rule npm applies in
// `npm audit signatures` (pacote's lib/registry.js with keys from the registry's /-/npm/v1/keys, as npm's
// lib/utils/verify-signatures.js fetches them). Every signature a version carries must name a key the upstream
// publishes, that key must not have expired before the version was published, and the signature must verify over
// `name@version:integrity`; a version with no signature at all, from an upstream that publishes keys, is what npm
// reports as "missing" and is not offered either. Pure: the keys document and the version in, a reason or null out.
import type { KeyObject } from 'node:crypto';
import { keyValidFor, publicKeyFromBase64, verifyVersion } from '../trust/registry-signatures.ts';

/** One key of an upstream's /-/npm/v1/keys: its public key (null when it cannot be read) and when it expired. */
export type UpstreamKey = { keyid: string; publicKey: KeyObject | null; expires: string | null };

/** An upstream's signing keys by key id. */
export type UpstreamKeys = ReadonlyMap<string, UpstreamKey>;

// pacote's MISSING_TIME_CUTOFF: a version whose packument gives no publication time counts as published then.
const MISSING_TIME_CUTOFF = '2015-01-01T00:00:00.000Z';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads the body of an upstream's /-/npm/v1/keys. Entries without a string keyid and key are left out; a key that is
 * not a readable public key is kept (a signature naming it then fails to verify, as it would in npm). Throws when the
 * document is not `{ keys: [...] }`.
 */
export function parseKeysDocument(text: string): Map<string, UpstreamKey> {
  const doc: unknown = JSON.parse(text);
  if (!isObject(doc) || !Array.isArray(doc.keys)) throw new Error('the keys document has no "keys" list');
  const keys = new Map<string, UpstreamKey>();
  for (const k of doc.keys) {
    if (!isObject(k) || typeof k.keyid !== 'string' || typeof k.key !== 'string') continue;
    let publicKey: KeyObject | null;
    try {
      publicKey = publicKeyFromBase64(k.key);
    } catch {
      publicKey = null;
    }
    keys.set(k.keyid, { keyid: k.keyid, publicKey, expires: typeof k.expires === 'string' ? k.expires : null });
  }
  return keys;
}

/** The integrity npm signs for a version: dist.integrity as given, else the sha1 SRI of the legacy dist.shasum. */
export function signedIntegrity(dist: { integrity?: unknown; shasum?: unknown }): string | null {
  if (typeof dist.integrity === 'string' && dist.integrity.trim()) return dist.integrity.trim().split(/\s+/).join(' ');
  if (typeof dist.shasum === 'string' && /^[0-9a-f]{40}$/i.test(dist.shasum))
    return `sha1-${Buffer.from(dist.shasum, 'hex').toString('base64')}`;
  return null;
}

/**
 * Why npm would refuse this version's registry signatures, or null when they verify.
 * @param time the upstream packument's time[version] (npm's `_time`), undefined when it gives none.
 */
export function signatureProblem(
  keys: UpstreamKeys,
  name: string,
  version: string,
  dist: { integrity?: unknown; shasum?: unknown; signatures?: unknown },
  time: unknown,
): string | null {
  const id = `${name}@${version}`;
  const signatures = Array.isArray(dist.signatures) ? dist.signatures : [];
  if (signatures.length === 0)
    return `${id} has no registry signature, but its upstream publishes signing keys: every version it serves must be signed`;
  const integrity = signedIntegrity(dist);
  if (!integrity) return `${id} gives no integrity for its registry signature to cover`;
  const publishedAt = Date.parse(typeof time === 'string' && time ? time : MISSING_TIME_CUTOFF);
  for (const s of signatures as unknown[]) {
    const keyid = isObject(s) && typeof s.keyid === 'string' ? s.keyid : null;
    const sig = isObject(s) && typeof s.sig === 'string' ? s.sig : null;
    if (!keyid || !sig) return `${id} has a malformed registry signature (no keyid or sig)`;
    const key = keys.get(keyid);
    if (!key)
      return `${id} has a registry signature with keyid ${keyid}, but its upstream's /-/npm/v1/keys lists no such key`;
    // pacote: `!expires || publishedTime < Date.parse(expires)`; an unreadable expiry date is not a valid key.
    if (key.expires !== null && !keyValidFor(Date.parse(key.expires), publishedAt))
      return `${id} has a registry signature with keyid ${keyid}, but that key expired ${key.expires}, before the version was published`;
    let valid: boolean;
    try {
      valid = key.publicKey !== null && verifyVersion(key.publicKey, sig, name, version, integrity);
    } catch {
      // A signature that is not DER: npm's verifier throws, which fails the check as well.
      valid = false;
    }
    if (!valid)
      return `${id} has an invalid registry signature with keyid ${keyid}: it does not verify over ${id}:${integrity.slice(0, 24)}…`;
  }
  return null;
}
