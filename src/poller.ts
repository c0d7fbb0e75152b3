import type { Clock } from './clock.ts';

/**
 * Runs a pass now and then, on the injectable clock: the next pass is timed from the end of the last,
 * and a pass asked for while one runs shares it. For the folders the gateway watches.
 */
export class Poller<T> {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #pass: () => Promise<T>;
  #cancel: (() => void) | undefined;
  #running: Promise<T> | undefined;
  #stopped = true;

  constructor(clock: Clock, intervalMs: number, pass: () => Promise<T>) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    this.#pass = pass;
  }

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Stops the timer and waits for a pass under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancel?.();
    await this.#running?.catch(() => undefined);
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** A pass now, or the one under way. */
  run(): Promise<T> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#cancel = this.#clock.setTimer(ms, () => {
      void this.run()
        .catch(() => undefined)
        .finally(() => this.#schedule(this.#intervalMs));
    });
  }
}
