// `bulwark scan FILE.tgz`: runs the registry's malware scanner (safety/scan) offline on a tarball, optionally against
// the previous version's tarball, so a maintainer or moderator sees the same verdict and evidence publish would.
import { readFileSync } from 'node:fs';
import { scanTarball, type ScanResult } from '../safety/scan/scanner.ts';
import { loadSignatures } from '../safety/scan/signatures.ts';
import type { Command } from './command.ts';

function print(result: ScanResult, json: boolean): void {
  if (json) {
    console.log(
      JSON.stringify({
        verdict: result.verdict,
        score: result.score,
        findings: result.findings.map(({ rule, file, line, evidence }) => ({ rule, file, line, evidence })),
      }),
    );
    return;
  }
  console.log(`${result.verdict} (score ${result.score})`);
  for (const f of result.findings.filter((x) => x.weight > 0))
    console.log(`  ${f.rule}  ${f.file || '(package)'}${f.line ? `:${f.line}` : ''}  ${f.evidence}`);
  const notes = result.findings.filter((x) => x.weight === 0);
  if (notes.length)
    console.log(
      `  (${notes.length} informational finding${notes.length > 1 ? 's' : ''}, e.g. ${notes[0]!.rule}: ${notes[0]!.evidence}; --json lists all)`,
    );
}

export const SCAN_COMMANDS: Record<string, Command> = {
  scan: {
    usage: 'bulwark scan FILE.tgz [--previous OLD.tgz] [--json] [--signatures FILE]',
    summary: 'scan a package tarball for malware the way publish does',
    positionals: ['FILE.tgz'],
    options: {
      previous: { type: 'string' },
      json: { type: 'boolean' },
      signatures: { type: 'string', multiple: true },
    },
    help: `Scans FILE.tgz with the registry's malware scanner: install scripts and what they run, credential access,
exfiltration endpoints, obfuscated or encoded payloads, self-propagation, and known-bad hashes and snippets.
Nothing in the tarball is executed. Exit 0 clean, 1 suspicious or malicious, 2 error.

Options:
  --previous <file>        tarball of the version FILE.tgz follows: also weigh what changed (a new install script,
                           new process or network use, a new obfuscated file)
  --json                   print {"verdict","score","findings":[{"rule","file","line","evidence"}]}
  --signatures <file>      an extra signature database (repeatable); see docs/malware-scanning.md for the format`,
    async run({ values, positionals }) {
      try {
        const raw = (values as Record<string, unknown>).signatures;
        const extra = Array.isArray(raw) ? (raw as string[]) : typeof raw === 'string' ? [raw] : [];
        const signatures = loadSignatures(extra);
        const tgz = readFileSync(positionals[0]!);
        const previous = typeof values.previous === 'string' ? readFileSync(values.previous) : null;
        const result = scanTarball(tgz, { previous, signatures });
        print(result, values.json === true);
        return result.verdict === 'clean' ? 0 : 1;
      } catch (err) {
        console.error(`bulwark scan: ${(err as Error).message}`);
        return 2;
      }
    },
  },
};
