// Job queue workload: jobs per second through each adapter (no-op jobs and 1 ms jobs) and the latency
// from enqueue to start. `export async function run()` for the harness (bench/run.ts); standalone:
//   node --disable-warning=ExperimentalWarning bench/jobs.ts
// The Redis adapter gets a redis-server of its own (Debian package) on a free port in a temp dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { systemClock } from '../src/clock.ts';
import { Database } from '../src/db/index.ts';
import { BullmqJobQueue, SqliteJobQueue, type AnyJobDefinition, type JobQueue } from '../src/jobs/index.ts';
import { silentLogger } from '../src/log.ts';
import { freePort, type BenchContext, type Measurement, type Workload } from './support.ts';

export interface BenchResult {
  workload: string;
  metric: string;
  value: number;
  unit: string;
  details?: Record<string, unknown>;
}

const payload = z.object({ n: z.number().int() }).strict();

interface Probe {
  completed: number;
  target: number;
  onDone: (() => void) | undefined;
  started: Map<number, number>;
}

function definitions(probe: Probe, concurrency: number): AnyJobDefinition[] {
  const done = () => {
    probe.completed++;
    if (probe.completed === probe.target) probe.onDone?.();
  };
  return [
    { type: 'noop', payload, concurrency, handler: async () => null, onCompleted: done },
    { type: 'sleep1', payload, concurrency, handler: () => new Promise((r) => setTimeout(() => r(null), 1)), onCompleted: done },
    {
      type: 'probe',
      payload,
      concurrency,
      handler: async (ctx) => {
        probe.started.set(ctx.payload.n, performance.now());
        return null;
      },
      onCompleted: done,
    },
  ];
}


async function startRedis(dir: string): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  // Redis as a site would run it for a queue: append-only file, fsync every second.
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec'], { stdio: 'ignore' });
  const until = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > until) throw new Error('redis-server did not start');
    await new Promise((r) => setTimeout(r, 20));
  }
  return { url: `redis://127.0.0.1:${port}`, proc };
}

type Driver = 'sqlite' | 'redis';

async function openQueue(driver: Driver, dir: string, redisUrl: string | undefined, probe: Probe, concurrency: number, tag: string) {
  const db = Database.open({ file: path.join(dir, `${tag}.db`) });
  const deps = { db, clock: systemClock, log: silentLogger(), timezone: 'UTC' };
  const queue: JobQueue = driver === 'sqlite' ? new SqliteJobQueue(deps) : new BullmqJobQueue({ ...deps, redisUrl: redisUrl ?? '', prefix: `bench-${tag}` });
  for (const d of definitions(probe, concurrency)) queue.register(d);
  await queue.start();
  return {
    queue,
    close: async () => {
      await queue.stop(Date.now() + 5000);
      db.close();
    },
  };
}

/** Enqueues `count` jobs at once (one group commit) and measures until the last result is recorded. */
async function throughput(driver: Driver, type: 'noop' | 'sleep1', count: number, concurrency: number, dir: string, redisUrl?: string): Promise<BenchResult> {
  const probe: Probe = { completed: 0, target: count, onDone: undefined, started: new Map() };
  const { queue, close } = await openQueue(driver, dir, redisUrl, probe, concurrency, `${driver}-${type}-${concurrency}`);
  try {
    const finished = new Promise<void>((resolve) => {
      probe.onDone = resolve;
    });
    const t0 = performance.now();
    await Promise.all(Array.from({ length: count }, (_, n) => queue.enqueue({ type, payload: { n } })));
    const enqueued = performance.now() - t0;
    await finished;
    const seconds = (performance.now() - t0) / 1000;
    return {
      workload: 'jobs',
      metric: `${driver} ${type === 'noop' ? 'no-op' : '1 ms'} jobs, concurrency ${concurrency}`,
      value: Math.round(count / seconds),
      unit: 'jobs/s',
      details: { jobs: count, seconds: Number(seconds.toFixed(3)), enqueueMs: Math.round(enqueued) },
    };
  } finally {
    await close();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? Number.NaN;
}

/** One job at a time on an idle queue: from the enqueue call (its commit included) to the handler's start. */
async function latency(driver: Driver, count: number, dir: string, redisUrl?: string): Promise<BenchResult[]> {
  const probe: Probe = { completed: 0, target: -1, onDone: undefined, started: new Map() };
  const { queue, close } = await openQueue(driver, dir, redisUrl, probe, 1, `${driver}-latency`);
  const samples: number[] = [];
  try {
    for (let n = 0; n < count; n++) {
      probe.completed = 0;
      probe.target = 1;
      const done = new Promise<void>((resolve) => {
        probe.onDone = resolve;
      });
      const t0 = performance.now();
      await queue.enqueue({ type: 'probe', payload: { n } });
      await done;
      samples.push((probe.started.get(n) ?? Number.NaN) - t0);
    }
  } finally {
    await close();
  }
  samples.sort((a, b) => a - b);
  const round = (x: number) => Number(x.toFixed(2));
  return [
    { workload: 'jobs', metric: `${driver} enqueue→start latency, median`, value: round(percentile(samples, 0.5)), unit: 'ms', details: { samples: count } },
    { workload: 'jobs', metric: `${driver} enqueue→start latency, p95`, value: round(percentile(samples, 0.95)), unit: 'ms', details: { samples: count } },
  ];
}

export async function run(options: { jobs?: number; latencySamples?: number } = {}): Promise<BenchResult[]> {
  const jobs = options.jobs ?? 2000;
  const samples = options.latencySamples ?? 200;
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-bench-jobs-'));
  const redis = await startRedis(dir);
  const results: BenchResult[] = [];
  try {
    for (const driver of ['sqlite', 'redis'] as const) {
      const url = driver === 'redis' ? redis.url : undefined;
      for (const concurrency of [1, 8]) {
        results.push(await throughput(driver, 'noop', jobs, concurrency, dir, url));
        results.push(await throughput(driver, 'sleep1', Math.round(jobs / 2), concurrency, dir, url));
      }
      results.push(...(await latency(driver, samples, dir, url)));
    }
  } finally {
    redis.proc.kill('SIGTERM');
    await new Promise((r) => redis.proc.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

/** The harness's view: each metric over a few rounds (no peer: no other queue runs the same jobs). */
export const jobsWorkload: Workload = {
  name: 'jobs',
  description: 'job queue: jobs/s (no-op and 1 ms jobs, concurrency 1 and 8) and enqueue-to-start latency, embedded SQLite and BullMQ on Redis',
  async run(ctx: BenchContext): Promise<Measurement[]> {
    const byMetric = new Map<string, Measurement>();
    for (let round = 0; round < Math.min(ctx.rounds, 3); round++) {
      for (const r of await run()) {
        const m = byMetric.get(r.metric) ?? { name: r.metric, unit: r.unit, ours: [] };
        m.ours.push(r.value);
        byMetric.set(r.metric, m);
      }
      ctx.log(`jobs round ${round + 1} done`);
    }
    return [...byMetric.values()];
  },
};

if (import.meta.main) {
  const results = await run();
  const width = Math.max(...results.map((r) => r.metric.length));
  for (const r of results) process.stdout.write(`${r.metric.padEnd(width)}  ${String(r.value).padStart(8)} ${r.unit}${r.details === undefined ? '' : `  ${JSON.stringify(r.details)}`}\n`);
}
