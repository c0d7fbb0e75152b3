/**
 * Polls `condition` until it holds (real time, for work that really runs: Redis, child processes).
 * Never an assertion by itself: the test asserts on what it then finds. `onPoll` may drive a clock.
 */
export async function waitFor<T>(
  condition: () => T | undefined | false | null | Promise<T | undefined | false | null>,
  options: { timeoutMs?: number; intervalMs?: number; what?: string; onPoll?: () => void } = {},
): Promise<T> {
  const until = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    const value = await condition();
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${options.what ?? 'condition'}`);
    options.onPoll?.();
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 5));
  }
}

/** A promise with its resolve function, for handlers that wait until the test lets them go. */
export function gate<T = void>(): { promise: Promise<T>; open(value: T): void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
