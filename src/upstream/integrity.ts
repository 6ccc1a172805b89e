// The check every proxied tarball passes on its way in: its bytes must hash to what the upstream's packument
// promised (dist.integrity's sha512, else the legacy dist.shasum), before anything is cached or scanned. Pure.
import { createHash } from 'node:crypto';

export type Dist = { integrity?: unknown; shasum?: unknown };

/** What a version's tarball must hash to: the strongest hash its dist offers, or null when it offers none. */
export function expectedHash(dist: Dist): { algorithm: 'sha512' | 'sha1'; digest: string; sri: string } | null {
  if (typeof dist.integrity === 'string') {
    // An SRI string may list several hashes ("sha512-… sha1-…"); the strongest one is the one that counts.
    for (const part of dist.integrity.trim().split(/\s+/)) {
      const m = /^sha512-([A-Za-z0-9+/]{86}==)(\?.*)?$/.exec(part);
      if (m)
        return { algorithm: 'sha512', digest: Buffer.from(m[1]!, 'base64').toString('hex'), sri: `sha512-${m[1]}` };
    }
  }
  if (typeof dist.shasum === 'string' && /^[0-9a-f]{40}$/i.test(dist.shasum)) {
    const hex = dist.shasum.toLowerCase();
    return { algorithm: 'sha1', digest: hex, sri: `sha1-${Buffer.from(hex, 'hex').toString('base64')}` };
  }
  return null;
}

export const sha512Sri = (bytes: Uint8Array): string => `sha512-${createHash('sha512').update(bytes).digest('base64')}`;

/** null when the bytes are what dist promised; otherwise why they are refused. */
export function integrityProblem(bytes: Uint8Array, dist: Dist): string | null {
  const want = expectedHash(dist);
  if (!want) return 'the upstream gives no sha512 integrity or shasum for it, so its bytes cannot be checked';
  const got = createHash(want.algorithm).update(bytes).digest('hex');
  return got === want.digest
    ? null
    : `its bytes hash to ${want.algorithm} ${got.slice(0, 16)}…, not the ${want.sri.slice(0, 24)}… the upstream's packument promises`;
}
