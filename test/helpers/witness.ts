// A small witness written to c2sp.org/tlog-witness (add-checkpoint only), over real HTTP, for the log's tests.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Verifier } from '../../src/trust/tlog/note.ts';
import { WitnessCore, WitnessRefusal, ed25519Cosigner, encodeCosignerKey } from '../../src/trust/tlog/witness.ts';

export type TestWitness = { url: string; vkey: string; core: WitnessCore; statuses: number[]; stop(): Promise<void> };

export async function startWitness(
  name: string,
  logs: { origin: string; keys: Verifier[] }[],
  seed = Buffer.alloc(32, 42),
): Promise<TestWitness> {
  const cosigner = ed25519Cosigner(name, seed);
  const core = new WitnessCore(cosigner, logs);
  const statuses: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, type: string, body: string) => {
        statuses.push(status);
        res.writeHead(status, { 'content-type': type }).end(body);
      };
      if (req.method !== 'POST' || req.url !== '/add-checkpoint') return send(404, 'text/plain', 'not found\n');
      try {
        send(200, 'text/plain; charset=utf-8', core.addCheckpoint(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        if (err instanceof WitnessRefusal) return send(err.status, err.contentType, err.body);
        send(500, 'text/plain', String(err));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    vkey: encodeCosignerKey(cosigner),
    core,
    statuses,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
