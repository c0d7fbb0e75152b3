// The contract of the JobQueue port. Both adapters run it unchanged: test/unit/jobs-sqlite.test.ts and
// test/integration/jobs-bullmq.test.ts. Time that the queue keeps (backoff, delays, schedules) is
// driven by a ManualClock; work that really runs (Redis round trips) is awaited by polling.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { ManualClock } from '../../src/clock.ts';
import type { Database } from '../../src/db/index.ts';
import { ErrorCode, GatewayError } from '../../src/domain/errors.ts';
import { PermanentJobError, TransientJobError, type AnyJobDefinition, type JobQueue, type JobRecord } from '../../src/jobs/index.ts';
import { tempDir } from '../support/temp.ts';
import { gate, waitFor } from '../support/wait.ts';

export interface QueueHarness {
  queue: JobQueue;
  db: Database;
  /** Stops the queue (deadline: epoch ms, default now + 5 s), then closes the database. */
  stop(deadline?: number): Promise<void>;
}

export interface QueueFactoryOptions {
  clock: ManualClock;
  dbFile: string;
  definitions: AnyJobDefinition[];
  concurrency?: Record<string, number>;
  /** The same for two harnesses that should see the same queue (a restart). */
  namespace: string;
}

export type QueueFactory = (options: QueueFactoryOptions) => Promise<QueueHarness>;

const idPayload = z.object({ n: z.number().int() }).strict();

function setup(factory: QueueFactory) {
  const dir = tempDir('gw-jobs-');
  const clock = new ManualClock('2026-01-05T08:00:00Z');
  const dbFile = path.join(dir, 'gateway.db');
  const namespace = randomUUID().slice(0, 8);
  const open = (definitions: AnyJobDefinition[], concurrency?: Record<string, number>) =>
    factory({ clock, dbFile, definitions, namespace, ...(concurrency === undefined ? {} : { concurrency }) });
  return { clock, open };
}

const final = (q: JobQueue, id: number) => () => {
  const job = q.get(id);
  return job !== undefined && (job.state === 'completed' || job.state === 'failed') ? job : undefined;
};

