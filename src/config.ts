// Every setting Bulwark reads, declared once: the CLI help, the environment variables, the config file and the
// validation all come from this table, so a setting cannot be documented in one place and parsed differently in another.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';

export type Settings = {
  host: string;
  port: number;
  dataDir: string;
  database: string | null;
  publicUrl: string | null;
  trustProxy: string[];
  /** self sign-up; when not set, open only if new accounts can be verified (SMTP, or approval by an administrator). */
  signup: 'open' | 'closed';
  /** how a self-registered account's email address is verified before it may publish: a mailed link, or an administrator. */
  emailVerification: 'email' | 'admin';
  readAccess: 'public' | 'authenticated';
  maxTarballSize: number;
  cacheSize: number;
  smtpUrl: string | null;
  mailFrom: string;
  rateLimitStore: 'database' | 'redis';
  redisUrl: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  passwordHash: PasswordHashParams;
  /** operator-protected package names and @scopes: new names confusingly similar to them are refused (docs/names.md). */
  protectedNames: string[];
  /** name patterns reserved for an organisation (dependency confusion): only its members publish matching names. */
  reservedNames: Array<{ pattern: string; org: string }>;
  /** how many of the registry's own most-downloaded packages (last 30 days) are protected from look-alikes. */
  typosquatTop: number;
  /** RFC 9116 Contact URIs for /.well-known/security.txt; empty means the registry's report form. */
  securityContact: string[];
  /** RFC 9116 Expires; null means 180 days after the moment security.txt is served. */
  securityExpires: string | null;
  securityLanguages: string[];
  /** RFC 9116 Policy URL; null means the registry's own /-/web/security page. */
  securityPolicy: string | null;
  /** how long after publishing a maintainer may unpublish a version (docs/policies/unpublish.md), in ms. */
  unpublishWindow: number;
  /** how long a fully unpublished package name stays reserved for its previous maintainers, in ms. */
  nameHold: number;
  /** how long the publish-time malware scan may take before the version is held for review, in ms. */
  scanBudget: number;
  /** operator signature files for the malware scanner, besides the shipped one (docs/malware-scanning.md). */
  scanSignatures: string[];
  /** the registry's database name in OSV advisory ids: x_<PREFIX>-MAL-<YEAR>-<N> (docs/advisories.md). */
  advisoryPrefix: string;
  /**
   * how old a temporary file, or a blob no version references, must be before the blob sweeper removes it, in ms.
   * Longer than any publish takes, so a blob a publish has written but not yet committed is never taken for litter.
   */
  blobGrace: number;
  /** upstream registries for packages not hosted here, first matching pattern wins; empty: no proxy (docs/upstream.md). */
  upstream: Array<{ pattern: string; url: string }>;
  /** how long a proxied packument is served before the upstream is asked whether it changed, in ms. */
  upstreamMaxAge: number;
  /** how long one request to an upstream may take, in ms. */
  upstreamTimeout: number;
  /** proxied versions younger than this (by the upstream's publication time) are not offered, in ms; 0 turns it off. */
  minReleaseAge: number;
  /** package names and patterns the minimum release age does not apply to. */
  minReleaseAgeExempt: string[];
  /** upstream URLs whose versions are served although they publish no signing keys (default: none, refused). */
  upstreamUnsignedAllowed: string[];
  /** Prometheus metrics at /-/metrics: not served, open to anyone, or for an administrator's or the metrics token. */
  metrics: 'off' | 'public' | 'token';
  /** a dedicated bearer token for scraping /-/metrics with --metrics token (a scraper need not hold an admin's). */
  metricsToken: string | null;
};

/** argon2id cost: memory in KiB, iterations, lanes. */
export type PasswordHashParams = { memoryCost: number; timeCost: number; parallelism: number };

type Spec = {
  key: keyof Settings;
  flag: string;
  env: string;
  help: string;
  default: string;
  parse: (raw: string) => Settings[keyof Settings];
  /** a secret: a mistake in it is reported without its value. */
  secret?: true;
};

class SettingError extends Error {}

const oneOf =
  <T extends string>(...values: T[]) =>
  (raw: string): T => {
    if (!(values as string[]).includes(raw)) throw new SettingError(`must be one of ${values.join(', ')}`);
    return raw as T;
  };

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1024,
  k: 1024,
  mb: 1024 ** 2,
  m: 1024 ** 2,
  gb: 1024 ** 3,
  g: 1024 ** 3,
};

