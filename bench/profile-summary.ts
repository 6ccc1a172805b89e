// Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. `node bench/probe.ts cpu --prof DIR`): the functions
// with the most self time and the most inclusive (self + callees) time, as shares of the busy (non-idle) samples.
//   node bench/profile-summary.ts FILE.cpuprofile [--top 40] [--grep TEXT] [--skip SECONDS]
// --skip leaves out the first seconds of the profile (start-up: module loading, migrations).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] };
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[] };

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '40' }, grep: { type: 'string' }, skip: { type: 'string', default: '0' } },
});
const file = positionals[0];
if (!file) {
  console.error('usage: node bench/profile-summary.ts FILE.cpuprofile [--top 40] [--grep TEXT]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const label = (n: Node): string => {
  const f = n.callFrame;
  const where = f.url
    ? `${path.basename(path.dirname(f.url.replace(/^file:\/\//, '')))}/${path.basename(f.url)}:${f.lineNumber + 1}`
    : '';
  return `${f.functionName || '(anonymous)'} ${where}`.trim();
};

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let busy = 0;
let clock = 0;
const skipUs = Number(values.skip) * 1e6;
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i] ?? 0;
  clock += dt;
  if (clock < skipUs) continue;
  const node = byId.get(profile.samples[i]!)!;
  if (node.callFrame.functionName === '(idle)') continue;
  busy += dt;
  self.set(label(node), (self.get(label(node)) ?? 0) + dt);
  const seen = new Set<string>();
  for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
    const l = label(byId.get(id)!);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + dt);
  }
}

const top = Number(values.top);
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title} (busy ${(busy / 1e6).toFixed(2)} s)`);
  const rows = [...m]
    .filter(([k]) => !values.grep || k.includes(values.grep))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top);
  for (const [k, v] of rows) console.log(`${((100 * v) / busy).toFixed(1).padStart(6)}%  ${k}`);
};
show('self time', self);
show('inclusive time', inclusive);
