// The name checker's rules, one by one, and its evaluation on real data (test/fixtures/names-eval: real typosquats
// with their targets, popular names near another, live npm packages near a popular name; README.md there).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { englishWords, shippedPopularNames } from '../../src/names/popular.ts';
import { ProtectedNames, budgetFor, skeleton } from '../../src/names/similarity.ts';
import { COST, coresOf, typoCost } from '../../src/names/typo-model.ts';
import { describe, evaluate } from './evaluation.ts';

const popular = shippedPopularNames();
const words = englishWords();
const index = new ProtectedNames(popular, { words });
const rules = (name: string) => index.check(name).reasons.map((r) => `${r.rule}:${r.similar_to}`);
const verdict = (name: string, idx = index) => idx.check(name).verdict;

test('npm’s rule: equal after removing . - _ and case', () => {
  assert.ok(rules('cross_env').includes('npm-normalized:cross-env'));
  assert.ok(rules('lo-dash').includes('npm-normalized:lodash'));
  assert.equal(verdict('reactdom'), 'block');
});

test('Unicode confusables: l/1/I, 0/o, rn/m and Cyrillic letters reduce to the same skeleton', () => {
  assert.equal(skeleton('1odash'), skeleton('lodash'));
  assert.equal(skeleton('rnornent'), skeleton('moment'));
  assert.equal(skeleton('ехрrеss'), skeleton('express')); // Cyrillic е, х, р
  assert.ok(rules('1odash').includes('confusable:lodash'));
  assert.ok(rules('c0mmander').includes('confusable:commander'));
});

test('the typing-slip cost: cheap for the slips people make, dear for a changed digit', () => {
  assert.equal(typoCost('lodahs', 'lodash'), COST.transposition);
  assert.equal(typoCost('expresss', 'express'), COST.repetition);
  assert.equal(typoCost('comander', 'commander'), COST.repetition, 'a double letter made single');
  assert.equal(typoCost('l0dash', 'lodash'), COST.lookAlike);
  assert.equal(typoCost('chalc', 'chalk'), COST.neighbour, 'c is beside… no: k and c sound alike');
  assert.equal(typoCost('axils', 'axios'), COST.neighbour, 'l is beside o on the keyboard');
  assert.equal(typoCost('axbos', 'axios'), COST.plain);
  assert.equal(typoCost('json3', 'json5', 5), COST.digit, 'another version, not a slip');
  assert.equal(typoCost('express6', 'express', 2), Infinity);
  assert.equal(typoCost('abcdefgh', 'express', 2), Infinity, 'capped');
});

test('the budget grows with the protected name’s length and popularity', () => {
  assert.ok(budgetFor(12, 500) > budgetFor(6, 500));
  assert.ok(budgetFor(8, 0) > budgetFor(8, 15_000));
  assert.equal(budgetFor(3, 0), 0, 'three letters: every edit makes another name');
});

test('typos of popular names are refused, across the typo classes', () => {
  for (const [name, target] of [
    ['lodahs', 'lodash'] as const, // swapped
    ['expresss', 'express'], // repeated
    ['comander', 'commander'], // omitted double
    ['reqest', 'request'], // omitted
    ['electorn', 'electron'],
    ['jquerry', 'jquery'],
    ['mogodb', 'mongodb'],
    ['yargs-parxe', 'yargs-parser'], // substituted in a long name
    ['lodash.isstgrng', 'lodash.isstring'], // two edits of a long name
    ['dizcordjs', 'discord.js'], // a typo plus a dropped separator
  ])
    assert.ok(
      index.check(name).reasons.some((r) => r.similar_to === target) && verdict(name) !== 'allow',
      `${name} → ${target}: ${JSON.stringify(index.check(name))}`,
    );
});

test('a first letter changed costs more: it is how other packages name themselves apart', () => {
  const small = new ProtectedNames(['browserify-widget']);
  const cost = (name: string) => small.check(name).reasons[0]?.cost;
  assert.equal(cost('brxwserify-widget'), 1);
  assert.equal(cost('xrowserify-widget'), 1.5);
  assert.equal(verdict('preact'), 'allow', 'both protected');
});

test('a changed word that is a real word names something else', () => {
  const withWords = new ProtectedNames(['axios', 'cookie-parser'], { words: new Set(['axiom']) });
  const without = new ProtectedNames(['axios', 'cookie-parser']);
  assert.equal(verdict('axiom', withWords), 'allow');
  assert.notEqual(verdict('axiom', without), 'allow', 'the same name without the word list is flagged');
  assert.notEqual(verdict('axois', withWords), 'allow');
});