export function parseSize(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw.trim());
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new SettingError('must be a size such as 50mb, 512kb or a number of bytes');
  const bytes = Math.floor(Number(m[1]) * unit);
  if (bytes < 1024) throw new SettingError('must be at least 1kb');
  return bytes;
}

/** A duration such as 30s, 90m, 72h or 30d, in milliseconds. */
function parseDuration(raw: string): number {
  const m = /^(\d{1,6})\s*(s|m|h|d)$/i.exec(raw.trim());
  if (!m)
    throw new SettingError('must be a whole number of seconds, minutes, hours or days, such as 30s, 90m, 72h or 30d');
  return (
    Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2]!.toLowerCase() as 's' | 'm' | 'h' | 'd']
  );
}

function parsePort(raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) > 65535) throw new SettingError('must be a whole number from 0 to 65535');
  return Number(raw);
}

function parseHost(raw: string): string {
  if (!raw.trim()) throw new SettingError('must not be empty');
  if (!isIP(raw) && !/^[a-z0-9.-]+$/i.test(raw)) throw new SettingError('must be an IP address or a host name');
  return raw;
}

function parsePublicUrl(raw: string): string | null {
  if (raw === '') return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SettingError('must be an absolute http(s) URL such as https://npm.example.com');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new SettingError('must use http or https');
  if (url.search || url.hash || url.username || url.password)
    throw new SettingError('must not contain a query, fragment or credentials');
  return url.href.replace(/\/+$/, '');
}

