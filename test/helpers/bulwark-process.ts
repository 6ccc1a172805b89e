// Runs the real `bulwark` binary as a child process: admin commands to completion, `serve` until it reports the
// URL it listens on.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const BIN = path.resolve(import.meta.dirname, '../../bin/bulwark.js');

/**
 * The argon2id cost test registries hash passwords with: the cheapest OWASP accepts (under half the default's time),
 * set through the real --password-hash setting (BULWARK_PASSWORD_HASH for the processes started here), which refuses
 * anything weaker. A test's own env or flags win.
 */
export const TEST_PASSWORD_HASH = 'm=7168,t=5,p=1';

export type Exit = { code: number; stdout: string; stderr: string };

export function bulwark(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; bin?: string; cwd?: string; node?: string } = {},
): Promise<Exit> {
  return new Promise((resolve) => {
    const child = execFile(
      opts.node ?? process.execPath,
      [opts.bin ?? BIN, ...args],
      {
        env: { ...process.env, BULWARK_PASSWORD_HASH: TEST_PASSWORD_HASH, BULWARK_UPSTREAM: 'none', ...opts.env },
        cwd: opts.cwd,
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        resolve({
          code: err ? ((err as { code?: number }).code ?? 1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        });
      },
    );
    child.stdin!.end(opts.input ?? '');
  });
}

export type Served = { url: string; child: ChildProcess; logs: string[]; stop(): Promise<number> };

/** Starts `bulwark serve` (on `opts.node`, by default this test's Node) and resolves once it logs its URL. */
export function serve(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; bin?: string; cwd?: string; node?: string } = {},
): Promise<Served> {
  const child = spawn(opts.node ?? process.execPath, [opts.bin ?? BIN, 'serve', '--port', '0', ...args], {
    env: { ...process.env, BULWARK_PASSWORD_HASH: TEST_PASSWORD_HASH, BULWARK_UPSTREAM: 'none', ...opts.env },
    cwd: opts.cwd,
  });
  const logs: string[] = [];
  let buffered = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bulwark serve did not start:\n${logs.join('\n')}`)), 30_000);
    const onLine = (line: string) => {
      logs.push(line);
      const m = /listening on (http:\/\/\S+)"/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1]!,
          child,
          logs,
          stop: () =>
            new Promise((done) => {
              child.once('exit', (code) => done(code ?? 1));
              child.kill('SIGTERM');
            }),
        });
      }
    };
    child.stdout.on('data', (d: Buffer) => {
      buffered += d;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      lines.forEach(onLine);
    });
    child.stderr.on('data', (d: Buffer) => logs.push(String(d)));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bulwark serve exited with ${code}:\n${logs.join('\n')}`));
    });
  });
}
