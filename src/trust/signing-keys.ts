// The registry's signing keys (migration 0010-signing-keys): generated on first start, the private half sealed with
// the instance key, rotated by `bulwark keys rotate`. Old keys stay published with an expiry date: npm accepts their
// signatures on versions published before it (see registry-signatures.ts keyValidFor).
import type { KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import { open, seal } from '../crypto/secret-key.ts';
import { EventKind, recordEvent } from '../store/events.ts';
import type { Database } from '../store/schema.ts';
import {
  generateSigningKey,
  keyId,
  privateKeyDer,
  privateKeyFromDer,
  publicKeyBase64,
  signVersion,
  type KeyRecord,
  type RegistrySignature,
} from './registry-signatures.ts';

export type SigningKeysTable = {
  keyid: string;
  generation: number;
  /** base64 DER SubjectPublicKeyInfo, as served at /-/npm/v1/keys. */
  public_key: string;
  /** PKCS#8 DER, sealed (crypto/secret-key.ts) with the purpose KEY_PURPOSE. */
  sealed_private_key: string;
  created_at: number;
  /** ms since the epoch; null while the key is the one that signs. */
  expires_at: number | null;
};
export type SigningTables = { signing_keys: SigningKeysTable };
type SigningDb = Kysely<Database & SigningTables>;

const signingDb = (db: Kysely<Database>): SigningDb => db.withTables<SigningTables>();

const KEY_PURPOSE = 'registry-signing-key';

/** The name of the backfill's position (a versions.id) in consumer_cursors. */
export const BACKFILL_CURSOR = 'registry-signatures-backfill';

/** Every key, oldest first: what /-/npm/v1/keys publishes and `bulwark keys list` prints. */
export async function listSigningKeys(
  db: Kysely<Database>,
): Promise<Array<KeyRecord & { generation: number; createdAt: number }>> {
  const rows = await signingDb(db)
    .selectFrom('signing_keys')
    .select(['keyid', 'generation', 'public_key', 'created_at', 'expires_at'])
    .orderBy('generation')
    .execute();
  return rows.map((r) => ({
    keyid: r.keyid,
    generation: Number(r.generation),
    publicKey: r.public_key,
    createdAt: Number(r.created_at),
    expiresAt: r.expires_at === null ? null : Number(r.expires_at),
  }));
}

function newKeyRow(secretKey: Buffer, generation: number, now: number): SigningKeysTable {
  const { privateKey, publicKey } = generateSigningKey();
  return {
    keyid: keyId(publicKey),
    generation,
    public_key: publicKeyBase64(publicKey),
    sealed_private_key: seal(secretKey, KEY_PURPOSE, privateKeyDer(privateKey)),
    created_at: now,
    expires_at: null,
  };
}

/**
 * Makes the first signing key if there is none. Safe when several nodes start at once: generation 1 is unique, so
 * only one insert wins and its event is the only one recorded.
 * @returns whether this call created it.
 */
export async function ensureSigningKey(db: Kysely<Database>, secretKey: Buffer, now: number): Promise<boolean> {
  const sdb = signingDb(db);
  if (await sdb.selectFrom('signing_keys').select('keyid').limit(1).executeTakeFirst()) return false;
  const row = newKeyRow(secretKey, 1, now);
  return db.transaction().execute(async (trx) => {
    const res = await trx
      .withTables<SigningTables>()
      .insertInto('signing_keys')
      .values(row)
      .onConflict((oc) => oc.column('generation').doNothing())
      .executeTakeFirst();
    if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) return false;
    await recordEvent(
      trx,
      { kind: EventKind.SigningKeyCreated, subject: row.keyid, actorId: null, data: { keyid: row.keyid } },
      now,
    );
    return true;
  });
}

export class RotationError extends Error {}

/**
 * Makes a new signing key and gives every key that still signs an expiry graceMs from now. A node that read the old
 * key just before the rotation may still sign a publish with it: the grace keeps such a signature valid (its version's
 * publish time falls before the expiry). A compromised key is rotated with no grace.
 */
export async function rotateSigningKey(
  db: Kysely<Database>,
  secretKey: Buffer,
  graceMs: number,
  now: number,
  opts: { unreadable?: boolean } = {},
): Promise<{ created: string; expired: Array<{ keyid: string; expiresAt: number }> }> {
  if (!Number.isFinite(graceMs) || graceMs < 0) throw new RotationError('the grace period must be zero or more');
  return db.transaction().execute(async (trx) => {
    const keys = trx.withTables<SigningTables>();
    const current = await keys
      .selectFrom('signing_keys')
      .select(['keyid', 'generation', 'expires_at', 'sealed_private_key'])
      .orderBy('generation', 'desc')
      .execute();
    // A key sealed with a different instance key than the servers' would stop every publish: refuse it here.
    if (current.length && !opts.unreadable) {
      try {
        open(secretKey, KEY_PURPOSE, current[0]!.sealed_private_key);
      } catch {
        throw new RotationError(
          "this instance key cannot open the current signing key: run the command with the servers' BULWARK_SECRET_KEY or --data-dir (or, if that key is lost, with --replace-unreadable)",
        );
      }
    }
    const generation = current.length ? Number(current[0]!.generation) + 1 : 1;
    const expiresAt = now + graceMs;
    const expired = current
      .filter((k) => k.expires_at === null || Number(k.expires_at) > expiresAt)
      .map((k) => ({ keyid: k.keyid, expiresAt }));
    for (const k of expired)
      await keys.updateTable('signing_keys').set({ expires_at: expiresAt }).where('keyid', '=', k.keyid).execute();
    const row = newKeyRow(secretKey, generation, now);
    await keys.insertInto('signing_keys').values(row).execute();
    await recordEvent(
      trx,
      {
        kind: EventKind.SigningKeyRotated,
        subject: row.keyid,
        actorId: null,
        data: { keyid: row.keyid, expired: expired.map((k) => k.keyid), expiresAt },
      },
      now,
    );
    return { created: row.keyid, expired };
  });
}

