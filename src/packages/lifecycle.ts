// What happens to a package after publish (docs/policies/unpublish.md): deprecation, unpublish by maintainers within
// a window and only when nothing depends on the version, names held for their previous owners, and the audited
// administrator and moderator actions (remove as malicious, quarantine, transfer, delete). Whatever happens here,
// a published name@version is never published again: published_versions rows are never deleted.
//
// Callers have passed the write gate for the action; these functions check the request against the policy and record
// each change with its domain event in the same transaction.
import type { Transaction } from 'kysely';
import semver from 'semver';
import type { Principal } from '../access/principal.ts';
import type { MaliciousAdvisoryInput } from '../safety/advisories.ts';
import { fail, notFound } from '../errors.ts';
import type { Db } from '../store/db.ts';
import { EventKind, recordEvent } from '../store/events.ts';
import type { Database } from '../store/schema.ts';
import { rangeAdmits } from './dependencies.ts';
import { touchPackage, upsertTag } from './package-rows.ts';
import { isCurrentRevision } from './packument.ts';
import { makeVisible, signManifest, type VersionSigner } from './visible.ts';

type Tx = Transaction<Database>;

/** Who acted: a signed-in user, or the operator at the command line (id null). */
export type Actor = { id: number | null; name: string };
export const actorOf = (p: Principal): Actor => ({ id: p.userId, name: p.name });

export const DEFAULT_UNPUBLISH_WINDOW_MS = 72 * 3600_000;
const MAX_DEPRECATION = 1024;
// Enough dependents to show why; the refusal is the same with one or a thousand.
const DEPENDENTS_SHOWN = 5;

/** What a moderator's removal tells the advisory database (safety/advisories.ts), inside the same transaction. */
export type AdvisoryRecorder = (trx: Tx, input: MaliciousAdvisoryInput, now: number) => Promise<string>;

export type LifecycleOptions = {
  db: Db;
  clock: () => number;
  /** drops a package's cached read-path entry in this process (others see the change's event). */
  invalidate?: (name: string) => void;
  /** how long after publishing a maintainer may still unpublish a version. */
  unpublishWindowMs?: number;
  recordAdvisory?: AdvisoryRecorder;
  /** signs a held version when it is released (trust/signing-keys.ts). */
  signer?: VersionSigner;
};

type PackageRow = {
  id: number;
  name: string;
  rev: number;
  unpublished_at: number | null;
  latest_version: string | null;
};
type Manifest = Record<string, unknown>;
type VersionRow = { version: string; published_at: number; state: string; deprecated: string | null };

export class Lifecycle {
  readonly #db: Db;
  readonly #invalidate: (name: string) => void;
  readonly #clock: () => number;
  readonly #windowMs: number;
  readonly #recordAdvisory: AdvisoryRecorder | undefined;
  readonly #signer: LifecycleOptions['signer'];

  constructor(opts: LifecycleOptions) {
    this.#db = opts.db;
    this.#invalidate = opts.invalidate ?? (() => {});
    this.#clock = opts.clock;
    this.#windowMs = opts.unpublishWindowMs ?? DEFAULT_UNPUBLISH_WINDOW_MS;
    this.#recordAdvisory = opts.recordAdvisory;
    this.#signer = opts.signer;
  }