function parseDatabase(raw: string): string | null {
  if (raw === '') return null;
  if (!/^postgres(ql)?:\/\//.test(raw))
    throw new SettingError('must be a postgres:// URL (leave it unset for SQLite in the data directory)');
  try {
    new URL(raw);
  } catch {
    throw new SettingError('is not a valid URL');
  }
  return raw;
}

function parseSmtpUrl(raw: string): string | null {
  if (raw === '') return null;
  if (!/^smtps?:\/\//.test(raw)) throw new SettingError('must be an smtp:// or smtps:// URL');
  try {
    new URL(raw);
  } catch {
    throw new SettingError('is not a valid URL');
  }
  return raw;
}

/** A comma-separated list of IP addresses or CIDR ranges whose X-Forwarded-For header is believed. */
function parseTrustProxy(raw: string): string[] {
  if (raw.trim() === '') return [];
  return raw.split(',').map((entry) => {
    const item = entry.trim();
    const [addr, bits, extra] = item.split('/');
    const family = isIP(addr ?? '');
    const max = family === 4 ? 32 : 128;
    if (!family || extra !== undefined || (bits !== undefined && (!/^\d+$/.test(bits) || Number(bits) > max))) {
      throw new SettingError(`"${item}" is not an IP address or CIDR range (for example 10.0.0.0/8 or 127.0.0.1)`);
    }
    return item;
  });
}

export const SETTINGS: readonly Spec[] = [
  {
    key: 'host',
    flag: 'host',
    env: 'BULWARK_HOST',
    default: '127.0.0.1',
    help: 'address to listen on',
    parse: parseHost,
  },
  {
    key: 'port',
    flag: 'port',
    env: 'BULWARK_PORT',
    default: '4873',
    help: 'port to listen on (0 picks a free one)',
    parse: parsePort,
  },
  {
    key: 'dataDir',
    flag: 'data-dir',
    env: 'BULWARK_DATA_DIR',
    default: './data',
    help: 'folder for the SQLite database, blobs and the generated secret key',
    parse: (r) => {
      if (!r.trim()) throw new SettingError('must not be empty');
      return path.resolve(r);
    },
  },
  {
    key: 'database',
    flag: 'database',
    env: 'BULWARK_DATABASE_URL',
    default: '',
    help: 'postgres:// URL of the metadata database (default: SQLite in the data dir)',
    parse: parseDatabase,
  },
  {
    key: 'publicUrl',
    flag: 'public-url',
    env: 'BULWARK_PUBLIC_URL',
    default: '',
    help: 'base URL clients reach the registry at, used in tarball links (default: http://HOST:PORT)',
    parse: parsePublicUrl,
  },
  {
    key: 'trustProxy',
    flag: 'trust-proxy',
    env: 'BULWARK_TRUST_PROXY',
    default: '',
    help: 'comma-separated proxy addresses/CIDRs whose X-Forwarded-For is believed (default: none)',
    parse: parseTrustProxy,
  },
  {
    key: 'signup',
    flag: 'signup',
    env: 'BULWARK_SIGNUP',
    default: '',
    help: 'self sign-up through npm adduser and the web: open or closed (default: open when new accounts can be verified, by --smtp-url or --email-verification admin; otherwise closed)',
    // Unset stays null here and is settled by loadSettings once --smtp-url and --email-verification are known.
    parse: (r) => (r === '' ? null : oneOf('open', 'closed')(r)),
  },
  {
    key: 'emailVerification',
    flag: 'email-verification',
    env: 'BULWARK_EMAIL_VERIFICATION',
    default: 'email',
    help: 'how a new account is verified before it may publish: email (a link is mailed, needs --smtp-url) or admin (an administrator approves it at /-/web/admin/approvals or with bulwark admin user approve)',
    parse: oneOf('email', 'admin'),
  },
  {
    key: 'readAccess',
    flag: 'read-access',
    env: 'BULWARK_READ_ACCESS',
    default: 'public',
    help: 'public (anonymous reads of public packages) or authenticated (every read needs a token)',
    parse: oneOf('public', 'authenticated'),
  },
  {
    key: 'maxTarballSize',
    flag: 'max-tarball-size',
    env: 'BULWARK_MAX_TARBALL_SIZE',
    default: '50mb',
    help: 'largest tarball accepted on publish',
    parse: parseSize,
  },
  {
    key: 'cacheSize',
    flag: 'cache-size',
    env: 'BULWARK_CACHE_SIZE',
    default: '32mb',
    help: 'memory for serving reads from RAM: half for packuments (plain and compressed), half for tarballs (with an upstream proxy, a quarter each for hosted and proxied packuments and tarballs)',
    parse: parseSize,
  },
  {
    key: 'smtpUrl',
    flag: 'smtp-url',
    env: 'BULWARK_SMTP_URL',
    default: '',
    help: 'SMTP server for verification and security emails, e.g. smtps://user:pass@mail.example.com (default: no email is sent)',
    parse: parseSmtpUrl,
  },
  {
    key: 'mailFrom',
    flag: 'mail-from',
    env: 'BULWARK_MAIL_FROM',
    default: 'Bulwark <bulwark@localhost>',
    help: 'sender address of the emails',
    parse: (r) => {
      if (!/@/.test(r)) throw new SettingError('must contain an email address');
      return r;
    },
  },
  {
    key: 'rateLimitStore',
    flag: 'rate-limit-store',
    env: 'BULWARK_RATE_LIMIT_STORE',
    default: 'database',
    help: 'where brute-force counters live, shared by all nodes: database or redis',
    parse: oneOf('database', 'redis'),
  },
  {
    key: 'redisUrl',
    flag: 'redis-url',
    env: 'BULWARK_REDIS_URL',
    default: 'redis://127.0.0.1:6379',
    help: 'Redis server used when --rate-limit-store is redis',
    parse: (r) => {
      if (!/^rediss?:\/\//.test(r)) throw new SettingError('must be a redis:// or rediss:// URL');
      return r;
    },
  },
  {
    key: 'passwordHash',
    flag: 'password-hash',
    env: 'BULWARK_PASSWORD_HASH',
    default: 'm=19456,t=2,p=1',
    help: 'argon2id cost for new password hashes: memory KiB, iterations, lanes (OWASP minimum m=19456,t=2 or m=7168,t=5)',
    parse: parsePasswordHash,
  },
  {
    key: 'protectedNames',
    flag: 'protected-names',
    env: 'BULWARK_PROTECTED_NAMES',
    default: '',
    help: 'comma-separated package names and @scopes protected from look-alike new names, besides the shipped popular list',
    parse: parseNameList,
  },
  {
    key: 'reservedNames',
    flag: 'reserved-names',
    env: 'BULWARK_RESERVED_NAMES',
    default: '',
    help: 'comma-separated PATTERN=ORG reservations (@scope, name or prefix-*): only members of ORG publish matching names, look-alikes included',
    parse: parseReservations,
  },
  {
    key: 'typosquatTop',
    flag: 'typosquat-top',
    env: 'BULWARK_TYPOSQUAT_TOP',
    default: '500',
    help: 'how many of this registry’s most-downloaded packages (last 30 days) are protected from look-alike names',
    parse: (r) => {
      if (!/^\d{1,6}$/.test(r)) throw new SettingError('must be a whole number');
      return Number(r);
    },
  },
  {
    key: 'securityContact',
    flag: 'security-contact',
    env: 'BULWARK_SECURITY_CONTACT',
    default: '',
    help: 'comma-separated Contact URIs for /.well-known/security.txt, e.g. mailto:security@example.com (default: the report form)',
    parse: parseContacts,
  },
  {
    key: 'securityExpires',
    flag: 'security-expires',
    env: 'BULWARK_SECURITY_EXPIRES',
    default: '',
    help: 'Expires date of security.txt, e.g. 2027-06-30T00:00:00Z (default: 180 days from each request)',
    parse: parseExpires,
  },
  {
    key: 'securityLanguages',
    flag: 'security-languages',
    env: 'BULWARK_SECURITY_LANGUAGES',
    default: 'en',
    help: 'comma-separated language tags reports may be written in (security.txt Preferred-Languages)',
    parse: (r) => {
      const tags = r
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean);
      if (!tags.length || tags.some((t) => !/^[a-z]{2,3}(-[a-z0-9]{2,8})*$/i.test(t)))
        throw new SettingError('must be language tags such as en, de, pt-BR');
      return tags;
    },
  },
  {
    key: 'securityPolicy',
    flag: 'security-policy',
    env: 'BULWARK_SECURITY_POLICY',
    default: '',
    help: 'URL of the vulnerability disclosure policy (security.txt Policy; default: this registry’s /-/web/security)',
    parse: (r) => (r === '' ? null : parseHttpsUrl(r)),
  },
  {
    key: 'advisoryPrefix',
    flag: 'advisory-prefix',
    env: 'BULWARK_ADVISORY_PREFIX',
    default: 'BWK',
    help: 'this registry’s name in the ids of its malicious-package advisories, x_PREFIX-MAL-YEAR-N (OSV’s form for a database it does not aggregate)',
    parse: (r) => {
      const name = r.trim().replace(/^x_/, '');
      if (!/^[A-Za-z][A-Za-z0-9]{0,15}$/.test(name))
        throw new SettingError('must be 1 to 16 letters or digits starting with a letter, such as BWK');
      return name;
    },
  },
  {
    key: 'unpublishWindow',
    flag: 'unpublish-window',
    env: 'BULWARK_UNPUBLISH_WINDOW',
    default: '72h',
    help: 'how long after publishing maintainers may unpublish a version, e.g. 72h or 3d (0 turns unpublish off: deprecate instead)',
    parse: parseDuration,
  },
  {
    key: 'nameHold',
    flag: 'name-hold',
    env: 'BULWARK_NAME_HOLD',
    default: '30d',
    help: 'how long a fully unpublished name stays reserved for its previous maintainers before only an administrator can give it out',
    parse: parseDuration,
  },
  {
    key: 'scanBudget',
    flag: 'scan-budget',
    env: 'BULWARK_SCAN_BUDGET',
    default: '20s',
    help: 'time the publish-time malware scan may take; a version whose scan takes longer is held for review',
    parse: parseDuration,
  },
  {
    key: 'blobGrace',
    flag: 'blob-grace',
    env: 'BULWARK_BLOB_GRACE',
    default: '1h',
    help: 'age at which temporary files, and blobs no version references, are removed from the blob folder (at least 10m: longer than any publish)',
    parse: (r) => {
      const ms = parseDuration(r);
      if (ms < 10 * 60_000) throw new SettingError('must be at least 10m, longer than any publish takes');
      return ms;
    },
  },
  {
    key: 'scanSignatures',
    flag: 'scan-signatures',
    env: 'BULWARK_SCAN_SIGNATURES',
    default: '',
    help: 'comma-separated signature files for the malware scanner, added to the shipped one (docs/malware-scanning.md)',
    parse: (r) =>
      r
        .split(',')
        .map((f) => f.trim())
        .filter(Boolean)
        .map((f) => path.resolve(f)),
  },
  {
    key: 'upstream',
    flag: 'upstream',
    env: 'BULWARK_UPSTREAM',
    default: 'https://registry.npmjs.org',
    help: 'registries packages not hosted here are fetched from: a URL, or comma-separated PATTERN=URL rules (@scope/*, name, prefix*, *), first match wins; none turns the proxy off (docs/upstream.md)',
    parse: parseUpstream,
  },
  {
    key: 'upstreamMaxAge',
    flag: 'upstream-max-age',
    env: 'BULWARK_UPSTREAM_MAX_AGE',
    default: '5m',
    help: 'how long a proxied packument is served before the upstream is asked (ETag/Last-Modified) whether it changed',
    parse: parseDuration,
  },
  {
    key: 'upstreamTimeout',
    flag: 'upstream-timeout',
    env: 'BULWARK_UPSTREAM_TIMEOUT',
    default: '10s',
    help: 'how long one upstream request may take; then the cached copy is served (marked stale) or the request fails with 504',
    parse: (r) => {
      const ms = parseDuration(r);
      if (ms < 1000) throw new SettingError('must be at least 1s');
      return ms;
    },
  },
  {
    key: 'minReleaseAge',
    flag: 'min-release-age',
    env: 'BULWARK_MIN_RELEASE_AGE',
    default: '3d',
    help: 'proxied versions younger than this are hidden and their tarballs refused; latest falls back to an older version (0d turns it off)',
    parse: parseDuration,
  },
  {
    key: 'upstreamUnsignedAllowed',
    flag: 'upstream-unsigned-allowed',
    env: 'BULWARK_UPSTREAM_UNSIGNED_ALLOWED',
    default: '',
    help: 'comma-separated upstream URLs allowed to serve versions without registry signatures because they publish no /-/npm/v1/keys (a private registry); every other upstream without keys is refused (docs/upstream.md)',
    parse: (r) =>
      r
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)
        .map((u) => {
          try {
            return new URL(u).href.replace(/\/+$/, '');
          } catch {
            throw new SettingError(`"${u}" is not a URL: name an upstream as --upstream does`);
          }
        }),
  },
  {
    key: 'minReleaseAgeExempt',
    flag: 'min-release-age-exempt',
    env: 'BULWARK_MIN_RELEASE_AGE_EXEMPT',
    default: '',
    help: 'comma-separated package names and patterns (@scope/*, prefix*) the minimum release age does not apply to',
    parse: (r) =>
      r
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)
        .map((p) => {
          if (!UPSTREAM_PATTERN.test(p))
            throw new SettingError(`"${p}" is not a package name or pattern (@scope/*, name, prefix*)`);
          return p;
        }),
  },
  {
    key: 'metrics',
    flag: 'metrics',
    env: 'BULWARK_METRICS',
    default: 'off',
    help: "Prometheus metrics at /-/metrics: off (404), public, or token (an administrator's token or --metrics-token as a bearer token; docs/deploy.md#metrics)",
    parse: oneOf('off', 'public', 'token'),
  },
  {
    key: 'metricsToken',
    flag: 'metrics-token',
    env: 'BULWARK_METRICS_TOKEN',
    default: '',
    help: 'a secret of at least 32 characters that Prometheus sends as its bearer token with --metrics token (prefer the environment variable: flags show in ps)',
    secret: true,
    parse: (r) => {
      if (r === '') return null;
      if (r.length < 32 || /\s/.test(r)) throw new SettingError('must be at least 32 characters, without spaces');
      return r;
    },
  },
  {
    key: 'logLevel',
    flag: 'log-level',
    env: 'BULWARK_LOG_LEVEL',
    default: 'info',
    help: 'fatal, error, warn, info, debug, trace or silent',
    parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  },
];

