// Worker-thread side of the tarball pool: loads the signature database once, then reads or scans tarballs posted to
// it (pool.ts sends a WorkerTask and a job id, and reads back the result or an error message).
import { parentPort, workerData } from 'node:worker_threads';
import { inspectTarball } from '../../tarball/inspect.ts';
import { TarballRefused } from '../../tarball/read.ts';
import type { InspectResult, WorkerTask } from './pool.ts';
import { scanTarball } from './scanner.ts';
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

parentPort!.on('message', ({ id, task }: { id: number; task: WorkerTask }) => {
  try {
    const result = task.kind === 'inspect' ? inspect(buffer(task.tgz)) : scanTarball(buffer(task.tgz), { previous: task.previous && buffer(task.previous), signatures });
    parentPort!.postMessage({ id, result });
  } catch (err) {
    parentPort!.postMessage({ id, error: (err as Error).message });
  }
});
