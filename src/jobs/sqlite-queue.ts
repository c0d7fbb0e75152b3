import type { ComponentHealth } from '../health.ts';
import { LedgerQueue, type QueueDeps } from './base-queue.ts';
import type { ClaimedJob } from './ledger.ts';
import { runAttempt } from './runner.ts';

interface ActiveJob {
  job: ClaimedJob;
  abort: AbortController;
  done: Promise<void>;
}

/**
 * The embedded adapter: the SQLite ledger is the queue, workers run in this process. Enqueueing wakes
 * the workers at once; delayed jobs and retries wake them through a timer of the injected clock.
 * Claims and results go through the group commit, so many small jobs share one fsync.
 */
export class SqliteJobQueue extends LedgerQueue {
  readonly driver = 'sqlite' as const;
  readonly #active = new Map<number, ActiveJob>();
  readonly #activeByType = new Map<string, number>();
  #pumping = false;
  #wakeScheduled = false;
  #again = false;
  #stopping = false;
  #cancelTimer: (() => void) | undefined;
  /**
   * Types whose last claim found fewer ready jobs than it could take: not asked again until a wake-up
   * says they may have some (every claim costs a query per type, and most types are idle most of the time).
   */
  readonly #drained = new Set<string>();
  /** Counts wake-ups, so that a claim can tell whether one came while it ran. */
  #wakes = 0;
  /** The clock's time when the last claim looked at the ledger. */
  #lookedAt = 0;

  constructor(deps: QueueDeps) {
    super(deps);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    // Workers live in this process: whatever is marked running was cut off when the last one died.
    const recovered = this.ledger.db.transaction((tx) => this.ledger.recoverInterrupted(tx));
    if (recovered > 0) this.log.warn({ recovered }, 'jobs interrupted by the last stop are queued again');
    this.scheduler.start();
    this.startPruning();
    this.wake();
  }

  protected wake(type?: string): void {
    this.#wakes++;
    if (type === undefined) this.#drained.clear();
    else this.#drained.delete(type);
    this.#schedulePump();
  }

  /** Coalesced: the completions of one group commit wake the workers once, to claim for all of them. */
  #schedulePump(): void {
    if (!this.started || this.#stopping || this.#wakeScheduled) return;
    this.#wakeScheduled = true;
    setImmediate(() => {
      this.#wakeScheduled = false;
      if (!this.started || this.#stopping) return;
      if (this.#pumping) this.#again = true;
      else void this.#pump();
    });
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      do {
        this.#again = false;
        if (this.#stopping) return;
        const free = new Map<string, number>();
        for (const type of this.registry.types()) {
          const n = this.registry.concurrency(type, this.concurrency) - (this.#activeByType.get(type) ?? 0);
          if (n > 0 && !this.#drained.has(type)) free.set(type, n);
        }
        if (free.size === 0) break;
        // One write for every type: claims share the group commit with the results being recorded.
        let wakesBefore = 0;
        const claimed = await this.ledger.db.write((tx) => {
          wakesBefore = this.#wakes;
          this.#lookedAt = this.clock.now().getTime();
          return this.ledger.claim(tx, free);
        });
        // A type is drained only if nothing woke it since the claim looked (that wake-up may be for a job the claim missed).
        if (this.#wakes === wakesBefore) {
          for (const [type, n] of free) if (claimed.filter((j) => j.type === type).length < n) this.#drained.add(type);
        }
        for (const job of claimed) this.#run(job);
      } while (this.#again && !this.#stopping);
    } catch (err) {
      this.log.error({ err }, 'claiming jobs failed; trying again in a second');
      this.#arm(1000);
      return;
    } finally {
      this.#pumping = false;
    }
    this.#armForNextDue();
  }

  #armForNextDue(): void {
    if (this.#stopping) return;
    const next = this.ledger.nextRunAt(this.registry.types());
    const now = this.clock.now().getTime();
    if (next !== null && next > now) this.#arm(next - now);
    else if (next !== null && next > this.#lookedAt) {
      // Due since the claim looked (time moved on while it ran): no timer would fire for it, so
      // look once more. A job that was due then and still waits is blocked (its type is busy, its
      // key runs) and is woken when that ends.
      this.#lookedAt = now;
      this.wake();
    }
  }

  #arm(ms: number): void {
    this.#cancelTimer?.();
    this.#cancelTimer = this.clock.setTimer(ms, () => {
      this.#cancelTimer = undefined;
      this.wake();
    });
  }

  #run(job: ClaimedJob): void {
    const abort = new AbortController();
    this.#activeByType.set(job.type, (this.#activeByType.get(job.type) ?? 0) + 1);
    const done = runAttempt(this.registry.get(job.type), job, {
      log: this.log,
      signal: abort.signal,
      progress: (percent) => this.ledger.db.write((tx) => this.ledger.setProgress(tx, job.id, job.run, percent)),
    })
      .then((outcome) =>
        this.ledger.db.write((tx) => {
          if (outcome.kind === 'completed') this.ledger.complete(tx, job.id, job.run, outcome.result);
          else {
            const r = this.ledger.fail(tx, job.id, job.run, outcome.errorKind, outcome.reason, { nextRunOnRetry: false });
            if (r?.state === 'failed') this.log.error({ jobId: job.id, jobType: job.type, reason: outcome.reason }, 'job failed');
          }
        }),
      )
      .catch((err: unknown) => {
        // The database refused the result (closed during shutdown): the job stays running in the
        // ledger and is queued again at the next start.
        this.log.error({ err, jobId: job.id }, 'could not record the outcome of a job');
      })
      .finally(() => {
        this.#active.delete(job.id);
        this.#activeByType.set(job.type, (this.#activeByType.get(job.type) ?? 1) - 1);
        // A free slot for its type (or a retry due at once); a finished keyed job may also let a
        // waiting one with its key start, of whatever type.
        this.wake(job.key === null ? job.type : undefined);
      });
    this.#active.set(job.id, { job, abort, done });
  }

  async stop(deadline: number): Promise<void> {
    if (!this.started || this.#stopping) return;
    this.#stopping = true;
    this.scheduler.stop();
    this.stopPruning();
    this.#cancelTimer?.();
    // Wait for a claim in flight, then for running jobs, until the deadline.
    while (this.#pumping) await new Promise((r) => setImmediate(r));
    if (this.#active.size > 0) {
      this.log.info({ running: this.#active.size }, 'waiting for running jobs to finish');
      await new Promise<void>((resolve) => {
        const cancel = this.clock.setTimer(Math.max(0, deadline - Date.now()), resolve);
        void Promise.all([...this.#active.values()].map((a) => a.done)).then(() => {
          cancel();
          resolve();
        });
      });
    }
    for (const { job, abort } of this.#active.values()) {
      abort.abort(new Error('shutdown deadline passed'));
      this.ledger.requeue(this.ledger.db.sqlite, job.id, job.run);
      this.log.warn({ jobId: job.id, jobType: job.type }, 'job still running at the shutdown deadline: back to the queue');
    }
  }

  health(): ComponentHealth {
    return this.describeHealth();
  }
}
