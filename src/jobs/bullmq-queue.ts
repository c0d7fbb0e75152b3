import { Queue, Worker, type Job } from 'bullmq';
import type { ComponentHealth } from '../health.ts';
import { LedgerQueue, type QueueDeps } from './base-queue.ts';
import type { ClaimedJob } from './ledger.ts';
import { OutboxDispatcher } from './outbox.ts';
import { dropBlockingConnection, RedisConnections } from './redis-connections.ts';
import { bullJobId, within, resultsQueueName, typeQueueName, type WireJob, type WireResult } from './redis-names.ts';
import { BullmqWorkerHost } from './worker-process.ts';

/** Runs handed to BullMQ this long ago and not finished are checked on, this often (by the clock). */
const reconcileAfterMs = 60_000;
const reconcileEveryMs = 60_000;

export interface BullmqQueueDeps extends QueueDeps {
  redisUrl: string;
  /** BullMQ key prefix; workers must use the same. */
  prefix: string;
  /** Also run workers in this process (default true); false when `dicom-gateway worker` processes do all the work. */
  runWorkers?: boolean;
}

/**
 * The Redis adapter. The SQLite ledger stays the outbox and the record: jobs are written there in the
 * caller's transaction, a dispatcher hands them to BullMQ (one queue per type, per-type concurrency in
 * the workers), and workers send outcomes back through a results queue that this process consumes to
 * record results, run `onCompleted` hooks and schedule retries (with the injected clock, as embedded).
 */
export class BullmqJobQueue extends LedgerQueue {
  readonly driver = 'redis' as const;
  readonly #deps: BullmqQueueDeps;
  readonly #producers = new Map<string, Queue>();
  readonly #dispatcher: OutboxDispatcher;
  #resultsWorker: Worker | undefined;
  #host: BullmqWorkerHost | undefined;
  #redisError: string | undefined;
  #cancelReconcile: (() => void) | undefined;
  #closing = false;
  readonly #connections: RedisConnections;

