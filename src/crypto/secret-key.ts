// The instance key that encrypts secrets at rest (TOTP seeds, signing keys). It comes from BULWARK_SECRET_KEY or,
// when none is given, is generated once into the data directory; losing it makes those secrets unreadable.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export type SecretKey = { key: Buffer; source: 'environment' | 'generated' | 'file' };

export function loadSecretKey(dataDir: string, env: NodeJS.ProcessEnv, warn: (msg: string) => void): SecretKey {
  const fromEnv = env.BULWARK_SECRET_KEY;
  if (fromEnv !== undefined) {
    if (fromEnv.length < 32)
      throw new Error('BULWARK_SECRET_KEY must be at least 32 characters (for example: openssl rand -base64 32)');
    return { key: createHash('sha256').update(fromEnv).digest(), source: 'environment' };
  }
  const file = path.join(dataDir, 'secret.key');
  try {
    const text = readFileSync(file, 'utf8').trim();
    const key = Buffer.from(text, 'base64');
    if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte base64 key`);
    return { key, source: 'file' };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  warn(
    `generated a new secret key in ${file}: back it up, or set BULWARK_SECRET_KEY. Without it, encrypted secrets (second factors, signing keys) cannot be read.`,
  );
  return { key, source: 'generated' };
}

const VERSION = 'v1';

/** AES-256-GCM with a random nonce; the purpose string is bound as associated data so a ciphertext can't be moved between uses. */
export function seal(key: Buffer, purpose: string, plaintext: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(purpose));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [
    VERSION,
    iv.toString('base64url'),
    body.toString('base64url'),
    cipher.getAuthTag().toString('base64url'),
  ].join('.');
}

export function open(key: Buffer, purpose: string, sealed: string): Buffer {
  const [version, iv, body, tag] = sealed.split('.');
  if (version !== VERSION || !iv || !body || !tag) throw new Error('not a sealed secret');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(purpose));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]);
}