  /**
   * What a package document sent back by npm asks for (npm deprecate and npm unpublish both PUT the whole packument
   * they read, edited): the visible versions it no longer lists, and the versions whose deprecation message changed.
   */
  async plan(
    name: string,
    doc: Record<string, unknown>,
  ): Promise<{ removed: string[]; deprecations: Map<string, string> }> {
    const sent = doc.versions;
    if (!sent || typeof sent !== 'object' || Array.isArray(sent)) {
      throw fail(
        'E_LIFECYCLE_INVALID',
        'a package document without a tarball must carry the "versions" npm read (npm deprecate); other metadata changes by publishing a new version',
      );
    }
    const pkg = await this.#db.selectFrom('packages').select('id').where('name', '=', name).executeTakeFirst();
    if (!pkg) throw notFound(`${name} is not in this registry`);
    const current = new Map((await visibleVersions(this.#db, pkg.id)).map((v) => [v.version, v.deprecated ?? '']));
    const removed = [...current.keys()].filter((v) => !(v in sent));
    // npm itself removes the last version with DELETE (npm unpublish --force); a document listing no version at all
    // is a broken client, not a request to wipe the package.
    if (removed.length && removed.length === current.size)
      throw fail(
        'E_LIFECYCLE_INVALID',
        `a document without any version does not unpublish ${name}: use npm unpublish ${name} --force`,
      );
    const deprecations = new Map<string, string>();
    for (const [version, manifest] of Object.entries(sent as Record<string, unknown>)) {
      if (!current.has(version))
        throw fail(
          'E_LIFECYCLE_INVALID',
          `${name}@${version} is not a published version: new versions are published with npm publish`,
        );
      const message =
        manifest && typeof manifest === 'object' ? (manifest as Record<string, unknown>).deprecated : undefined;
      if (message === undefined) continue;
      if (typeof message !== 'string')
        throw fail('E_LIFECYCLE_INVALID', `"deprecated" of ${version} must be a string ("" removes the deprecation)`);
      if (message !== current.get(version)) deprecations.set(version, message);
    }
    return { removed, deprecations };
  }

  /**
   * npm deprecate: messages by version, '' to un-deprecate. Only versions whose message changes are touched; an
   * unknown version is refused so that a typo never passes silently.
   */
  async deprecate(actor: Actor, name: string, messages: Map<string, string>, rev?: string): Promise<string[]> {
    for (const [version, message] of messages) {
      if (message.length > MAX_DEPRECATION)
        throw fail(
          'E_LIFECYCLE_INVALID',
          `the deprecation message for ${version} is longer than ${MAX_DEPRECATION} characters`,
        );
    }
    const now = this.#clock();
    const changed = await this.#change(name, rev, async (trx, pkg) => {
      const versions = await visibleVersions(trx, pkg.id);
      const byVersion = new Map(versions.map((v) => [v.version, v]));
      const changed: string[] = [];
      for (const [version, message] of messages) {
        const row = byVersion.get(version);
        if (!row) throw notFound(`${name}@${version} does not exist`);
        if ((row.deprecated ?? '') === message) continue;
        await trx
          .updateTable('versions')
          .set({ deprecated: message === '' ? null : message })
          .where('package_id', '=', pkg.id)
          .where('version', '=', version)
          .execute();
        await recordEvent(
          trx,
          { kind: EventKind.VersionDeprecated, subject: name, actorId: actor.id, data: { version, message } },
          now,
        );
        changed.push(version);
      }
      if (changed.length) await touchPackage(trx, pkg.id, now);
      return changed;
    });
    return changed;
  }

  /** npm unpublish name@version: within the window, when nothing else depends on it. The last version takes the package. */
  async unpublishVersions(actor: Actor, name: string, versions: string[], rev?: string): Promise<void> {
    if (versions.length === 0) return;
    const now = this.#clock();
    await this.#change(name, rev, async (trx, pkg) => {
      const all = await visibleVersions(trx, pkg.id);
      const targets: VersionRow[] = [];
      for (const v of versions)
        targets.push(all.find((r) => r.version === v) ?? (await notFoundVersion(name, v, trx, pkg.id)));
      await this.#checkUnpublishable(trx, pkg, targets, now);
      const remaining = all.filter((v) => !versions.includes(v.version));
      await this.#hide(trx, pkg, versions, 'unpublished');
      if (remaining.length === 0) {
        await markGone(trx, pkg, now);
        await recordEvent(
          trx,
          { kind: EventKind.PackageUnpublished, subject: name, actorId: actor.id, data: { versions } },
          now,
        );
      } else {
        for (const version of versions)
          await recordEvent(
            trx,
            { kind: EventKind.VersionUnpublished, subject: name, actorId: actor.id, data: { version } },
            now,
          );
        await repointTags(trx, pkg, remaining, now);
      }
    });
  }

  /** npm unpublish name --force: every version, under the same rules as one. */
  async unpublishPackage(actor: Actor, name: string, rev?: string): Promise<string[]> {
    const now = this.#clock();
    return this.#change(name, rev, async (trx, pkg) => {
      const all = await visibleVersions(trx, pkg.id);
      if (all.length === 0) throw notFound(`${name} has no versions to unpublish`);
      await this.#checkUnpublishable(trx, pkg, all, now);
      const versions = all.map((v) => v.version);
      await this.#hide(trx, pkg, versions, 'unpublished');
      await markGone(trx, pkg, now);
      await recordEvent(
        trx,
        { kind: EventKind.PackageUnpublished, subject: name, actorId: actor.id, data: { versions } },
        now,
      );
      return versions;
    });
  }

  async #checkUnpublishable(trx: Tx, pkg: PackageRow, targets: VersionRow[], now: number): Promise<void> {
    const hours = Math.round(this.#windowMs / 3600_000);
    const late = targets.filter((v) => now - v.published_at > this.#windowMs);
    if (late.length) {
      const which = late.map((v) => `${pkg.name}@${v.version}`).join(', ');
      throw fail(
        'E_UNPUBLISH_REFUSED',
        `${which} can no longer be unpublished: versions can only be unpublished within ${hours} hours of publishing. ` +
          `Deprecate instead (npm deprecate ${pkg.name}@${late[0]!.version} "<message>"), or ask a registry administrator if it must go (policy: /-/web/policies/unpublish)`,
      );
    }
    const dependents = await dependentsOf(
      trx,
      pkg,
      targets.map((v) => v.version),
    );
    if (dependents.length) {
      const shown = dependents.slice(0, DEPENDENTS_SHOWN).map((d) => `${d.name}@${d.version} (${d.range})`);
      const more = dependents.length > DEPENDENTS_SHOWN ? ` and ${dependents.length - DEPENDENTS_SHOWN} more` : '';
      throw fail(
        'E_UNPUBLISH_REFUSED',
        `${pkg.name} cannot be unpublished: other packages depend on it: ${shown.join(', ')}${more}. Deprecate it instead (npm deprecate), or ask a registry administrator (policy: /-/web/policies/unpublish)`,
      );
    }
  }

  async #hide(
    trx: Tx,
    pkg: PackageRow,
    versions: string[],
    state: 'unpublished' | 'removed' | 'quarantined',
  ): Promise<void> {
    await trx
      .updateTable('versions')
      .set({ state })
      .where('package_id', '=', pkg.id)
      .where('version', 'in', versions)
      .execute();
    await trx.deleteFrom('dist_tags').where('package_id', '=', pkg.id).where('version', 'in', versions).execute();
  }

  /**
   * A moderator removes versions (or, with version null, the whole package) as malicious: they are never served again,
   * their name@version stays burnt, a whole package loses its maintainers so only an administrator can give the name
   * out again, and an advisory is published when the advisory database is configured. Returns the removed versions.
   */
  async removeMalicious(
    actor: Actor,
    name: string,
    version: string | null,
    details: { reason: string; evidence?: string; reporters?: string[] },
  ): Promise<{ versions: string[]; advisory: string | null }> {
    const reason = details.reason.trim();
    if (!reason)
      throw fail(
        'E_REPORT_INVALID',
        'say why the package is malicious: the reason is published in the log and the advisory',
      );
    const now = this.#clock();
    return this.#change(name, undefined, async (trx, pkg) => {
      const live = await trx
        .selectFrom('versions')
        .select(['version', 'state'])
        .where('package_id', '=', pkg.id)
        .where('state', 'in', ['visible', 'quarantined', 'held'])
        .execute();
      let versions: string[];
      if (version === null) versions = live.map((v) => v.version);
      else if (live.some((v) => v.version === version)) versions = [version];
      else throw notFound(`${name}@${version} is not published here (or was already removed)`);
      if (versions.length) await this.#hide(trx, pkg, versions, 'removed');
      const remaining = (await visibleVersions(trx, pkg.id)).filter((v) => !versions.includes(v.version));
      if (version === null || remaining.length === 0) {
        await trx.deleteFrom('maintainers').where('package_id', '=', pkg.id).execute();
        await markGone(trx, pkg, now);
      } else {
        await repointTags(trx, pkg, remaining, now);
      }
      await recordEvent(
        trx,
        {
          kind: EventKind.MaliciousRemoved,
          subject: name,
          actorId: actor.id,
          data: { version: version ?? '*', versions, reason, actor: actor.name },
        },
        now,
      );
      const advisory = this.#recordAdvisory
        ? await this.#recordAdvisory(
            trx,
            {
              name,
              versions: version === null ? null : versions,
              reason,
              evidence: details.evidence ?? '',
              reporters: details.reporters ?? [],
              actor: actor.name,
            },
            now,
          )
        : null;
      return { versions, advisory };
    });
  }

  /** Hides a visible version while moderators look at it; its dist-tags move to the newest remaining version. */
  async quarantine(actor: Actor, name: string, version: string, reason: string): Promise<void> {
    const now = this.#clock();
    await this.#change(name, undefined, async (trx, pkg) => {
      const all = await visibleVersions(trx, pkg.id);
      if (!all.some((v) => v.version === version))
        throw notFound(`${name}@${version} is not visible, so it cannot be quarantined`);
      await this.#hide(trx, pkg, [version], 'quarantined');
      const remaining = all.filter((v) => v.version !== version);
      if (remaining.length) await repointTags(trx, pkg, remaining, now);
      else await touchPackage(trx, pkg.id, now, { latest_version: null });
      await recordEvent(
        trx,
        { kind: EventKind.VersionQuarantined, subject: name, actorId: actor.id, data: { version, reason } },
        now,
      );
    });
  }

  /**
   * Makes a quarantined or held version installable again. A quarantined one was visible before: its tags are not
   * restored. A held one becomes visible for the first time, so it is then signed, gets the dist-tag its publish asked
   * for (unless that tag already names a newer version) and its publish enters the log, dated now.
   */
  async release(actor: Actor, name: string, version: string, reason = ''): Promise<void> {
    const row = await this.#db
      .selectFrom('versions')
      .innerJoin('packages', 'packages.id', 'versions.package_id')
      .select([
        'versions.state',
        'versions.integrity',
        'versions.publisher_id',
        'versions.held_tag',
        'versions.manifest',
      ])
      .where('packages.name', '=', name)
      .where('versions.version', '=', version)
      .executeTakeFirst();
    if (!row || (row.state !== 'quarantined' && row.state !== 'held'))
      throw notFound(`${name}@${version} is not held or in quarantine`);
    // A held version becomes visible for the first time: it takes the one step publish takes (visible.ts).
    const signed =
      row.state === 'held'
        ? await signManifest(this.#signer, name, version, row.integrity, JSON.parse(row.manifest) as Manifest)
        : null;
    const now = this.#clock();
    await this.#change(name, undefined, async (trx, pkg) => {
      // The state guard: a held version's manifest does not change while it waits, so the one read above stands.
      const res = await trx
        .updateTable('versions')
        .set(
          signed
            ? { state: 'visible', manifest: signed.stored, published_at: now, held_tag: null }
            : { state: 'visible' },
        )
        .where('package_id', '=', pkg.id)
        .where('version', '=', version)
        .where('state', '=', row.state)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0)
        throw fail('E_PACKAGE_CHANGED', `${name}@${version} changed while it was being released: look again`);
      if (signed)
        // The publish enters the log now, as its publisher's, and the moderator's decision beside it.
        await makeVisible(
          trx,
          signed,
          {
            pkg,
            tag: row.held_tag ?? 'latest',
            tagMoves: 'forward',
            publisherId: row.publisher_id,
            tokenId: null,
            released: true,
          },
          now,
        );
      else
        await repointTags(trx, { ...pkg, unpublished_at: null }, await visibleVersions(trx, pkg.id), now, {
          keepExisting: true,
        });
      await recordEvent(
        trx,
        { kind: EventKind.VersionReleased, subject: name, actorId: actor.id, data: { version, reason } },
        now,
      );
    });
  }

  /**
   * An administrator gives a package (or a held name) to another account: its maintainers become just that user. A
   * held name gets a fresh hold for the new owner, who may then publish new versions (never old ones again).
   */
  async transfer(actor: Actor, name: string, toUser: string, reason: string): Promise<{ from: string[] }> {
    const now = this.#clock();
    return this.#change(name, undefined, async (trx, pkg) => {
      const to = await trx
        .selectFrom('users')
        .select(['id', 'name'])
        .where('name', '=', toUser)
        .where('deleted_at', 'is', null)
        .where('disabled_at', 'is', null)
        .executeTakeFirst();
      if (!to) throw notFound(`there is no active account named "${toUser}"`);
      const current = await trx
        .selectFrom('maintainers')
        .innerJoin('users', 'users.id', 'maintainers.user_id')
        .select(['users.name'])
        .where('package_id', '=', pkg.id)
        .orderBy('users.name')
        .execute();
      const from = current.map((c) => c.name);
      if (from.length === 1 && from[0] === to.name)
        throw fail('E_ALREADY_DONE', `${name} already belongs to ${to.name} alone`);
      await trx.deleteFrom('maintainers').where('package_id', '=', pkg.id).execute();
      await trx.insertInto('maintainers').values({ package_id: pkg.id, user_id: to.id }).execute();
      await touchPackage(trx, pkg.id, now, pkg.unpublished_at !== null ? { unpublished_at: now } : {});
      await recordEvent(
        trx,
        {
          kind: EventKind.PackageTransferred,
          subject: name,
          actorId: actor.id,
          data: { from: from.map((n) => `user:${n}`).join(','), to: `user:${to.name}`, reason },
        },
        now,
      );
      return { from };
    });
  }

  /**
   * An administrator deletes a package outright: versions, tags and maintainers go and the name is free again, but
   * the ledger of published name@version pairs stays, so none of its versions can ever be published again.
   */
  async deletePackage(actor: Actor, name: string, reason: string): Promise<string[]> {
    const now = this.#clock();
    return this.#change(name, undefined, async (trx, pkg) => {
      const versions = (
        await trx.selectFrom('versions').select('version').where('package_id', '=', pkg.id).orderBy('id').execute()
      ).map((v) => v.version);
      await trx.deleteFrom('packages').where('id', '=', pkg.id).execute();
      await recordEvent(
        trx,
        {
          kind: EventKind.PackageUnpublished,
          subject: name,
          actorId: actor.id,
          data: { versions, deleted: true, reason },
        },
        now,
      );
      return versions;
    });
  }

  /** Runs one change to an existing package in a transaction and drops its cached read-path entry afterwards. */
  async #change<T>(name: string, rev: string | undefined, fn: (trx: Tx, pkg: PackageRow) => Promise<T>): Promise<T> {
    try {
      return await this.#db.transaction().execute(async (trx) => {
        const pkg = await trx
          .selectFrom('packages')
          .select(['id', 'name', 'rev', 'unpublished_at', 'latest_version'])
          .where('name', '=', name)
          .executeTakeFirst();
        if (!pkg) throw notFound(`${name} is not in this registry`);
        // npm sends the revision it read; another one means the package changed in between.
        if (rev !== undefined && !isCurrentRevision(rev, pkg.rev))
          throw fail('E_PACKAGE_CHANGED', 'the package changed since npm read it: run the command again');
        return fn(trx, pkg);
      });
    } finally {
      this.#invalidate(name);
    }
  }
}

