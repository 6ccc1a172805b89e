// Content-addressed blob store on the filesystem. A blob's key is the hex sha512 of its bytes, so a blob can never
// be replaced by different content, and a write is atomic (temp file + rename): a crash leaves either the whole
// blob or nothing under its final name. The litter crashes leave (temporary files, blobs whose publish never
// committed) is removed by the sweeper (blob-sweeper.ts), which relies on put's promise below.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, utimes } from 'node:fs/promises';
import path from 'node:path';

export const BLOB_KEY = /^[0-9a-f]{128}$/;

export class FsBlobStore {
  readonly root: string;
  constructor(root: string) {
    this.root = root;
  }

  /** Where the blob with this key lives: ROOT/ab/cd/abcd… */
  path(key: string): string {
    if (!BLOB_KEY.test(key)) throw new Error(`invalid blob key ${JSON.stringify(key)}`);
    return path.join(this.root, key.slice(0, 2), key.slice(2, 4), key);
  }

  /**
   * Stores bytes and returns their key. Resolves only once the blob is durable on disk.
   * A blob already stored is kept, and its modification time moves to now: the sweeper MUST NOT remove a blob whose
   * modification time changed since it judged the blob unreferenced, because the caller is about to commit a
   * reference to it. Setting the time is also the existence check, so there is no moment between the two at which
   * the sweeper could take the blob away unseen: if it is gone, it is written again.
   */
  async put(bytes: Uint8Array): Promise<string> {
    const key = createHash('sha512').update(bytes).digest('hex');
    const final = this.path(key);
    if (await touch(final)) return key;
    await mkdir(path.dirname(final), { recursive: true });
    const tmp = `${final}.${randomBytes(6).toString('hex')}.tmp`;
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, final);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return key;
  }

  /** Reads a blob and checks it still hashes to its key, so corruption on disk is never served. */
  async get(key: string): Promise<Buffer | null> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.path(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    if (createHash('sha512').update(bytes).digest('hex') !== key) throw new BlobCorruptError(key);
    return bytes;
  }

  async writable(): Promise<boolean> {
    try {
      await mkdir(this.root, { recursive: true });
      const probe = path.join(this.root, `${PROBE_PREFIX}${randomBytes(4).toString('hex')}`);
      const fh = await open(probe, 'wx');
      await fh.close();
      await rm(probe);
      return true;
    } catch {
      return false;
    }
  }
}

export class BlobCorruptError extends Error {
  constructor(key: string) {
    super(`blob ${key.slice(0, 16)}… does not match its hash`);
  }
}

/** Names of the files writable() creates and removes at once in the root (one may outlive a crash). */
export const PROBE_PREFIX = '.probe-';

/** Sets a file's modification time to now; false when there is no such file. */
async function touch(p: string): Promise<boolean> {
  const now = new Date();
  try {
    await utimes(p, now, now);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
