// Compiles src/ to dist/ for the published package: Node does not strip types of files under node_modules, so
// an installed bulwark must run JavaScript. `--out-dir DIR` builds elsewhere (the memory benchmark builds beside the
// checkout, so it never replaces a dist/ someone else is using).
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

/** Files read at run time from beside the compiled code: tsc emits only JavaScript. */
const ASSETS = [
  'web/static', // the web UI's stylesheet
  'names/lists', // the shipped list of popular names the typosquatting check protects
  'safety/scan/signatures', // the malware scanner's shipped signature database
];

const root = path.resolve(import.meta.dirname, '..');
const out = path.resolve(
  parseArgs({ options: { 'out-dir': { type: 'string', default: path.join(root, 'dist') } } }).values['out-dir'],
);
rmSync(out, { recursive: true, force: true });
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
// --noCheck: the build only emits (under half the time); the type check is `npm run typecheck`, part of `npm test`.
const r = spawnSync(
  process.execPath,
  [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', out, '--noCheck'],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
if (r.status === 0)
  for (const dir of ASSETS) cpSync(path.join(root, 'src', dir), path.join(out, dir), { recursive: true });
process.exit(r.status ?? 1);
