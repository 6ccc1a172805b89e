// npm registry signatures (the registry side of `npm audit signatures`): ECDSA P-256 over `name@version:integrity`,
// key ids, and the /-/npm/v1/keys document. Pure: keys in, strings out. The verifying side is pacote's
// lib/registry.js (verifySignatures) and npm's lib/utils/verify-signatures.js; the shapes here follow them exactly.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';

export type RegistrySignature = { keyid: string; sig: string };

/** One entry of GET /-/npm/v1/keys. `expires` null means the key still signs. */
export type PublishedKey = {
  expires: string | null;
  keyid: string;
  keytype: 'ecdsa-sha2-nistp256';
  scheme: 'ecdsa-sha2-nistp256';
  key: string;
};

export const KEY_TYPE = 'ecdsa-sha2-nistp256' as const;

/** What npm verifies: pacote builds `${mani._id}:${mani._integrity}`, with _id = name@version. */
export const signedMessage = (name: string, version: string, integrity: string): string =>
  `${name}@${version}:${integrity}`;

export type SigningKeyPair = { privateKey: KeyObject; publicKey: KeyObject };

export function generateSigningKey(): SigningKeyPair {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

/** The public key as /-/npm/v1/keys carries it: base64 DER SubjectPublicKeyInfo (npm wraps it in PEM armour). */
export const publicKeyBase64 = (publicKey: KeyObject): string =>
  publicKey.export({ format: 'der', type: 'spki' }).toString('base64');

export const privateKeyDer = (privateKey: KeyObject): Buffer => privateKey.export({ format: 'der', type: 'pkcs8' });

export const privateKeyFromDer = (der: Buffer): KeyObject =>
  createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });

export const publicKeyFromBase64 = (b64: string): KeyObject =>
  createPublicKey({ key: Buffer.from(b64, 'base64'), format: 'der', type: 'spki' });

/**
 * The key id as npmjs.com forms it: OpenSSH's fingerprint, "SHA256:" + unpadded base64 of SHA-256 over the key in SSH
 * wire format (string "ecdsa-sha2-nistp256", string "nistp256", string Q). npm's own published key
 * SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA is exactly that (see the unit test), not a hash of the DER. npm
 * only compares the strings, but matching npmjs.com means `ssh-keygen -lf` on the key prints the same id.
 */
export function keyId(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.crv !== 'P-256' || !jwk.x || !jwk.y) throw new Error('registry signing keys are ECDSA P-256');
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
  const field = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  const wire = Buffer.concat([field(Buffer.from(KEY_TYPE)), field(Buffer.from('nistp256')), field(point)]);
  return `SHA256:${createHash('sha256').update(wire).digest('base64').replace(/=+$/, '')}`;
}

/** ECDSA-SHA256, DER-encoded, base64: what pacote hands to crypto.verify with 'base64'. */
export function signVersion(
  privateKey: KeyObject,
  keyid: string,
  name: string,
  version: string,
  integrity: string,
): RegistrySignature {
  return {
    keyid,
    sig: sign('sha256', Buffer.from(signedMessage(name, version, integrity)), {
      key: privateKey,
      dsaEncoding: 'der',
    }).toString('base64'),
  };
}

export function verifyVersion(
  publicKey: KeyObject,
  sig: string,
  name: string,
  version: string,
  integrity: string,
): boolean {
  return verify(
    'sha256',
    Buffer.from(signedMessage(name, version, integrity)),
    { key: publicKey, dsaEncoding: 'der' },
    Buffer.from(sig, 'base64'),
  );
}

export type KeyRecord = { keyid: string; publicKey: string; expiresAt: number | null };

/** The body of GET /-/npm/v1/keys, every key that ever signed, so older signatures keep verifying. */
export function keysDocument(keys: readonly KeyRecord[]): { keys: PublishedKey[] } {
  return {
    keys: keys.map((k) => ({
      expires: k.expiresAt === null ? null : new Date(k.expiresAt).toISOString(),
      keyid: k.keyid,
      keytype: KEY_TYPE,
      scheme: KEY_TYPE,
      key: k.publicKey,
    })),
  };
}

/**
 * Whether npm accepts a signature by this key on a version published at publishedAt: pacote's rule is
 * `!expires || publishedTime < Date.parse(expires)`. Expiry is about when the version was published, not today, so
 * a rotated key keeps vouching for everything it signed before it expired.
 */
export const keyValidFor = (expiresAt: number | null, publishedAt: number): boolean =>
  expiresAt === null || publishedAt < expiresAt;
