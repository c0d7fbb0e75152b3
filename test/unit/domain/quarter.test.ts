import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { quarterBounds } from '../../../src/domain/quarter.ts';

describe('calendar quarters in the site time zone', () => {
  test('Berlin: the quarter starts at local midnight, across DST', () => {
    const q = quarterBounds(new Date('2026-05-15T12:00:00Z'), 'Europe/Berlin');
    assert.equal(q.current, '2026-Q2');
    assert.equal(q.currentStart.toISOString(), '2026-03-31T22:00:00.000Z');
    assert.equal(q.previous, '2026-Q1');
    assert.equal(q.previousStart.toISOString(), '2025-12-31T23:00:00.000Z');
  });

  test('the first quarter has the last one of the year before', () => {
    const q = quarterBounds(new Date('2026-01-01T00:30:00Z'), 'Europe/Berlin');
    assert.equal(q.current, '2026-Q1');
    assert.equal(q.previous, '2025-Q4');
    assert.equal(q.previousStart.toISOString(), '2025-09-30T22:00:00.000Z');
  });

  test('local time decides which quarter it is', () => {
    assert.equal(quarterBounds(new Date('2026-03-31T23:30:00Z'), 'Europe/Berlin').current, '2026-Q2');
    assert.equal(quarterBounds(new Date('2026-03-31T23:30:00Z'), 'UTC').current, '2026-Q1');
    assert.equal(quarterBounds(new Date('2026-10-01T03:00:00Z'), 'America/New_York').currentStart.toISOString(), '2026-07-01T04:00:00.000Z');
  });
});
