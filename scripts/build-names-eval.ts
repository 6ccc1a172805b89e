// Builds the name guard's evaluation sets (test/fixtures/names-eval/, described in its README.md) from public sources.
// The selection rules are mechanical and use their own plain string measures, never the guard's rules, so the sets are
// not chosen by what the guard already catches:
//   incidents.json     real typosquats of npm packages with the package each imitates (the target), from
//                      test/fixtures/names/incidents.json (OSV MAL records), the NSS 2024 dataset of Truong et al.,
//                      the ecosyste-ms typosquatting dataset and npm's own security holding packages;
//   popular-near.json  names of the shipped popular list within two edits, one delimiter or one noise affix of another
//                      popular name (every such pair; both are real, long-lived packages);
//   live-near.json     names of a public listing of npm packages with their monthly downloads that are one edit, one
//                      delimiter or one noise affix from a popular name, with the evidence that they are legitimate.
// Every case gets its split from the TARGET (the popular name it is near or imitates), fixed here before any tuning:
// sha256(target)[0] odd = held-out, even = tuning. A held-out target's incidents and near names are never looked at
// while tuning.
//   node scripts/build-names-eval.ts XMINH.csv XMINH_COMMIT ECOSYSTEMS.csv ECOSYSTEMS_COMMIT NPM_LISTING.tsv DATE
// NPM_LISTING.tsv: name<TAB>version<TAB>downloads a month<TAB>summary, with a header line.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const [xminhCsv, xminhCommit, ecoCsv, ecoCommit, listingTsv, listingDate] = process.argv.slice(2);
if (!listingDate) {
  console.error(
    'usage: node scripts/build-names-eval.ts XMINH.csv XMINH_COMMIT ECOSYSTEMS.csv ECOSYSTEMS_COMMIT NPM_LISTING.tsv DATE',
  );
  process.exit(2);
}

const out = new URL('../test/fixtures/names-eval/', import.meta.url);
mkdirSync(out, { recursive: true });
const popular = readFileSync(new URL('../src/names/lists/npm-popular.txt', import.meta.url), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const popularSet = new Set(popular);
const rankOf = new Map(popular.map((n, i) => [n, i]));

export const splitOf = (target: string): 'tuning' | 'held-out' =>
  createHash('sha256').update(target).digest()[0]! % 2 ? 'held-out' : 'tuning';
const key = (n: string) => n.toLowerCase().replace(/[._-]/g, '');

// ---- incidents ---------------------------------------------------------------------------------------------------
type Source = { kind: string; repo?: string; path?: string; commit?: string; url?: string; id?: string; note?: string };
type Incident = { name: string; target: string; split: string; target_in_popular: boolean; sources: Source[] };
const incidents = new Map<string, Incident>();
function addIncident(name: string, target: string, source: Source): void {
  name = name.trim();
  target = target.trim();
  if (!name || !target || name === target) return;
  const held = incidents.get(name);
  if (held) {
    held.sources.push(source);
    return;
  }
  incidents.set(name, {
    name,
    target,
    split: splitOf(target),
    target_in_popular: popularSet.has(target),
    sources: [source],
  });
}

// 1. The OSV-cited incidents already in the repository; the first 16 had no target recorded, so it is given here
//    from the OSV record's own summary or the package it copied (each named in the record's details).
const FIRST_16_TARGETS: Record<string, string> = {
  electorn: 'electron',
  lodahs: 'lodash',
  axois: 'axios',
  'discord.dll': 'discord.js',
  'noblox.js-proxy': 'noblox.js',
  typescriptjs: 'typescript',
  'discordi.js': 'discord.js',
  '@typescript_eslinter/eslint': 'eslint',
  '@typescript_eslinter/prettier': 'prettier',
  jquerry: 'jquery',
  momnet: 'moment',
  ethres: 'ethers',
  etherdjs: 'ethers',
  reqest: 'request',
  'yargs-js': 'yargs',
  'express-cookie-parser': 'cookie-parser',
};
type OldIncident = {
  name: string;
  id: string;
  target?: string;
  source: { repo: string; path: string; commit: string };
};
const old = (
  JSON.parse(readFileSync(new URL('../test/fixtures/names/incidents.json', import.meta.url), 'utf8')) as {
    incidents: OldIncident[];
  }
).incidents;
for (const i of old)
  addIncident(i.name, i.target ?? FIRST_16_TARGETS[i.name] ?? '', { kind: 'osv-mal', id: i.id, ...i.source });

// 2. Truong, Lo Iacono, Gruschka, "You Can't Touch This" (NSS 2024): 406 npm typosquats collected from Sonatype,
//    Phylum and Snyk listings, each with its target and the dates npm published and removed it.
const csv = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => l.split(','));
{
  const [head, ...rows] = csv(xminhCsv!);
  const col = (c: string) => head!.indexOf(c);
  for (const r of rows)
    addIncident(r[col('package_name')]!, r[col('target')]!, {
      kind: 'dataset',
      repo: 'xMinhx/typosquatting-detection-software-supply-chains',
      path: 'String Matching/npm_typosquatting_data.csv',
      commit: xminhCommit!,
      note: `published ${r[col('published')]!.slice(0, 10)}, removed ${r[col('removed')]!.slice(0, 10)}`,
    });
}