async function visibleVersions(trx: Tx | Db, packageId: number): Promise<VersionRow[]> {
  return trx
    .selectFrom('versions')
    .select(['version', 'published_at', 'state', 'deprecated'])
    .where('package_id', '=', packageId)
    .where('state', '=', 'visible')
    .orderBy('id')
    .execute();
}

async function notFoundVersion(name: string, version: string, trx: Tx, packageId: number): Promise<never> {
  const row = await trx
    .selectFrom('versions')
    .select('state')
    .where('package_id', '=', packageId)
    .where('version', '=', version)
    .executeTakeFirst();
  if (row?.state === 'quarantined' || row?.state === 'held')
    throw fail(
      'E_VERSION_HELD',
      `${name}@${version} is held for security review and cannot be unpublished while it is`,
    );
  throw notFound(`${name}@${version} is not published here${row ? ' any more' : ''}`);
}

/** Other packages' visible versions whose dependencies may resolve to one of `versions`. */
async function dependentsOf(
  trx: Tx,
  pkg: PackageRow,
  versions: string[],
): Promise<Array<{ name: string; version: string; range: string }>> {
  const edges = await trx
    .selectFrom('dependency_edges as e')
    .innerJoin('versions as v', (j) =>
      j.onRef('v.package_id', '=', 'e.package_id').onRef('v.version', '=', 'e.version'),
    )
    .innerJoin('packages as p', 'p.id', 'e.package_id')
    .select(['p.name', 'e.version', 'e.range'])
    .where('e.dependency', '=', pkg.name)
    .where('e.package_id', '!=', pkg.id)
    .where('v.state', '=', 'visible')
    .orderBy('p.name')
    .orderBy('e.version')
    .execute();
  if (!edges.length) return [];
  const tags = Object.fromEntries(
    (await trx.selectFrom('dist_tags').select(['tag', 'version']).where('package_id', '=', pkg.id).execute()).map(
      (t) => [t.tag, t.version],
    ),
  );
  return edges.filter((e) => versions.some((v) => rangeAdmits(e.range, v, tags)));
}

