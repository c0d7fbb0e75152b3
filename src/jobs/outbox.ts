import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { backoffDelay } from './backoff.ts';
import type { ClaimedJob, JobLedger } from './ledger.ts';

const dispatchBackoff = { baseMs: 1000, maxMs: 30_000 };
const batchSize = 500;

/**
 * Moves outbox rows (jobs recorded in SQLite with the state change that caused them) into BullMQ and
 * marks them sent. Sending uses the row's id and run as the BullMQ job id, so a crash between sending
 * and marking sends the same job again, which BullMQ ignores. While Redis is away it tries again with
 * backoff from the injected clock; enqueueing is untouched (a SQLite insert) and nothing is lost.
 */
export class OutboxDispatcher {
  readonly #ledger: JobLedger;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #types: () => readonly string[];
  readonly #send: (jobs: readonly ClaimedJob[]) => Promise<void>;
  #running = false;
  #pumping = false;
  #again = false;
  #failures = 0;
  #cancelTimer: (() => void) | undefined;
  #lastError: string | undefined;
  /** The clock's time when the dispatcher last looked for due jobs. */
  #lookedAt = 0;

  constructor(deps: { ledger: JobLedger; clock: Clock; log: Logger; types: () => readonly string[]; send: (jobs: readonly ClaimedJob[]) => Promise<void> }) {
    this.#ledger = deps.ledger;
    this.#clock = deps.clock;
    this.#log = deps.log;
    this.#types = deps.types;
    this.#send = deps.send;
  }

  /** Consecutive failed sends (0 while Redis answers) and the last error. */
  get status(): { failures: number; lastError: string | undefined } {
    return { failures: this.#failures, lastError: this.#lastError };
  }

  start(): void {
    this.#running = true;
    this.wake();
  }

  /** Waits for a send in flight. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#cancelTimer?.();
    while (this.#pumping) await new Promise((r) => setImmediate(r));
  }

  wake(): void {
    if (!this.#running) return;
    // While backing off from a Redis outage, the timer decides when to try again.
    if (this.#failures > 0 && this.#cancelTimer !== undefined) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    void this.#pump();
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      do {
        this.#again = false;
        for (;;) {
          if (!this.#running) return;
          this.#lookedAt = this.#clock.now().getTime();
          const jobs = this.#ledger.dispatchable(this.#types(), batchSize);
          if (jobs.length === 0) break;
          try {
            await this.#send(jobs);
          } catch (err) {
            this.#failures++;
            this.#lastError = (err as Error).message;
            const delay = backoffDelay(this.#failures, dispatchBackoff);
            if (this.#failures === 1 || this.#failures % 20 === 0) {
              this.#log.warn({ err: this.#lastError, waiting: jobs.length, retryInMs: delay, failures: this.#failures }, 'cannot hand jobs to Redis; they wait in the outbox');
            }
            this.#arm(delay);
            return;
          }
          if (this.#failures > 0) this.#log.info({ failures: this.#failures }, 'Redis reachable again; outbox draining');
          this.#failures = 0;
          this.#lastError = undefined;
          await this.#ledger.db.write((tx) => this.#ledger.markDispatched(tx, jobs));
          if (jobs.length < batchSize) break;
        }
      } while (this.#again);
      this.#armForNextDue();
    } catch (err) {
      this.#log.error({ err }, 'outbox dispatch failed; trying again in a second');
      this.#arm(1000);
    } finally {
      this.#pumping = false;
    }
  }

  #armForNextDue(): void {
    const next = this.#ledger.nextRunAt(this.#types());
    const now = this.#clock.now().getTime();
    if (next !== null && next > now) this.#arm(next - now);
    else if (next !== null && next > this.#lookedAt) {
      // Due since the dispatcher looked (time moved on while it sent): no timer would fire for it.
      this.#lookedAt = now;
      setImmediate(() => this.wake());
    }
  }

  #arm(ms: number): void {
    this.#cancelTimer?.();
    this.#cancelTimer = this.#clock.setTimer(ms, () => {
      this.#cancelTimer = undefined;
      this.wake();
    });
  }
}
