import type { DatabaseSync } from 'node:sqlite';
import type { z } from 'zod';
import type { ComponentHealth } from '../health.ts';
import type { Logger } from '../log.ts';

/** The states of a job. A job waiting for a retry is `queued` with a later `runAt`. */
export const JobState = {
  Queued: 'queued',
  Running: 'running',
  Completed: 'completed',
  Failed: 'failed',
} as const;
export type JobState = (typeof JobState)[keyof typeof JobState];
export const jobStates: readonly JobState[] = Object.values(JobState);

/** Why an attempt failed: retried later, failed at once, or cut off by a crash or shutdown. */
export const JobErrorKind = {
  Transient: 'transient',
  Permanent: 'permanent',
  Interrupted: 'interrupted',
} as const;
export type JobErrorKind = (typeof JobErrorKind)[keyof typeof JobErrorKind];

export interface BackoffPolicy {
  /** Delay before the second attempt; doubles with each further one. */
  baseMs: number;
  maxMs: number;
}

/** What a handler gets. Payloads are small records of ids, validated before the handler sees them. */
export interface JobContext<P> {
  id: number;
  type: string;
  payload: P;
  /** 1 for the first attempt. */
  attempt: number;
  correlationId: string;
  /** A child logger carrying the job id, type and correlation id. */
  log: Logger;
  /** Aborted when the gateway stops and the shutdown deadline has passed. */
  signal: AbortSignal;
  /** 0 to 100. */
  progress(percent: number): Promise<void>;
}

/**
 * A job type: the schema of its payload (checked on enqueue and again in the worker), the handler that
 * runs it, and what the main process records of its result.
 */
export interface JobDefinition<P = unknown, R = unknown> {
  type: string;
  payload: z.ZodType<P>;
  handler(ctx: JobContext<P>): Promise<R>;
  /**
   * Runs in the main process, in the same SQLite transaction that marks the job completed, so that a
   * result is recorded exactly once. With the Redis driver the result has travelled through the queue.
   */
  onCompleted?(tx: DatabaseSync, job: JobRecord, result: R): void;
  /** Attempts in all, the first included (default 5). */
  maxAttempts?: number;
  backoff?: BackoffPolicy;
  /** Parallel jobs of this type per process, unless `queue.concurrency` says otherwise (default 1). */
  concurrency?: number;
}

// Definitions of different payload types live in one registry.
// biome-ignore lint: the registry is heterogeneous by design
export type AnyJobDefinition = JobDefinition<any, any>;

export interface EnqueueRequest {
  type: string;
  payload: unknown;
  /** Deduplication: while a job with this key waits, enqueueing another returns the waiting one. */
  key?: string;
  correlationId?: string;
  /** Run no earlier than this many ms from now (by the queue's clock). */
  delayMs?: number;
}

export interface EnqueueResult {
  id: number;
  /** True when a waiting job with the same key was found and returned instead. */
  deduplicated: boolean;
}

export interface JobRecord {
  id: number;
  type: string;
  key: string | null;
  state: JobState;
  payload: unknown;
  correlationId: string;
  attempts: number;
  maxAttempts: number;
  progress: number;
  runAt: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  result: unknown;
  lastError: string | null;
  errorKind: JobErrorKind | null;
  schedule: string | null;
  /** Redis driver: whether the current run has been handed to BullMQ. */
  dispatched: boolean;
}

export interface JobFilter {
  state?: JobState;
  type?: string;
  /** Default 50, at most 500. */
  limit?: number;
  /** Jobs with an id below this one (paging backwards from the newest). */
  before?: number;
}

export interface JobPage {
  items: JobRecord[];
  /** Pass as `before` to get the next page; null on the last page. */
  next: number | null;
}

export interface ScheduleDefinition {
  /** Unique, e.g. `worklist-cleanup`. */
  name: string;
  type: string;
  /** Five or six field cron expression, read in the site's time zone. */
  cron: string;
  payload: unknown;
}

export interface ScheduleRecord {
  name: string;
  type: string;
  cron: string;
  timezone: string;
  payload: unknown;
  paused: boolean;
  nextRunAt: string | null;
  lastRunAt: string | null;
  lastJobId: number | null;
}

/**
 * The job queue. Two adapters: embedded (SQLite, workers in this process) and BullMQ on Redis (the
 * SQLite ledger is the outbox; workers may run in other processes). Both pass `test/contract/`.
 */
export interface JobQueue {
  readonly driver: 'sqlite' | 'redis';
  /** Registers a job type; before `start()`. */
  register(definition: AnyJobDefinition): void;
  /**
   * Records a job inside the caller's open transaction (a `Database.transaction`/`write` callback):
   * it exists if and only if the caller's state change commits. Synchronous; never waits for Redis.
   */
  enqueueInTransaction(tx: DatabaseSync, request: EnqueueRequest): EnqueueResult;
  /** Records a job in a transaction of its own (group commit). */
  enqueue(request: EnqueueRequest): Promise<EnqueueResult>;
  start(): Promise<void>;
  /** Stops taking work; running jobs finish until `deadline` (epoch ms), then return to the queue. */
  stop(deadline: number): Promise<void>;

  get(id: number): JobRecord | undefined;
  list(filter?: JobFilter): JobPage;
  /** Puts a failed job back in the queue with fresh attempts. */
  retry(id: number): JobRecord;

  /** Creates or updates a schedule (keeps a paused schedule paused). */
  schedule(definition: ScheduleDefinition): ScheduleRecord;
  schedules(): ScheduleRecord[];
  /** Enqueues the schedule's job now; its regular times stay as they are. */
  runSchedule(name: string): EnqueueResult;
  pauseSchedule(name: string): ScheduleRecord;
  resumeSchedule(name: string): ScheduleRecord;

  health(): ComponentHealth;
}