export type ActiveKey = { keyid: string; privateKey: KeyObject };

/**
 * Signs versions with the newest key. It reads which key that is on every call (one small query per publish, never
 * per read), so a rotation made by `bulwark keys rotate` on another machine takes effect at once on every node;
 * decrypted private keys are kept in memory by key id.
 */
export class RegistrySigner {
  readonly #db: SigningDb;
  readonly #secretKey: Buffer;
  readonly #opened = new Map<string, KeyObject>();

  constructor(db: Kysely<Database>, secretKey: Buffer) {
    this.#db = signingDb(db);
    this.#secretKey = secretKey;
  }

  /** The key that signs now. Read it before a transaction: the signing itself needs no database. */
  async activeKey(): Promise<ActiveKey> {
    const row = await this.#db
      .selectFrom('signing_keys')
      .select(['keyid', 'sealed_private_key'])
      .orderBy('generation', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!row) throw new Error('the registry has no signing key (ensureSigningKey runs at start)');
    let privateKey = this.#opened.get(row.keyid);
    if (!privateKey) {
      try {
        privateKey = privateKeyFromDer(open(this.#secretKey, KEY_PURPOSE, row.sealed_private_key));
      } catch {
        throw new Error(
          `the instance key cannot open the registry signing key ${row.keyid}: start with the BULWARK_SECRET_KEY it was made with (see docs/signatures.md)`,
        );
      }
      if (keyId(privateKey) !== row.keyid)
        throw new Error(`the stored signing key does not match its key id ${row.keyid}`);
      this.#opened.set(row.keyid, privateKey);
    }
    return { keyid: row.keyid, privateKey };
  }

  /** dist.signatures for a version about to be stored. */
  async signaturesFor(name: string, version: string, integrity: string): Promise<RegistrySignature[]> {
    const key = await this.activeKey();
    return [signVersion(key.privateKey, key.keyid, name, version, integrity)];
  }
}

/** A version's manifest with its registry signatures in dist, where npm reads them. */
export function withSignatures(
  manifest: Record<string, unknown>,
  signatures: RegistrySignature[],
): Record<string, unknown> {
  return { ...manifest, dist: { ...(manifest.dist as Record<string, unknown>), signatures } };
}

const hasSignatures = (manifest: Record<string, unknown>): boolean => {
  const dist = manifest.dist as Record<string, unknown> | undefined;
  return Array.isArray(dist?.signatures) && dist.signatures.length > 0;
};

/**
 * Signs the visible versions stored before the registry had a key (or while signing was off). It walks versions by
 * id from a durable cursor, so a restart resumes and a second run finds nothing to do; a version that already carries
 * signatures is left alone. Each package it signs gets a package.versions-signed event, which makes every node drop
 * its cached packument. A version that is not visible yet is signed by whatever makes it visible (invariant 3).
 * @returns how many versions it signed.
 */
export async function backfillSignatures(
  db: Kysely<Database>,
  signer: RegistrySigner,
  now: number,
  batch = 200,
): Promise<number> {
  let signed = 0;
  const key = await signer.activeKey();
  for (;;) {
    const done = await db.transaction().execute(async (trx) => {
      const cursor = await trx
        .selectFrom('consumer_cursors')
        .select('position')
        .where('name', '=', BACKFILL_CURSOR)
        .executeTakeFirst();
      const from = cursor ? Number(cursor.position) : 0;
      const rows = await trx
        .selectFrom('versions')
        .innerJoin('packages', 'packages.id', 'versions.package_id')
        .select([
          'versions.id',
          'versions.version',
          'versions.manifest',
          'versions.integrity',
          'versions.state',
          'packages.name',
        ])
        .where('versions.id', '>', from)
        .orderBy('versions.id')
        .limit(batch)
        .execute();
      if (rows.length === 0) return true;
      const byPackage = new Map<string, string[]>();
      for (const r of rows) {
        if (r.state !== 'visible') continue;
        const manifest = JSON.parse(r.manifest) as Record<string, unknown>;
        if (hasSignatures(manifest)) continue;
        const signatures = [signVersion(key.privateKey, key.keyid, r.name, r.version, r.integrity)];
        await trx
          .updateTable('versions')
          .set({ manifest: JSON.stringify(withSignatures(manifest, signatures)) })
          .where('id', '=', r.id)
          .execute();
        byPackage.set(r.name, [...(byPackage.get(r.name) ?? []), r.version]);
        signed++;
      }
      for (const [name, versions] of byPackage)
        await recordEvent(
          trx,
          { kind: EventKind.VersionsSigned, subject: name, actorId: null, data: { keyid: key.keyid, versions } },
          now,
        );
      const position = Number(rows.at(-1)!.id);
      await trx
        .insertInto('consumer_cursors')
        .values({ name: BACKFILL_CURSOR, position, lease_owner: null, lease_until: 0 })
        .onConflict((oc) => oc.column('name').doUpdateSet({ position }))
        .execute();
      return rows.length < batch;
    });
    if (done) return signed;
  }
}
