import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isServableName, nameProblem, tarballFile } from '../../src/names/syntax.ts';

describe('npm name syntax', () => {
  it('follows npm name rules', () => {
    assert.equal(nameProblem('express'), null);
    assert.equal(nameProblem('@scope/pkg'), null);
    assert.match(nameProblem('Express') ?? '', /capital/);
    assert.match(nameProblem('../evil') ?? '', /invalid package name/);
    assert.equal(isServableName('JSONStream'), true, 'old packages with capitals can still be served');
    assert.equal(isServableName('a/b/c'), false);
    assert.equal(tarballFile('@scope/pkg', '1.2.3'), 'pkg-1.2.3.tgz');
  });
});
