import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/clock.ts';

test('manual clock fires timers in time order as it advances, and cancelled ones never', () => {
  const clock = new ManualClock('2026-01-01T00:00:00Z');
  const fired: string[] = [];
  clock.setTimer(300, () => fired.push(`c@${clock.now().toISOString()}`));
  clock.setTimer(100, () => {
    fired.push(`a@${clock.now().toISOString()}`);
    clock.setTimer(50, () => fired.push(`b@${clock.now().toISOString()}`));
  });
  const cancel = clock.setTimer(200, () => fired.push('cancelled'));
  cancel();
  clock.advance(250);
  assert.deepEqual(fired, ['a@2026-01-01T00:00:00.100Z', 'b@2026-01-01T00:00:00.150Z']);
  assert.equal(clock.now().toISOString(), '2026-01-01T00:00:00.250Z');
  clock.advance(50);
  assert.equal(fired.length, 3);
  assert.equal(clock.pendingTimers, 0);
  assert.throws(() => clock.set('2025-01-01T00:00:00Z'), /back in time/);
});
