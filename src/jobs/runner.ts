import type { Logger } from '../log.ts';
import { classifyJobError, errorReason } from './errors.ts';
import type { ClaimedJob } from './ledger.ts';
import { JobErrorKind, type AnyJobDefinition } from './port.ts';

export type RunOutcome =
  | { kind: 'completed'; result: unknown }
  | { kind: 'failed'; errorKind: typeof JobErrorKind.Transient | typeof JobErrorKind.Permanent; reason: string };

/**
 * Runs one attempt of a job in this process: validates the payload again (it may have been written
 * by another version), gives the handler a logger with the job's correlation id, and turns what it
 * throws into transient or permanent. Never throws.
 */
export async function runAttempt(
  definition: AnyJobDefinition | undefined,
  job: Omit<ClaimedJob, 'key'>,
  deps: { log: Logger; signal: AbortSignal; progress(percent: number): Promise<void> },
): Promise<RunOutcome> {
  const log = deps.log.child({ jobId: job.id, jobType: job.type, attempt: job.attempt, correlationId: job.correlationId });
  if (definition === undefined) {
    return { kind: 'failed', errorKind: JobErrorKind.Permanent, reason: `no handler for job type "${job.type}" in this process` };
  }
  const parsed = definition.payload.safeParse(job.payload);
  if (!parsed.success) {
    log.error({ issues: parsed.error.issues.length }, 'job payload does not match its schema');
    return { kind: 'failed', errorKind: JobErrorKind.Permanent, reason: `invalid payload: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
  }
  const started = performance.now();
  try {
    const result = await definition.handler({
      id: job.id,
      type: job.type,
      payload: parsed.data,
      attempt: job.attempt,
      correlationId: job.correlationId,
      log,
      signal: deps.signal,
      progress: deps.progress,
    });
    log.debug({ ms: Math.round(performance.now() - started) }, 'job completed');
    return { kind: 'completed', result: result ?? null };
  } catch (err) {
    const errorKind = classifyJobError(err);
    log.warn({ err, errorKind, ms: Math.round(performance.now() - started) }, 'job attempt failed');
    return { kind: 'failed', errorKind, reason: errorReason(err) };
  }
}
