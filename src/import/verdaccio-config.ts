// Verdaccio's `packages:` rules (config.yaml) in Bulwark's terms. Verdaccio gives each package the first rule whose
// pattern matches its name, and lists who may `access` (read), `publish` and `unpublish` it: `$all`/`$anonymous`,
// `$authenticated`, user names and group names. Bulwark's model is narrower and per package: maintainers publish and
// unpublish, a scoped package is public or restricted (read by its maintainers and teams granted it), an unscoped one
// is public. What maps is returned as a plan; what does not is said in `unmapped`, for the report. Pure.
import { parse } from 'yaml';

export type Rule = { pattern: string; access: string[]; publish: string[]; unpublish: string[]; proxy: string[] };

export type VerdaccioConfig = { rules: Rule[]; storage: string | null; htpasswd: string | null };

const EVERYONE = new Set(['$all', '$anonymous', '@all', '@anonymous']);
const SIGNED_IN = new Set(['$authenticated', '@authenticated']);

const listOf = (v: unknown): string[] =>
  typeof v === 'string'
    ? v.split(/\s+/).filter(Boolean)
    : Array.isArray(v)
      ? v.filter((x): x is string => typeof x === 'string')
      : [];

/** Reads config.yaml's packages rules and where its storage and htpasswd file are (relative to the config file). */
export function parseVerdaccioConfig(text: string): VerdaccioConfig {
  const doc = parse(text) as unknown;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new Error('the Verdaccio config is not a YAML mapping');
  const d = doc as Record<string, unknown>;
  const packages = (typeof d.packages === 'object' && d.packages !== null ? d.packages : {}) as Record<string, unknown>;
  const rules = Object.entries(packages).map(([pattern, r]) => {
    const rule = (typeof r === 'object' && r !== null ? r : {}) as Record<string, unknown>;
    return {
      pattern,
      access: listOf(rule.access),
      publish: listOf(rule.publish),
      unpublish: listOf(rule.unpublish),
      proxy: listOf(rule.proxy),
    };
  });
  const auth = (typeof d.auth === 'object' && d.auth !== null ? d.auth : {}) as Record<string, unknown>;
  const htpasswd = (typeof auth.htpasswd === 'object' && auth.htpasswd !== null ? auth.htpasswd : {}) as Record<
    string,
    unknown
  >;
  return {
    rules,
    storage: typeof d.storage === 'string' ? d.storage : null,
    htpasswd: typeof htpasswd.file === 'string' ? htpasswd.file : null,
  };
}

/** minimatch's meaning for the patterns Verdaccio configs use: `*` within one path part, `**` across parts. */
export function patternMatches(pattern: string, name: string): boolean {
  const re = pattern
    .split('**')
    .map((part) =>
      part
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]*'),
    )
    .join('.*');
  return new RegExp(`^${re}$`).test(name);
}

export type PackageAccess = {
  name: string;
  rule: string | null;
  /** named users allowed to publish: they become maintainers. */
  maintainers: string[];
  /** public, restricted, or null when the rule does not say (the package keeps the default for its kind). */
  access: 'public' | 'restricted' | null;
  /** named users who may read a restricted package without being maintainers (left to the org's owners: see below). */
  readers: string[];
};

export type Translation = { packages: PackageAccess[]; unmapped: string[] };

/** Each package's first matching rule in Bulwark's terms, and what could not be carried over. */
export function translateRules(rules: Rule[], names: string[], users: ReadonlySet<string>): Translation {
  const unmapped = new Set<string>();
  const packages = names.map((name): PackageAccess => {
    const rule = rules.find((r) => patternMatches(r.pattern, name));
    if (!rule) return { name, rule: null, maintainers: [], access: null, readers: [] };
    const where = `${name} (rule "${rule.pattern}")`;
    const scoped = name.startsWith('@');
    const named = (list: string[], what: string) =>
      list.filter((who) => {
        if (EVERYONE.has(who) || SIGNED_IN.has(who)) return false;
        if (users.has(who)) return true;
        unmapped.add(`${where}: ${what} "${who}" is not a user in the htpasswd file (a group?): not carried over`);
        return false;
      });
    const maintainers = named(rule.publish, 'publish');
    if (rule.publish.some((w) => EVERYONE.has(w) || SIGNED_IN.has(w)))
      unmapped.add(
        `${where}: publish ${rule.publish.join(' ')}: only a package's maintainers publish on Bulwark (its owners, and named publishers)`,
      );
    const sameAsPublish =
      rule.unpublish.length === rule.publish.length && rule.unpublish.every((w) => rule.publish.includes(w));
    if (rule.unpublish.length && !sameAsPublish)
      unmapped.add(
        `${where}: unpublish ${rule.unpublish.join(' ')}: on Bulwark a package's maintainers unpublish, within the unpublish policy`,
      );
    let access: PackageAccess['access'] = null;
    let readers: string[] = [];
    if (rule.access.some((w) => EVERYONE.has(w))) access = 'public';
    else if (rule.access.some((w) => SIGNED_IN.has(w))) {
      access = scoped ? 'restricted' : null;
      unmapped.add(
        scoped
          ? `${where}: access $authenticated: restricted to its maintainers and teams (grant more with npm access, or make it public)`
          : `${where}: access $authenticated: an unscoped package is public on Bulwark (set --read-access authenticated for the whole registry)`,
      );
    } else {
      readers = named(rule.access, 'access').filter((u) => !maintainers.includes(u));
      if (scoped) access = 'restricted';
      else
        unmapped.add(
          `${where}: access ${rule.access.join(' ') || '(nobody)'}: an unscoped package is public on Bulwark (publish it under a scope to restrict it)`,
        );
      // Org membership would also let them create packages in the scope (its developers team): an owner who wants
      // them as readers makes a read-only team for them, as the report says.
      if (scoped && readers.length)
        unmapped.add(
          `${where}: access ${readers.join(' ')} (not publishers): restricted to its maintainers; to let them read it, add them to a read-only team (npm team create ${name.split('/')[0]}:readers, npm team add, npm access grant read-only ${name.split('/')[0]}:readers ${name})`,
        );
    }
    if (rule.proxy.length)
      unmapped.add(
        `rule "${rule.pattern}": proxy ${rule.proxy.join(' ')}: route these names upstream with --upstream (docs/upstream.md)`,
      );
    return { name, rule: rule.pattern, maintainers, access, readers };
  });
  return { packages, unmapped: [...unmapped] };
}
