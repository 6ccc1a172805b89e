// The name checker's rules, one by one, and its evaluation on real data (test/fixtures/names/incidents.json: names of
// real malicious packages from OSV MAL records; legitimate names: the shipped popular list's long tail).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { shippedPopularNames } from '../../src/names/popular.ts';
import { ProtectedNames, editDistance, skeleton, typoLike } from '../../src/names/similarity.ts';

const popular = shippedPopularNames();
const index = new ProtectedNames(popular);
const rules = (name: string) => index.check(name).reasons.map((r) => `${r.rule}:${r.similar_to}`);

test('npm’s rule: equal after removing . - _ and case', () => {
  assert.ok(rules('cross_env').includes('npm-normalized:cross-env'));
  assert.ok(rules('lo-dash').includes('npm-normalized:lodash'));
});

test('Unicode confusables: l/1/I, 0/o, rn/m and Cyrillic letters reduce to the same skeleton', () => {
  assert.equal(skeleton('1odash'), skeleton('lodash'));
  assert.equal(skeleton('rnornent'), skeleton('moment'));
  assert.equal(skeleton('ехрrеss'), skeleton('express')); // Cyrillic е, х, р
  assert.ok(rules('1odash').includes('confusable:lodash'));
  assert.ok(rules('c0mmander').includes('confusable:commander'));
});

test('edit distance 1: insertion, deletion, substitution and adjacent transposition, for long enough names', () => {
  assert.ok(rules('electorn').includes('edit-distance:electron'), 'swapped letters are caught for every protected name');
  assert.equal(editDistance('lodahs', 'lodash'), 1);
  assert.ok(rules('lodahs').includes('edit-distance:lodash'));
  assert.ok(rules('expresss').length > 0);
  assert.ok(rules('reqest').includes('edit-distance:request'));
  assert.ok(rules('axois').includes('edit-distance:axios'));
  assert.ok(rules('chalc').includes('edit-distance:chalk'));
  assert.deepEqual(rules('vuez'), [], 'short names are too short for one edit to mean a typo');
  assert.equal(typoLike('react', 'preact'), false, 'a changed first letter names another package');
  assert.equal(typoLike('json3', 'json5'), false, 'digits tell versions apart');
});

test('a look-alike of several protected names at once is reported against each of them', () => {
  // "palette" and "pallete" share the deletion key "palete" and the collapsed form "palete".
  const two = new ProtectedNames(['palette', 'pallete', 'scroller']);
  const reasons = two.check('palete').reasons.map((r) => `${r.rule}:${r.similar_to}`);
  assert.ok(reasons.includes('edit-distance:palette'), reasons.join(', '));
  assert.ok(reasons.includes('edit-distance:pallete'), reasons.join(', '));
  assert.deepEqual(
    two.check('scrollerr').reasons.map((r) => r.similar_to),
    ['scroller'],
  );
});

test('repeated and dropped characters', () => {
  assert.ok(rules('jquerry').includes('edit-distance:jquery') || rules('jquerry').includes('repeated-character:jquery'));
  assert.ok(rules('commmander').length > 0);
});

test('separator games and famous names with common prefixes and suffixes', () => {
  for (const n of ['node-lodash', 'lodash-js', 'lodash.js', 'lodashjs', 'express-cli', 'axios-utils', 'nodeexpress']) assert.equal(index.check(n).verdict, 'block', n);
});

test('scope confusion: look-alike scopes and unscoped copies of popular scoped names', () => {
  assert.ok(rules('@types-x/node').includes('scope:@types'));
  assert.ok(rules('@typescript_eslinter/eslint').some((r) => r.startsWith('scope:@typescript-eslint')));
  assert.ok(rules('@babel-x/core').includes('scope:@babel'));
  assert.equal(index.check('@types/some-new-thing').verdict, 'allow', 'publishing inside a protected scope is ownership business');
});

test('plural and singular', () => {
  assert.ok(rules('yarg').some((r) => r.includes('yargs')));
});

