// Issue 19: every failure at start says which setting is wrong and what to do, in one line, with no stack trace, and
// nothing is written to the data directory before the configuration is known to be usable.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, TEST_PASSWORD_HASH, bulwark, serve, type Exit, type Served } from '../helpers/bulwark-process.ts';

/**
 * The environment for a server run as another user. Node hands NODE_V8_COVERAGE (set by the suite's coverage run) to
 * every child whatever its env says, and that user may not write the suite's coverage folder: give it one it may.
 */
function unprivilegedEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, BULWARK_PASSWORD_HASH: TEST_PASSWORD_HASH };
  if (env.NODE_V8_COVERAGE) {
    const open = mkdtempSync(path.join(os.tmpdir(), 'bulwark-coverage-'));
    chmodSync(open, 0o777);
    env.NODE_V8_COVERAGE = open;
  }
  return env;
}

/** The one line a failed start prints: names the setting, says what to do, carries no stack. */
function oneLine(r: Exit, setting: RegExp): string {
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at |Error:/, 'no stack trace');
  assert.match(lines[0]!, /^bulwark: /);
  assert.match(lines[0]!, setting);
  return lines[0]!;
}

describe('bulwark serve: failures at start', () => {
  let dir: string;
  let running: Served;
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bulwark-start-'));
    running = await serve(['--data-dir', path.join(dir, 'running')]);
  });
  after(async () => {
    await running.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a port in use: names --port, and writes nothing (no secret key generated)', async () => {
    const port = new URL(running.url).port;
    const data = path.join(dir, 'second');
    const line = oneLine(
      await bulwark(['serve', '--port', port, '--data-dir', data]),
      /port \d+ on 127\.0\.0\.1 is already in use.*--port/,
    );
    assert.match(line, /stop that process or choose another/);
    assert.equal(existsSync(data), false, 'nothing written');
  });

  it('an unreachable or missing PostgreSQL database: names --database, hides the password, writes nothing', async () => {
    const data = path.join(dir, 'pg');
    const line = oneLine(
      await bulwark([
        'serve',
        '--port',
        '0',
        '--data-dir',
        data,
        '--database',
        'postgres://postgres:hunter2@127.0.0.1:1/x',
      ]),
      /cannot use the PostgreSQL database .*\(--database\): .*ECONNREFUSED/,
    );
    assert.doesNotMatch(line, /hunter2/);
    assert.doesNotMatch(line, / {2}/, 'no double spaces');
    oneLine(
      await bulwark([
        'serve',
        '--port',
        '0',
        '--data-dir',
        data,
        '--database',
        'postgres://postgres@127.0.0.1:5432/bulwark_no_such_database',
      ]),
      /database "bulwark_no_such_database" does not exist/,
    );
    assert.equal(existsSync(data), false, 'nothing written');
  });

  it('a data directory that cannot be made: names --data-dir', async () => {
    const file = path.join(dir, 'a-file');
    writeFileSync(file, '');
    oneLine(await bulwark(['serve', '--port', '0', '--data-dir', path.join(file, 'data')]), /--data-dir/);
  });

  it('a data directory this user may not write: names --data-dir and says what to do, writes nothing', async (t) => {
    const locked = path.join(dir, 'locked');
    mkdirSync(locked, { mode: 0o755 });
    chmodSync(dir, 0o755);
    // As root every folder is writable: the server then runs as an unprivileged user, whom the folder refuses.
    const asRoot = process.getuid?.() === 0;
    if (
      asRoot &&
      spawnSync(process.execPath, [BIN, '--version'], { uid: 65534, gid: 65534, env: unprivilegedEnv() }).status !== 0
    ) {
      // Only where this checkout lies in a folder the unprivileged user cannot enter.
      return t.skip('no unprivileged user can run this checkout here');
    }
    if (!asRoot) chmodSync(locked, 0o555);
    const r = await new Promise<Exit>((resolve) => {
      execFile(
        process.execPath,
        [BIN, 'serve', '--port', '0', '--data-dir', locked],
        {
          env: unprivilegedEnv(),
          ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
          timeout: 60_000,
        },
        (err, stdout, stderr) =>
          resolve({
            code: err ? ((err as { code?: number }).code ?? 1) : 0,
            stdout: String(stdout),
            stderr: String(stderr),
          }),
      );
    });
    const line = oneLine(
      r,
      /the data directory .*locked is not writable by this user \(EACCES\): set --data-dir \(BULWARK_DATA_DIR\)/,
    );
    assert.match(line, /or fix its permissions/);
    assert.deepEqual(readdirSync(locked), [], 'nothing written');
  });
});
