// Runtime checks that depend on the compiler's scheduling and the allocator's behaviour: what they guard matters for
// speed and memory, but whether a given run on a busy machine shows it is not a defect, so they are measurements
// here, reported with every benchmark run, and not tests that fail CI. `node bench/checks.ts` runs them alone.
//
// - tick shape: process.nextTick's inline caches go megamorphic after full collections at quiet moments unless one
//   tick object is kept alive (src/http/tick-shape.ts); each case runs a fresh Node that queues ticks, goes quiet,
//   collects, and prints V8's feedback for nextTick. The control case (without the module) must go megamorphic, or
//   the check could not tell the two apart.
// - memory release: the server hands memory glibc keeps after it was freed back to the system (src/http/memory.ts);
//   a child fragments its heap as a publish burst does and reports how much RSS the releaser, and settle(), gave back.
// - anonymous flood: 64 anonymous publish-sized PUTs at once are refused before their bodies are read (tested in
//   test/http/upload-limits.test.ts); meanwhile /-/ping must stay fast, which depends on how busy the machine is.
// - token refusals: expired, revoked, unknown, malformed and garbage tokens are refused in the same time, so timing
//   does not tell an attacker which tokens once existed (test/http/tokens.test.ts checks they get the same answer).
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

export type Check = { name: string; pass: boolean; detail: string };

const TICK_SHAPE = new URL('../src/http/tick-shape.ts', import.meta.url).href;
const MEMORY = new URL('../src/http/memory.ts', import.meta.url).href;

function runNode(flags: string[], script: string): { ok: boolean; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8' });
  return { ok: run.status === 0, stdout: run.stdout, stderr: run.stderr };
}

/** The property-definition feedback slots of nextTick's tick literal after 20 quiet-moment collections. */
function tickFeedback(keep: boolean): string[] | string {
  const script = `
    ${keep ? `const { keepTickShape } = await import(${JSON.stringify(TICK_SHAPE)}); if (!keepTickShape()) throw new Error('no tick object caught');` : ''}
    const noop = () => {};
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 20000; i++) process.nextTick(noop);
      await new Promise((resolve) => setTimeout(resolve, 10));
      gc();
    }
    %DebugPrint(process.nextTick);`;
  // Compiles on the main thread: a background compile can hold nextTick's maps through every collection.
  const run = runNode(['--allow-natives-syntax', '--expose-gc', '--no-concurrent-recompilation'], script);
  if (!run.ok) return `the probe failed: ${run.stderr.slice(0, 300)}`;
  const slots = run.stdout.split('\n').filter((line) => line.includes('DefineKeyedOwnPropertyInLiteral'));
  return slots.length >= 3 ? slots : "V8's feedback for nextTick lists no property definitions";
}

export function tickShapeCheck(): Check {
  const kept = tickFeedback(true);
  const control = tickFeedback(false);
  if (typeof kept === 'string' || typeof control === 'string')
    return {
      name: 'nextTick stays monomorphic',
      pass: false,
      detail: typeof kept === 'string' ? kept : (control as string),
    };
  const keptMono = kept.every((s) => s.includes('MONOMORPHIC'));
  const controlMega = control.some((s) => s.includes('MEGAMORPHIC'));
  return {
    name: 'nextTick stays monomorphic',
    pass: keptMono && controlMega,
    detail: `with keepTickShape: ${keptMono ? 'monomorphic' : 'not monomorphic'}; without (control): ${controlMega ? 'megamorphic' : 'not megamorphic, so this run cannot tell the two apart'}`,
  };
}

/** RSS given back after a fragmenting burst: by the periodic releaser, by settle(), and (control) with it stopped. */
export function memoryReleaseCheck(): Check {
  const script = `
    const { releaseFreedMemory } = await import(${JSON.stringify(MEMORY)});
    const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
    const burst = () => {
      const all = Array.from({ length: 12000 }, (_, i) => Buffer.allocUnsafeSlow(1000 + ((i * 7919) % 24000)).fill(i));
      const kept = all.filter((_, i) => i % 4 === 0);
      all.length = 0;
      return kept;
    };
    const out = {};
    let r = releaseFreedMemory(50);
    let kept = burst(); gc();
    let before = process.memoryUsage.rss(); await sleep(1000); out.periodic = before - process.memoryUsage.rss(); r.stop(); kept = null;
    r = releaseFreedMemory(3600000);
    kept = burst();
    before = process.memoryUsage.rss(); r.settle(); out.settle = before - process.memoryUsage.rss(); r.stop(); kept = null;
    releaseFreedMemory(50).stop();
    kept = burst(); gc();
    before = process.memoryUsage.rss(); await sleep(1000); out.stopped = before - process.memoryUsage.rss();
    console.log(JSON.stringify(out));`;
  const run = runNode(['--expose-gc'], script);
  if (!run.ok)
    return {
      name: 'freed memory goes back to the system',
      pass: false,
      detail: `the probe failed: ${run.stderr.slice(0, 300)}`,
    };
  const mb = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { periodic: number; settle: number; stopped: number };
  const f = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
  return {
    name: 'freed memory goes back to the system',
    pass: mb.periodic > 40e6 && mb.settle > 40e6 && mb.stopped < 10e6,
    detail: `after a ~150 MB fragmenting burst, RSS fell by ${f(mb.periodic)} with the releaser running and ${f(mb.settle)} on settle(); ${f(mb.stopped)} with it stopped (control; targets > 40, > 40, < 10 MB)`,
  };
}

