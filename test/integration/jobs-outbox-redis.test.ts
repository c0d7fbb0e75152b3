// The outbox with the Redis driver: jobs are recorded in SQLite with the state change that causes them;
// Redis being away delays them, never fails the store or loses a job, and nothing runs twice.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { ManualClock } from '../../src/clock.ts';
import { Database } from '../../src/db/index.ts';
import { Redis } from 'ioredis';
import { BullmqJobQueue, BullmqWorkerHost } from '../../src/jobs/index.ts';
import { silentLogger } from '../../src/log.ts';
import { startRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp.ts';
import { gate, waitFor } from '../support/wait.ts';

const payload = z.object({ instanceId: z.number().int() }).strict();

async function setup(prefix: string, runWorkers = true) {
  const redis = await startRedis();
  const db = Database.open({ file: path.join(tempDir(), 'gateway.db') });
  db.sqlite.exec('CREATE TABLE test_instances (id INTEGER PRIMARY KEY) STRICT');
  const clock = new ManualClock('2026-01-05T08:00:00Z');
  const runs = new Map<number, number>();
  const queue = new BullmqJobQueue({ db, clock, log: silentLogger(), timezone: 'Europe/Berlin', redisUrl: redis.url, prefix, concurrency: { import: 4 }, runWorkers });
  let hold: Promise<void> = Promise.resolve();
  const definition = {
    type: 'import',
    payload,
    handler: async (ctx: { payload: { instanceId: number } }) => {
      runs.set(ctx.payload.instanceId, (runs.get(ctx.payload.instanceId) ?? 0) + 1);
      await hold;
    },
  };
  queue.register(definition);
  /** A store: the index row and its follow-up job in one group commit. */
  const store = (instanceId: number) =>
    db.write((tx) => {
      tx.prepare('INSERT INTO test_instances VALUES (?)').run(instanceId);
      return queue.enqueueInTransaction(tx, { type: 'import', payload: { instanceId }, key: `instance:${instanceId}` });
    });
  return { redis, db, clock, queue, runs, store, definition, setHold: (p: Promise<void>) => (hold = p) };
}

describe('outbox with the Redis driver', () => {
  test('Redis stopped and restarted: stores go on, nothing is lost, nothing runs twice', async () => {
    const { redis, db, clock, queue, runs, store } = await setup('outbox-a');
    await queue.start();
    try {
      const first = await store(1);
      await waitFor(() => queue.get(first.id)?.state === 'completed', { what: 'job with Redis up' });

      await redis.stop();
      const ids: number[] = [];
      for (let i = 2; i <= 21; i++) {
        const t0 = performance.now();
        ids.push((await store(i)).id);
        assert.ok(performance.now() - t0 < 1000, 'enqueueing does not wait for Redis');
      }
      assert.equal(db.sqlite.prepare('SELECT COUNT(*) AS n FROM test_instances').get()?.['n'], 21);
      await waitFor(() => queue.health().warning, { what: 'health warning about Redis' });
      for (const id of ids) {
        const job = queue.get(id);
        assert.equal(job?.state, 'queued');
        assert.equal(job?.dispatched, false);
      }
      // While Redis is away the dispatcher backs off on the clock.
      clock.advance(5000);

      await redis.start();
      for (const id of ids) await waitFor(() => queue.get(id)?.state === 'completed', { what: `job ${id}`, onPoll: () => clock.advance(1000), timeoutMs: 30_000 });
      assert.equal(queue.health().warning, undefined);
      assert.deepEqual([...runs.keys()].sort((a, b) => a - b), Array.from({ length: 21 }, (_, i) => i + 1));
      assert.ok([...runs.values()].every((n) => n === 1), `each instance imported once: ${JSON.stringify([...runs])}`);
    } finally {
      await queue.stop(Date.now() + 5000);
      db.close();
    }
  });

  test('a dispatch repeated after a crash between sending and marking sent is not a second job', async () => {
    const { db, queue, runs, store, setHold } = await setup('outbox-b');
    const release = gate();
    setHold(release.promise);
    await queue.start();
    try {
      const a = await store(1);
      await waitFor(() => queue.get(a.id)?.state === 'running', { what: 'running' });
      // As if the process had died after BullMQ took the job but before the row was marked sent.
      db.sqlite.prepare("UPDATE jobs SET dispatched_at = NULL, state = 'queued' WHERE id = ?").run(a.id);
      await store(2); // wakes the dispatcher, which sends job 1 again with the same BullMQ id
      await waitFor(() => queue.get(a.id)?.dispatched, { what: 'job 1 sent again' });
      release.open();
      await waitFor(() => queue.get(a.id)?.state === 'completed', { what: 'job 1 done' });
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(runs.get(1), 1);
    } finally {
      await queue.stop(Date.now() + 5000);
      db.close();
    }
  });

  test('Redis lost its data: the gateway notices and sends the job again', async () => {
    const { redis, db, clock, queue, runs, store, definition } = await setup('outbox-c', false);
    await queue.start();
    let worker: BullmqWorkerHost | undefined;
    try {
      const a = await store(1);
      await waitFor(() => queue.get(a.id)?.dispatched, { what: 'sent to BullMQ' });
      const client = new Redis(redis.url);
      await client.flushall();
      await client.quit();
      worker = new BullmqWorkerHost({ redisUrl: redis.url, prefix: 'outbox-c', definitions: [definition], clock, log: silentLogger() });
      await worker.start();
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(runs.get(1), undefined, 'the job is gone from Redis');
      // The check runs by the clock, on runs sent more than a minute ago.
      clock.advance(60_000);
      await waitFor(() => queue.get(a.id)?.state === 'completed', { what: 'done after resend', onPoll: () => clock.advance(1000) });
      assert.equal(runs.get(1), 1);
      assert.equal(queue.get(a.id)?.attempts, 1);
    } finally {
      await worker?.stop(Date.now() + 2000);
      await queue.stop(Date.now() + 5000);
      db.close();
    }
  });

  test('stopping while Redis is away does not hang, and the jobs wait in the outbox', async () => {
    const { redis, db, clock, queue, store } = await setup('outbox-d');
    await queue.start();
    let stopping: Promise<void> | undefined;
    try {
      // The connection to Redis may still be on its way when start() returns.
      await waitFor(() => queue.health().warning === undefined, { what: 'connected to Redis' });
      await redis.stop();
      await waitFor(() => queue.health().warning?.includes('Redis unreachable'), { what: 'health says Redis is away' });
      const a = await store(1);
      const t0 = Date.now();
      stopping = queue.stop(Date.now() + 3000);
      let stopped = false;
      void stopping.then(() => (stopped = true));
      // The shutdown deadline is kept by the clock.
      await waitFor(() => stopped, { what: 'stopped', onPoll: () => clock.advance(100), timeoutMs: 30_000 });
      assert.ok(Date.now() - t0 < 20_000);
      assert.equal(queue.get(a.id)?.state, 'queued');
      assert.equal(queue.get(a.id)?.dispatched, false);
    } finally {
      // A failed assertion must not leave the queue reconnecting forever (the test file would never end).
      if (stopping === undefined) {
        stopping = queue.stop(Date.now() + 1000);
        const advance = setInterval(() => clock.advance(100), 5);
        await stopping.finally(() => clearInterval(advance));
      }
      db.close();
    }
  });
});
