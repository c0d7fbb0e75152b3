// kill -9 of a process with running jobs, and the restart that finishes them.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ManualClock, systemClock } from '../../src/clock.ts';
import { Database } from '../../src/db/index.ts';
import { BullmqJobQueue, BullmqWorkerHost, SqliteJobQueue } from '../../src/jobs/index.ts';
import { silentLogger } from '../../src/log.ts';
import { startRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp.ts';
import { waitFor } from '../support/wait.ts';

const child = fileURLToPath(new URL('../fixtures/jobs-child.ts', import.meta.url));

function spawnChild(args: string[]): { proc: ChildProcess; lines: string[] } {
  const proc = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', child, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  if (proc.stdout !== null) createInterface({ input: proc.stdout }).on('line', (line) => lines.push(line));
  return { proc, lines };
}

async function kill9(proc: ChildProcess): Promise<void> {
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGKILL');
  await exited;
}

describe('crash recovery', () => {
  test('embedded: kill -9 with jobs running; the next start finishes them and the queued one', async () => {
    const dbFile = path.join(tempDir(), 'gateway.db');
    const { proc, lines } = spawnChild(['sqlite', dbFile]);
    await waitFor(() => lines.filter((l) => l.startsWith('started ')).length === 2, { what: 'two jobs running in the child', timeoutMs: 20_000 });
    await kill9(proc);

    const db = Database.open({ file: dbFile });
    const clock = new ManualClock('2030-01-01T00:00:00Z');
    const queue = new SqliteJobQueue({ db, clock, log: silentLogger(), timezone: 'UTC' });
    const ran: number[] = [];
    queue.register({ type: 'slow', payload: z.object({ n: z.number() }), handler: async (ctx) => void ran.push(ctx.id) });
    try {
      assert.equal(queue.list({ state: 'running' }).items.length, 2, 'the dead process left two jobs marked running');
      await queue.start();
      for (const id of [1, 2, 3]) await waitFor(() => queue.get(id)?.state === 'completed', { what: `job ${id}` });
      assert.deepEqual(ran.sort(), [1, 2, 3]);
      const attempts = [1, 2, 3].map((id) => queue.get(id)?.attempts);
      assert.deepEqual(attempts, [2, 2, 1], 'the interrupted attempt counts');
      assert.equal(queue.get(1)?.errorKind, 'interrupted');
    } finally {
      await queue.stop(Date.now() + 5000);
      db.close();
    }
  });

  test('Redis: kill -9 of a worker process with a running job; another worker finishes it', async () => {
    const redis = await startRedis();
    const prefix = 'crash';
    const db = Database.open({ file: path.join(tempDir(), 'gateway.db') });
    const clock = new ManualClock('2030-01-01T00:00:00Z');
    const log = silentLogger();
    const definition = { type: 'slow', payload: z.object({ n: z.number() }), handler: async () => 'finished by the second worker' };
    // The gateway side: outbox, dispatcher, results; no workers of its own.
    const queue = new BullmqJobQueue({ db, clock, log, timezone: 'UTC', redisUrl: redis.url, prefix, runWorkers: false });
    queue.register(definition);
    await queue.start();
    const { proc, lines } = spawnChild(['worker', redis.url, prefix]);
    let second: BullmqWorkerHost | undefined;
    try {
      const { id } = await queue.enqueue({ type: 'slow', payload: { n: 1 } });
      await waitFor(() => lines.includes(`started ${id}`), { what: 'job running in the worker process', timeoutMs: 20_000 });
      await waitFor(() => queue.get(id)?.state === 'running', { what: 'gateway sees it running' });
      await kill9(proc);

      second = new BullmqWorkerHost({ redisUrl: redis.url, prefix, definitions: [definition], clock: systemClock, log, lockDurationMs: 1000 });
      await second.start();
      const job = await waitFor(() => (queue.get(id)?.state === 'completed' ? queue.get(id) : undefined), { what: 'job finished by the second worker', timeoutMs: 30_000 });
      assert.equal(job?.result, 'finished by the second worker');
      assert.equal(job?.attempts, 1);
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) await kill9(proc);
      await second?.stop(Date.now() + 2000);
      await queue.stop(Date.now() + 2000);
      db.close();
    }
  });
});
