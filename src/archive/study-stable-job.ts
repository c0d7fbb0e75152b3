import { z } from 'zod';
import type { JobDefinition } from '../jobs/index.ts';

export const studyStableType = 'study-stable';

const payload = z.object({ studyInstanceUid: z.string().regex(/^[0-9]+(\.[0-9]+)*$/).max(64) }).strict();
export type StudyStablePayload = z.infer<typeof payload>;

/**
 * Per-study work once a study is complete (the e-mail relay, later GDT results). Nothing follows yet:
 * the handler completes at once.
 */
export function studyStableJob(): JobDefinition<StudyStablePayload, Record<string, never>> {
  return { type: studyStableType, payload, maxAttempts: 3, handler: async () => ({}) };
}