// 3. ecosyste-ms/typosquatting-dataset: npm rows with a target package (not the "npm-cli-flag" rows such as
//    "--no-audit"); its "source" column names where each came from (ossf/malicious-packages, the SpellBound paper…).
{
  const [head, ...rows] = csv(ecoCsv!);
  const col = (c: string) => head!.indexOf(c);
  for (const r of rows) {
    if (r[col('ecosystem')] !== 'npm' || r[col('target_package')] === 'npm-cli-flag') continue;
    addIncident(r[col('malicious_package')]!, r[col('target_package')]!, {
      kind: 'dataset',
      repo: 'ecosyste-ms/typosquatting-dataset',
      path: 'typosquats.csv',
      commit: ecoCommit!,
      note: `${r[col('classification')]!}; source: ${r[col('source')]!}`,
    });
  }
}

// 4. npm's own security holding packages ("0.0.1-security") in the listing whose name plainly spells its target: the
//    2017 "hacktask" campaign that npm removed and described ("crossenv" malware, blog.npmjs.org, 2017-08-02).
const HOLDING_TARGETS: Record<string, string> = {
  babelcli: 'babel-cli',
  'cross-env.js': 'cross-env',
  crossenv: 'cross-env',
  'fabric-js': 'fabric',
  gruntcli: 'grunt-cli',
  'jquery.js': 'jquery',
  monent: 'moment',
  'mssql-node': 'mssql',
  'mssql.js': 'mssql',
  mysqljs: 'mysql',
  'nodemailer.js': 'nodemailer',
  nodemssql: 'mssql',
  nodesass: 'node-sass',
};
type Listed = { name: string; version: string; monthly: number; summary: string };
const listing: Listed[] = readFileSync(listingTsv!, 'utf8')
  .split('\n')
  .slice(1)
  .filter((l) => l.trim())
  .map((l) => {
    const [name, version, monthly, summary] = l.split('\t');
    return { name: name!, version: version ?? '', monthly: Number(monthly ?? 0), summary: summary ?? '' };
  });
const holding = new Set(listing.filter((l) => /-security/.test(l.version)).map((l) => l.name));
for (const [name, target] of Object.entries(HOLDING_TARGETS)) {
  if (!holding.has(name)) throw new Error(`${name} is not a security holding package in the listing`);
  addIncident(name, target, {
    kind: 'npm-security-holding',
    note: `version 0.0.1-security in the npm listing of ${listingDate!}; npm blog "crossenv malware on the npm registry" (2017-08-02)`,
  });
}

// ---- near names: plain measures, independent of the guard ---------------------------------------------------------
/** Optimal string alignment distance (the usual Damerau-Levenshtein used in typosquatting studies), capped at max+1. */
function osa(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur.push(d);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length]!;
}
// Noise affixes from the typosquatting literature and the list ("js", ".js", "node-", "-npm", "-cli" …).
const AFFIXES = ['js', 'node', 'nodejs', 'npm', 'cli', 'lib', 'core', 'utils', 'util', 'api', 'sdk', 'ts', 'dev'];

