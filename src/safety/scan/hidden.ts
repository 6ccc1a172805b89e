// Code hidden from a person reading the file rather than from a parser: statements pushed far off-screen by
// whitespace (rand-user-agent, 2025) and payloads spelled in invisible characters — variation selectors, private-use
// and zero-width characters decoded at run time (os-info-checker-es6, 2025). Pure: text in, findings out.
import type { RawFinding } from './analyze.ts';

/** What the hidden part must look like to count: code that acts, not a long aligned comment or ASCII art. */
const ACTS =
  /require\s*\(|\beval\s*\(|Function\s*\(|child_process|\bspawn\s*\(|\bexec(Sync)?\s*\(|https?['".:]|fetch\s*\(|process\.env|process\[|import\s*\(|\.connect\s*\(/;
const OFFSCREEN_RUN = 150;
const BLANK_LINES = 100;
/** Variation selectors, private-use, zero-width and tag characters: invisible in an editor, data to a decoder. */
const INVISIBLE = /[\uFE00-\uFE0F\uE000-\uF8FF\u200B-\u200D\u2060-\u2064]|\uDB40[\uDC00-\uDDEF]|\uDB40[\uDC00-\uDC7F]/;
const INVISIBLE_RUN = 32;

const lineAt = (text: string, index: number) => {
  let n = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) n++;
  return n;
};

export function hiddenCode(text: string): RawFinding[] {
  const out: RawFinding[] = [];
  // Whitespace then code on the same line, past any screen's right edge.
  const run = new RegExp(`[ \\t]{${OFFSCREEN_RUN},}(?=\\S)`, 'g');
  for (const m of text.matchAll(run)) {
    const start = m.index + m[0].length;
    const end = text.indexOf('\n', start);
    const rest = text.slice(start, end === -1 ? undefined : Math.min(end, start + 4000));
    if (!ACTS.test(rest)) continue;
    out.push({
      rule: 'offscreen-code',
      line: lineAt(text, m.index),
      evidence: `code after ${m[0].length} whitespace characters: ${rest.slice(0, 120)}`,
      weight: 6,
    });
    break;
  }
  // Code after a long run of blank lines, below where anyone scrolls.
  const blank = new RegExp(`\\n(?:[ \\t]*\\n){${BLANK_LINES},}(?=[ \\t]*\\S)`, 'g');
  for (const m of text.matchAll(blank)) {
    const start = m.index + m[0].length;
    const rest = text.slice(start, start + 4000);
    if (!ACTS.test(rest)) continue;
    out.push({
      rule: 'offscreen-code',
      line: lineAt(text, start),
      evidence: `code after ${m[0].split('\n').length - 1} blank lines: ${rest.trim().slice(0, 120)}`,
      weight: 6,
    });
    break;
  }
  // A run of invisible characters long enough to carry a program.
  if (INVISIBLE.test(text)) {
    let count = 0;
    let runStart = -1;
    let i = 0;
    for (const ch of text) {
      if (INVISIBLE.test(ch)) {
        if (count === 0) runStart = i;
        if (++count >= INVISIBLE_RUN) {
          out.push({
            rule: 'invisible-characters',
            line: lineAt(text, runStart),
            evidence: `${INVISIBLE_RUN}+ invisible characters in a row (variation selectors, private-use or zero-width): data hidden from readers`,
            weight: 4,
          });
          break;
        }
      } else count = 0;
      i += ch.length;
    }
  }
  return out;
}
