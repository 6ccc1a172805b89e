// The name checker's rules, one by one, and its evaluation on real data (test/fixtures/names/incidents.json: names of
// real malicious packages from OSV MAL records; legitimate names: the shipped popular list's long tail).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shippedPopularNames } from '../../src/names/popular.ts';
import { ProtectedNames, editDistance, skeleton, typoLike } from '../../src/names/similarity.ts';
import { describe, evaluate } from './evaluation.ts';

const popular = shippedPopularNames();
// Held-out figures after tuning, measured once (docs/names.md): the test fails if they regress.
const HELD_OUT_CAUGHT = 28;
const HELD_OUT_HEAD = 70;
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
  assert.ok(
    rules('electorn').includes('edit-distance:electron'),
    'swapped letters are caught for every protected name',
  );
  assert.equal(editDistance('lodahs', 'lodash'), 1);
  assert.ok(rules('lodahs').includes('edit-distance:lodash'));
  assert.deepEqual(
    rules('expresss'),
    ['edit-distance:express'],
    'the closest look-alike, not also "express-ws" with a letter dropped',
  );
  assert.ok(rules('reqest').includes('edit-distance:request'));
  assert.ok(rules('axois').includes('edit-distance:axios'));
  assert.ok(rules('chalc').includes('edit-distance:chalk'));
  assert.deepEqual(rules('vuez'), [], 'short names are too short for one edit to mean a typo');
  assert.equal(typoLike('react', 'preact'), false, 'a changed first letter names another package');
  assert.equal(typoLike('json3', 'json5'), false, 'digits tell versions apart');
});

test('a dropped letter is caught for the first 10,000 names, not only the most famous', () => {
  assert.ok(rules('mogodb').includes('edit-distance:mongodb'));
  assert.ok(rules('good-listene').includes('edit-distance:good-listener'));
  const small = new ProtectedNames(['listr2', 'shortlist'], { fuzzyTop: 0 });
  assert.equal(small.check('listr').verdict, 'allow', 'a dropped digit is another version, not a typo');
  assert.equal(small.check('hortlist').verdict, 'allow', 'a dropped first letter makes another word');
});

test('two edits of a long famous name, but not a word added or dropped at its end', () => {
  assert.ok(rules('yargs-parxe').includes('edit-distance:yargs-parser'));
  assert.ok(rules('lodash.isstgrng').includes('edit-distance:lodash.isstring'));
  const small = new ProtectedNames(['estraverse', 'markdown-it', 'browserify']);
  assert.ok(
    small.check('estravrese-x').reasons.some((r) => r.similar_to === 'estraverse'),
    'a transposition and an added letter',
  );
  assert.equal(small.check('estraverse-fb').verdict, 'allow', 'a word added at the end');
  assert.equal(small.check('markdown').verdict, 'allow', 'a word dropped at the end');
  assert.equal(small.check('xrowserfy').verdict, 'allow', 'a changed first letter');
  assert.equal(small.check('browsrfy').verdict, 'block');
  assert.equal(
    new ProtectedNames(['babel-core']).check('bbelcoe').verdict,
    'allow',
    'too short for two edits: 9 letters, two edits need 10',
  );
  assert.equal(new ProtectedNames(['babel-cores']).check('bbelcoes').verdict, 'block');
});

test('one edit inside a long name beyond the most famous, unless it changes the last letter', () => {
  const tail = new ProtectedNames(['react', 'discord.js', 'diacritic', 'markdown-it-sup'], {
    fuzzyTop: 1,
    edit2Top: 0,
  });
  assert.ok(tail.check('dizcordjs').reasons.some((r) => r.similar_to === 'discord.js'));
  assert.ok(tail.check('discordi.js').reasons.some((r) => r.similar_to === 'discord.js'));
  assert.equal(tail.check('diacritics').verdict, 'allow', 'an added last letter');
  assert.equal(tail.check('markdown-it-sub').verdict, 'allow', 'a changed last letter');
});

test('unscoped copies of popular scoped names with typos', () => {
  assert.ok(rules('rollup-pluginuls').includes('scope:@rollup/pluginutils'));
  assert.equal(new ProtectedNames(['@rollup/pluginutils']).check('rollup-plugin-x').verdict, 'allow');
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
  assert.ok(
    rules('jquerry').includes('edit-distance:jquery') || rules('jquerry').includes('repeated-character:jquery'),
  );
  assert.ok(rules('commmander').length > 0);
});

test('separator games and famous names with common prefixes and suffixes', () => {
  for (const n of ['node-lodash', 'lodash-js', 'lodash.js', 'lodashjs', 'express-cli', 'axios-utils', 'nodeexpress'])
    assert.equal(index.check(n).verdict, 'block', n);
});

test('scope confusion: look-alike scopes and unscoped copies of popular scoped names', () => {
  assert.ok(rules('@types-x/node').includes('scope:@types'));
  assert.ok(rules('@typescript_eslinter/eslint').some((r) => r.startsWith('scope:@typescript-eslint')));
  assert.ok(rules('@babel-x/core').includes('scope:@babel'));
  assert.equal(
    index.check('@types/some-new-thing').verdict,
    'allow',
    'publishing inside a protected scope is ownership business',
  );
});

test('plural and singular', () => {
  assert.ok(rules('yarg').some((r) => r.includes('yargs')));
});

test('protected names are never typosquats of each other; ordinary new names pass', () => {
  for (const n of ['safe-buffer', 'safer-buffer', 'preact', 'react', 'vuex', 'vue', 'express', 'lodash'])
    assert.equal(index.check(n).verdict, 'allow', n);
  for (const n of ['my-company-billing', 'left-pad-ng-zebra', 'acme-widgets', 'fastify-bulwark-plugin'])
    assert.equal(index.check(n).verdict, 'allow', n);
});

test('one check against 10k protected names takes well under 10 ms', () => {
  const ten = new ProtectedNames(popular.slice(0, 10_000), { fuzzyTop: 10_000 });
  const names = ['lodahs', 'expresss', 'my-new-package', '@types-x/node', 'node-axios', 'rnoment'];
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) ten.check(names[i % names.length]!);
  const perCheck = (performance.now() - t0) / 1000;
  assert.ok(perCheck < 1, `one check took ${perCheck.toFixed(3)} ms`);
});

// ---- evaluation on real data (test/names/evaluation.ts; scripts/eval-names.ts prints the details) ---------------
test('evaluation on the tuning split', (t) => {
  const r = evaluate(index, popular, 'tuning');
  t.diagnostic(describe(r));
  assert.ok(r.caught >= 33, `recall fell to ${r.caught}/${r.incidents}`);
  assert.ok(r.tailRate <= 0.015, `false-positive rate on the long tail rose to ${r.tailRate}`);
  assert.ok(r.refusedHead <= 70, `refused ${r.refusedHead} of the most popular names`);
});

test('evaluation on the frozen held-out split', (t) => {
  const r = evaluate(index, popular, 'held-out');
  t.diagnostic(describe(r));
  assert.ok(r.caught >= HELD_OUT_CAUGHT, `recall fell to ${r.caught}/${r.incidents}`);
  assert.ok(r.tailRate <= 0.015, `false-positive rate on the long tail rose to ${r.tailRate}`);
  assert.ok(r.refusedHead <= HELD_OUT_HEAD, `refused ${r.refusedHead} of the most popular names`);
});
