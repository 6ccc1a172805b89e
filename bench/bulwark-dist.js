// Runs the compiled Bulwark (dist/, built by the benchmark first), as an installed package does: the benchmark
// measures what users run, not the type-stripped sources of a checkout.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
