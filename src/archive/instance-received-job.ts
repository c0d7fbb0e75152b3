import { z } from 'zod';
import type { JobDefinition } from '../jobs/index.ts';

export const instanceReceivedType = 'instance-received';

const payload = z.object({ instanceId: z.number().int().positive(), sopInstanceUid: z.string().min(1).max(64) }).strict();
export type InstanceReceivedPayload = z.infer<typeof payload>;

/**
 * Follow-up work for a received instance (rendering, attaching to records, forwarding), recorded in
 * the transaction that indexes it. Nothing follows yet: the handler completes at once.
 */
export function instanceReceivedJob(): JobDefinition<InstanceReceivedPayload, Record<string, never>> {
  return {
    type: instanceReceivedType,
    payload,
    maxAttempts: 3,
    concurrency: 4,
    handler: async () => ({}),
  };
}
