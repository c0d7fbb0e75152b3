import { randomUUID } from 'node:crypto';
import type { DatabaseSync, SQLOutputValue, StatementSync } from 'node:sqlite';
import type { Clock } from '../clock.ts';
import type { Database } from '../db/index.ts';
import { ErrorCode, GatewayError } from '../domain/errors.ts';
import { backoffDelay, defaultBackoff } from './backoff.ts';
import type { JobRegistry } from './registry.ts';
import { JobErrorKind, JobState, type EnqueueRequest, type EnqueueResult, type JobFilter, type JobPage, type JobRecord } from './port.ts';

type JobRow = Record<string, SQLOutputValue>;

/** Payloads are small records of ids and paths, never data. */
const maxPayloadChars = 16 * 1024;

const iso = (ms: SQLOutputValue | undefined): string | null => (ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString());
const parseJson = (text: SQLOutputValue | undefined): unknown => (text === null || text === undefined ? null : JSON.parse(String(text)));

export function toRecord(row: JobRow): JobRecord {
  return {
    id: Number(row['id']),
    type: String(row['type']),
    key: row['key'] === null ? null : String(row['key']),
    state: String(row['state']) as JobState,
    payload: parseJson(row['payload']),
    correlationId: String(row['correlation_id']),
    attempts: Number(row['attempts']),
    maxAttempts: Number(row['max_attempts']),
    progress: Number(row['progress']),
    runAt: iso(row['run_at']) ?? '',
    createdAt: iso(row['created_at']) ?? '',
    startedAt: iso(row['started_at']),
    finishedAt: iso(row['finished_at']),
    result: parseJson(row['result']),
    lastError: row['last_error'] === null ? null : String(row['last_error']),
    errorKind: row['error_kind'] === null ? null : (String(row['error_kind']) as JobRecord['errorKind']),
    schedule: row['schedule'] === null ? null : String(row['schedule']),
    dispatched: row['dispatched_at'] !== null,
  };
}

/** A job handed to a worker: what it needs to run and to report back. */
export interface ClaimedJob {
  id: number;
  type: string;
  /** Its deduplication key: while it runs, waiting jobs with the same key cannot start. */
  key: string | null;
  run: number;
  attempt: number;
  payload: unknown;
  correlationId: string;
}

function toClaimed(row: JobRow): ClaimedJob {
  return {
    id: Number(row['id']),
    type: String(row['type']),
    key: row['key'] === null ? null : String(row['key']),
    run: Number(row['run']),
    attempt: Number(row['attempts']),
    payload: parseJson(row['payload']),
    correlationId: String(row['correlation_id']),
  };
}

export interface FailureOutcome {
  state: JobState;
  /** When the next attempt is due (epoch ms), if one is. */
  retryAt: number | null;
}

/**
 * All SQL on the `jobs` table. With the embedded driver it is the queue; with the Redis driver it is
 * the outbox and the record of results. Methods taking `tx` run inside the caller's transaction.
 */
export class JobLedger {
  readonly db: Database;
  readonly #clock: Clock;
  readonly #registry: JobRegistry;

  constructor(deps: { db: Database; clock: Clock; registry: JobRegistry }) {
    this.db = deps.db;
    this.#clock = deps.clock;
    this.#registry = deps.registry;
  }

