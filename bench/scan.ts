// Malware-scan micro-benchmark: how long the scanner takes on a typical ~1 MB tarball, in-process and through the
// worker pool publish uses. The tarball is built from real packages of the evaluation set (their files merged under
// one package/ folder until it packs to ~1 MB), so the code mix is what the registry sees. `node bench/scan.ts`.
// Target: < 200 ms per 1 MB tarball.
import os from 'node:os';
import { readPackageFiles } from '../src/tarball/read.ts';
import { ScanPool } from '../src/safety/scan/pool.ts';
import { scanTarball } from '../src/safety/scan/scanner.ts';
import { loadSignatures } from '../src/safety/scan/signatures.ts';
import { loadBenign, packFiles } from '../test/fixtures/malware/corpus.ts';

const TARGET = 1024 * 1024;
const files: Record<string, Buffer> = {
  'package.json': Buffer.from(JSON.stringify({ name: 'bench-merged', version: '1.0.0', main: 'index.js' })),
};
let tgz = packFiles(files);
const used: string[] = [];
// Ordinary and install-script packages alike, in manifest order, skipping none: a fair mix, not a chosen one.
for (const b of [...loadBenign('tuning'), ...loadBenign('heldout')]) {
  if (tgz.length >= TARGET) break;
  for (const f of readPackageFiles(b.tgz).files.values()) files[`${b.name.replace('/', '__')}/${f.path}`] = f.data;
  used.push(b.spec);
  tgz = packFiles(files);
}
const unpacked = Object.values(files).reduce((s, f) => s + f.length, 0);
const signatures = loadSignatures();

const t0 = performance.now();
const first = scanTarball(tgz, { signatures });
const cold = performance.now() - t0;
// Wall time and this thread's CPU time: the machine may be shared, and CPU time is what the scan itself costs.
const times: number[] = [];
const cpu: number[] = [];
for (let i = 0; i < 15; i++) {
  const s = performance.now();
  const c = process.cpuUsage();
  scanTarball(tgz, { signatures });
  const d = process.cpuUsage(c);
  times.push(performance.now() - s);
  cpu.push((d.user + d.system) / 1000);
}
times.sort((a, b) => a - b);
cpu.sort((a, b) => a - b);
const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(0);

const pool = new ScanPool({ size: 1, budgetMs: 30_000 });
await pool.scan(tgz); // worker start-up and JIT warm-up
const poolTimes: number[] = [];
for (let i = 0; i < 10; i++) {
  const s = performance.now();
  await pool.scan(tgz);
  poolTimes.push(performance.now() - s);
}
await pool.close();
poolTimes.sort((a, b) => a - b);

console.log(
  `tarball: ${(tgz.length / 1e6).toFixed(2)} MB gzipped, ${(unpacked / 1e6).toFixed(1)} MB unpacked, ${Object.keys(files).length} files from ${used.length} packages; verdict ${first.verdict}`,
);
console.log(
  `in-process scan: first (cold JIT) ${cold.toFixed(0)} ms; warm median ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${q(1)} ms wall; median CPU time ${cpu[Math.floor(cpu.length / 2)]!.toFixed(0)} ms (n = ${times.length}, load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} cores)`,
);
console.log(
  `through ScanPool (worker thread, includes copying the tarball): median ${poolTimes[Math.floor(poolTimes.length / 2)]!.toFixed(0)} ms (n = ${poolTimes.length})`,
);
console.log(
  `target < 200 ms per 1 MB tarball: ${Number(q(0.5)) < 200 ? 'PASS' : 'FAIL'} on warm median wall time, ${cpu[Math.floor(cpu.length / 2)]! < 200 ? 'PASS' : 'FAIL'} on CPU time`,
);
