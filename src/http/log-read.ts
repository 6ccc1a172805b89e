// What the transparency log's routes share: the reader, the read decision for a package's entries, caching, and the
// query shape of a tree size. The routes are in log-tile-routes.ts (the c2sp.org/tlog-tiles layout),
// log-proof-routes.ts (JSON proofs) and changes-routes.ts (the changes feed for mirrors).
import type { FastifyRequest } from 'fastify';
import type { Packages } from '../packages/service.ts';
import type { Db } from '../store/db.ts';
import type { Gate } from './gate.ts';
import { Type } from './schemas.ts';

export type LogRouteDeps = { db: Db; gate: Gate; packages: Packages };

/** A tree size or position in a query: digits (at most 15, so always a safe integer); empty means "not given". */
export const TreeSize = Type.String({ pattern: '^(|0|[1-9][0-9]{0,14})$', description: 'a non-negative integer' });

/** The value of a TreeSize query parameter, or null when it was not given. */
export const sizeOf = (value: string | undefined): number | null =>
  value === undefined || value === '' ? null : Number(value);

export const b64 = (hex: string | Buffer) =>
  (typeof hex === 'string' ? Buffer.from(hex, 'hex') : hex).toString('base64');

/** Cache-Control for a log answer: the checkpoint changes within a second of a new event; tiles never change. */
export function logCaching(gate: Gate, forever: boolean): string {
  const scope = gate.policy.readAccess === 'authenticated' ? 'private' : 'public';
  return forever ? `${scope}, max-age=31536000, immutable` : `${scope}, max-age=1, must-revalidate`;
}

/** May the caller see this package's entries in the clear? */
export async function mayReadEntries(
  deps: Pick<LogRouteDeps, 'gate' | 'packages'>,
  req: FastifyRequest,
  name: string,
  entrySealed: boolean,
): Promise<boolean> {
  const facts = await deps.packages.facts(name);
  if (facts.access === null) return !entrySealed;
  return deps.gate.mayReadPackage(req, facts);
}
