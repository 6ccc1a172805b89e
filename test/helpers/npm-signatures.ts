// Runs npm's own `npm audit signatures` logic (lib/utils/verify-signatures.js of the pinned npm 11, with its bundled
// Arborist and pacote) over an installed project. The one step skipped is the first: asking Sigstore's public TUF
// repository for keys, which cannot be reached from a test machine. For a registry that repository does not list, it
// answers TUF_FIND_TARGET_ERROR, and npm then fetches /-/npm/v1/keys from the registry: that answer is given here.
import { mkdtemp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const npmRoot = path.resolve(import.meta.dirname, '../../node_modules/npm11');
const requireFromNpm = createRequire(path.join(npmRoot, 'package.json'));

type Edge = unknown;
type VerifySignaturesInstance = {
  keys: Map<string, Array<{ keyid: string; expires: string | null; pemkey: string }>>;
  invalid: Array<{ code: string; name: string; version: string; keyid: string; message: string }>;
  missing: Array<{ name: string; version: string }>;
  auditedWithKeysCount: number;
  verifiedSignatureCount: number;
  getEdgesOut(nodes: Iterable<unknown>, filterSet: Set<unknown>): { edges: Set<Edge>; registries: Set<string> };
  setKeys(args: { registry: string; tuf: { getTarget(name: string): Promise<string> } }): Promise<void>;
  getVerifiedInfo(edge: Edge): Promise<void>;
};
const VerifySignatures = requireFromNpm('./lib/utils/verify-signatures.js') as new (
  tree: unknown,
  filterSet: Set<unknown>,
  npm: unknown,
  opts: unknown,
) => VerifySignaturesInstance;
const Arborist = requireFromNpm('@npmcli/arborist') as new (opts: Record<string, unknown>) => {
  loadActual(): Promise<{ inventory: Map<string, unknown> }>;
};

const unlistedInTuf = {
  async getTarget(): Promise<string> {
    throw Object.assign(new Error('target not found in the Sigstore TUF repository'), {
      code: 'TUF_FIND_TARGET_ERROR',
    });
  },
};

export type AuditResult = Pick<
  VerifySignaturesInstance,
  'invalid' | 'missing' | 'auditedWithKeysCount' | 'verifiedSignatureCount' | 'keys'
>;

/**
 * Audits the project in dir as `npm audit signatures` does and returns npm's tallies. Errors npm does not turn into a
 * report (a missing or expired key) are thrown with npm's code, as the CLI would exit with them.
 * @param registry the registry URL with no trailing slash.
 */
export async function auditSignatures(
  dir: string,
  registry: string,
  extra: Record<string, unknown> = {},
): Promise<AuditResult> {
  const cache = await mkdtemp(path.join(os.tmpdir(), 'bulwark-audit-cache-'));
  const flatOptions = { registry: `${registry}/`, cache, fetchRetries: 0, preferOnline: true, ...extra };
  const tree = await new Arborist({ path: dir, ...flatOptions }).loadActual();
  // npm's defaults for the settings verify-signatures reads: omit nothing, no attestation listing.
  const config: Record<string, unknown> = { omit: [], json: false, 'include-attestations': false };
  const npm = {
    flatOptions,
    config: { get: (key: string) => config[key] },
    chalk: new Proxy({}, { get: () => (s: string) => s }),
  };
  const audit = new VerifySignatures(tree, new Set(), npm, {});
  const { edges, registries } = audit.getEdgesOut(tree.inventory.values(), new Set());
  await Promise.all([...registries].map((r) => audit.setKeys({ registry: r, tuf: unlistedInTuf })));
  for (const edge of edges) await audit.getVerifiedInfo(edge);
  return audit;
}