/** The package keeps its row (and maintainers, for the name hold) but no longer has any version. */
async function markGone(trx: Tx, pkg: PackageRow, now: number): Promise<void> {
  await trx.deleteFrom('dist_tags').where('package_id', '=', pkg.id).execute();
  await touchPackage(trx, pkg.id, now, { unpublished_at: now, latest_version: null });
}

/**
 * After versions left, dist-tags must name versions that are still there: "latest" goes to the highest remaining
 * release (a prerelease only when nothing else is left), as npm's own unpublish does on the client side.
 */
async function repointTags(
  trx: Tx,
  pkg: PackageRow,
  remaining: VersionRow[],
  now: number,
  opts: { keepExisting?: boolean } = {},
): Promise<void> {
  const current = await trx
    .selectFrom('dist_tags')
    .select(['tag', 'version'])
    .where('package_id', '=', pkg.id)
    .where('tag', '=', 'latest')
    .executeTakeFirst();
  let latest = current?.version ?? null;
  if (!current || !opts.keepExisting) {
    const sorted = remaining.map((v) => v.version).sort(semver.compareLoose);
    latest = sorted.filter((v) => !semver.prerelease(v)).at(-1) ?? sorted.at(-1) ?? null;
    if (latest && latest !== current?.version) {
      await upsertTag(trx, pkg.id, 'latest', latest);
    }
  }
  await touchPackage(trx, pkg.id, now, { latest_version: latest, unpublished_at: null });
}
