// Password hashing with argon2id (OWASP's recommended parameters). The cost comes from the --password-hash setting
// alone, and nothing lowers it below OWASP's minimum: not the environment, not a test. Test suites stay fast with the
// cheapest cost OWASP accepts (m=7168,t=5), which their helpers configure as an operator would.
import { hash, verify } from '@node-rs/argon2';
import { meetsOwaspMinimum, type PasswordHashParams } from '../config.ts';
import { isLegacyHash, needsReset, verifyLegacy } from './legacy-passwords.ts';

const ARGON2ID = 2; // Algorithm.Argon2id: an ambient const enum, which type stripping cannot inline

let params = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 };

/**
 * Sets the cost of new hashes (the --password-hash setting). Existing hashes carry their own parameters, so they keep
 * verifying after a change.
 * @throws RangeError for a cost below OWASP's minimum for argon2id: no caller may store weaker hashes.
 */
export function setPasswordHashParams(p: PasswordHashParams): void {
  if (!meetsOwaspMinimum(p))
    throw new RangeError(`argon2id m=${p.memoryCost},t=${p.timeCost},p=${p.parallelism} is below OWASP's minimum`);
  params = { algorithm: ARGON2ID, memoryCost: p.memoryCost, timeCost: p.timeCost, parallelism: p.parallelism };
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

/**
 * The one password check. An imported legacy hash (legacy-passwords.ts) verifies here too; the caller that signs the
 * user in replaces it with argon2id (users.ts checkPassword). An account that must reset its password never matches.
 */
export async function verifyPassword(stored: string | null, password: string): Promise<boolean> {
  if (stored !== null && isLegacyHash(stored)) return verifyLegacy(stored, password);
  if (stored === null || needsReset(stored)) {
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
