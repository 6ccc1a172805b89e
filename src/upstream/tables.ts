// Table types of migration 0016-upstream, kept with the capability that owns them (db.withTables adds them).
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema.ts';

/** The last packument each upstream gave for a name, and how to ask it whether that changed. */
export type UpstreamPackumentsTable = {
  name: string;
  /** the upstream's base URL it came from. */
  upstream: string;
  /** the packument as the upstream sent it (JSON text). */
  body: string;
  etag: string | null;
  last_modified: string | null;
  /** when the body was last received, and when the upstream last confirmed it (200 or 304). */
  fetched_at: number;
  checked_at: number;
};

/**
 * Every proxied tarball this registry has checked, by name@version: the integrity it had (kept for good: the bytes
 * of a version never change), its blob, and the scan's verdict. A refused version (malicious) keeps its row, and no blob.
 */
export type UpstreamTarballsTable = {
  name: string;
  version: string;
  integrity: string;
  shasum: string | null;
  /** the sha512 blob key; null for a refused version, whose bytes are not kept. */
  blob: string | null;
  size: number;
  /** 'clean', 'suspicious' (served, queued for moderators) or 'malicious' (refused, queued). */
  verdict: string;
  /** why a refused version is refused, as its 403 says it. */
  reason: string | null;
  /** this registry's registry signatures for the version (JSON), made when its tarball was checked. */
  signatures: string | null;
  upstream: string;
  fetched_at: number;
};

type Tables = { upstream_packuments: UpstreamPackumentsTable; upstream_tarballs: UpstreamTarballsTable };
export type UpstreamDatabase = Database & Tables;
export const withUpstream = (db: Kysely<Database>): Kysely<UpstreamDatabase> => db.withTables<Tables>();
export const trxWithUpstream = (trx: Transaction<Database>): Transaction<UpstreamDatabase> => trx.withTables<Tables>();