const NAME_OR_SCOPE = /^(@[a-z0-9][a-z0-9._-]*|@[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*|[a-z0-9][a-z0-9._-]*)$/;

function parseNameList(raw: string): string[] {
  const items = raw
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  for (const item of items)
    if (!NAME_OR_SCOPE.test(item)) throw new SettingError(`"${item}" is not a package name or @scope`);
  return items;
}

const UPSTREAM_PATTERN = /^(\*\*?|@[a-z0-9][a-z0-9._-]*(\/\*\*?)?|(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*\*?)$/i;

/** `none`, one URL (every name), or PATTERN=URL rules; a bare URL among rules stands for `*`. */
function parseUpstream(raw: string): Array<{ pattern: string; url: string }> {
  if (raw.trim() === 'none' || raw.trim() === '') return [];
  return raw
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .map((item) => {
      const eq = item.indexOf('=');
      const [pattern, url] =
        eq > 0 && !item.slice(0, eq).includes('://')
          ? [item.slice(0, eq).trim(), item.slice(eq + 1).trim()]
          : ['*', item];
      if (!UPSTREAM_PATTERN.test(pattern))
        throw new SettingError(`"${item}": "${pattern}" is not a pattern (@scope/*, a package name, prefix*, or *)`);
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new SettingError(`"${item}" must be PATTERN=URL or a URL such as https://registry.npmjs.org`);
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
        throw new SettingError(`"${url}" must use http or https`);
      if (parsed.search || parsed.hash || parsed.username || parsed.password)
        throw new SettingError(`"${url}" must not contain a query, fragment or credentials`);
      return { pattern, url: parsed.href.replace(/\/+$/, '') };
    });
}

function parseReservations(raw: string): Array<{ pattern: string; org: string }> {
  return raw
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .map((item) => {
      const [pattern, org, extra] = item.split('=').map((x) => x.trim());
      const bare = pattern?.replace(/\/\*$/, '').replace(/\*$/, '') ?? '';
      if (!pattern || !org || extra !== undefined || !NAME_OR_SCOPE.test(bare) || !/^[a-z0-9][a-z0-9._-]*$/.test(org)) {
        throw new SettingError(`"${item}" must look like @scope=org, name=org or prefix-*=org`);
      }
      return { pattern, org };
    });
}

function parseHttpsUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SettingError('must be an absolute https:// URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new SettingError('must be an https:// URL');
  return url.href;
}

function parseContacts(raw: string): string[] {
  return raw
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .map((c) => {
      if (/^mailto:[^@\s]+@[^@\s]+$/.test(c) || /^tel:\+?[0-9-]+$/.test(c)) return c;
      return parseHttpsUrl(c);
    });
}

function parseExpires(raw: string): string | null {
  if (raw === '') return null;
  const when = Date.parse(raw);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(raw) || Number.isNaN(when))
    throw new SettingError('must be an RFC 3339 date-time such as 2027-06-30T00:00:00Z');
  return new Date(when).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// OWASP's password storage cheat sheet: argon2id with at least these memory/iteration pairs (equivalent strength).
const OWASP_MINIMUMS: Array<[number, number]> = [
  [47104, 1],
  [19456, 2],
  [12288, 3],
  [9216, 4],
  [7168, 5],
];

/** True when an argon2id cost is at least one of OWASP's minimum memory/iteration pairs, with at least one lane. */
export const meetsOwaspMinimum = (p: PasswordHashParams): boolean =>
  p.parallelism >= 1 && OWASP_MINIMUMS.some(([mem, t]) => p.memoryCost >= mem && p.timeCost >= t);

function parsePasswordHash(raw: string): PasswordHashParams {
  const m = /^m=(\d{1,8}),t=(\d{1,3}),p=(\d{1,2})$/.exec(raw.trim());
  if (!m) throw new SettingError('must look like m=19456,t=2,p=1 (memory in KiB, iterations, lanes)');
  const [memoryCost, timeCost, parallelism] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (parallelism < 1 || parallelism > 16) throw new SettingError('lanes (p) must be from 1 to 16');
  if (memoryCost > 4 * 1024 * 1024) throw new SettingError('memory (m) must be at most 4 GiB (4194304 KiB)');
  if (!meetsOwaspMinimum({ memoryCost, timeCost, parallelism }))
    throw new SettingError('is weaker than OWASP’s minimum for argon2id (m=19456,t=2, or m=7168,t=5 …)');
  return { memoryCost, timeCost, parallelism };
}

/** A start that cannot go on (port taken, folder not writable, database unreachable): one line, no stack trace. */
export class StartupError extends Error {}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    // One problem fits on the one line a failed start prints; several are listed.
    super(
      problems.length === 1
        ? `invalid configuration: ${problems[0]}`
        : `invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.problems = problems;
  }
}

export type ConfigSources = {
  flags: Partial<Record<string, string>>;
  env: NodeJS.ProcessEnv;
  /** Path of a JSON config file whose keys are the flag names ("data-dir"), setting names ("dataDir") or variables. */
  file?: string | undefined;
};

/** Resolves settings with precedence flag > environment > config file > default and reports every mistake at once. */
export function loadSettings({ flags, env, file }: ConfigSources): Settings {
  const problems: string[] = [];
  const fromFile: Record<string, unknown> = {};
  const configPath = file ?? env.BULWARK_CONFIG;
  if (configPath) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(configPath, 'utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new Error('the file must hold a JSON object');
      // A key may be written as the flag ("data-dir"), the setting's name ("dataDir") or the environment variable
      // ("BULWARK_DATA_DIR"): whichever an operator copies from the docs works.
      for (const [key, value] of Object.entries(parsed)) {
        const spec = SETTINGS.find((s) => s.flag === key || s.key === key || s.env === key);
        if (!spec)
          problems.push(
            `config file ${configPath}: unknown setting "${key}" (keys are the option names, e.g. "data-dir"; see bulwark serve --help)`,
          );
        else if (fromFile[spec.flag] !== undefined)
          problems.push(`config file ${configPath}: "${key}" sets ${spec.flag} a second time`);
        else fromFile[spec.flag] = value;
      }
    } catch (err) {
      problems.push(`config file ${configPath}: ${(err as Error).message}`);
    }
  }
  const out: Partial<Record<keyof Settings, unknown>> = {};
  const origins: Partial<Record<keyof Settings, string>> = {};
  for (const spec of SETTINGS) {
    let raw: string = spec.default;
    let origin = 'default';
    const fileValue = fromFile[spec.flag];
    if (fileValue !== undefined) {
      raw = Array.isArray(fileValue) ? fileValue.join(',') : String(fileValue);
      origin = `config file key "${spec.flag}"`;
    }
    if (env[spec.env] !== undefined) {
      raw = env[spec.env]!;
      origin = `environment variable ${spec.env}`;
    }
    if (flags[spec.flag] !== undefined) {
      raw = flags[spec.flag]!;
      origin = `--${spec.flag}`;
    }
    origins[spec.key] = origin;
    try {
      out[spec.key] = spec.parse(raw);
    } catch (err) {
      if (!(err instanceof SettingError)) throw err;
      problems.push(`${origin} ${spec.secret ? '(not shown: a secret)' : `= "${raw}"`} ${err.message}`);
    }
  }
  const signupProblem = settleSignup(out, origins.signup ?? 'default');
  if (signupProblem) problems.push(signupProblem);
  if (problems.length) throw new ConfigError(problems);
  return out as Settings;
}

/**
 * Settles self sign-up. Left unset, it is open only when a new account can be verified: by a mailed link (an SMTP
 * server) or by an administrator's approval. Set open with neither, it would welcome people into accounts that can
 * never publish, told to open an email that is never sent: the operator must choose how accounts get verified.
 */
function settleSignup(out: Partial<Record<keyof Settings, unknown>>, origin: string): string | null {
  const { smtpUrl, emailVerification } = out;
  // A mistake in one of these settings is reported on its own; nothing more can be said about the combination.
  if (out.signup === undefined || smtpUrl === undefined || emailVerification === undefined) return null;
  const verifiable = smtpUrl !== null || emailVerification === 'admin';
  if (out.signup === null) {
    out.signup = verifiable ? 'open' : 'closed';
    return null;
  }
  if (out.signup === 'closed' || verifiable) return null;
  return `${origin} = "open" needs a way to verify new accounts, and no SMTP server is set to mail them a link: choose --email-verification admin (BULWARK_EMAIL_VERIFICATION) to have an administrator approve each new account, set --smtp-url (BULWARK_SMTP_URL), or leave sign-up closed`;
}

export function settingsHelp(): string {
  const width = Math.max(...SETTINGS.map((s) => s.flag.length)) + 10;
  return SETTINGS.map((s) => {
    const head = `  --${s.flag} <value>`.padEnd(width + 4);
    const dflt = s.default === '' ? '' : ` (default: ${s.default})`;
    return `${head}${s.help}${dflt}\n${' '.repeat(width + 4)}env ${s.env}`;
  }).join('\n');
}
