// `bulwark import verdaccio`: a Verdaccio storage folder (and its htpasswd file and config.yaml) into this registry.
// Every version goes through Packages.publish, the path a real publish takes (the tarball read as npm will extract
// it, its integrity checked, the malware scan, the registry signature, the event the transparency log records), with
// its original publish time. Everything is looked up before it is written, so a second run finds it all present and
// writes nothing: no row, no event, no log entry.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ownerPrincipal } from '../access/org-rights.ts';
import { setMaintainers, setVisibility } from '../access/orgs.ts';
import { LEGACY_PREFIX, RESET_PREFIX, WEAK_KINDS, type LegacyKind } from '../accounts/legacy-passwords.ts';
import { emailProblem, usernameProblem } from '../accounts/users.ts';
import { ClientError } from '../errors.ts';
import { scopeOf } from '../names/syntax.ts';
import type { Packages } from '../packages/service.ts';
import type { Db } from '../store/db.ts';
import { EventKind, recordEvent } from '../store/events.ts';
import type { UserRow } from '../store/schema.ts';
import { parseHtpasswd } from './htpasswd.ts';
import { translateRules, type PackageAccess, type VerdaccioConfig } from './verdaccio-config.ts';
import {
  listPackageDirs,
  planPackage,
  readLocalList,
  type PackagePlan,
  type StoredVersion,
} from './verdaccio-storage.ts';

export type ImportDeps = { db: Db; packages: Packages; clock: () => number };

export type ImportOptions = {
  storageDir: string;
  /** the htpasswd file's text, or null to import no users. */
  htpasswd: string | null;
  config: VerdaccioConfig | null;
  /** who owns packages whose owner neither the packument nor a publish rule names. */
  owner: string | null;
  /** email addresses by user name (htpasswd has none). */
  emails: ReadonlyMap<string, string>;
  /** accept unsalted SHA-1 and DES crypt hashes for one sign-in (default: those accounts must reset by email). */
  acceptWeakHashes: boolean;
  /** every imported account must set a new password by email before it signs in. */
  requireReset: boolean;
  onProgress?: (p: { done: number; total: number; current: string }) => void;
};

export type Skipped = { item: string; reason: string };

export type ImportReport = {
  packages: { imported: number; unchanged: number; cached: string[]; failed: Skipped[] };
  versions: { imported: number; present: number; held: Skipped[]; corrupt: Skipped[]; refused: Skipped[] };
  tarballs: { count: number; bytes: number };
  distTags: { set: number };
  owners: { added: number };
  access: { changed: number; unmapped: string[] };
  users: {
    created: number;
    present: number;
    legacy: Partial<Record<LegacyKind, number>>;
    mustReset: Skipped[];
    refused: Skipped[];
    withoutEmail: string[];
  };
  warnings: string[];
};

/** The address an account without a known one gets: a reserved domain (RFC 2606) that never receives mail. */
export const placeholderEmail = (name: string) => `${name}@no-email.invalid`;

export async function importVerdaccio(deps: ImportDeps, opts: ImportOptions): Promise<ImportReport> {
  const report: ImportReport = {
    packages: { imported: 0, unchanged: 0, cached: [], failed: [] },
    versions: { imported: 0, present: 0, held: [], corrupt: [], refused: [] },
    tarballs: { count: 0, bytes: 0 },
    distTags: { set: 0 },
    owners: { added: 0 },
    access: { changed: 0, unmapped: [] },
    users: { created: 0, present: 0, legacy: {}, mustReset: [], refused: [], withoutEmail: [] },
    warnings: [],
  };
  const imported = opts.htpasswd === null ? new Set<string>() : await importUsers(deps, opts, report);
  const localList = await readLocalList(opts.storageDir);
  if (localList === null)
    report.warnings.push(
      '.verdaccio-db.json is missing: packages without an uplink record were taken as published locally',
    );
  const names = await listPackageDirs(opts.storageDir);
  const plans: PackagePlan[] = [];
  for (const name of names) {
    try {
      const doc = JSON.parse(await readFile(path.join(opts.storageDir, name, 'package.json'), 'utf8')) as unknown;
      const plan = planPackage(name, doc, localList);
      if (plan.kind === 'cached') report.packages.cached.push(name);
      else plans.push(plan);
    } catch (err) {
      report.packages.failed.push({ item: name, reason: `its package.json cannot be read: ${(err as Error).message}` });
    }
  }
  const users = new Set(
    (await deps.db.selectFrom('users').select('name').where('deleted_at', 'is', null).execute()).map((u) => u.name),
  );
  for (const u of imported) users.add(u);
  const translation = translateRules(
    opts.config?.rules ?? [],
    plans.map((p) => p.name),
    users,
  );
  report.access.unmapped.push(...translation.unmapped);
  let done = 0;
  for (const plan of plans) {
    opts.onProgress?.({ done, total: plans.length, current: plan.name });
    await importPackage(
      deps,
      opts,
      plan,
      translation.packages.find((t) => t.name === plan.name)!,
      users,
      report,
    );
    opts.onProgress?.({ done: ++done, total: plans.length, current: plan.name });
  }
  return report;
}

