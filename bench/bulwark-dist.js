// Runs the compiled Bulwark (dist/, built by the benchmark first), as an installed package does: the benchmark
// measures what users run, not the type-stripped sources of a checkout. The process is set up as bin/bulwark.js sets
// it up (its memory settings for `serve`) before the registry is loaded.
import { tuneServerProcess } from '../bin/bulwark.js';

tuneServerProcess(process.argv.slice(2));
const { main } = await import('../dist/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
