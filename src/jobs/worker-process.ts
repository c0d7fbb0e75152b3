import { Queue, Worker, type Job } from 'bullmq';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { AnyJobDefinition } from './port.ts';
import { dropBlockingConnection, RedisConnections } from './redis-connections.ts';
import { resultsQueueName, typeQueueName, within, type WireJob, type WireResult } from './redis-names.ts';
import { runAttempt } from './runner.ts';

export interface WorkerHostOptions {
  redisUrl: string;
  /** BullMQ key prefix, shared with the gateway. */
  prefix: string;
  definitions: readonly AnyJobDefinition[];
  /** Parallel jobs per type (config `queue.concurrency`). */
  concurrency?: Record<string, number>;
  /** Run only these types (default: all defined). */
  types?: readonly string[];
  clock: Clock;
  log: Logger;
  /**
   * How long a worker's lock on a job lasts without renewal; a worker that died is noticed after about
   * this long and its job handed to another (BullMQ default 30 s; tests use less).
   */
  lockDurationMs?: number;
}

/**
 * BullMQ workers for our job types: in `dicom-gateway worker` processes, or inside the gateway. They
 * never open the SQLite database: a job carries ids and paths, and the outcome goes back through the
 * results queue to the main process, which records it (and decides about retries).
 */
export class BullmqWorkerHost {
  readonly #options: WorkerHostOptions;
  readonly #workers: Worker[] = [];
  readonly #aborts = new Set<AbortController>();
  #results: Queue | undefined;
  #connections: RedisConnections | undefined;

  constructor(options: WorkerHostOptions) {
    this.#options = options;
  }

  get types(): string[] {
    const defined = this.#options.definitions.map((d) => d.type);
    return this.#options.types === undefined ? defined : defined.filter((t) => this.#options.types?.includes(t));
  }

  async start(): Promise<void> {
    const { redisUrl, prefix, log } = this.#options;
    const connections = new RedisConnections(redisUrl, (err) => this.#redisError(err, 'connection'));
    this.#connections = connections;
    // Results wait in the offline queue while Redis is away; the job is not done until they are sent.
    this.#results = new Queue(resultsQueueName, { connection: connections.forResults(), prefix });
    this.#results.on('error', (err) => this.#redisError(err, 'results'));
    for (const definition of this.#options.definitions) {
      if (!this.types.includes(definition.type)) continue;
      const worker = new Worker(typeQueueName(definition.type), (job, _token, signal) => this.#process(definition, job, signal), {
        connection: connections.forWorker(),
        prefix,
        concurrency: this.#options.concurrency?.[definition.type] ?? definition.concurrency ?? 1,
        // A worker killed mid-job leaves a stalled job that another worker picks up again.
        maxStalledCount: 10,
        ...(this.#options.lockDurationMs === undefined ? {} : { lockDuration: this.#options.lockDurationMs, stalledInterval: Math.max(100, Math.floor(this.#options.lockDurationMs / 2)) }),
        removeOnComplete: { age: 24 * 3600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3600 },
      });
      worker.on('error', (err) => this.#redisError(err, definition.type));
      this.#workers.push(worker);
    }
    log.info({ types: this.types }, 'BullMQ workers started');
  }

  #errors = 0;

  /** Redis errors repeat every second while it is away: log the first and then every 60th. */
  #redisError(err: Error, where: string): void {
    if (this.#errors++ % 60 === 0) this.#options.log.warn({ err: err.message, where, count: this.#errors }, 'Redis error (workers wait and reconnect)');
  }

  async #process(definition: AnyJobDefinition, job: Job, bullSignal: AbortSignal | undefined): Promise<void> {
    const wire = job.data as WireJob;
    const results = this.#results;
    if (results === undefined) throw new Error('worker host not started');
    // A result the main process could not record (database busy) is tried again, not dropped.
    const send = (message: WireResult, jobId?: string) =>
      results.add(message.kind, message, { attempts: 20, backoff: { type: 'exponential', delay: 500 }, ...(jobId === undefined ? {} : { jobId }) });
    await send({ kind: 'started', id: wire.id, run: wire.run, attempt: wire.attempt, at: this.#options.clock.now().getTime() }, `${wire.id}-${wire.run}-started`);
    const abort = new AbortController();
    this.#aborts.add(abort);
    const interrupted = new Promise<'interrupted'>((resolve) => abort.signal.addEventListener('abort', () => resolve('interrupted'), { once: true }));
    try {
      const attempt = runAttempt(
        definition,
        { id: wire.id, type: definition.type, run: wire.run, attempt: wire.attempt, payload: wire.payload, correlationId: wire.correlationId },
        {
          log: this.#options.log,
          signal: bullSignal === undefined ? abort.signal : AbortSignal.any([abort.signal, bullSignal]),
          progress: async (percent) => {
            await send({ kind: 'progress', id: wire.id, run: wire.run, percent });
          },
        },
      );
      const outcome = await Promise.race([attempt, interrupted]);
      const done = `${wire.id}-${wire.run}-done`;
      if (outcome === 'interrupted') {
        // Past the shutdown deadline: the main process queues it again (a new run); this BullMQ job
        // ends as failed so that it is not also handed out again as stalled.
        await send({ kind: 'interrupted', id: wire.id, run: wire.run }, done);
        throw new Error('interrupted by shutdown');
      }
      if (outcome.kind === 'completed') await send({ kind: 'completed', id: wire.id, run: wire.run, result: outcome.result }, done);
      else await send({ kind: 'failed', id: wire.id, run: wire.run, attempt: wire.attempt, errorKind: outcome.errorKind, reason: outcome.reason }, done);
    } finally {
      this.#aborts.delete(abort);
    }
  }

  /**
   * Lets running jobs finish until `deadline` (kept by the clock); past it they are cut off and go back
   * to the queue through the main process. Never hangs on an absent Redis.
   */
  async stop(deadline: number): Promise<void> {
    if (this.#connections?.reachable === false) {
      // Redis is away: nothing can be handed out or reported. Cut off what runs (BullMQ hands it out
      // again once its lock expires) and close without waiting for Redis.
      for (const abort of this.#aborts) abort.abort(new Error('stopped while Redis is away'));
      await within(Promise.all(this.#workers.map((w) => w.close(true))), 1000);
      await Promise.all(this.#workers.map((w) => dropBlockingConnection(w)));
      if (this.#results !== undefined) await within(this.#results.close(), 500);
      await this.#connections.closeAll();
      return;
    }
    const closing = Promise.all(this.#workers.map((w) => w.close()));
    let closed: boolean;
    if (this.#aborts.size === 0) {
      closed = await within(closing, 2000);
    } else {
      closed = await new Promise<boolean>((resolve) => {
        const cancel = this.#options.clock.setTimer(Math.max(0, deadline - Date.now()), () => resolve(false));
        void closing.then(() => {
          cancel();
          resolve(true);
        });
      });
    }
    if (!closed) {
      if (this.#aborts.size > 0) this.#options.log.warn({ running: this.#aborts.size }, 'jobs still running at the shutdown deadline: they return to the queue');
      for (const abort of this.#aborts) abort.abort(new Error('shutdown deadline passed'));
      if (!(await within(closing, 2000))) await Promise.all(this.#workers.map((w) => dropBlockingConnection(w)));
    }
    await within(this.#results?.close() ?? Promise.resolve(), 1000);
    await this.#connections?.closeAll();
  }

}
