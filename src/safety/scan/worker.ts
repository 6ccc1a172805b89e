// Worker-thread side of the scan pool: loads the signature database once, then scans tarballs posted to it.
import { parentPort, workerData } from 'node:worker_threads';
import { scanTarball } from './scanner.ts';
import { loadSignatures } from './signatures.ts';

const signatures = loadSignatures((workerData as { signatureFiles?: string[] }).signatureFiles ?? []);

parentPort!.on('message', (msg: { id: number; tgz: Uint8Array; previous: Uint8Array | null }) => {
  try {
    const result = scanTarball(Buffer.from(msg.tgz.buffer, msg.tgz.byteOffset, msg.tgz.byteLength), {
      previous: msg.previous ? Buffer.from(msg.previous.buffer, msg.previous.byteOffset, msg.previous.byteLength) : null,
      signatures,
    });
    parentPort!.postMessage({ id: msg.id, result });
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: (err as Error).message });
  }
});
