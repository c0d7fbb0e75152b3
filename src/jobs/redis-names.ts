/** Names shared by the gateway and `dicom-gateway worker`: one BullMQ queue per job type, one for results. */
export const resultsQueueName = 'results';

export function typeQueueName(type: string): string {
  return `jobs.${type}`;
}

/** BullMQ job id of one run of a ledger job: stable, so that a repeated dispatch is not a second job. */
export function bullJobId(id: number, run: number): string {
  return `${id}-${run}`;
}

/** What a BullMQ job of ours carries: ids only, never the data itself. */
export interface WireJob {
  id: number;
  run: number;
  attempt: number;
  payload: unknown;
  correlationId: string;
}

/** What workers send back to the main process through the results queue. */
export type WireResult =
  | { kind: 'started'; id: number; run: number; attempt: number; at: number }
  | { kind: 'progress'; id: number; run: number; percent: number }
  | { kind: 'completed'; id: number; run: number; result: unknown }
  | { kind: 'failed'; id: number; run: number; attempt: number; errorKind: 'transient' | 'permanent'; reason: string }
  /** The worker stopped before the job finished: it goes back to the queue, its attempt not counted. */
  | { kind: 'interrupted'; id: number; run: number };

/** Waits for `promise` at most `ms` of real time (closing connections must not hang a shutdown when Redis is away). */
export async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