  constructor(deps: BullmqQueueDeps) {
    super(deps);
    this.#deps = deps;
    this.#connections = new RedisConnections(deps.redisUrl, (err) => {
      this.#redisError = err.message;
    });
    this.#dispatcher = new OutboxDispatcher({
      ledger: this.ledger,
      clock: deps.clock,
      log: deps.log.child({ component: 'outbox' }),
      types: () => this.registry.types(),
      send: (jobs) => this.#send(jobs),
    });
  }

  #producer(type: string): Queue {
    let queue = this.#producers.get(type);
    if (queue === undefined) {
      // No offline queue: while Redis is away, adds fail at once and the dispatcher backs off.
      queue = new Queue(typeQueueName(type), {
        connection: this.#connections.forProducer(),
        prefix: this.#deps.prefix,
        defaultJobOptions: { removeOnComplete: { age: 24 * 3600, count: 10_000 }, removeOnFail: { age: 7 * 24 * 3600 } },
      });
      queue.on('error', (err) => {
        this.#redisError = err.message;
      });
      this.#producers.set(type, queue);
    }
    return queue;
  }

  async #send(jobs: readonly ClaimedJob[]): Promise<void> {
    const byType = new Map<string, ClaimedJob[]>();
    for (const job of jobs) byType.set(job.type, [...(byType.get(job.type) ?? []), job]);
    await Promise.all(
      [...byType].map(([type, list]) =>
        this.#producer(type).addBulk(
          list.map((job) => ({
            name: type,
            data: { id: job.id, run: job.run, attempt: job.attempt, payload: job.payload, correlationId: job.correlationId } satisfies WireJob,
            opts: { jobId: bullJobId(job.id, job.run) },
          })),
        ),
      ),
    );
  }

  async #record(job: Job): Promise<void> {
    const message = job.data as WireResult;
    const { ledger } = this;
    await ledger.db.write((tx) => {
      switch (message.kind) {
        case 'started':
          ledger.markStarted(tx, message.id, message.run, message.attempt, message.at);
          break;
        case 'progress':
          ledger.setProgress(tx, message.id, message.run, message.percent);
          break;
        case 'completed':
          ledger.complete(tx, message.id, message.run, message.result);
          break;
        case 'interrupted':
          ledger.requeue(tx, message.id, message.run);
          break;
        case 'failed': {
          const outcome = ledger.fail(tx, message.id, message.run, message.errorKind, message.reason, { nextRunOnRetry: true, attempt: message.attempt });
          if (outcome?.state === 'failed') this.log.error({ jobId: message.id, reason: message.reason }, 'job failed');
          break;
        }
      }
    });
    if (message.kind !== 'started' && message.kind !== 'progress') this.wake();
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { redisUrl, prefix, log } = this.#deps;
    for (const type of this.registry.types()) this.#producer(type);
    this.#resultsWorker = new Worker(resultsQueueName, (job) => this.#record(job), {
      connection: this.#connections.forWorker(),
      prefix,
      // Many at once so that their SQLite writes share a group commit; order does not matter (each
      // message names its run, stale ones are ignored).
      concurrency: 64,
      removeOnComplete: { count: 0 },
      removeOnFail: { age: 7 * 24 * 3600 },
    });
    this.#resultsWorker.on('error', (err) => {
      this.#redisError = err.message;
    });
    if (this.#deps.runWorkers ?? true) {
      this.#host = new BullmqWorkerHost({
        redisUrl,
        prefix,
        definitions: this.registry.types().map((t) => this.registry.require(t)),
        concurrency: this.concurrency,
        clock: this.clock,
        log,
      });
      await this.#host.start();
    }
    // Give Redis a moment so that the first dispatch does not start with a backoff; never wait long:
    // the gateway starts (and stores) while Redis is down.
    await Promise.race([
      Promise.all([...this.#producers.values()].map((q) => q.waitUntilReady())).catch(() => undefined),
      new Promise((r) => setTimeout(r, 3000).unref()),
    ]);
    this.scheduler.start();
    this.#dispatcher.start();
    this.startPruning();
    this.#armReconcile(0);
  }

  #armReconcile(ms: number): void {
    this.#cancelReconcile = this.clock.setTimer(ms, () => {
      void this.#reconcile().finally(() => {
        if (!this.#closing) this.#armReconcile(reconcileEveryMs);
      });
    });
  }

  /**
   * Checks on runs handed to BullMQ a while ago and not finished: one that BullMQ no longer has (Redis
   * lost its data) is sent again; one that BullMQ failed without a result reaching us (its worker
   * crashed over and over, or could not report) counts as a transient failure.
   */
  async #reconcile(): Promise<void> {
    try {
      for (const job of this.ledger.inFlight(reconcileAfterMs, 200)) {
        if (this.#closing) return;
        const bull = await this.#producer(job.type).getJob(bullJobId(job.id, job.run));
        if (bull === undefined || bull === null) {
          this.log.warn({ jobId: job.id, run: job.run }, 'BullMQ no longer has a job it was given: sending it again');
          await this.ledger.db.write((tx) => this.ledger.undispatch(tx, job.id, job.run));
          this.wake();
        } else if ((await bull.getState()) === 'failed') {
          const reason = `worker: ${bull.failedReason ?? 'failed without a result'}`;
          await this.ledger.db.write((tx) => this.ledger.fail(tx, job.id, job.run, 'transient', reason, { nextRunOnRetry: true }));
          this.wake();
        }
      }
    } catch (err) {
      this.#redisError = (err as Error).message;
    }
  }

  protected wake(): void {
    if (this.started) this.#dispatcher.wake();
  }

  async stop(deadline: number): Promise<void> {
    if (!this.started || this.#closing) return;
    this.#closing = true;
    this.#cancelReconcile?.();
    this.stopPruning();
    this.scheduler.stop();
    await this.#dispatcher.stop();
    // Workers first (running jobs finish or go back to BullMQ), then the results they sent are recorded.
    await this.#host?.stop(deadline);
    const results = this.#resultsWorker;
    if (results !== undefined) {
      // While Redis is away a polite close waits for it forever: force it (unrecorded results stay in Redis).
      const closed = this.#connections.reachable ? await within(results.close(), 2000) : await within(results.close(true), 1000);
      if (!closed) await dropBlockingConnection(results);
    }
    await Promise.all([...this.#producers.values()].map((q) => within(q.close(), 1000)));
    await this.#connections.closeAll();
    this.started = false;
  }

  health(): ComponentHealth {
    const { failures, lastError } = this.#dispatcher.status;
    const health = this.describeHealth();
    if (failures > 0 || (this.started && !this.#connections.reachable)) {
      const redis = `Redis unreachable (${lastError ?? this.#redisError ?? 'not connected'}): jobs wait in the outbox`;
      health.warning = health.warning === undefined ? redis : `${redis}; ${health.warning}`;
    }
    return health;
  }
}