export function jobQueueContract(name: string, factory: QueueFactory): void {
  describe(`JobQueue contract: ${name}`, () => {
    test('runs a job and records its result through onCompleted in the same transaction', async () => {
      const { open } = setup(factory);
      const seen: { payload: unknown; correlationId: string; attempt: number }[] = [];
      const h = await open([
        {
          type: 'echo',
          payload: idPayload,
          handler: async (ctx) => {
            seen.push({ payload: ctx.payload, correlationId: ctx.correlationId, attempt: ctx.attempt });
            return { doubled: ctx.payload.n * 2 };
          },
          onCompleted: (tx: DatabaseSync, job: JobRecord, result: { doubled: number }) => {
            tx.prepare('CREATE TABLE IF NOT EXISTS echo_results (job INTEGER PRIMARY KEY, value INTEGER) STRICT').run();
            tx.prepare('INSERT INTO echo_results VALUES (?, ?)').run(job.id, result.doubled);
          },
        },
      ]);
      try {
        await h.queue.start();
        const { id, deduplicated } = await h.queue.enqueue({ type: 'echo', payload: { n: 21 }, correlationId: 'corr-1' });
        assert.equal(deduplicated, false);
        const job = await waitFor(final(h.queue, id), { what: 'echo job' });
        assert.equal(job.state, 'completed');
        assert.deepEqual(job.result, { doubled: 42 });
        assert.equal(job.attempts, 1);
        assert.equal(job.progress, 100);
        assert.deepEqual(seen, [{ payload: { n: 21 }, correlationId: 'corr-1', attempt: 1 }]);
        assert.deepEqual(h.db.sqlite.prepare('SELECT job, value FROM echo_results').all().map((r) => ({ ...r })), [{ job: id, value: 42 }]);
      } finally {
        await h.stop();
      }
    });

    test('refuses an unknown type or a payload that breaks its schema', async () => {
      const { open } = setup(factory);
      const h = await open([{ type: 'echo', payload: idPayload, handler: async () => null }]);
      try {
        await h.queue.start();
        await assert.rejects(h.queue.enqueue({ type: 'nope', payload: {} }), (err: unknown) => err instanceof GatewayError && err.code === ErrorCode.Invalid);
        await assert.rejects(h.queue.enqueue({ type: 'echo', payload: { n: 'x' } }), (err: unknown) => err instanceof GatewayError && err.code === ErrorCode.Invalid);
        const big = await open([{ type: 'blob', payload: z.object({ data: z.string() }), handler: async () => null }]);
        await assert.rejects(big.queue.enqueue({ type: 'blob', payload: { data: 'x'.repeat(20_000) } }), /at most/);
        await big.stop();
        assert.equal(h.queue.list().items.length, 0);
      } finally {
        await h.stop();
      }
    });

    test('enqueueInTransaction: the job exists only if the caller commits', async () => {
      const { open } = setup(factory);
      const ran: number[] = [];
      const h = await open([{ type: 'echo', payload: idPayload, handler: async (ctx) => void ran.push(ctx.payload.n) }]);
      try {
        await h.queue.start();
        h.db.sqlite.exec('CREATE TABLE things (id INTEGER PRIMARY KEY) STRICT');
        assert.throws(() =>
          h.db.transaction((tx) => {
            tx.prepare('INSERT INTO things VALUES (1)').run();
            h.queue.enqueueInTransaction(tx, { type: 'echo', payload: { n: 1 } });
            throw new Error('caller fails after enqueueing');
          }),
        );
        const committed = await h.db.write((tx) => {
          tx.prepare('INSERT INTO things VALUES (2)').run();
          return h.queue.enqueueInTransaction(tx, { type: 'echo', payload: { n: 2 } });
        });
        await waitFor(final(h.queue, committed.id), { what: 'committed job' });
        assert.deepEqual(ran, [2]);
        assert.equal(h.queue.list().items.length, 1);
      } finally {
        await h.stop();
      }
    });

    test('a transient failure is retried after backoff from the clock, then succeeds', async () => {
      const { clock, open } = setup(factory);
      let calls = 0;
      const h = await open([
        {
          type: 'flaky',
          payload: idPayload,
          backoff: { baseMs: 1000, maxMs: 60_000 },
          handler: async () => {
            calls++;
            if (calls === 1) throw new TransientJobError('disk busy');
            return 'ok';
          },
        },
      ]);
      try {
        await h.queue.start();
        const { id } = await h.queue.enqueue({ type: 'flaky', payload: { n: 1 } });
        const waiting = await waitFor(() => {
          const j = h.queue.get(id);
          return j?.state === 'queued' && j.attempts === 1 && j.errorKind === 'transient' && !j.dispatched ? j : undefined;
        }, { what: 'first attempt failed' });
        assert.equal(waiting.lastError, 'TransientJobError: disk busy');
        assert.equal(waiting.runAt, new Date(clock.now().getTime() + 1000).toISOString());
        clock.advance(999);
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(calls, 1, 'not retried before the backoff has passed');
        clock.advance(1);
        const job = await waitFor(final(h.queue, id), { what: 'retry' });
        assert.equal(job.state, 'completed');
        assert.equal(job.attempts, 2);
        assert.equal(calls, 2);
      } finally {
        await h.stop();
      }
    });

    test('a permanent failure fails at once, is listed with its reason, and the retry action runs it again', async () => {
      const { open } = setup(factory);
      let fixed = false;
      const h = await open([
        {
          type: 'strict',
          payload: idPayload,
          handler: async () => {
            if (!fixed) throw new PermanentJobError('file is not DICOM');
            return 'done';
          },
        },
        { type: 'gw', payload: idPayload, handler: async () => { throw new GatewayError(ErrorCode.NotFound, 'instance gone'); } },
      ]);
      try {
        await h.queue.start();
        const { id } = await h.queue.enqueue({ type: 'strict', payload: { n: 1 } });
        const other = await h.queue.enqueue({ type: 'gw', payload: { n: 2 } });
        const failed = await waitFor(final(h.queue, id), { what: 'permanent failure' });
        assert.equal(failed.state, 'failed');
        assert.equal(failed.attempts, 1);
        assert.equal(failed.errorKind, 'permanent');
        assert.equal(failed.lastError, 'PermanentJobError: file is not DICOM');
        const gwFailed = await waitFor(final(h.queue, other.id), { what: 'GatewayError NotFound' });
        assert.equal(gwFailed.state, 'failed');
        assert.equal(gwFailed.attempts, 1);

        const list = h.queue.list({ state: 'failed', type: 'strict' });
        assert.deepEqual(list.items.map((j) => j.id), [id]);

        assert.throws(() => h.queue.retry(9999), (err: unknown) => err instanceof GatewayError && err.code === ErrorCode.NotFound);
        fixed = true;
        const retried = h.queue.retry(id);
        assert.equal(retried.state, 'queued');
        const done = await waitFor(final(h.queue, id), { what: 'retried job' });
        assert.equal(done.state, 'completed');
        assert.deepEqual(done.result, 'done');
        assert.throws(() => h.queue.retry(id), (err: unknown) => err instanceof GatewayError && err.code === ErrorCode.Conflict);
      } finally {
        await h.stop();
      }
    });

    test('transient failures stop after maxAttempts', async () => {
      const { clock, open } = setup(factory);
      const h = await open([
        {
          type: 'broken',
          payload: idPayload,
          maxAttempts: 3,
          backoff: { baseMs: 100, maxMs: 1000 },
          handler: async () => {
            throw new Error('ECONNRESET somewhere');
          },
        },
      ]);
      try {
        await h.queue.start();
        const { id } = await h.queue.enqueue({ type: 'broken', payload: { n: 1 } });
        const job = await waitFor(final(h.queue, id), { what: 'attempts exhausted', onPoll: () => clock.advance(50) });
        assert.equal(job.state, 'failed');
        assert.equal(job.attempts, 3);
        assert.equal(job.errorKind, 'transient');
      } finally {
        await h.stop();
      }
    });

    test('deduplicates by key while a job waits, and never runs two jobs of one key at once', async () => {
      const { open } = setup(factory);
      const first = gate();
      let running = 0;
      let maxRunning = 0;
      let calls = 0;
      const h = await open(
        [
          {
            type: 'import',
            payload: idPayload,
            handler: async () => {
              calls++;
              running++;
              maxRunning = Math.max(maxRunning, running);
              if (calls === 1) await first.promise;
              running--;
            },
          },
        ],
        { import: 4 },
      );
      try {
        // Not started yet: both enqueues find the first one waiting.
        const a = await h.queue.enqueue({ type: 'import', payload: { n: 1 }, key: 'instance-1' });
        const b = await h.queue.enqueue({ type: 'import', payload: { n: 1 }, key: 'instance-1' });
        assert.equal(b.id, a.id);
        assert.equal(b.deduplicated, true);
        await h.queue.start();
        await waitFor(() => h.queue.get(a.id)?.state === 'running', { what: 'first running' });
        // While it runs, a new one with the same key is recorded but waits for it.
        const c = await h.queue.enqueue({ type: 'import', payload: { n: 2 }, key: 'instance-1' });
        assert.notEqual(c.id, a.id);
        const d = await h.queue.enqueue({ type: 'import', payload: { n: 3 }, key: 'instance-1' });
        assert.equal(d.id, c.id);
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(h.queue.get(c.id)?.state, 'queued');
        assert.equal(calls, 1);
        first.open();
        await waitFor(final(h.queue, c.id), { what: 'second job of the key' });
        assert.equal(maxRunning, 1);
        assert.equal(calls, 2);
      } finally {
        await h.stop();
      }
    });

    test('runs jobs of one type at most `concurrency` at a time', async () => {
      const { open } = setup(factory);
      let running = 0;
      let maxRunning = 0;
      const h = await open(
        [
          {
            type: 'render',
            payload: idPayload,
            handler: async () => {
              running++;
              maxRunning = Math.max(maxRunning, running);
              await new Promise((r) => setTimeout(r, 20));
              running--;
            },
          },
        ],
        { render: 2 },
      );
      try {
        await h.queue.start();
        const ids: number[] = [];
        for (let n = 0; n < 8; n++) ids.push((await h.queue.enqueue({ type: 'render', payload: { n } })).id);
        for (const id of ids) await waitFor(final(h.queue, id), { what: `job ${id}` });
        assert.equal(maxRunning, 2);
      } finally {
        await h.stop();
      }
    });

    test('reports progress while a job runs', async () => {
      const { open } = setup(factory);
      const release = gate();
      const h = await open([
        {
          type: 'video',
          payload: idPayload,
          handler: async (ctx) => {
            await ctx.progress(40);
            await release.promise;
          },
        },
      ]);
      try {
        await h.queue.start();
        const { id } = await h.queue.enqueue({ type: 'video', payload: { n: 1 } });
        const running = await waitFor(() => {
          const j = h.queue.get(id);
          return j?.state === 'running' && j.progress === 40 ? j : undefined;
        }, { what: 'progress 40' });
        assert.ok(running.startedAt !== null);
        release.open();
        const done = await waitFor(final(h.queue, id), { what: 'video done' });
        assert.equal(done.progress, 100);
      } finally {
        await h.stop();
      }
    });

    test('a delayed job waits for the clock', async () => {
      const { clock, open } = setup(factory);
      const ran: number[] = [];
      const h = await open([{ type: 'later', payload: idPayload, handler: async (ctx) => void ran.push(ctx.payload.n) }]);
      try {
        await h.queue.start();
        const { id } = await h.queue.enqueue({ type: 'later', payload: { n: 7 }, delayMs: 60_000 });
        await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(ran, []);
        clock.advance(60_000);
        await waitFor(final(h.queue, id), { what: 'delayed job' });
        assert.deepEqual(ran, [7]);
      } finally {
        await h.stop();
      }
    });

    test('a job that falls due while the queue is looking still runs (a restart, then the clock moves at once)', async () => {
      const { clock, open } = setup(factory);
      const h1 = await open([{ type: 'later', payload: idPayload, handler: async () => null }]);
      const { id } = await h1.queue.enqueue({ type: 'later', payload: { n: 1 }, delayMs: 60_000 });
      await h1.stop();
      const ran: number[] = [];
      const h2 = await open([{ type: 'later', payload: idPayload, handler: async (ctx) => void ran.push(ctx.payload.n) }]);
      try {
        await h2.queue.start();
        // The clock moves right after the queue's first look at the ledger, before it sets its timer:
        // the embedded queue claims in a group commit, which this write joins after the claim.
        await new Promise((r) => setImmediate(r));
        await h2.db.write(() => clock.advance(60_000));
        await waitFor(final(h2.queue, id), { what: 'the job due during the first look' });
        assert.deepEqual(ran, [1]);
      } finally {
        await h2.stop();
      }
    });

    test('lists jobs filtered by state and type, newest first, in pages', async () => {
      const { open } = setup(factory);
      const h = await open([
        { type: 'a', payload: idPayload, handler: async () => null },
        { type: 'b', payload: idPayload, handler: async () => null },
      ]);
      try {
        // Not started: everything stays queued.
        for (let n = 0; n < 5; n++) await h.queue.enqueue({ type: n % 2 === 0 ? 'a' : 'b', payload: { n } });
        const all = h.queue.list();
        assert.equal(all.items.length, 5);
        assert.deepEqual(all.items.map((j) => j.id), [...all.items.map((j) => j.id)].sort((x, y) => y - x));
        assert.equal(h.queue.list({ type: 'a' }).items.length, 3);
        assert.equal(h.queue.list({ state: 'queued', type: 'b' }).items.length, 2);
        assert.equal(h.queue.list({ state: 'failed' }).items.length, 0);
        const page1 = h.queue.list({ limit: 2 });
        assert.equal(page1.items.length, 2);
        assert.ok(page1.next !== null);
        const page2 = h.queue.list({ limit: 2, before: page1.next });
        const page3 = h.queue.list({ limit: 2, before: page2.next ?? 0 });
        assert.equal(page3.items.length, 1);
        assert.equal(page3.next, null);
        assert.equal(new Set([...page1.items, ...page2.items, ...page3.items].map((j) => j.id)).size, 5);
      } finally {
        await h.stop();
      }
    });

    test('graceful stop lets a running job finish', async () => {
      const { open } = setup(factory);
      const release = gate();
      const h = await open([{ type: 'slow', payload: idPayload, handler: async () => release.promise.then(() => 'finished') }]);
      await h.queue.start();
      const { id } = await h.queue.enqueue({ type: 'slow', payload: { n: 1 } });
      await waitFor(() => h.queue.get(id)?.state === 'running', { what: 'running' });
      const stopping = h.queue.stop(Date.now() + 10_000);
      setTimeout(() => release.open(), 50);
      await stopping;
      const job = h.queue.get(id);
      assert.equal(job?.state, 'completed');
      assert.equal(job?.result, 'finished');
      await h.stop();
    });

    test('a job still running at the shutdown deadline goes back to the queue and the next start finishes it', async () => {
      const { clock, open } = setup(factory);
      const never = gate();
      const h1 = await open([{ type: 'stuck', payload: idPayload, handler: async () => never.promise }]);
      await h1.queue.start();
      const { id } = await h1.queue.enqueue({ type: 'stuck', payload: { n: 1 } });
      await waitFor(() => h1.queue.get(id)?.state === 'running', { what: 'running' });
      const stopping = h1.stop(Date.now() + 1000);
      // The deadline is kept by the clock.
      await new Promise((r) => setTimeout(r, 20));
      clock.advance(1000);
      await stopping;

      const h2 = await open([{ type: 'stuck', payload: idPayload, handler: async () => 'second time lucky' }]);
      try {
        await h2.queue.start();
        const job = await waitFor(final(h2.queue, id), { what: 'finished after restart', timeoutMs: 60_000 });
        assert.equal(job.state, 'completed');
        assert.equal(job.result, 'second time lucky');
      } finally {
        await h2.stop();
      }
    });

    test('queued jobs survive a restart', async () => {
      const { open } = setup(factory);
      const h1 = await open([{ type: 'echo', payload: idPayload, handler: async () => null }]);
      const ids: number[] = [];
      for (let n = 0; n < 3; n++) ids.push((await h1.queue.enqueue({ type: 'echo', payload: { n } })).id);
      await h1.stop();
      const ran: number[] = [];
      const h2 = await open([{ type: 'echo', payload: idPayload, handler: async (ctx) => void ran.push(ctx.payload.n) }]);
      try {
        await h2.queue.start();
        for (const id of ids) await waitFor(final(h2.queue, id), { what: `job ${id}` });
        assert.deepEqual(ran.sort(), [0, 1, 2]);
      } finally {
        await h2.stop();
      }
    });

    test('finished jobs are forgotten after a week (completed) or a month (failed), by the clock', async () => {
      const { clock, open } = setup(factory);
      const h = await open([
        { type: 'ok', payload: idPayload, handler: async () => null },
        { type: 'bad', payload: idPayload, handler: async () => { throw new PermanentJobError('no'); } },
      ]);
      try {
        await h.queue.start();
        const ok = await h.queue.enqueue({ type: 'ok', payload: { n: 1 } });
        const bad = await h.queue.enqueue({ type: 'bad', payload: { n: 2 } });
        await waitFor(final(h.queue, ok.id), { what: 'ok' });
        await waitFor(final(h.queue, bad.id), { what: 'bad' });
        assert.match(h.queue.health().warning ?? '', /1 failed job/);
        clock.advance(7 * 24 * 3600 * 1000 + 3600 * 1000);
        assert.equal(h.queue.get(ok.id), undefined);
        assert.equal(h.queue.get(bad.id)?.state, 'failed');
        clock.advance(23 * 24 * 3600 * 1000 + 3600 * 1000);
        assert.equal(h.queue.get(bad.id), undefined);
        assert.equal(h.queue.health().warning, undefined);
      } finally {
        await h.stop();
      }
    });

    test('schedules run in the site time zone, driven by the clock; run now, pause and resume', async () => {
      const { clock, open } = setup(factory);
      const ran: string[] = [];
      const h = await open([
        { type: 'cleanup', payload: z.object({ olderThanDays: z.number() }), handler: async (ctx) => void ran.push(`${ctx.payload.olderThanDays}@${clock.now().toISOString()}`) },
      ]);
      try {
        await h.queue.start();
        // 03:00 in Berlin is 02:00Z in winter. The clock starts on 2026-01-05 08:00Z.
        const s = h.queue.schedule({ name: 'worklist-cleanup', type: 'cleanup', cron: '0 3 * * *', payload: { olderThanDays: 7 } });
        assert.equal(s.nextRunAt, '2026-01-06T02:00:00.000Z');
        assert.equal(s.timezone, 'Europe/Berlin');
        assert.throws(() => h.queue.schedule({ name: 'bad', type: 'cleanup', cron: 'every day', payload: { olderThanDays: 1 } }), (e: unknown) => e instanceof GatewayError && e.code === ErrorCode.Invalid);

        clock.set('2026-01-06T01:59:59Z');
        await new Promise((r) => setTimeout(r, 30));
        assert.deepEqual(ran, []);
        clock.set('2026-01-06T02:00:00Z');
        await waitFor(() => ran.length === 1, { what: 'scheduled run' });
        assert.deepEqual(ran, ['7@2026-01-06T02:00:00.000Z']);
        const after = h.queue.schedules()[0];
        assert.equal(after?.nextRunAt, '2026-01-07T02:00:00.000Z');
        assert.equal(after?.lastRunAt, '2026-01-06T02:00:00.000Z');
        const job = h.queue.get(after?.lastJobId ?? 0);
        assert.equal(job?.schedule, 'worklist-cleanup');

        const now = h.queue.runSchedule('worklist-cleanup');
        await waitFor(final(h.queue, now.id), { what: 'run now' });
        assert.equal(ran.length, 2);
        assert.equal(h.queue.schedules()[0]?.nextRunAt, '2026-01-07T02:00:00.000Z');

        const paused = h.queue.pauseSchedule('worklist-cleanup');
        assert.equal(paused.paused, true);
        assert.equal(paused.nextRunAt, null);
        clock.set('2026-01-07T02:00:00Z');
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(ran.length, 2);
        // Registering it again at the next start keeps it paused.
        assert.equal(h.queue.schedule({ name: 'worklist-cleanup', type: 'cleanup', cron: '0 3 * * *', payload: { olderThanDays: 7 } }).paused, true);
        const resumed = h.queue.resumeSchedule('worklist-cleanup');
        assert.equal(resumed.nextRunAt, '2026-01-08T02:00:00.000Z');
        assert.throws(() => h.queue.runSchedule('nope'), (e: unknown) => e instanceof GatewayError && e.code === ErrorCode.NotFound);
      } finally {
        await h.stop();
      }
    });
  });
}
