// Child processes and temporary folders for the benchmark: every server runs in its own process (so it never shares
// an event loop with the load generator), and everything started or created here is removed on exit, errors included.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = path.resolve(import.meta.dirname, '..');
/** Node 26, pinned in devDependencies: runs the servers, the ceiling and npm 11. */
export const NODE = path.join(ROOT, 'node_modules', '.bin', 'node');

const children = new Set<ChildProcess>();
const dirs = new Set<string>();

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

/** Stops every child still running (SIGTERM, then SIGKILL after a grace period) and removes the temp folders. */
export async function cleanup(): Promise<void> {
  await Promise.all([...children].map((c) => stop(c)));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

/** Last resort when the process exits without running cleanup() (process.exit, an uncaught error). */
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

export async function stop(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    children.delete(child);
    return;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  children.delete(child);
}

/** The environment for child processes: no npm_config_* (set by `npm run`) or BULWARK_* settings leak in. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|bulwark_)/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

export type Server = {
  name: string;
  url: string;
  child: ChildProcess;
  /** The last lines the process printed (for error messages). */
  output(): string;
};

/** Spawns a long-running process and keeps the tail of its output; it is stopped by cleanup() if still running. */
export function launch(
  name: string,
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; onLine?: (line: string) => void },
): { child: ChildProcess; output(): string } {
  const child = spawn(cmd, args, {
    cwd: opts.cwd ?? ROOT,
    env: opts.env ?? cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 40) tail.shift();
        opts.onLine?.(line);
      }
    });
  }
  return { child, output: () => tail.join('\n') };
}

/** The URL in a "listening on <url>" log line (a pino JSON line or plain text), if the line is one. */
export function listeningUrl(line: string): string | null {
  let msg = line;
  try {
    const parsed = JSON.parse(line) as { msg?: unknown };
    if (typeof parsed.msg === 'string') msg = parsed.msg;
  } catch {
    // not JSON: read the line as it is
  }
  const m = /listening on (https?:\/\/\S+)/.exec(msg);
  return m ? m[1]!.replace(/\/+$/, '') : null;
}

/** Starts a server process and resolves once it answers HTTP: at `probe` under the URL it announces, or under `url`. */
export async function startServer(
  name: string,
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; url?: string; probe: string; timeoutMs?: number },
): Promise<Server> {
  let announced: string | null = null;
  const proc = launch(name, cmd, args, { ...opts, onLine: (line) => (announced ??= listeningUrl(line)) });
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(
        `${name} exited (${proc.child.exitCode ?? proc.child.signalCode}) before it was ready:\n${proc.output()}`,
      );
    }
    const url = announced ?? opts.url;
    if (url) {
      const res = await fetch(url + opts.probe).catch(() => null);
      if (res) {
        await res.arrayBuffer();
        if (res.ok) return { name, url, child: proc.child, output: proc.output };
      }
    }
    if (Date.now() > deadline) {
      await stop(proc.child);
      throw new Error(`${name} did not become ready within ${(opts.timeoutMs ?? 60_000) / 1000} s:\n${proc.output()}`);
    }
    await sleep(100);
  }
}

/** A TCP port free on the loopback interface right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Resident set size of a process in MB (10^6 bytes), from /proc/PID/status (VmRSS, in KiB). */
export function rssMB(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? (Number(m[1]) * 1024) / 1e6 : null;
  } catch {
    return null;
  }
}

export type Finished = { code: number; stdout: string; stderr: string; ms: number };

/** Runs a command to completion, optionally feeding stdin; measures its wall time. */
export function runCommand(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? ROOT,
      env: opts.env ?? cleanEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      children.delete(child);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr, ms: performance.now() - started });
    });
    // A command that exits before reading its input (taskset does at once) closes the pipe: its exit code, not an
    // EPIPE on this side, is the result.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** Like runCommand, but fails with the command's output when it exits non-zero. */
export async function mustRun(
  label: string,
  cmd: string,
  args: string[],
  opts: Parameters<typeof runCommand>[2] = {},
): Promise<Finished> {
  const r = await runCommand(cmd, args, opts);
  if (r.code !== 0)
    throw new Error(
      `${label} exited ${r.code}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`,
    );
  return r;
}

/** CPU time counters, in clock ticks: the whole machine's busy time and each given process's own. */
export type CpuSample = { busy: number; steal: number; procs: number[] };

const HZ = 100; // USER_HZ on Linux: /proc counts CPU time in these ticks

/** User and system CPU time a process has used so far, in clock ticks, from /proc/PID/stat. */
function statTicks(pid: number): { user: number; sys: number } {
  // Fields after the ")" that ends the command name: state is the 1st, utime the 12th, stime the 13th.
  const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').at(-1)!.split(' ');
  return { user: Number(rest[11]), sys: Number(rest[12]) };
}

/** User and system CPU seconds a process has used so far. */
export function cpuTimes(pid: number): { user: number; sys: number } {
  const t = statTicks(pid);
  return { user: t.user / HZ, sys: t.sys / HZ };
}

export function cpuSeconds(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.sys;
}

function procTicks(pid: number): number {
  try {
    const t = statTicks(pid);
    return t.user + t.sys;
  } catch {
    return 0;
  }
}

export function cpuSample(pids: number[]): CpuSample {
  let busy = 0;
  let steal = 0;
  try {
    // cpu  user nice system idle iowait irq softirq steal …: interrupts are left out (loopback traffic lands there).
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    busy = f[0]! + f[1]! + f[2]!;
    steal = f[7] ?? 0;
  } catch {
    // not Linux: no contention figures
  }
  return { busy, steal, procs: pids.map(procTicks) };
}

/** Share of one core (0–1 = one core) that other processes, and the hypervisor (steal), took between two samples. */
export function otherCpu(a: CpuSample, b: CpuSample, seconds: number): { other: number; steal: number } {
  const own = b.procs.reduce((sum, t, i) => sum + t - (a.procs[i] ?? 0), 0);
  return { other: Math.max(0, b.busy - a.busy - own) / HZ / seconds, steal: (b.steal - a.steal) / HZ / seconds };
}
