// The one test command (`npm test`, also what CI runs): typecheck, lint, then every test file in one `node --test`
// run so the summary at the end covers the whole suite. Extra arguments are passed to node --test (e.g. a file).
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);

function step(title: string, cmd: string, args: string[]): void {
  console.log(`\n== ${title}`);
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  console.log(`== ${title}: ${r.status === 0 ? 'ok' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const files = process.argv.slice(2);
if (files.length === 0) {
  step('typecheck', bin('tsc'), ['--noEmit', '-p', 'tsconfig.json']);
  step('lint', bin('eslint'), ['--max-warnings', '0', 'src', 'test', 'scripts', 'bin']);
  step('format', bin('prettier'), ['--check', 'src', 'test', 'scripts', 'bench', 'bin']);
  // The layering of docs/architecture.md (.dependency-cruiser.cjs).
  step('layering', bin('depcruise'), ['src', '--config', '.dependency-cruiser.cjs']);
}
// The whole suite also reports coverage of src/ (code the tests run in this process and its workers; the real
// `bulwark` processes the CLI and end-to-end tests start are not counted) and fails below the floor: set a little
// under what the suite reached when it was introduced (97.7% of lines, 89.2% of branches, 95.8% of functions).
const coverage = [
  '--experimental-test-coverage',
  '--test-coverage-include=src/**',
  '--test-coverage-lines=95',
  '--test-coverage-branches=87',
  '--test-coverage-functions=93',
];
step('tests', process.execPath, [
  '--test',
  '--test-concurrency=2',
  '--test-force-exit',
  '--test-timeout=900000',
  '--test-reporter=spec',
  ...(files.length ? files : [...coverage, 'test/**/*.test.ts']),
]);
