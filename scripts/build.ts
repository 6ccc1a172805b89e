// Compiles src/ to dist/ for the published package: Node does not strip types of files under node_modules, so
// an installed bulwark must run JavaScript.
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
rmSync(path.join(root, 'dist'), { recursive: true, force: true });
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
// tsc emits only JavaScript; the web UI's stylesheet is read from beside the compiled code.
if (r.status === 0) cpSync(path.join(root, 'src/web/static'), path.join(root, 'dist/web/static'), { recursive: true });
// The shipped list of popular names the typosquatting check protects is read from beside the compiled code too.
if (r.status === 0) cpSync(path.join(root, 'src/names/lists'), path.join(root, 'dist/names/lists'), { recursive: true });
// So is the malware scanner's shipped signature database.
if (r.status === 0) cpSync(path.join(root, 'src/safety/scan/signatures'), path.join(root, 'dist/safety/scan/signatures'), { recursive: true });
process.exit(r.status ?? 1);
