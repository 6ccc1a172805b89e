import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TOKEN_PATTERN, isWellFormedToken, newToken } from '../../src/tokens/format.ts';

describe('token format', () => {
  it('makes distinct tokens that a scanner regex finds and whose checksum rejects look-alikes', () => {
    const tokens = new Set(Array.from({ length: 200 }, newToken));
    assert.equal(tokens.size, 200);
    for (const t of tokens) {
      assert.ok(isWellFormedToken(t), t);
      assert.ok(TOKEN_PATTERN.test(`npm_config_token=${t} leaked in a log`));
    }
    const t = [...tokens][0]!;
    const flipped = t.slice(0, 10) + (t[10] === 'a' ? 'b' : 'a') + t.slice(11);
    assert.equal(isWellFormedToken(flipped), false, 'a one-character change fails the checksum');
    assert.equal(isWellFormedToken(t.slice(0, -1)), false);
    assert.equal(isWellFormedToken(`npm_${t.slice(4)}`), false);
  });
});
