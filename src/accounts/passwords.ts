// Password hashing with argon2id (OWASP's recommended parameters). Tests lower the cost through
// BULWARK_FAST_PASSWORD_HASH=1; the length limits and checks are the same.
import { hash, verify } from '@node-rs/argon2';

const ARGON2ID = 2; // Algorithm.Argon2id: an ambient const enum, which type stripping cannot inline

const fast = process.env.BULWARK_FAST_PASSWORD_HASH === '1';
let params = fast
  ? { algorithm: ARGON2ID, memoryCost: 1024, timeCost: 1, parallelism: 1 }
  : { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 };

/**
 * Sets the cost of new hashes (the --password-hash setting). Existing hashes carry their own parameters, so they keep
 * verifying after a change. The test override wins, so test suites stay fast whatever a config says.
 */
export function setPasswordHashParams(p: { memoryCost: number; timeCost: number; parallelism: number }): void {
  if (!fast) params = { algorithm: ARGON2ID, ...p };
}

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 1024;

/** Returns a reason the password is unacceptable, or null. */
export function passwordProblem(password: string, username: string): string | null {
  if (password.length < PASSWORD_MIN) return `password must be at least ${PASSWORD_MIN} characters`;
  if (password.length > PASSWORD_MAX) return `password must be at most ${PASSWORD_MAX} characters`;
  if (password.toLowerCase().includes(username.toLowerCase())) return 'password must not contain the username';
  return null;
}

export const hashPassword = (password: string): Promise<string> => hash(password, params);

// A hash of a random password, verified against when the user does not exist, so that the response time does not
// reveal which usernames exist.
let decoy: Promise<string> | undefined;

export async function verifyPassword(stored: string | null, password: string): Promise<boolean> {
  if (stored === null) {
    decoy ??= hashPassword(`decoy-${Math.random()}`);
    await verify(await decoy, password).catch(() => false);
    return false;
  }
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}