  #now(): number {
    return this.#clock.now().getTime();
  }

  #sql(tx: DatabaseSync, sql: string): StatementSync {
    return this.db.statement(sql, tx);
  }

  insert(tx: DatabaseSync, request: EnqueueRequest, schedule: string | null = null): EnqueueResult {
    const definition = this.#registry.require(request.type);
    const parsed = definition.payload.safeParse(request.payload);
    if (!parsed.success) {
      throw new GatewayError(ErrorCode.Invalid, `invalid payload for job type "${request.type}"`, {
        issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      });
    }
    const payload = JSON.stringify(parsed.data ?? null);
    if (payload.length > maxPayloadChars) {
      throw new GatewayError(ErrorCode.Invalid, `payload of job type "${request.type}" is ${payload.length} characters: a job carries ids and paths, at most ${maxPayloadChars}`);
    }
    const key = request.key ?? null;
    if (key !== null) {
      const waiting = this.#sql(tx, "SELECT id FROM jobs WHERE key = ? AND state = 'queued' AND dispatched_at IS NULL ORDER BY id LIMIT 1").get(key);
      if (waiting !== undefined) return { id: Number(waiting['id']), deduplicated: true };
    }
    const now = this.#now();
    const row = this.#sql(tx, 
        `INSERT INTO jobs (type, key, payload, correlation_id, state, max_attempts, run_at, created_at, schedule)
         VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?) RETURNING id`,
      )
      .get(
        request.type,
        key,
        payload,
        request.correlationId ?? randomUUID(),
        definition.maxAttempts ?? 5,
        now + Math.max(0, request.delayMs ?? 0),
        now,
        schedule,
      );
    return { id: Number(row?.['id']), deduplicated: false };
  }

  /**
   * Waiting jobs that may start now: due, and no job with the same key active (running, or handed to
   * BullMQ and not finished); at most one per key. `types` limits the choice.
   */
  #ready(tx: DatabaseSync, types: readonly string[], limit: number): number[] {
    if (types.length === 0 || limit <= 0) return [];
    const placeholders = types.map(() => '?').join(', ');
    const rows = this.#sql(tx, 
        `SELECT j.id, j.key FROM jobs j
         WHERE j.state = 'queued' AND j.dispatched_at IS NULL AND j.run_at <= ? AND j.type IN (${placeholders})
           AND (j.key IS NULL OR NOT EXISTS (
             SELECT 1 FROM jobs a WHERE a.key = j.key AND a.id <> j.id
               AND (a.state = 'running' OR (a.state = 'queued' AND a.dispatched_at IS NOT NULL))))
         ORDER BY j.run_at, j.id LIMIT ?`,
      )
      .all(this.#now(), ...types, limit * 2 + 8);
    const keys = new Set<string>();
    const chosen: number[] = [];
    for (const row of rows) {
      if (chosen.length >= limit) break;
      const key = row['key'];
      if (key !== null) {
        if (keys.has(String(key))) continue;
        keys.add(String(key));
      }
      chosen.push(Number(row['id']));
    }
    return chosen;
  }

  /** Embedded driver: takes up to `free[type]` jobs of each type and marks them running (a new run). */
  claim(tx: DatabaseSync, free: ReadonlyMap<string, number>): ClaimedJob[] {
    const now = this.#now();
    const update = this.#sql(tx, 
      "UPDATE jobs SET state = 'running', attempts = attempts + 1, run = run + 1, started_at = ?, progress = 0 WHERE id = ? AND state = 'queued' RETURNING *",
    );
    const claimed: ClaimedJob[] = [];
    for (const [type, limit] of free) {
      for (const id of this.#ready(tx, [type], limit)) {
        const updated = update.get(now, id);
        if (updated !== undefined) claimed.push(toClaimed(updated));
      }
    }
    return claimed;
  }

  /** Redis driver: jobs to hand to BullMQ now, with the run and attempt they will carry. */
  dispatchable(types: readonly string[], limit: number): ClaimedJob[] {
    const byId = this.#sql(this.db.sqlite, 'SELECT * FROM jobs WHERE id = ?');
    return this.#ready(this.db.sqlite, types, limit).flatMap((id) => {
      const row = byId.get(id);
      return row === undefined ? [] : [{ ...toClaimed(row), attempt: Number(row['attempts']) + 1 }];
    });
  }

  /** Redis driver: BullMQ holds these runs now. */
  markDispatched(tx: DatabaseSync, jobs: readonly ClaimedJob[]): void {
    const update = this.#sql(tx, "UPDATE jobs SET dispatched_at = ?, attempts = ? WHERE id = ? AND run = ? AND state = 'queued' AND dispatched_at IS NULL");
    const now = this.#now();
    for (const job of jobs) update.run(now, job.attempt, job.id, job.run);
  }

  /** Redis driver: runs handed to BullMQ at least `olderThanMs` ago and not finished, to check on. */
  inFlight(olderThanMs: number, limit: number): ClaimedJob[] {
    return this.#sql(this.db.sqlite, "SELECT * FROM jobs WHERE dispatched_at IS NOT NULL AND dispatched_at <= ? AND state IN ('queued', 'running') ORDER BY dispatched_at LIMIT ?")
      .all(this.#now() - olderThanMs, limit)
      .map(toClaimed);
  }

  /** Redis driver: BullMQ no longer knows the run (Redis lost its data): send it again. */
  undispatch(tx: DatabaseSync, id: number, run: number): void {
    this.#sql(tx, "UPDATE jobs SET state = 'queued', dispatched_at = NULL, attempts = MAX(0, attempts - 1) WHERE id = ? AND run = ? AND dispatched_at IS NOT NULL AND state IN ('queued', 'running')").run(id, run);
  }

  /** Redis driver: a worker has started the run. */
  markStarted(tx: DatabaseSync, id: number, run: number, attempt: number, startedAt: number): void {
    // The worker may be quicker than the dispatcher's own note that it sent the job.
    this.#sql(tx, 
      "UPDATE jobs SET state = 'running', started_at = ?, attempts = MAX(attempts, ?), dispatched_at = COALESCE(dispatched_at, ?) WHERE id = ? AND run = ? AND state = 'queued'",
    ).run(startedAt, attempt, this.#now(), id, run);
  }

  setProgress(tx: DatabaseSync, id: number, run: number, percent: number): void {
    const p = Math.max(0, Math.min(100, Number.isFinite(percent) ? percent : 0));
    this.#sql(tx, "UPDATE jobs SET progress = ? WHERE id = ? AND run = ? AND state IN ('queued', 'running')").run(p, id, run);
  }

  /** Records a result (once: a late or repeated answer for an older run is ignored). */
  complete(tx: DatabaseSync, id: number, run: number, result: unknown): boolean {
    const row = this.#sql(tx, 
        "UPDATE jobs SET state = 'completed', finished_at = ?, progress = 100, result = ?, dispatched_at = NULL WHERE id = ? AND run = ? AND state IN ('queued', 'running') RETURNING *",
      )
      .get(this.#now(), JSON.stringify(result ?? null), id, run);
    if (row === undefined) return false;
    const record = toRecord(row);
    this.#registry.get(record.type)?.onCompleted?.(tx, record, result);
    return true;
  }

  /** Records a failed attempt: retry later (transient, attempts left) or fail for good. */
  fail(
    tx: DatabaseSync,
    id: number,
    run: number,
    kind: JobErrorKind,
    reason: string,
    options: { nextRunOnRetry: boolean; attempt?: number },
  ): FailureOutcome | undefined {
    const row = this.#sql(tx, "SELECT * FROM jobs WHERE id = ? AND run = ? AND state IN ('queued', 'running')").get(id, run);
    if (row === undefined) return undefined;
    const now = this.#now();
    const attempts = Math.max(Number(row['attempts']), options.attempt ?? 0);
    if (attempts !== Number(row['attempts'])) this.#sql(tx, 'UPDATE jobs SET attempts = ? WHERE id = ?').run(attempts, id);
    if (kind === JobErrorKind.Permanent || attempts >= Number(row['max_attempts'])) {
      this.#sql(tx, "UPDATE jobs SET state = 'failed', finished_at = ?, last_error = ?, error_kind = ?, dispatched_at = NULL WHERE id = ?").run(now, reason, kind, id);
      return { state: JobState.Failed, retryAt: null };
    }
    const definition = this.#registry.get(String(row['type']));
    const retryAt = now + backoffDelay(attempts, definition?.backoff ?? defaultBackoff);
    this.#sql(tx, 
      "UPDATE jobs SET state = 'queued', run_at = ?, last_error = ?, error_kind = ?, dispatched_at = NULL, run = run + ? WHERE id = ?",
    ).run(retryAt, reason, kind, options.nextRunOnRetry ? 1 : 0, id);
    return { state: JobState.Queued, retryAt };
  }

  /**
   * Embedded driver, at start: jobs left running by a process that died go back to the queue (their
   * attempt counts, so a job that crashes the process cannot loop forever).
   */
  recoverInterrupted(tx: DatabaseSync): number {
    const now = this.#now();
    const failed = this.#sql(tx, "UPDATE jobs SET state = 'failed', finished_at = ?, last_error = 'interrupted (process stopped while running)', error_kind = 'interrupted' WHERE state = 'running' AND attempts >= max_attempts")
      .run(now).changes;
    const requeued = this.#sql(tx, "UPDATE jobs SET state = 'queued', run_at = ?, last_error = 'interrupted (process stopped while running)', error_kind = 'interrupted' WHERE state = 'running'")
      .run(now).changes;
    return Number(failed) + Number(requeued);
  }

  /**
   * Graceful stop past the deadline: the run did not fail, so its attempt does not count. A new run
   * number, so that a late answer of the cut-off run is ignored.
   */
  requeue(tx: DatabaseSync, id: number, run: number): void {
    this.#sql(tx, 
      "UPDATE jobs SET state = 'queued', attempts = MAX(0, attempts - 1), run = run + 1, run_at = ?, dispatched_at = NULL, last_error = 'interrupted by shutdown', error_kind = 'interrupted' WHERE id = ? AND run = ? AND state IN ('running', 'queued')",
    ).run(this.#now(), id, run);
  }

  /** The earliest due time of waiting jobs of these types, for the wake-up timer. */
  nextRunAt(types: readonly string[]): number | null {
    if (types.length === 0) return null;
    const row = this.#sql(this.db.sqlite, `SELECT MIN(run_at) AS t FROM jobs WHERE state = 'queued' AND dispatched_at IS NULL AND type IN (${types.map(() => '?').join(', ')})`)
      .get(...types);
    return row?.['t'] === null || row?.['t'] === undefined ? null : Number(row['t']);
  }

  get(id: number): JobRecord | undefined {
    const row = this.#sql(this.db.sqlite, 'SELECT * FROM jobs WHERE id = ?').get(id);
    return row === undefined ? undefined : toRecord(row);
  }

  list(filter: JobFilter = {}): JobPage {
    const limit = Math.max(1, Math.min(500, filter.limit ?? 50));
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.state !== undefined) {
      where.push('state = ?');
      args.push(filter.state);
    }
    if (filter.type !== undefined) {
      where.push('type = ?');
      args.push(filter.type);
    }
    if (filter.before !== undefined) {
      where.push('id < ?');
      args.push(filter.before);
    }
    const rows = this.#sql(this.db.sqlite, `SELECT * FROM jobs ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`} ORDER BY id DESC LIMIT ?`)
      .all(...args, limit + 1);
    const items = rows.slice(0, limit).map(toRecord);
    return { items, next: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
  }

  retry(tx: DatabaseSync, id: number): JobRecord {
    const row = this.#sql(tx, 'SELECT * FROM jobs WHERE id = ?').get(id);
    if (row === undefined) throw new GatewayError(ErrorCode.NotFound, `job ${id} does not exist`);
    if (row['state'] !== JobState.Failed) throw new GatewayError(ErrorCode.Conflict, `job ${id} is ${String(row['state'])}; only failed jobs can be retried`);
    const updated = this.#sql(tx, 
        "UPDATE jobs SET state = 'queued', attempts = 0, run = run + 1, run_at = ?, finished_at = NULL, progress = 0, dispatched_at = NULL WHERE id = ? RETURNING *",
      )
      .get(this.#now(), id);
    return toRecord(updated ?? row);
  }

  /** Jobs waiting, running and failed (completed ones are not counted: cheap enough for a health check). */
  counts(): { queued: number; running: number; failed: number } {
    const count = this.#sql(this.db.sqlite, 'SELECT COUNT(*) AS n FROM jobs WHERE state = ?');
    const n = (state: JobState) => Number(count.get(state)?.['n'] ?? 0);
    return { queued: n(JobState.Queued), running: n(JobState.Running), failed: n(JobState.Failed) };
  }

  /** Forgets completed jobs and failed ones older than the given ages (by finish time). */
  prune(keepCompletedMs: number, keepFailedMs: number): number {
    const now = this.#now();
    const del = this.#sql(this.db.sqlite, 'DELETE FROM jobs WHERE state = ? AND finished_at < ?');
    return Number(del.run(JobState.Completed, now - keepCompletedMs).changes) + Number(del.run(JobState.Failed, now - keepFailedMs).changes);
  }
}
