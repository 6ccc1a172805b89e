// Versioned schema migrations, applied in order on start. A migration, once released, is never edited: add a new one.
// Each has its own number, NNNN-what-it-does (0008.1 is one renumbered after its release, see RENAMED). Kysely runs
// them in the order of their names, so a new one takes the next number after the highest.
import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type { Dialect } from './db.ts';

type Builder = (dialect: Dialect) => Migration;

const MIGRATIONS: Record<string, Builder> = {
  '0001-core': (dialect) => ({
    async up(db: Kysely<unknown>) {
      const id = (t: string) =>
        dialect === 'sqlite'
          ? db.schema.createTable(t).addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
          : db.schema.createTable(t).addColumn('id', 'bigserial', (c) => c.primaryKey());
      await id('users')
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('email_verified', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await id('tokens')
        .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('display', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('readonly', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('restrictions', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('last_used_at', 'bigint')
        .addColumn('last_used_ip', 'text')
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema.createIndex('tokens_user').on('tokens').column('user_id').execute();
      await db.schema
        .createTable('scopes')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('owner_user_id', 'bigint', (c) => c.notNull().references('users.id'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await id('packages')
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('scope', 'text')
        .addColumn('access', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('keywords', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('latest_version', 'text')
        .addColumn('rev', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('modified_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('maintainers')
        .addColumn('package_id', 'bigint', (c) => c.notNull().references('packages.id').onDelete('cascade'))
        .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id'))
        .addPrimaryKeyConstraint('maintainers_pk', ['package_id', 'user_id'])
        .execute();
      await db.schema.createIndex('maintainers_user').on('maintainers').column('user_id').execute();
      await id('versions')
        .addColumn('package_id', 'bigint', (c) => c.notNull().references('packages.id').onDelete('cascade'))
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('manifest', 'text', (c) => c.notNull())
        .addColumn('integrity', 'text', (c) => c.notNull())
        .addColumn('shasum', 'text', (c) => c.notNull())
        .addColumn('blob', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('readme', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('published_at', 'bigint', (c) => c.notNull())
        .addColumn('publisher_id', 'bigint', (c) => c.notNull().references('users.id'))
        .addColumn('state', 'text', (c) => c.notNull())
        .addUniqueConstraint('versions_package_version', ['package_id', 'version'])
        .execute();
      await db.schema
        .createTable('published_versions')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('integrity', 'text', (c) => c.notNull())
        .addColumn('published_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('published_versions_pk', ['name', 'version'])
        .execute();
      await db.schema
        .createTable('dist_tags')
        .addColumn('package_id', 'bigint', (c) => c.notNull().references('packages.id').onDelete('cascade'))
        .addColumn('tag', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('dist_tags_pk', ['package_id', 'tag'])
        .execute();
      await (
        dialect === 'sqlite'
          ? db.schema.createTable('events').addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
          : db.schema.createTable('events').addColumn('seq', 'bigserial', (c) => c.primaryKey())
      )
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'bigint')
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('consumer_cursors')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('position', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable('downloads')
        .addColumn('package_id', 'bigint', (c) => c.notNull().references('packages.id').onDelete('cascade'))
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('downloads_pk', ['package_id', 'version', 'day'])
        .execute();
      await db.schema.createIndex('downloads_day').on('downloads').columns(['day', 'package_id']).execute();
    },
  }),
  '0002-accounts': (dialect) => ({
    async up(db: Kysely<unknown>) {
      const id = (t: string) =>
        dialect === 'sqlite'
          ? db.schema.createTable(t).addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
          : db.schema.createTable(t).addColumn('id', 'bigserial', (c) => c.primaryKey());
      // Sealed with the instance key; null when no authenticator app is enrolled.
      await db.schema.alterTable('users').addColumn('totp_secret', 'text').execute();
      await db.schema
        .alterTable('users')
        .addColumn('totp_mode', 'text', (c) => c.notNull().defaultTo('disabled'))
        .execute();
      // The highest TOTP time step accepted so far: a code is never accepted twice (replay).
      await db.schema
        .alterTable('users')
        .addColumn('totp_last_step', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable('users').addColumn('disabled_at', 'bigint').execute();
      await id('sessions')
        .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('session_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('ip', 'text', (c) => c.notNull())
        .addColumn('user_agent', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();
      await id('email_tokens')
        .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute();
      await id('recovery_codes')
        .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('code_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute();
      await db.schema.createIndex('recovery_codes_user').on('recovery_codes').column('user_id').execute();
      await id('web_logins')
        .addColumn('login_hash', 'text', (c) => c.notNull().unique())
        .addColumn('done_hash', 'text', (c) => c.notNull().unique())
        .addColumn('create_account', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('user_id', 'bigint', (c) => c.references('users.id').onDelete('cascade'))
        .addColumn('token_sealed', 'text')
        .addColumn('delivered_at', 'bigint')
        .execute();
      // Emails waiting to be sent: written in the transaction that decided to send them, sent outside any transaction.
      await id('outbox')
        .addColumn('recipient', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
        .addColumn('sent_at', 'bigint')
        .addColumn('last_error', 'text')
        .execute();
      await db.schema.createIndex('outbox_pending').on('outbox').columns(['sent_at', 'next_attempt_at']).execute();
      await db.schema
        .createTable('rate_limits')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('failures', 'bigint', (c) => c.notNull())
        .addColumn('window_start', 'bigint', (c) => c.notNull())
        .addColumn('blocked_until', 'bigint', (c) => c.notNull())
        .execute();
    },
  }),
  '0005-admin-users': () => ({
    async up(db: Kysely<unknown>) {
      // A deleted account keeps its row (published versions and events name it) and its name stays taken for good,
      // so no one can later sign up under the name of a removed account and inherit its reputation.
      await db.schema.alterTable('users').addColumn('deleted_at', 'bigint').execute();
    },
  }),
  '0007-orgs': (dialect) => ({
    async up(db: Kysely<unknown>) {
      const id = (t: string) =>
        dialect === 'sqlite'
          ? db.schema.createTable(t).addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
          : db.schema.createTable(t).addColumn('id', 'bigserial', (c) => c.primaryKey());
      // A registry-level role for the moderation work (reports, quarantine review); it grants no package rights.
      await db.schema
        .alterTable('users')
        .addColumn('is_moderator', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      // An organisation is a scope that has members instead of a single owner. The scope row stays (it is what claims
      // the name); the org row marks it as shared, and scopes.owner_user_id keeps naming who created it.
      await db.schema
        .createTable('orgs')
        .addColumn('name', 'text', (c) => c.primaryKey().references('scopes.name'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('org_members')
        .addColumn('org', 'text', (c) => c.notNull().references('orgs.name').onDelete('cascade'))
        .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id'))
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('org_members_pk', ['org', 'user_id'])
        .execute();
      await db.schema.createIndex('org_members_user').on('org_members').column('user_id').execute();
      await id('teams')
        .addColumn('org', 'text', (c) => c.notNull().references('orgs.name').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('teams_org_name', ['org', 'name'])
        .execute();
      await db.schema
        .createTable('team_members')
        .addColumn('team_id', 'bigint', (c) => c.notNull().references('teams.id').onDelete('cascade'))
        .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id'))
        .addPrimaryKeyConstraint('team_members_pk', ['team_id', 'user_id'])
        .execute();
      await db.schema.createIndex('team_members_user').on('team_members').column('user_id').execute();
      // npm access grant: 'read-only' or 'read-write' for one team on one package.
      await db.schema
        .createTable('team_packages')
        .addColumn('team_id', 'bigint', (c) => c.notNull().references('teams.id').onDelete('cascade'))
        .addColumn('package_id', 'bigint', (c) => c.notNull().references('packages.id').onDelete('cascade'))
        .addColumn('permission', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('team_packages_pk', ['team_id', 'package_id'])
        .execute();
      await db.schema.createIndex('team_packages_package').on('team_packages').column('package_id').execute();
    },
  }),
  // The transparency log (src/trust/tlog/): its entries, the hash of every complete subtree, signed checkpoints, its key.
  '0008-log': () => ({
    async up(db: Kysely<unknown>) {
      // One row per log entry. leaf is the public entry (a clear record, or a sealed commitment); record and salt
      // open a sealed entry and are shown only to readers of the package.
      await db.schema
        .createTable('log_leaves')
        .addColumn('idx', 'bigint', (c) => c.primaryKey())
        .addColumn('event_seq', 'bigint', (c) => c.notNull())
        .addColumn('part', 'integer', (c) => c.notNull())
        .addColumn('package', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('version', 'text')
        .addColumn('leaf', 'text', (c) => c.notNull())
        .addColumn('leaf_hash', 'text', (c) => c.notNull())
        .addColumn('record', 'text', (c) => c.notNull())
        .addColumn('salt', 'text')
        .addUniqueConstraint('log_leaves_event', ['event_seq', 'part'])
        .execute();
      await db.schema.createIndex('log_leaves_package').on('log_leaves').columns(['package', 'version']).execute();
      // level 0 holds the leaf hashes; tiles (c2sp.org/tlog-tiles) are the rows of levels 0, 8, 16, …
      await db.schema
        .createTable('log_nodes')
        .addColumn('level', 'integer', (c) => c.notNull())
        .addColumn('idx', 'bigint', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('log_nodes_pk', ['level', 'idx'])
        .execute();
      await db.schema
        .createTable('log_checkpoints')
        .addColumn('size', 'bigint', (c) => c.primaryKey())
        .addColumn('root', 'text', (c) => c.notNull())
        .addColumn('note', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      // The log's Ed25519 seed, sealed with the instance key; origin is fixed at first start (the log's identity).
      await db.schema
        .createTable('log_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('origin', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('sealed_seed', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  }),
  // Witnesses the operator configured (c2sp.org/tlog-witness): where to submit checkpoints, the key their cosignatures
  // verify with, and the latest tree size each is known to have cosigned (the "old" size of the next request).
  // Released as 0009-log-witnesses, a number 0009-names-security also had: renamed, in place, by RENAMED.
  '0008.1-log-witnesses': () => ({
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('log_witnesses')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('vkey', 'text', (c) => c.notNull())
        .addColumn('cosigned_size', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  }),
  // Name safety and disclosure (src/names/): names an administrator allowed despite the typosquatting check, name
  // patterns reserved for an organisation (dependency confusion), and vulnerability reports sent through the web form.
  '0009-names-security': (dialect) => ({
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('name_allows')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('allowed_by', 'bigint')
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('name_reservations')
        .addColumn('pattern', 'text', (c) => c.primaryKey())
        .addColumn('org', 'text', (c) => c.notNull())
        .addColumn('created_by', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      const id =
        dialect === 'sqlite'
          ? db.schema.createTable('security_reports').addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
          : db.schema.createTable('security_reports').addColumn('id', 'bigserial', (c) => c.primaryKey());
      await id
        .addColumn('reporter_id', 'bigint')
        .addColumn('reporter_email', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('answer', 'text')
        .addColumn('answered_by', 'bigint')
        .addColumn('answered_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  }),
  // Registry signing keys (src/trust/): ECDSA P-256, the private half sealed with the instance key. generation orders
  // the keys (the highest signs) and is unique so that two nodes starting at once cannot both create a first key.
  '0010-signing-keys': () => ({
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('signing_keys')
        .addColumn('keyid', 'text', (c) => c.primaryKey())
        .addColumn('generation', 'integer', (c) => c.notNull().unique())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('sealed_private_key', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint')
        .execute();
    },
  }),
  // Package lifecycle (src/packages/lifecycle.ts): deprecation messages kept beside the immutable manifest, the moment
  // a package lost its last version (its name is then held for its previous owners), and every dependency of every
  // version, so unpublish can refuse a version that another package depends on without reading every manifest.
  '0011-lifecycle': () => ({
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('versions').addColumn('deprecated', 'text').execute();
      await db.schema.alterTable('packages').addColumn('unpublished_at', 'bigint').execute();
      await db.schema
        .createTable('dependency_edges')
        .addColumn('package_id', 'bigint', (c) => c.notNull().references('packages.id').onDelete('cascade'))
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('dependency', 'text', (c) => c.notNull())
        .addColumn('range', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('dependency_edges_dependency').on('dependency_edges').column('dependency').execute();
      await db.schema
        .createIndex('dependency_edges_package')
        .on('dependency_edges')
        .columns(['package_id', 'version'])
        .execute();
      const edges = db as unknown as Kysely<{
        versions: { package_id: number; version: string; manifest: string };
        dependency_edges: { package_id: number; version: string; dependency: string; range: string };
      }>;
      const versions = await edges.selectFrom('versions').select(['package_id', 'version', 'manifest']).execute();
      for (const v of versions) {
        const rows = dependencyEdgesAt0011(JSON.parse(v.manifest) as Record<string, unknown>).map((d) => ({
          package_id: v.package_id,
          version: v.version,
          ...d,
        }));
        if (rows.length) await edges.insertInto('dependency_edges').values(rows).execute();
      }
    },
  }),
  // OSV advisories for packages removed as malicious (src/safety/advisories.ts): one record per package, and the last
  // number given out per year, whose row lock keeps two removals from taking the same id.
  '0012-advisories': () => ({
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('advisories')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('package_name', 'text', (c) => c.notNull().unique())
        .addColumn('record', 'text', (c) => c.notNull())
        .addColumn('removals', 'text', (c) => c.notNull())
        .addColumn('published_at', 'bigint', (c) => c.notNull())
        .addColumn('modified_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('advisories_modified').on('advisories').column('modified_at').execute();
      await db.schema
        .createTable('advisory_counters')
        .addColumn('year', 'integer', (c) => c.primaryKey())
        .addColumn('last', 'bigint', (c) => c.notNull())
        .execute();
    },
  }),
  // Reports and the moderation queue (src/safety/moderation-tables.ts): one queue of items (users' reports, scanner
  // findings, security-form reports) ordered by risk, and the reports attached to them, one per reporter and
  // name@version (the unique index is the de-duplication).
  '0013-reports': (dialect) => ({
    async up(db: Kysely<unknown>) {
      const id = (t: string) =>
        dialect === 'sqlite'
          ? db.schema.createTable(t).addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
          : db.schema.createTable(t).addColumn('id', 'bigserial', (c) => c.primaryKey());
      await id('moderation_items')
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('package', 'text')
        .addColumn('version', 'text')
        .addColumn('risk', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('resolution', 'text')
        .addColumn('summary', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('evidence', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('publisher_id', 'bigint')
        .addColumn('ref_id', 'bigint')
        .addColumn('open_key', 'text', (c) => c.unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('resolved_by', 'bigint')
        .addColumn('resolved_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('moderation_items_queue')
        .on('moderation_items')
        .columns(['status', 'risk'])
        .execute();
      await db.schema
        .createIndex('moderation_items_ref')
        .on('moderation_items')
        .columns(['source', 'ref_id'])
        .unique()
        .execute();
      await db.schema.createIndex('moderation_items_package').on('moderation_items').column('package').execute();
      await id('reports')
        .addColumn('item_id', 'bigint', (c) => c.notNull().references('moderation_items.id').onDelete('cascade'))
        .addColumn('reporter_id', 'bigint', (c) => c.notNull().references('users.id'))
        .addColumn('package', 'text', (c) => c.notNull())
        .addColumn('version_key', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('reports_once')
        .on('reports')
        .columns(['reporter_id', 'package', 'version_key'])
        .unique()
        .execute();
      await db.schema.createIndex('reports_item').on('reports').column('item_id').execute();
    },
  }),
  // The publish-time malware scan (src/safety/scan/): each version's verdict and score, and for a version held for
  // review, the dist-tag its publish asked for, applied if a moderator releases it.
  '0014-scans': () => ({
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('versions').addColumn('scan_verdict', 'text').execute();
      await db.schema.alterTable('versions').addColumn('scan_score', 'integer').execute();
      await db.schema.alterTable('versions').addColumn('held_tag', 'text').execute();
    },
  }),
  // The blob sweeper (store/blob-sweeper.ts) asks, for every blob in the folder, whether a version references it.
  '0015-versions-blob': () => ({
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex('versions_blob').on('versions').column('blob').execute();
    },
  }),
  // npm's profile (npm profile get/set, accounts/profile.ts): the public fields a user fills in, and the mode an
  // enrolment begun with `npm profile enable-2fa` turns on once its first code confirms it.
  '0016-user-profile': () => ({
    async up(db: Kysely<unknown>) {
      for (const column of ['fullname', 'homepage', 'freenode', 'twitter', 'github', 'totp_pending_mode'])
        await db.schema.alterTable('users').addColumn(column, 'text').execute();
    },
  }),
  // The upstream proxy (upstream/service.ts): the last packument each upstream gave for a name, with what revalidates
  // it, and every proxied tarball checked here, with the integrity it had, its blob and the scan's verdict.
  '0017-upstream': () => ({
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('upstream_packuments')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('upstream', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('etag', 'text')
        .addColumn('last_modified', 'text')
        .addColumn('fetched_at', 'bigint', (c) => c.notNull())
        .addColumn('checked_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('upstream_tarballs')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('integrity', 'text', (c) => c.notNull())
        .addColumn('shasum', 'text')
        .addColumn('blob', 'text')
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('verdict', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('signatures', 'text')
        .addColumn('upstream', 'text', (c) => c.notNull())
        .addColumn('fetched_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('upstream_tarballs_pk', ['name', 'version'])
        .execute();
      // The blob sweeper asks whether a proxied version references a blob, as it asks of versions.
      await db.schema.createIndex('upstream_tarballs_blob').on('upstream_tarballs').column('blob').execute();
    },
  }),
  // The package page's file list (web/pages/version.ts): each version's files (path and size) as JSON, stored at
  // publish. Versions published before this have none; the page reads their tarball once and stores the list then.
  '0018-version-files': () => ({
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('versions').addColumn('files', 'text').execute();
    },
  }),
  // npm star (packages/stars.ts): one row per user per package, read per package for the packument's `users` and per
  // user for `npm stars`; a star goes with its package or its account.
  '0019-stars': () => ({
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('stars')
        .addColumn('package_id', 'bigint', (c) => c.notNull().references('packages.id').onDelete('cascade'))
        .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('stars_pk', ['package_id', 'user_id'])
        .execute();
      await db.schema.createIndex('stars_user').on('stars').column('user_id').execute();
    },
  }),
};

/**
 * Migrations released under another name, old name to new. A database that ran one under its old name gets its
 * bookkeeping row renamed before migrating, so the migration is neither run again nor refused as unknown; the row keeps
 * its timestamp. The new name MUST sort exactly where the old one did: Kysely refuses a database whose executed
 * migrations are not the first ones of the list. A release with the old name cannot open the database afterwards.
 */
const RENAMED: Record<string, string> = {
  '0009-log-witnesses': '0008.1-log-witnesses',
};

/** Every migration, by name, as built for the dialect. */
export function migrationsFor(dialect: Dialect): Record<string, Migration> {
  return Object.fromEntries(Object.entries(MIGRATIONS).map(([name, build]) => [name, build(dialect)]));
}

class CodeMigrations implements MigrationProvider {
  readonly #dialect: Dialect;
  constructor(dialect: Dialect) {
    this.#dialect = dialect;
  }
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrationsFor(this.#dialect);
  }
}

const MIGRATION_TABLE = 'bulwark_migrations';

/**
 * Applies RENAMED to the migrations a database has run, in one transaction. Idempotent, and safe when several nodes
 * start at once: a row renamed by one is no longer found under its old name by the others.
 */
async function renameReleasedMigrations(db: Kysely<unknown>, schema: string | undefined): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const tables = await trx.introspection.getTables({ withInternalKyselyTables: true });
    if (!tables.some((t) => t.name === MIGRATION_TABLE && (schema === undefined || t.schema === schema))) return;
    const table = sql.table(schema ? `${schema}.${MIGRATION_TABLE}` : MIGRATION_TABLE);
    for (const [from, to] of Object.entries(RENAMED))
      await sql`update ${table} set name = ${to} where name = ${from}`.execute(trx);
  });
}

/** schema: PostgreSQL's schema for the bookkeeping tables; named explicitly so registries in other schemas of the same database are not mistaken for this one. */
export async function migrate(db: Kysely<unknown>, dialect: Dialect, schema?: string): Promise<void> {
  await renameReleasedMigrations(db, schema);
  const migrator = new Migrator({
    db,
    provider: new CodeMigrations(dialect),
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: 'bulwark_migrations_lock',
    ...(schema ? { migrationTableSchema: schema } : {}),
    // Executed migrations that share a timestamp are ordered by this, the known ones by plain string order (Kysely's
    // sort()): the two must agree, whatever the process's locale, or a database is refused as out of order.
    nameComparator: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
  });
  // On PostgreSQL the migrator looks only at this schema (store/pg-schema-dialect.ts): other tenants of a shared
  // database can create and drop schemas meanwhile.
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(
      `database migration ${failed?.migrationName ?? ''} failed: ${(error as Error | undefined)?.message ?? 'unknown error'}`,
      { cause: error },
    );
  }
}

/**
 * packages/dependencies.ts's dependencyEdges as it was when the 0011-lifecycle migration (dependency_edges) was written: a migration
 * must do the same thing on every database it ever runs on, whatever the domain code later becomes.
 */
function dependencyEdgesAt0011(manifest: Record<string, unknown>): Array<{ dependency: string; range: string }> {
  const seen = new Map<string, { dependency: string; range: string }>();
  for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies']) {
    const deps = manifest[field];
    if (!deps || typeof deps !== 'object' || Array.isArray(deps)) continue;
    for (const [name, spec] of Object.entries(deps as Record<string, unknown>)) {
      if (typeof spec !== 'string') continue;
      const alias = /^npm:((?:@[^/@]+\/)?[^@]+)(?:@(.*))?$/.exec(spec);
      const edge = alias ? { dependency: alias[1]!, range: alias[2] || '*' } : { dependency: name, range: spec };
      seen.set(`${edge.dependency}\0${edge.range}`, edge);
    }
  }
  return [...seen.values()];
}
