import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePeriod } from '../../src/packages/downloads.ts';

describe('download periods', () => {
  it('parses npm download periods', () => {
    const now = Date.parse('2026-03-10T12:00:00Z');
    assert.deepEqual(parsePeriod('last-day', now), { start: '2026-03-10', end: '2026-03-10' });
    assert.deepEqual(parsePeriod('last-week', now), { start: '2026-03-04', end: '2026-03-10' });
    assert.deepEqual(parsePeriod('2026-01-01:2026-01-31', now), { start: '2026-01-01', end: '2026-01-31' });
    assert.throws(() => parsePeriod('2026-02-30', now), /invalid period/);
    assert.throws(() => parsePeriod('2026-03-01:2026-02-01', now), /start is after the end/);
  });
});