/** The popular names a name is near, with how: one delimiter change, one noise affix, or the given edit distance. */
function nearOf(name: string, maxEdit: number): Array<{ target: string; how: string }> {
  const found = new Map<string, string>();
  const k = key(name);
  const byKey = popularByKey.get(k);
  for (const t of byKey ?? []) if (t !== name) found.set(t, 'delimiter');
  if (!name.startsWith('@')) {
    const lower = name.toLowerCase();
    for (const a of AFFIXES) {
      for (const rest of [
        lower.startsWith(`${a}-`) || lower.startsWith(`${a}.`) || lower.startsWith(`${a}_`)
          ? lower.slice(a.length + 1)
          : '',
        lower.endsWith(`-${a}`) || lower.endsWith(`.${a}`) || lower.endsWith(`_${a}`)
          ? lower.slice(0, -a.length - 1)
          : '',
        k.endsWith(a) ? k.slice(0, -a.length) : '',
        k.startsWith(a) ? k.slice(a.length) : '',
      ]) {
        if (rest.length < 2) continue;
        for (const t of popularByKey.get(key(rest)) ?? []) if (t !== name && !found.has(t)) found.set(t, `affix:${a}`);
      }
    }
  }
  if (k.length >= 4) {
    for (const d of deletionsUpTo(k, maxEdit)) {
      for (const [pk, t] of popularByDeletion.get(d) ?? []) {
        if (t === name || found.has(t) || pk === k || t.startsWith('@') !== name.startsWith('@')) continue;
        const e = osa(k, pk, maxEdit);
        if (e <= maxEdit) found.set(t, `edit:${e}`);
      }
    }
  }
  return [...found].map(([target, how]) => ({ target, how }));
}
/** The key and every string made from it by deleting up to n characters (symmetric-delete candidates). */
function deletionsUpTo(k: string, n: number): Set<string> {
  let level = new Set([k]);
  const all = new Set([k]);
  for (let i = 0; i < n; i++) {
    const next = new Set<string>();
    for (const s of level) for (let j = 0; j < s.length; j++) next.add(s.slice(0, j) + s.slice(j + 1));
    for (const s of next) all.add(s);
    level = next;
  }
  return all;
}
const popularByKey = new Map<string, string[]>();
const popularByDeletion = new Map<string, Array<[string, string]>>();
for (const p of popular) {
  const k = key(p);
  popularByKey.set(k, [...(popularByKey.get(k) ?? []), p]);
  if (k.length < 4) continue;
  for (const d of deletionsUpTo(k, 2)) {
    const held = popularByDeletion.get(d);
    if (held) held.push([k, p]);
    else popularByDeletion.set(d, [[k, p]]);
  }
}
// The most popular near name is the one a look-alike would imitate.
const mostPopular = (near: Array<{ target: string; how: string }>) =>
  near.sort((a, b) => rankOf.get(a.target)! - rankOf.get(b.target)!)[0]!;

// popular-near: every popular name with another popular name near it (two edits for keys of 4+ letters).
const popularNear = popular.flatMap((name) => {
  const near = nearOf(name, 2);
  if (!near.length) return [];
  const m = mostPopular(near);
  return [{ name, near: m.target, how: m.how, split: splitOf(m.target), rank: rankOf.get(name)! + 1 }];
});

// live-near: listed packages (not popular ones, not security holding packages, not known incidents) one edit, one
// delimiter or one noise affix from a popular name, with at least 1,000 downloads a month and a version past 1.0.0 or
// at least a third release (x.y.z with y or z ≥ 2): long enough in use to be somebody's real package.
const knownBad = new Set([...incidents.keys()]);
const established = (v: string) => {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(v);
  return m !== null && (Number(m[1]) >= 1 || Number(m[2]) >= 2 || Number(m[3]) >= 2) && !/security/.test(v);
};
const liveNear = listing.flatMap((l) => {
  if (popularSet.has(l.name) || holding.has(l.name) || knownBad.has(l.name)) return [];
  if (l.monthly < 1000 || !established(l.version)) return [];
  const near = nearOf(l.name, 1);
  if (!near.length) return [];
  const m = mostPopular(near);
  return [
    {
      name: l.name,
      near: m.target,
      how: m.how,
      split: splitOf(m.target),
      evidence: { monthly_downloads: l.monthly, version: l.version, listed: listingDate! },
    },
  ];
});

const write = (file: string, about: string, cases: unknown[]) =>
  writeFileSync(new URL(file, out), `${JSON.stringify({ about, cases }, null, 1)}\n`);
write(
  'incidents.json',
  'Real npm typosquats with the package each imitates; sources per case (README.md). split from sha256(target).',
  [...incidents.values()].sort((a, b) => a.name.localeCompare(b.name)),
);
write(
  'popular-near.json',
  'Popular names (shipped list) near another popular name: legitimate, judged as if new (leave-one-out).',
  popularNear,
);
write(
  'live-near.json',
  `Listed npm packages one edit, delimiter or noise affix from a popular name (listing of ${listingDate!}).`,
  liveNear,
);
const count = (xs: Array<{ split: string }>) =>
  `${xs.length} (tuning ${xs.filter((x) => x.split === 'tuning').length}, held-out ${xs.filter((x) => x.split === 'held-out').length})`;
console.log(
  `incidents ${count([...incidents.values()])}; popular-near ${count(popularNear)}; live-near ${count(liveNear)}`,
);
