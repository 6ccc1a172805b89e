// Worker-thread side of the tarball pool: loads the signature database once, then reads, scans or compares tarballs
// posted to it (pool.ts sends a WorkerTask and a job id, and reads back the result or an error message).
import { parentPort, workerData } from 'node:worker_threads';
import { inspectTarball } from '../../tarball/inspect.ts';
import { TarballRefused } from '../../tarball/read.ts';
import { diffTarballs } from '../version-diff.ts';
import type { DiffResult, InspectResult, WorkerTask } from './pool.ts';
import { scanTarball, type ScanResult } from './scanner.ts';
import { loadSignatures } from './signatures.ts';

const signatures = loadSignatures((workerData as { signatureFiles?: string[] }).signatureFiles ?? []);

// Structured cloning turns the posted Buffers into plain Uint8Arrays.
const buffer = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

function inspect(tgz: Buffer): InspectResult {
  try {
    return { ok: true, info: inspectTarball(tgz) };
  } catch (err) {
    if (err instanceof TarballRefused) return { ok: false, timeout: false, reason: err.message };
    throw err;
  }
}

function run(task: WorkerTask): InspectResult | ScanResult | DiffResult {
  switch (task.kind) {
    case 'inspect':
      return inspect(buffer(task.tgz));
    case 'scan':
      return scanTarball(buffer(task.tgz), { previous: task.previous && buffer(task.previous), signatures });
    case 'diff':
      return { ok: true, diff: diffTarballs(task.previous && buffer(task.previous), buffer(task.current)) };
  }
}

parentPort!.on('message', ({ id, task }: { id: number; task: WorkerTask }) => {
  try {
    parentPort!.postMessage({ id, result: run(task) });
  } catch (err) {
    parentPort!.postMessage({ id, error: (err as Error).message });
  }
});
