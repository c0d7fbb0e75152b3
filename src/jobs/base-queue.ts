import type { DatabaseSync } from 'node:sqlite';
import type { Clock } from '../clock.ts';
import type { Database } from '../db/index.ts';
import type { ComponentHealth } from '../health.ts';
import type { Logger } from '../log.ts';
import { JobLedger } from './ledger.ts';
import type {
  AnyJobDefinition,
  EnqueueRequest,
  EnqueueResult,
  JobFilter,
  JobPage,
  JobQueue,
  JobRecord,
  ScheduleDefinition,
  ScheduleRecord,
} from './port.ts';
import { JobRegistry } from './registry.ts';
import { Scheduler } from './schedule.ts';

export interface QueueDeps {
  db: Database;
  clock: Clock;
  log: Logger;
  /** The site's time zone, for schedules. */
  timezone: string;
  /** Parallel jobs per type (config `queue.concurrency`). */
  concurrency?: Record<string, number>;
  /** How long finished jobs stay listed (config `queue.keepCompletedDays`, `queue.keepFailedDays`). */
  keepCompletedDays?: number;
  keepFailedDays?: number;
}

const day = 24 * 3600 * 1000;
const pruneEveryMs = 3600 * 1000;

/** What both adapters share: the SQLite ledger (queue or outbox), the registry and the schedules. */
export abstract class LedgerQueue implements JobQueue {
  abstract readonly driver: 'sqlite' | 'redis';
  protected readonly registry = new JobRegistry();
  protected readonly ledger: JobLedger;
  protected readonly clock: Clock;
  protected readonly log: Logger;
  protected readonly concurrency: Record<string, number>;
  protected readonly scheduler: Scheduler;
  protected started = false;
  readonly #keep: { completedMs: number; failedMs: number };
  #cancelPrune: (() => void) | undefined;

  constructor(deps: QueueDeps) {
    this.clock = deps.clock;
    this.log = deps.log;
    this.concurrency = deps.concurrency ?? {};
    this.#keep = { completedMs: (deps.keepCompletedDays ?? 7) * day, failedMs: (deps.keepFailedDays ?? 30) * day };
    this.ledger = new JobLedger({ db: deps.db, clock: deps.clock, registry: this.registry });
    this.scheduler = new Scheduler({
      ledger: this.ledger,
      registry: this.registry,
      clock: deps.clock,
      timezone: deps.timezone,
      log: deps.log.child({ component: 'schedules' }),
      onEnqueued: () => this.wake(),
    });
  }

  /** Jobs of `type` (or of any type, when not given) may be ready: look for work soon. */
  protected abstract wake(type?: string): void;
  abstract start(): Promise<void>;
  abstract stop(deadline: number): Promise<void>;
  abstract health(): ComponentHealth;

  /** Health shared by both adapters: counts, and a warning while failed jobs wait for someone to look. */
  protected describeHealth(): ComponentHealth {
    const counts = this.ledger.counts();
    const health: ComponentHealth = { ok: true, details: { driver: this.driver, ...counts } };
    if (counts.failed > 0) health.warning = `${counts.failed} failed job${counts.failed === 1 ? '' : 's'} (GET /api/v1/jobs?state=failed)`;
    return health;
  }

  /** Hourly, by the clock: forget old finished jobs. Adapters call this from start() and stop(). */
  protected startPruning(): void {
    const prune = () => {
      try {
        const removed = this.ledger.prune(this.#keep.completedMs, this.#keep.failedMs);
        if (removed > 0) this.log.info({ removed }, 'old finished jobs removed');
      } catch (err) {
        this.log.warn({ err }, 'removing old jobs failed');
      }
      this.#cancelPrune = this.clock.setTimer(pruneEveryMs, prune);
    };
    prune();
  }

  protected stopPruning(): void {
    this.#cancelPrune?.();
    this.#cancelPrune = undefined;
  }

  register(definition: AnyJobDefinition): void {
    if (this.started) throw new Error('register job types before the queue starts');
    this.registry.register(definition);
  }

  enqueueInTransaction(tx: DatabaseSync, request: EnqueueRequest): EnqueueResult {
    const result = this.ledger.insert(tx, request);
    // Runs after the caller's transaction has committed (both `transaction` and group-commit `write` are
    // synchronous); if it rolled back, the wake-up finds nothing.
    if (!result.deduplicated) setImmediate(() => this.wake(request.type));
    return result;
  }

  enqueue(request: EnqueueRequest): Promise<EnqueueResult> {
    return this.ledger.db.write((tx) => this.enqueueInTransaction(tx, request));
  }

  get(id: number): JobRecord | undefined {
    return this.ledger.get(id);
  }

  list(filter?: JobFilter): JobPage {
    return this.ledger.list(filter);
  }

  retry(id: number): JobRecord {
    const record = this.ledger.db.transaction((tx) => this.ledger.retry(tx, id));
    this.wake();
    return record;
  }

  schedule(definition: ScheduleDefinition): ScheduleRecord {
    return this.scheduler.upsert(definition);
  }

  schedules(): ScheduleRecord[] {
    return this.scheduler.list();
  }

  runSchedule(name: string): EnqueueResult {
    return this.scheduler.runNow(name);
  }

  pauseSchedule(name: string): ScheduleRecord {
    return this.scheduler.setPaused(name, true);
  }

  resumeSchedule(name: string): ScheduleRecord {
    return this.scheduler.setPaused(name, false);
  }
}
