// The one step that makes a version visible (invariant 3): it is signed with the registry key, takes the dist-tag its
// publish asked for, becomes its package's latest when it is the first, and its publish event (which the transparency
// log records) commits with it. Publish (service.ts) takes this step for a version its scan let through, and a
// moderator's release (lifecycle.ts) for a held one, so a visible version is signed and logged by one piece of code.
//
// The upstream proxy (upstream/service.ts) signs the versions it serves but does not take this step: a proxied version
// is not published here, so it moves no dist-tag of this registry and its publish is not this registry's to log.
import type { Transaction } from 'kysely';
import semver from 'semver';
import type { Database } from '../store/schema.ts';
import { EventKind, recordEvent } from '../store/events.ts';
import type { RegistrySignature } from '../trust/registry-signatures.ts';
import { withSignatures } from '../trust/signing-keys.ts';
import { upsertTag } from './package-rows.ts';

type Tx = Transaction<Database>;

/** Makes a version's dist.signatures (trust/signing-keys.ts RegistrySigner); a registry without one signs nothing. */
export type VersionSigner = {
  signaturesFor(name: string, version: string, integrity: string): Promise<RegistrySignature[]>;
};

/** A version's manifest with its registry signatures (signManifest), the only input makeVisible accepts. */
export type SignedVersion = {
  readonly name: string;
  readonly version: string;
  readonly integrity: string;
  readonly manifest: Record<string, unknown>;
  /** the manifest as stored (and measured against the size limit before anything is written). */
  readonly stored: string;
};

/**
 * The first half of the step, before the transaction: the signer reads its key from the database, which a SQLite
 * transaction would hold.
 */
export async function signManifest(
  signer: VersionSigner | undefined,
  name: string,
  version: string,
  integrity: string,
  manifest: Record<string, unknown>,
): Promise<SignedVersion> {
  const signed = signer ? withSignatures(manifest, await signer.signaturesFor(name, version, integrity)) : manifest;
  return { name, version, integrity, manifest: signed, stored: JSON.stringify(signed) };
}

export type Visibility = {
  /** the package row as the transaction read it. */
  pkg: { id: number; rev: number; latest_version: string | null };
  /** the dist-tag the publish asked for. */
  tag: string;
  /**
   * A publish moves its tag whatever it named before, as npm publish --tag does. A release moves it only forward: a
   * version held for days must not take a tag back from a newer one published meanwhile.
   */
  tagMoves: 'always' | 'forward';
  /** who published the version: the publish is logged as theirs, whoever released it. */
  publisherId: number | null;
  /** the token the publish came with (0 for a browser session); null for a release. */
  tokenId: number | null;
  released: boolean;
};

/**
 * The second half, inside the caller's transaction, once the version row says 'visible': the tags, the package row
 * and the publish event. Returns the package's new revision.
 */
export async function makeVisible(trx: Tx, signed: SignedVersion, v: Visibility, now: number): Promise<number> {
  const { name, version, integrity, manifest } = signed;
  const { pkg, tag } = v;
  let moved = true;
  if (v.tagMoves === 'forward') {
    const current = await trx
      .selectFrom('dist_tags')
      .select('version')
      .where('package_id', '=', pkg.id)
      .where('tag', '=', tag)
      .executeTakeFirst();
    moved = !current || semver.gt(version, current.version);
  }
  if (moved) await upsertTag(trx, pkg.id, tag, version);
  // Installs need a "latest": the tag itself when the publish named it, else the one the package had, else (its first
  // visible version) the highest release visible now, which for a publish is the version itself.
  let latest = moved && tag === 'latest' ? version : pkg.latest_version;
  if (latest === null) {
    latest = await highestVisible(trx, pkg.id);
    await upsertTag(trx, pkg.id, 'latest', latest);
  }
  await trx
    .updateTable('packages')
    .set({
      rev: pkg.rev + 1,
      modified_at: now,
      latest_version: latest,
      unpublished_at: null,
      // The package is described by its latest version.
      ...(latest === version
        ? { description: stringField(manifest.description), keywords: keywordsOf(manifest.keywords) }
        : {}),
    })
    .where('id', '=', pkg.id)
    .execute();
  await recordEvent(
    trx,
    {
      kind: EventKind.VersionPublished,
      subject: name,
      actorId: v.publisherId,
      // An event that names no tag moved none (the log records the tag it names).
      data: { version, integrity, tag: moved ? tag : null, tokenId: v.tokenId, released: v.released },
    },
    now,
  );
  return pkg.rev + 1;
}

/** The highest visible release (a prerelease only when there is nothing else), as npm's own unpublish picks one. */
async function highestVisible(trx: Tx, packageId: number): Promise<string> {
  const rows = await trx
    .selectFrom('versions')
    .select('version')
    .where('package_id', '=', packageId)
    .where('state', '=', 'visible')
    .execute();
  const sorted = rows.map((r) => r.version).sort(semver.compareLoose);
  return sorted.filter((s) => !semver.prerelease(s)).at(-1) ?? sorted.at(-1)!;
}

const stringField = (v: unknown): string => (typeof v === 'string' ? v.slice(0, 1024) : '');
const keywordsOf = (v: unknown): string =>
  Array.isArray(v)
    ? v
        .filter((k): k is string => typeof k === 'string')
        .join(' ')
        .slice(0, 1024)
    : '';