/** Median time of a refused publish per kind of bad token, over interleaved rounds against a real server. */
export async function tokenTimingCheck(rounds = 60): Promise<Check> {
  const { startRegistry } = await import('../test/helpers/registry.ts');
  const { body, publishDoc } = await import('../test/helpers/packages.ts');
  const { newToken } = await import('../src/tokens/format.ts');
  const r = await startRegistry('sqlite');
  try {
    const { token } = await r.user('erin');
    const make = async (extra: Record<string, unknown>) =>
      (
        await r.request('POST', '/-/npm/v1/tokens', {
          token,
          body: { password: 'correct-horse-battery', name: 't', ...extra },
        })
      ).json() as { token: string; key: string };
    const expired = await make({ expires: 1 });
    await r.store.db
      .updateTable('tokens')
      .set({ expires_at: Date.now() - 1 })
      .where('display', '=', expired.token.slice(0, 10))
      .execute();
    const revoked = await make({});
    await r.request('DELETE', `/-/npm/v1/tokens/token/${revoked.key}`, { token });
    const bad = {
      expired: expired.token,
      revoked: revoked.token,
      unknown: newToken(),
      malformed: 'bwk_this-is-not-a-token',
      garbage: 'x'.repeat(60),
      checksum: `${newToken().slice(0, -1)}0`,
    };
    const doc = body(publishDoc({ name: 'erin-timing', version: '1.0.0' }));
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(bad).map((k) => [k, []]));
    // Interleaved, so load on the machine falls on every kind alike.
    for (let round = 0; round < rounds; round++) {
      for (const [kind, t] of Object.entries(bad)) {
        const started = performance.now();
        const res = await r.request('PUT', '/erin-timing', { token: t, body: doc });
        if (res.status !== 401)
          return {
            name: 'bad tokens refused in the same time',
            pass: false,
            detail: `${kind} token answered ${res.status}`,
          };
        times[kind]!.push(performance.now() - started);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const medians = Object.entries(times).map(([k, xs]) => [k, median(xs)] as const);
    const values = medians.map(([, v]) => v);
    const spread = Math.max(...values) - Math.min(...values);
    return {
      name: 'bad tokens refused in the same time',
      pass: spread < 1.5 + 0.25 * Math.min(...values),
      detail: `median ms over ${rounds} interleaved rounds: ${medians.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')} (spread ${spread.toFixed(2)} ms; target < 1.5 ms + 25% of the fastest)`,
    };
  } finally {
    await r.stop();
  }
}

/** /-/ping latency while 64 anonymous clients each try to send a 70 MB publish body. */
export async function anonymousFloodCheck(): Promise<Check> {
  const { startRegistry } = await import('../test/helpers/registry.ts');
  const { ping, upload } = await import('../test/helpers/uploads.ts');
  const r = await startRegistry('sqlite');
  try {
    const huge = 70 * 1024 * 1024;
    const alone = await ping(r.url);
    const uploads = Array.from({ length: 64 }, () => upload(r.url, '/x', { length: huge, upTo: huge }));
    const pings: number[] = [];
    for (let i = 0; i < 10; i++) pings.push(await ping(r.url));
    await Promise.all(uploads.map((u) => u.closed));
    const sorted = [...pings].sort((a, b) => a - b);
    return {
      name: 'pings stay fast under an anonymous upload flood',
      pass: sorted[8]! < 50 && sorted[9]! < 1000,
      detail: `/-/ping alone ${alone.toFixed(1)} ms; during the flood: 9th of 10 ${sorted[8]!.toFixed(1)} ms, slowest ${sorted[9]!.toFixed(1)} ms (targets < 50 ms and < 1000 ms)`,
    };
  } finally {
    await r.stop();
  }
}

export async function runChecks(): Promise<Check[]> {
  return [
    tickShapeCheck(),
    ...(process.platform === 'linux' ? [memoryReleaseCheck()] : []),
    await tokenTimingCheck(),
    await anonymousFloodCheck(),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const checks = await runChecks();
  for (const c of checks) console.log(`${c.pass ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`);
  process.exitCode = checks.every((c) => c.pass) ? 0 : 1;
}
