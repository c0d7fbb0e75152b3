import type { BackoffPolicy } from './port.ts';

export const defaultBackoff: BackoffPolicy = { baseMs: 1000, maxMs: 15 * 60 * 1000 };

/**
 * Delay before attempt `failedAttempt + 1`: base, 2 base, 4 base, ... capped. Deterministic (no
 * jitter) so that tests can drive it with the clock; jobs of one site rarely fail in lockstep.
 */
export function backoffDelay(failedAttempt: number, policy: BackoffPolicy = defaultBackoff): number {
  const exp = Math.max(0, failedAttempt - 1);
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(exp, 30));
}
