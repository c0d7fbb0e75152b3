import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { ErrorCode, GatewayError } from '../../src/domain/errors.ts';
import { backoffDelay, classifyJobError, nextCronTime, PermanentJobError, TransientJobError } from '../../src/jobs/index.ts';

describe('retry-or-not', () => {
  test('maps our errors in one place', () => {
    const cases: [unknown, 'transient' | 'permanent'][] = [
      [new TransientJobError('x'), 'transient'],
      [new PermanentJobError('x'), 'permanent'],
      [new GatewayError(ErrorCode.Unavailable, 'disk full'), 'transient'],
      [new GatewayError(ErrorCode.Internal, 'bug?'), 'transient'],
      [new GatewayError(ErrorCode.Invalid, 'bad'), 'permanent'],
      [new GatewayError(ErrorCode.NotFound, 'gone'), 'permanent'],
      [new GatewayError(ErrorCode.Conflict, 'read-only'), 'permanent'],
      [z.object({ a: z.string() }).safeParse({}).error, 'permanent'],
      [Object.assign(new Error('no such file'), { code: 'ENOENT' }), 'permanent'],
      [Object.assign(new Error('no space'), { code: 'ENOSPC' }), 'transient'],
      [new Error('something unexpected'), 'transient'],
      ['a string', 'transient'],
    ];
    for (const [err, expected] of cases) assert.equal(classifyJobError(err), expected, String(err));
  });
});

describe('backoff', () => {
  test('doubles from the base and stops at the cap', () => {
    const policy = { baseMs: 1000, maxMs: 10_000 };
    assert.deepEqual([1, 2, 3, 4, 5, 6, 50].map((n) => backoffDelay(n, policy)), [1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  });
});

describe('schedules in the site time zone', () => {
  test('03:00 in Berlin is 02:00Z in winter and 01:00Z in summer', () => {
    assert.equal(new Date(nextCronTime('0 3 * * *', 'Europe/Berlin', Date.parse('2026-01-05T08:00:00Z'))).toISOString(), '2026-01-06T02:00:00.000Z');
    assert.equal(new Date(nextCronTime('0 3 * * *', 'Europe/Berlin', Date.parse('2026-04-01T12:00:00Z'))).toISOString(), '2026-04-02T01:00:00.000Z');
  });

  test('across the spring change the daily run happens once', () => {
    // 2026-03-29: clocks go from 02:00 to 03:00 in Berlin; a 02:30 job runs once that day or is moved, never twice.
    let t = Date.parse('2026-03-28T00:00:00Z');
    const runs: string[] = [];
    for (let i = 0; i < 3; i++) {
      t = nextCronTime('30 2 * * *', 'Europe/Berlin', t);
      runs.push(new Date(t).toISOString());
    }
    assert.equal(new Set(runs.map((r) => r.slice(0, 10))).size, 3);
  });

  test('strictly after the given time', () => {
    const at = Date.parse('2026-01-06T02:00:00Z');
    assert.equal(new Date(nextCronTime('0 3 * * *', 'Europe/Berlin', at)).toISOString(), '2026-01-07T02:00:00.000Z');
  });
});
