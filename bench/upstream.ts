// The upstream proxy's read path, measured: `node bench/upstream.ts` starts a local stand-in for npmjs.com serving the
// express closure (test/helpers/upstream.ts), one Bulwark hosting the closure and one proxying it, warms the proxy's
// cache, then load-tests the abbreviated packument, the full packument and the tarball of express on each with the
// harness's own runScenario (bench/load.ts). Prints the requests per second and the proxied/hosted ratio.
import { parseArgs } from 'node:util';
import { closurePackages, startFakeUpstream } from '../test/helpers/upstream.ts';
import { loadExpressClosure } from '../test/helpers/fixtures.ts';
import { runScenario, scenarios, type LoadSettings } from './load.ts';
import { cleanup, stop, tempDir } from './processes.ts';
import { SOURCE_BIN, buildBulwark, startBulwark } from './registries.ts';
import { expressPackages, publishAll } from './seed.ts';

const { values } = parseArgs({
  options: { duration: { type: 'string' }, connections: { type: 'string' }, source: { type: 'boolean' } },
});
const settings: LoadSettings = {
  duration: Number(values.duration ?? 10),
  warmup: 2,
  connections: Number(values.connections ?? 50),
  pipelining: 1,
};

const closure = loadExpressClosure();
// --source runs the checkout's sources instead of the build: the ratio compares Bulwark with itself either way.
if (!values.source) await buildBulwark();
const bin = values.source ? SOURCE_BIN : undefined;
const upstream = await startFakeUpstream(closurePackages(closure));
const hosted = await startBulwark(tempDir('bulwark-bench-hosted-'), undefined, bin);
const proxied = await startBulwark(tempDir('bulwark-bench-proxied-'), ['--upstream', upstream.url], bin);
try {
  const { packages } = await expressPackages();
  await publishAll({ label: 'hosted', url: hosted.url, token: hosted.token }, packages, { concurrency: 4 });
  const list = scenarios('express', `express-${closure.rootVersion}.tgz`).filter((s) => s.key !== 'missing');
  // The first reads fetch, check and scan; the second ones are served from the proxy's memory.
  for (let i = 0; i < 2; i++)
    for (const s of list) {
      const res = await fetch(proxied.url + s.path, { headers: s.headers });
      if (res.status !== 200) throw new Error(`proxied ${s.path}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    }
  const upstreamRequests = upstream.requests.length;
  console.log(`| request | hosted req/s | proxied req/s | proxied / hosted |`);
  console.log(`|---|---|---|---|`);
  for (const s of list) {
    const h = await runScenario(hosted.url, s, settings, hosted.child.pid);
    const p = await runScenario(proxied.url, s, settings, proxied.child.pid);
    const problems = [...h.problems, ...p.problems];
    console.log(
      `| ${s.label} | ${h.rps.toFixed(0)} | ${p.rps.toFixed(0)} | ${(p.rps / h.rps).toFixed(2)}${problems.length ? ` (${problems.join(', ')})` : ''} |`,
    );
  }
  console.log(`upstream requests during the load: ${upstream.requests.length - upstreamRequests}`);
} finally {
  await stop(hosted.child);
  await stop(proxied.child);
  await upstream.stop();
  await cleanup();
}
