// Loaded into the server under test by bench/rss.ts (node --import): answers the harness over the IPC channel with
// what only the process itself can see (process.memoryUsage, V8's heap figures), and runs a full garbage collection
// on request, so live memory can be told apart from garbage not yet collected. Nothing of it ships: the registry has
// no debug endpoint for this.
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
v8.setFlagsFromString('--no-expose-gc');

if (process.send) {
  process.on('message', (msg) => {
    if (!msg || typeof msg !== 'object' || msg.rssProbe !== true) return;
    if (typeof msg.snapshot === 'string') v8.writeHeapSnapshot(msg.snapshot);
    if (msg.gc) {
      gc();
      gc();
    }
    const heap = v8.getHeapStatistics();
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size]));
    process.send({ rssProbe: true, id: msg.id, memory: process.memoryUsage(), heap, spaces });
  });
  // The channel must not keep a server that is asked to stop alive.
  process.channel?.unref();
}