async function importUsers(deps: ImportDeps, opts: ImportOptions, report: ImportReport): Promise<Set<string>> {
  const names = new Set<string>();
  for (const entry of parseHtpasswd(opts.htpasswd ?? '')) {
    const problem = usernameProblem(entry.name);
    if (problem) {
      report.users.refused.push({ item: entry.name, reason: problem });
      continue;
    }
    names.add(entry.name);
    const existing = await deps.db.selectFrom('users').select('id').where('name', '=', entry.name).executeTakeFirst();
    if (existing) {
      report.users.present++;
      continue;
    }
    let email = opts.emails.get(entry.name) ?? null;
    if (email !== null && emailProblem(email)) {
      report.warnings.push(`the email address given for ${entry.name} is not valid: ignored`);
      email = null;
    }
    if (email === null) report.users.withoutEmail.push(entry.name);
    const kind = entry.kind;
    let reset: string | null = null;
    if (opts.requireReset) reset = 'every imported account resets its password (--require-reset)';
    else if (kind === null) reset = 'its hash is in no format Verdaccio writes';
    else if (kind === 'md5' || kind === 'plain')
      reset = `its ${kind === 'md5' ? 'Apache MD5 ($apr1$)' : 'plain-text'} password is not carried over`;
    else if (WEAK_KINDS.includes(kind) && !opts.acceptWeakHashes)
      reset = `its ${kind === 'sha1' ? 'unsalted SHA-1' : 'DES crypt'} hash is too weak to accept (--accept-weak-hashes accepts it once)`;
    if (reset) report.users.mustReset.push({ item: entry.name, reason: reset });
    else report.users.legacy[kind!] = (report.users.legacy[kind!] ?? 0) + 1;
    const now = deps.clock();
    await deps.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('users')
        .values({
          name: entry.name,
          email: email ?? placeholderEmail(entry.name),
          password_hash: reset ? `${RESET_PREFIX}${kind ?? 'unknown'}` : `${LEGACY_PREFIX}${entry.hash}`,
          email_verified: 0,
          is_admin: 0,
          created_at: now,
        })
        .execute();
      await recordEvent(
        trx,
        {
          kind: EventKind.UserCreated,
          subject: entry.name,
          actorId: null,
          data: { admin: false, emailVerified: false },
        },
        now,
      );
    });
    report.users.created++;
  }
  const weak = (report.users.legacy.sha1 ?? 0) + (report.users.legacy.crypt ?? 0);
  if (weak)
    report.warnings.push(
      `${weak} account(s) will sign in once with an unsalted SHA-1 or DES crypt hash (--accept-weak-hashes): anyone holding a copy of the htpasswd file can recover those passwords offline; ask their owners to change them`,
    );
  return names;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why the tarball does not match what the packument (and Verdaccio's own record of it) says, or null. Pure. */
export function tarballMismatch(bytes: Buffer, manifest: Record<string, unknown>, attachment: unknown): string | null {
  const dist = isObject(manifest.dist) ? manifest.dist : {};
  const sha512 = `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
  const sha1 = createHash('sha1').update(bytes).digest('hex');
  const integrity = typeof dist.integrity === 'string' ? dist.integrity : null;
  const shasums = [dist.shasum, isObject(attachment) ? attachment.shasum : undefined].filter(
    (s): s is string => typeof s === 'string',
  );
  if (integrity === null && shasums.length === 0) return 'the packument records no integrity or shasum to check it by';
  if (integrity?.startsWith('sha512-') && integrity !== sha512)
    return `its sha512 is ${sha512}, the packument says ${integrity}`;
  const wrong = shasums.find((s) => s !== sha1);
  if (wrong) return `its sha1 is ${sha1}, the packument says ${wrong}`;
  return null;
}

async function importPackage(
  deps: ImportDeps,
  opts: ImportOptions,
  plan: PackagePlan,
  access: PackageAccess,
  users: ReadonlySet<string>,
  report: ImportReport,
): Promise<void> {
  const { db, packages } = deps;
  for (const p of plan.problems) report.versions.refused.push({ item: `${plan.name}@${p.version}`, reason: p.reason });
  const wanted = [...new Set([...plan.owners, ...access.maintainers])].filter((o) => users.has(o));
  const ownerName = wanted[0] ?? opts.owner;
  const owner = ownerName
    ? await db.selectFrom('users').selectAll().where('name', '=', ownerName).executeTakeFirst()
    : undefined;
  if (!owner) {
    report.packages.failed.push({
      item: plan.name,
      reason: ownerName
        ? `its owner ${ownerName} is not a user here`
        : 'nothing names its owner (no maintainers in its packument, no user named by a publish rule): pass --owner',
    });
    return;
  }
  const dir = path.join(opts.storageDir, plan.name);
  const doc = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  const attachments = isObject(doc._attachments) ? doc._attachments : {};
  let changed = false;
  for (const v of plan.versions)
    changed = (await importVersion(deps, plan, v, owner, attachments[v.file], dir, report)) || changed;
  const facts = await packages.facts(plan.name);
  if (facts.id === null) {
    if (plan.versions.length)
      report.packages.failed.push({ item: plan.name, reason: 'none of its versions could be imported' });
    return;
  }
  const pkg = { id: facts.id, name: plan.name, scope: scopeOf(plan.name) };
  const principal = ownerPrincipal(owner);
  const actor = { id: owner.id, name: owner.name };
  const tags = Object.fromEntries(
    (await db.selectFrom('dist_tags').select(['tag', 'version']).where('package_id', '=', pkg.id).execute()).map(
      (t) => [t.tag, t.version],
    ),
  );
  for (const [tag, version] of Object.entries(plan.distTags)) {
    if (tags[tag] === version) continue;
    try {
      await packages.setDistTag(principal, pkg.id, plan.name, tag, version);
      report.distTags.set++;
      changed = true;
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      report.warnings.push(`${plan.name}: dist-tag ${tag} → ${version} not set: ${err.message}`);
    }
  }
  const current = (
    await db
      .selectFrom('maintainers')
      .innerJoin('users', 'users.id', 'maintainers.user_id')
      .select('users.name')
      .where('package_id', '=', pkg.id)
      .execute()
  ).map((m) => m.name);
  const missing = wanted.filter((w) => !current.includes(w));
  if (missing.length) {
    const { added } = await setMaintainers(
      db,
      pkg,
      [...current, ...missing].map((name) => ({ name })),
      actor,
      deps.clock(),
    );
    report.owners.added += added.length;
    changed ||= added.length > 0;
  }
  if (access.access !== null && access.access !== facts.access) {
    await setVisibility(db, pkg, access.access, actor, deps.clock());
    report.access.changed++;
    changed = true;
  }
  packages.invalidate(plan.name);
  if (changed) report.packages.imported++;
  else report.packages.unchanged++;
}

/** One version through the publish path; true when it was stored. */
async function importVersion(
  deps: ImportDeps,
  plan: PackagePlan,
  v: StoredVersion,
  owner: UserRow,
  attachment: unknown,
  dir: string,
  report: ImportReport,
): Promise<boolean> {
  const id = `${plan.name}@${v.version}`;
  const present = await deps.db
    .selectFrom('published_versions')
    .select('integrity')
    .where('name', '=', plan.name)
    .where('version', '=', v.version)
    .executeTakeFirst();
  if (present) {
    report.versions.present++;
    return false;
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(path.join(dir, v.file));
  } catch (err) {
    report.versions.corrupt.push({
      item: id,
      reason: `its tarball ${v.file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    });
    return false;
  }
  const mismatch = tarballMismatch(bytes, v.manifest, attachment);
  if (mismatch) {
    report.versions.corrupt.push({ item: id, reason: `its tarball ${v.file} is corrupt: ${mismatch}` });
    return false;
  }
  const tag = Object.entries(plan.distTags).find(([, t]) => t === v.version)?.[0] ?? 'latest';
  const manifest = { ...v.manifest };
  delete manifest._attachments;
  const doc = {
    _id: plan.name,
    name: plan.name,
    'dist-tags': { [tag]: v.version },
    versions: { [v.version]: manifest },
    _attachments: {
      [v.file]: { content_type: 'application/octet-stream', data: bytes.toString('base64'), length: bytes.length },
    },
  };
  try {
    await deps.packages.publish(ownerPrincipal(owner), plan.name, doc, {
      ...(v.publishedAt !== null ? { publishedAt: v.publishedAt } : {}),
    });
  } catch (err) {
    if (!(err instanceof ClientError)) throw err;
    // A held version is stored (held, the moderation queue told) exactly as a publish would leave it.
    if (err.code === 'E_VERSION_HELD') report.versions.held.push({ item: id, reason: err.message });
    else {
      (err.code === 'E_TARBALL_MISMATCH' ? report.versions.corrupt : report.versions.refused).push({
        item: id,
        reason: err.message,
      });
      return false;
    }
  }
  report.versions.imported++;
  report.tarballs.count++;
  report.tarballs.bytes += bytes.length;
  return true;
}
