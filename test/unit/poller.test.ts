import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import { Poller } from '../../src/poller.ts';

const settle = () => new Promise((r) => setImmediate(r));

test('poller: a pass at start, then one per interval timed from the end of the last; shared when asked for during one; none after stop', async () => {
  const clock = new ManualClock();
  let passes = 0;
  let release: (() => void) | undefined;
  const poller = new Poller(clock, 1000, async () => {
    passes++;
    if (passes === 2) await new Promise<void>((r) => (release = r));
    return passes;
  });
  poller.start();
  clock.advance(0);
  await settle();
  assert.equal(passes, 1);
  clock.advance(999);
  await settle();
  assert.equal(passes, 1);
  clock.advance(1);
  await settle();
  assert.equal(passes, 2, 'the second pass runs and waits');
  const shared = poller.run();
  clock.advance(5000);
  await settle();
  assert.equal(passes, 2, 'no pass starts while one runs, and no timer is armed during it');
  release?.();
  assert.equal(await shared, 2, 'a pass asked for during one shares it');
  await settle();
  await poller.stop();
  clock.advance(10_000);
  await settle();
  assert.equal(passes, 2);
  assert.equal(clock.pendingTimers, 0);
});
