// Builds the typosquat incident set of the name checker's evaluation (test/fixtures/names/incidents.json) from public
// typosquat datasets and the OSV MAL records of ossf/malicious-packages. The selection rule is mechanical, so the set
// is not chosen by what the rules already catch:
//   1. candidates: every npm row of two public typosquat datasets that name a target package
//      (xMinhx/typosquatting-detection-software-supply-chains "String Matching/npm_typosquatting_data.csv" and
//      ecosyste-ms/typosquatting-dataset "typosquats.csv"), minus names already in the set;
//   2. candidates are looked up in sha256(name) order (hex, ascending), as many as there was time for;
//   3. a looked-up candidate is an incident when ossf/malicious-packages has a record for it under
//      osv/malicious/npm/<name>/; the numbered MAL-YYYY-N record is cited (not the per-source MAL-0000-… copies);
//   4. split: sha256(name)[0] odd = held-out, even = tuning — the rule the first 16 incidents used; fixed before any
//      verdict on the new names was looked at.
// The look-ups (path and commit of each record found, "-" for none) come from the repository index, one line per
// candidate: NAME<TAB>PATH<TAB>COMMIT or NAME<TAB>-.
//   node scripts/build-names-incidents.ts XMINH.csv XMINH_COMMIT ECOSYSTEMS.csv ECOSYSTEMS_COMMIT LOOKUPS.tsv
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

const [xminhCsv, xminhCommit, ecoCsv, ecoCommit, lookupsTsv] = process.argv.slice(2);
if (!lookupsTsv) {
  console.error(
    'usage: node scripts/build-names-incidents.ts XMINH.csv XMINH_COMMIT ECOSYSTEMS.csv ECOSYSTEMS_COMMIT LOOKUPS.tsv',
  );
  process.exit(2);
}

type Dataset = { repo: string; path: string; commit: string };
const XMINH: Dataset = {
  repo: 'xMinhx/typosquatting-detection-software-supply-chains',
  path: 'String Matching/npm_typosquatting_data.csv',
  commit: xminhCommit!,
};
const ECOSYSTEMS: Dataset = { repo: 'ecosyste-ms/typosquatting-dataset', path: 'typosquats.csv', commit: ecoCommit! };
const OSV_REPO = 'ossf/malicious-packages';

const sha = (s: string) => createHash('sha256').update(s).digest();
const splitOf = (name: string) => (sha(name)[0]! % 2 ? 'held-out' : 'tuning');
const rows = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => l.split(','));

const fixture = new URL('../test/fixtures/names/incidents.json', import.meta.url);
type Incident = {
  name: string;
  split: string;
  id?: string;
  target?: string;
  selected_by?: string;
  source: { repo: string; path: string; commit: string };
};
const current = JSON.parse(readFileSync(fixture, 'utf8')) as { about: string; incidents: Incident[] };
const original = current.incidents.filter((i) => i.selected_by === undefined || i.selected_by === 'first-16');
const known = new Set(original.map((i) => i.name));

// 1. candidates, first dataset first (its row wins when both list a name).
const candidates = new Map<string, { target: string; dataset: Dataset }>();
for (const [name, target] of rows(xminhCsv!).slice(1))
  if (name && target && !candidates.has(name)) candidates.set(name, { target, dataset: XMINH });
for (const [name, target, ecosystem] of rows(ecoCsv!).slice(1)) {
  // "npm-cli-flag" rows (--no-audit …) have no target package.
  if (ecosystem === 'npm' && name && target && target !== 'npm-cli-flag' && !candidates.has(name))
    candidates.set(name, { target, dataset: ECOSYSTEMS });
}
for (const name of known) candidates.delete(name);
// 2. look-up order.
const order = [...candidates.keys()].sort((a, b) => sha(a).toString('hex').localeCompare(sha(b).toString('hex')));

const lookups = readFileSync(lookupsTsv, 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => l.split('\t'));
lookups.forEach(([name], i) => {
  if (name !== order[i])
    throw new Error(`look-up ${i + 1} is ${name}, expected ${order[i]}: look-ups must follow the sha256 order`);
});

// 3. incidents.
const added: Incident[] = [];
for (const [name, path, commit] of lookups) {
  if (!name || path === '-' || !path || !commit) continue;
  const id = /\/(MAL-\d{4}-\d+)\.json$/.exec(path)?.[1];
  if (!path.startsWith(`osv/malicious/npm/${name}/`) || !id)
    throw new Error(`not a numbered npm MAL record of ${name}: ${path}`);
  const c = candidates.get(name)!;
  added.push({
    name,
    split: splitOf(name),
    id,
    target: c.target,
    selected_by: c.dataset.repo,
    source: { repo: OSV_REPO, path, commit },
  });
}

const withIds = original.map((i) => ({
  name: i.name,
  split: i.split,
  id: /\/(MAL-\d{4}-\d+)\.json$/.exec(i.source.path)?.[1] ?? '',
  selected_by: 'first-16',
  source: i.source,
}));
const out = {
  about:
    'Real malicious npm package names, each with its OSV MAL record in github.com/ossf/malicious-packages (path and commit of the record). ' +
    'split: sha256(name)[0] odd = held-out, even = tuning, fixed before any verdict was looked at. ' +
    'selected_by "first-16": the first set, chosen by hand from OSV records. ' +
    `Otherwise the public typosquat dataset that labels the name a typosquat of "target" (${XMINH.repo} ${XMINH.path} @${XMINH.commit}; ${ECOSYSTEMS.repo} ${ECOSYSTEMS.path} @${ECOSYSTEMS.commit}): ` +
    `of their ${order.length} npm names not already here, the first ${lookups.length} in sha256(name) order were looked up, and every one with a numbered OSV MAL record is included (scripts/build-names-incidents.ts).`,
  candidates_looked_up: lookups.length,
  candidates_total: order.length,
  incidents: [...withIds, ...added],
};
writeFileSync(fixture, `${JSON.stringify(out, null, 1)}\n`);
const count = (s: string) => added.filter((i) => i.split === s).length;
console.log(
  `kept ${withIds.length}; added ${added.length} of ${lookups.length} looked-up candidates (${count('tuning')} tuning, ${count('held-out')} held-out); ${order.length} candidates in all`,
);