test('words added to or dropped from a name are other packages, not slips', () => {
  const small = new ProtectedNames(['ast-types', 'p-reduce', 'bootstrap-vue']);
  assert.equal(verdict('ast-types-x', small), 'allow');
  assert.equal(verdict('bootstrap-vue-3', small), 'allow');
  assert.equal(verdict('reduce-x', small), 'allow');
  assert.notEqual(verdict('ast-tyeps', small), 'allow');
});

test('affixes: noise alone is held for review, a companion word passes, a typo under noise is scored', () => {
  assert.deepEqual(
    coresOf('node-lodash').map((c) => c.key),
    ['nodelodash', 'lodash'],
  );
  assert.equal(verdict('zustand.js'), 'review');
  assert.equal(index.check('zustand.js').reasons[0]!.tier, 'review');
  assert.equal(verdict('chalk-cli'), 'allow', 'x-cli is how projects name their own command');
  assert.notEqual(verdict('lodahs-js'), 'allow');
  assert.ok(rules('typescriptjs').includes('affix:typescript'));
});

test('scope confusion: look-alike scopes and unscoped copies of popular scoped names', () => {
  assert.ok(rules('@types-x/node').includes('scope:@types'));
  assert.ok(rules('@typescript_eslinter/eslint').some((r) => r.startsWith('scope:@typescript-eslint')));
  assert.ok(rules('@babel-x/core').includes('scope:@babel'));
  assert.ok(rules('babel-core').length === 0, 'babel-core is itself protected');
  assert.ok(rules('babelcore').includes('npm-normalized:babel-core'));
  assert.equal(verdict('@types/some-new-thing'), 'allow', 'publishing inside a protected scope is ownership business');
  assert.equal(verdict('@tippy.js/react'), 'block', 'a look-alike of another scope');
  const scoped = new ProtectedNames(['@types/is-url']);
  assert.equal(verdict('@types/isurl', scoped), 'allow', 'two names in one scope are its owners’ business');
});

test('scope imitation is held for review: types-x for @types/x, @x/x for x', () => {
  assert.deepEqual(index.check('types-node').reasons[0], { rule: 'scope', similar_to: '@types/node', tier: 'review' });
  assert.equal(verdict('typesnode'), 'review');
  assert.deepEqual(index.check('@axios/axios').reasons[0], { rule: 'scope', similar_to: 'axios', tier: 'review' });
  assert.equal(verdict('@babel/babel'), 'allow', 'inside a protected scope: its owners’ business');
  assert.equal(verdict('@acme/acme'), 'allow', 'nothing of that name is protected');
  assert.equal(verdict('types-of-my-own-thing'), 'allow');
});

test('protected names are never typosquats of each other; ordinary new names pass', () => {
  for (const n of ['safe-buffer', 'safer-buffer', 'preact', 'react', 'vuex', 'vue', 'express', 'lodash'])
    assert.equal(verdict(n), 'allow', n);
  for (const n of ['my-company-billing', 'left-pad-ng-zebra', 'acme-widgets', 'fastify-bulwark-plugin'])
    assert.equal(verdict(n), 'allow', n);
});

test('one check against every protected name takes well under 10 ms', () => {
  const names = [
    'lodahs',
    'expresss',
    'my-new-package',
    '@types-x/node',
    'node-axios',
    'a-long-name-for-a-small-utility',
  ];
  for (const n of names) index.check(n);
  // The median, so that a shared machine's bursts of load do not decide it.
  const times = Array.from({ length: 300 }, (_, i) => {
    const t0 = performance.now();
    index.check(names[i % names.length]!);
    return performance.now() - t0;
  }).sort((a, b) => a - b);
  assert.ok(times[150]! < 10, `the median check took ${times[150]!.toFixed(3)} ms`);
});

// ---- evaluation on real data (test/names/evaluation.ts; scripts/eval-names.ts prints all of it) -----------------
test('the evaluation harness on a small subset of each set', (t) => {
  const r = evaluate(index, 'tuning', 60);
  t.diagnostic(describe(r));
  assert.equal(r.incidents.total + r.incidents.invalid, 60);
  assert.ok(r.incidents.rate >= 0.6, `recall on the first 60 tuning incidents fell to ${r.incidents.rate}`);
  assert.ok(r.popularNear.rate <= 0.1, `popular names flagged: ${r.popularNear.rate}`);
  assert.ok(r.liveNear.rate <= 0.35, `live names flagged: ${r.liveNear.rate}`);
  const none = evaluate(new ProtectedNames([]), 'tuning', 60);
  assert.equal(none.incidents.flagged, 0, 'an empty protected set flags nothing: the harness counts verdicts');
});
