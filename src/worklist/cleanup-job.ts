import { z } from 'zod';
import type { Clock } from '../clock.ts';
import { cleanupWorklist } from '../db/index.ts';
import type { JobDefinition, ScheduleDefinition } from '../jobs/index.ts';
import { worklistCleanupCutoffs } from './cleanup.ts';

export const worklistCleanupType = 'worklist-cleanup';

/**
 * The daily cleanup as a job. Workers never open the database, so the handler does nothing and the
 * removal happens where results are recorded: in the main process, in the transaction that marks
 * the job completed.
 */
export function worklistCleanupJob(deps: { clock: Clock; timeZone: string; cleanup: { pastDays: number; finishedDays: number } }): JobDefinition<Record<string, never>, Record<string, never>> {
  return {
    type: worklistCleanupType,
    payload: z.object({}).strict() as unknown as z.ZodType<Record<string, never>>,
    maxAttempts: 3,
    handler: async () => ({}),
    onCompleted(tx) {
      const { pastBefore, finishedBefore } = worklistCleanupCutoffs(deps.clock.now(), deps.timeZone, deps.cleanup);
      cleanupWorklist(tx, pastBefore, finishedBefore);
    },
  };
}

export function worklistCleanupSchedule(hour: number): ScheduleDefinition {
  return { name: worklistCleanupType, type: worklistCleanupType, cron: `0 ${hour} * * *`, payload: {} };
}
