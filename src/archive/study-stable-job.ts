import type { DatabaseSync } from 'node:sqlite';
import { z } from 'zod';
import type { JobDefinition } from '../jobs/index.ts';

export const studyStableType = 'study-stable';

const payload = z.object({ studyInstanceUid: z.string().regex(/^[0-9]+(\.[0-9]+)*$/).max(64) }).strict();
export type StudyStablePayload = z.infer<typeof payload>;

/**
 * Per-study work once a study is complete (the e-mail relay, later GDT results). The handler itself
 * has nothing to do; `afterStable` runs in the main process, in the transaction that completes the
 * job, and queues the follow-up work (the relay's routing rules), so that it is queued exactly once.
 */
export function studyStableJob(deps: { afterStable?: (tx: DatabaseSync, studyInstanceUid: string) => void } = {}): JobDefinition<StudyStablePayload, Record<string, never>> {
  const { afterStable } = deps;
  return {
    type: studyStableType,
    payload,
    maxAttempts: 3,
    handler: async () => ({}),
    ...(afterStable === undefined ? {} : { onCompleted: (tx: DatabaseSync, job: { payload: unknown }) => afterStable(tx, (job.payload as StudyStablePayload).studyInstanceUid) }),
  };
}