test('protected names are never typosquats of each other; ordinary new names pass', () => {
  for (const n of ['safe-buffer', 'safer-buffer', 'preact', 'react', 'vuex', 'vue', 'express', 'lodash']) assert.equal(index.check(n).verdict, 'allow', n);
  for (const n of ['my-company-billing', 'left-pad-ng-zebra', 'acme-widgets', 'fastify-bulwark-plugin']) assert.equal(index.check(n).verdict, 'allow', n);
});

test('one check against 10k protected names takes well under 10 ms', () => {
  const ten = new ProtectedNames(popular.slice(0, 10_000), { fuzzyTop: 10_000 });
  const names = ['lodahs', 'expresss', 'my-new-package', '@types-x/node', 'node-axios', 'rnoment'];
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) ten.check(names[i % names.length]!);
  const perCheck = (performance.now() - t0) / 1000;
  assert.ok(perCheck < 1, `one check took ${perCheck.toFixed(3)} ms`);
});

// ---- evaluation on real data ------------------------------------------------------------------------------------
type Incident = { name: string; split: 'tuning' | 'held-out'; source: { repo: string; path: string; commit: string } };
const incidents = (JSON.parse(readFileSync(new URL('../fixtures/names/incidents.json', import.meta.url), 'utf8')) as { incidents: Incident[] }).incidents;
// Legitimate names: every real package of the popular list, judged as if it were published new today against all
// the other protected names (leave-one-out), split by the same hash rule as the incidents. "tail" is the long tail
// (after the first 5000), "head" the most popular names, which crowd each other most (react, preact, …).
const splitOf = (n: string) => (createHash('sha256').update(n).digest()[0]! % 2 ? 'held-out' : 'tuning');

function evaluate(part: 'tuning' | 'held-out') {
  const bad = incidents.filter((i) => i.split === part);
  const caught = bad.filter((i) => index.check(i.name).verdict === 'block').length;
  const refusedOf = (names: string[]) => names.filter((n) => index.check(n, { asNew: true }).verdict === 'block').length;
  const tail = popular.slice(5000).filter((n) => splitOf(n) === part);
  const head = popular.slice(0, 5000).filter((n) => splitOf(n) === part);
  const refused = refusedOf(tail);
  const refusedHead = refusedOf(head);
  const fp = refused + refusedHead;
  return { incidents: bad.length, caught, recall: caught / bad.length, tail: tail.length, refused, head: head.length, refusedHead, falsePositiveRate: fp / (tail.length + head.length), precision: caught / (caught + fp), tailRate: refused / tail.length };
}

const describeRun = (part: string, r: ReturnType<typeof evaluate>) =>
  `${part}: recall ${r.caught}/${r.incidents} (${(r.recall * 100).toFixed(0)}%); legitimate names refused: long tail ${r.refused}/${r.tail} (${(r.tailRate * 100).toFixed(2)}%), most popular ${r.refusedHead}/${r.head}; precision over the whole set ${(r.precision * 100).toFixed(1)}% (${r.incidents} incidents against ${r.tail + r.head} legitimate names), ${((r.recall / (r.recall + r.falsePositiveRate)) * 100).toFixed(1)}% if both were equally common`;

test('evaluation on the tuning split', (t) => {
  const r = evaluate('tuning');
  t.diagnostic(describeRun('tuning', r));
  assert.ok(r.caught >= 5, `recall fell to ${r.caught}/${r.incidents}`);
  assert.ok(r.tailRate <= 0.011, `false-positive rate on the long tail rose to ${r.tailRate}`);
  assert.ok(r.refusedHead <= 55, `refused ${r.refusedHead} of the most popular names`);
});

test('evaluation on the frozen held-out split', (t) => {
  const r = evaluate('held-out');
  t.diagnostic(describeRun('held-out', r));
  assert.ok(r.caught >= 6, `recall fell to ${r.caught}/${r.incidents}`);
  assert.ok(r.tailRate <= 0.01, `false-positive rate on the long tail rose to ${r.tailRate}`);
  assert.ok(r.refusedHead <= 45, `refused ${r.refusedHead} of the most popular names`);
});
