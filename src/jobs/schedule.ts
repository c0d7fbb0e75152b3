import { CronExpressionParser } from 'cron-parser';
import type { Clock } from '../clock.ts';
import { ErrorCode, GatewayError } from '../domain/errors.ts';
import type { Logger } from '../log.ts';
import type { JobLedger } from './ledger.ts';
import type { EnqueueResult, ScheduleDefinition, ScheduleRecord } from './port.ts';
import type { JobRegistry } from './registry.ts';

/** The next time after `after` (epoch ms) that `cron` names in `timezone`. */
export function nextCronTime(cron: string, timezone: string, after: number): number {
  return CronExpressionParser.parse(cron, { currentDate: new Date(after), tz: timezone }).next().getTime();
}

const iso = (ms: unknown): string | null => (ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString());

/**
 * Repeatable jobs: rows of `job_schedules`, each enqueueing its job (deduplicated by the key
 * `schedule:<name>`) when its time in the site's time zone comes. One timer, from the injected clock,
 * for the earliest due schedule. A run missed while the gateway was down happens once at start.
 */
export class Scheduler {
  readonly #ledger: JobLedger;
  readonly #registry: JobRegistry;
  readonly #clock: Clock;
  readonly #timezone: string;
  readonly #log: Logger;
  readonly #onEnqueued: () => void;
  #cancelTimer: (() => void) | undefined;
  #running = false;

  constructor(deps: { ledger: JobLedger; registry: JobRegistry; clock: Clock; timezone: string; log: Logger; onEnqueued: () => void }) {
    this.#ledger = deps.ledger;
    this.#registry = deps.registry;
    this.#clock = deps.clock;
    this.#timezone = deps.timezone;
    this.#log = deps.log;
    this.#onEnqueued = deps.onEnqueued;
  }

  get #sqlite() {
    return this.#ledger.db.sqlite;
  }

  #toRecord(row: Record<string, unknown>): ScheduleRecord {
    return {
      name: String(row['name']),
      type: String(row['type']),
      cron: String(row['cron']),
      timezone: this.#timezone,
      payload: JSON.parse(String(row['payload'])),
      paused: row['paused'] === 1,
      nextRunAt: iso(row['next_run_at']),
      lastRunAt: iso(row['last_run_at']),
      lastJobId: row['last_job_id'] === null ? null : Number(row['last_job_id']),
    };
  }

  #row(name: string): Record<string, unknown> {
    const row = this.#sqlite.prepare('SELECT * FROM job_schedules WHERE name = ?').get(name);
    if (row === undefined) throw new GatewayError(ErrorCode.NotFound, `schedule "${name}" does not exist`);
    return row;
  }

  upsert(definition: ScheduleDefinition): ScheduleRecord {
    const job = this.#registry.require(definition.type);
    const now = this.#clock.now().getTime();
    let next: number;
    try {
      next = nextCronTime(definition.cron, this.#timezone, now);
    } catch (err) {
      throw new GatewayError(ErrorCode.Invalid, `schedule "${definition.name}": invalid cron expression "${definition.cron}"`, { cause: err });
    }
    const payload = job.payload.parse(definition.payload);
    this.#ledger.db.transaction((tx) => {
      const existing = tx.prepare('SELECT cron, next_run_at FROM job_schedules WHERE name = ?').get(definition.name);
      // A schedule whose times did not change keeps its next run (e.g. one missed while we were down).
      const keepNext = existing !== undefined && existing['cron'] === definition.cron && existing['next_run_at'] !== null;
      tx.prepare(
        `INSERT INTO job_schedules (name, type, cron, payload, next_run_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET type = excluded.type, cron = excluded.cron, payload = excluded.payload,
           next_run_at = ${keepNext ? 'job_schedules.next_run_at' : 'excluded.next_run_at'}, updated_at = excluded.updated_at`,
      ).run(definition.name, definition.type, definition.cron, JSON.stringify(payload ?? null), next, now, now);
    });
    if (this.#running) this.#arm();
    return this.#toRecord(this.#row(definition.name));
  }

  list(): ScheduleRecord[] {
    return this.#sqlite.prepare('SELECT * FROM job_schedules ORDER BY name').all().map((r) => this.#toRecord(r));
  }

  runNow(name: string): EnqueueResult {
    const row = this.#row(name);
    const result = this.#ledger.db.transaction((tx) => {
      const r = this.#ledger.insert(tx, { type: String(row['type']), payload: JSON.parse(String(row['payload'])), key: `schedule:${name}` }, name);
      tx.prepare('UPDATE job_schedules SET last_run_at = ?, last_job_id = ? WHERE name = ?').run(this.#clock.now().getTime(), r.id, name);
      return r;
    });
    this.#onEnqueued();
    return result;
  }

  setPaused(name: string, paused: boolean): ScheduleRecord {
    const row = this.#row(name);
    const now = this.#clock.now().getTime();
    const next = paused ? null : nextCronTime(String(row['cron']), this.#timezone, now);
    this.#sqlite.prepare('UPDATE job_schedules SET paused = ?, next_run_at = ?, updated_at = ? WHERE name = ?').run(paused ? 1 : 0, next, now, name);
    if (this.#running) this.#arm();
    return this.#toRecord(this.#row(name));
  }

  start(): void {
    this.#running = true;
    this.#fireDue();
  }

  stop(): void {
    this.#running = false;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
  }

  #fireDue(): void {
    if (!this.#running) return;
    const now = this.#clock.now().getTime();
    let fired = 0;
    try {
      const due = this.#sqlite.prepare('SELECT * FROM job_schedules WHERE paused = 0 AND next_run_at IS NOT NULL AND next_run_at <= ? ORDER BY next_run_at').all(now);
      for (const row of due) {
        const name = String(row['name']);
        try {
          this.#ledger.db.transaction((tx) => {
            const r = this.#ledger.insert(tx, { type: String(row['type']), payload: JSON.parse(String(row['payload'])), key: `schedule:${name}` }, name);
            const next = nextCronTime(String(row['cron']), this.#timezone, now);
            tx.prepare('UPDATE job_schedules SET last_run_at = ?, last_job_id = ?, next_run_at = ? WHERE name = ?').run(now, r.id, next, name);
          });
          fired++;
        } catch (err) {
          this.#log.error({ err, schedule: name }, 'scheduled job could not be enqueued');
          // Move on to the next time rather than retrying in a tight loop.
          try {
            this.#sqlite.prepare('UPDATE job_schedules SET next_run_at = ? WHERE name = ?').run(nextCronTime(String(row['cron']), this.#timezone, now), name);
          } catch {
            this.#sqlite.prepare('UPDATE job_schedules SET paused = 1 WHERE name = ?').run(name);
          }
        }
      }
    } catch (err) {
      this.#log.error({ err }, 'schedules could not be read');
    }
    if (fired > 0) this.#onEnqueued();
    this.#arm();
  }

  #arm(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    if (!this.#running) return;
    const row = this.#sqlite.prepare('SELECT MIN(next_run_at) AS t FROM job_schedules WHERE paused = 0').get();
    const t = row?.['t'];
    if (t === null || t === undefined) return;
    this.#cancelTimer = this.#clock.setTimer(Math.max(0, Number(t) - this.#clock.now().getTime()), () => this.#fireDue());
  }
}
