// process.nextTick's inline caches go megamorphic after a few full collections at quiet moments (see
// http/tick-shape.ts). Each case runs a fresh Node that queues ticks, lets the process go quiet, collects, and
// repeats, then prints V8's feedback for nextTick: with keepTickShape() the property definitions of the tick literal
// stay monomorphic; without it they do not (the case that shows the test can tell the two apart).
// A background compile of nextTick holds the maps while it runs, and on a busy machine it can span every collection
// (CI once saw eight rounds free nothing), so compiles run on the main thread here; both cases alike.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

const module = new URL('../../src/http/tick-shape.ts', import.meta.url).href;

function tickFeedback(keep: boolean): string[] {
  const script = `
    ${keep ? `const { keepTickShape } = await import(${JSON.stringify(module)}); if (!keepTickShape()) throw new Error('no tick object caught');` : ''}
    const noop = () => {};
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 20000; i++) process.nextTick(noop);
      await new Promise((resolve) => setTimeout(resolve, 10));
      gc();
    }
    %DebugPrint(process.nextTick);`;
  const run = spawnSync(process.execPath, ['--allow-natives-syntax', '--expose-gc', '--no-concurrent-recompilation', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const slots = run.stdout.split('\n').filter((line) => line.includes('DefineKeyedOwnPropertyInLiteral'));
  assert.ok(slots.length >= 3, `nextTick's feedback lists its literal's property definitions:\n${run.stdout.slice(0, 2000)}`);
  return slots;
}

describe("process.nextTick's hidden classes", () => {
  it('stay monomorphic through full collections at quiet moments when one tick object is kept', () => {
    const slots = tickFeedback(true);
    assert.deepEqual(slots.filter((s) => !s.includes('MONOMORPHIC')), [], slots.join('\n'));
  });

  it('go megamorphic without it (what the module prevents)', () => {
    const slots = tickFeedback(false);
    assert.ok(slots.some((s) => s.includes('MEGAMORPHIC')), slots.join('\n'));
  });
});
