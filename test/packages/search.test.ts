import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseQuery, popularity, relevance } from '../../src/packages/search.ts';

describe('search ranking', () => {
  it('ranks exact and prefix name matches above keyword and description matches', () => {
    const c = (name: string, description = '', keywords = '') => ({ name, description, keywords, downloads: 0 });
    const terms = parseQuery('react').terms;
    const scores = [c('react'), c('react-dom'), c('preact'), c('ui', '', 'react'), c('x', 'a react thing')].map((x) =>
      relevance(x, terms),
    );
    assert.deepEqual(
      [...scores].sort((a, b) => b - a),
      scores,
    );
    assert.deepEqual(parseQuery('keywords:a,b scope:@acme maintainer:bob  text'), {
      terms: ['text'],
      keywords: ['a', 'b'],
      scope: 'acme',
      maintainer: 'bob',
    });
    assert.ok(popularity(1000) > popularity(10) && popularity(0) === 0);
  });
});
