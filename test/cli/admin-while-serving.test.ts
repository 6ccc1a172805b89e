// An operator's `bulwark admin …` commands write to the SQLite file a running server is writing to at the same time
// (issue 15, item 8: they failed at random with "database is locked"). Each side's transactions read before they
// write; on SQLite such a transaction must take the write lock when it begins, or it meets SQLITE_BUSY at once
// whenever the other process writes in between, without waiting on busy_timeout. The CPU is saturated by busy-loop
// processes, as on a loaded CI machine, which stretches every transaction and makes the overlap frequent.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import { bulwark } from '../helpers/bulwark-process.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const ADMIN_WRITES = 12;

/** Processes that spin until killed: as many as twice the cores, so the server and the CLI both wait for a CPU. */
function saturateCpu(): ChildProcess[] {
  const n = Math.min(8, os.availableParallelism() * 2);
  return Array.from({ length: n }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
}

describe('bulwark admin against a running server on the same SQLite file', () => {
  let r: TestRegistry;
  let token: string;
  let spinners: ChildProcess[] = [];

  before(async () => {
    r = await startRegistry('sqlite');
    token = (await r.user('alice')).token;
    for (let i = 0; i < ADMIN_WRITES; i++) {
      const res = await r.request('PUT', '/victim', {
        token,
        body: body(publishDoc({ name: 'victim', version: `1.0.${i}` })),
      });
      assert.equal(res.status, 201, res.text);
    }
  });
  after(async () => {
    for (const p of spinners) p.kill('SIGKILL');
    await r.stop();
  });

  it('every admin write succeeds while the server publishes, with the CPU saturated', async () => {
    spinners = saturateCpu();
    let publishing = true;
    const failures: string[] = [];
    // Two clients publish new versions for as long as the operator works; each publish is a read-then-write
    // transaction on the server, followed by its event consumers' transactions.
    const publisher = async (client: number) => {
      for (let i = 0; publishing; i++) {
        const res = await r.request('PUT', `/busy-${client}`, {
          token,
          body: body(publishDoc({ name: `busy-${client}`, version: `1.0.${i}` })),
        });
        if (res.status !== 201) failures.push(`publish busy-${client}@1.0.${i}: ${res.status} ${res.text}`);
      }
    };
    const publishers = [publisher(0), publisher(1)];
    try {
      for (let i = 0; i < ADMIN_WRITES; i++) {
        const out = await bulwark([
          'admin',
          'package',
          'remove-malicious',
          `victim@1.0.${i}`,
          '--reason',
          'test',
          '--data-dir',
          r.dataDir,
        ]);
        if (out.code !== 0) failures.push(`remove-malicious victim@1.0.${i}: ${out.stderr.trim().split('\n')[0]}`);
      }
    } finally {
      publishing = false;
      await Promise.all(publishers);
      for (const p of spinners) p.kill('SIGKILL');
    }
    assert.deepEqual(failures, []);
    // The server learns of the other process's writes from the event stream, within about a second.
    let left: string[] = [];
    for (
      const started = Date.now();
      Date.now() - started < 15_000;
      await new Promise((resolve) => setTimeout(resolve, 100))
    ) {
      left = Object.keys(((await r.request('GET', '/victim')).json() as { versions?: object }).versions ?? {});
      if (left.length === 0) break;
    }
    assert.deepEqual(left, []);
  });
});
