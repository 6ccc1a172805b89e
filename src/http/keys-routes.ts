// GET /-/npm/v1/keys: the registry's public signing keys, where npm's `audit signatures` looks for them when the
// registry is not in Sigstore's TUF repository (npm/cli lib/utils/verify-signatures.js setKeys).
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Db } from '../store/db.ts';
import { keysDocument } from '../trust/registry-signatures.ts';
import { listSigningKeys } from '../trust/signing-keys.ts';
import type { Gate } from './gate.ts';

export type KeysRouteDeps = { db: Db; gate: Gate };

export function register(app: FastifyInstance, deps: KeysRouteDeps): void {
  app.get('/-/npm/v1/keys', async (req, reply) => {
    // The keys are public, but a registry whose every read needs a token says nothing to strangers.
    await deps.gate.read(req);
    const body = JSON.stringify(keysDocument(await listSigningKeys(deps.db)));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;
    // A rotation makes the new key sign at once: clients must not keep an old list, so they revalidate every time.
    const scope = deps.gate.policy.readAccess === 'authenticated' ? 'private' : 'public';
    reply.header('cache-control', `${scope}, no-cache`).header('etag', etag);
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.header('content-type', 'application/json').send(body);
  });
}
