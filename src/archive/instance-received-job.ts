import { z } from 'zod';

export const instanceReceivedType = 'instance-received';

/**
 * The job recorded with every stored instance, in the transaction that indexes it. It carries what a
 * handler in another process (no database there) needs: the instance's file, relative to `archive/`.
 * The rendering capability handles it (src/rendering/render-job.ts).
 */
export const instanceReceivedPayload = z
  .object({
    instanceId: z.number().int().positive(),
    sopInstanceUid: z.string().min(1).max(64),
    // As archivePath() makes them: <16 hex>/<16 hex>/<UID>.dcm, so that no payload can point outside archive/.
    path: z.string().regex(/^[0-9a-f]{16}\/[0-9a-f]{16}\/[0-9]+(\.[0-9]+)*(\.r[0-9a-f]+)?\.dcm$/, 'an archive path as archivePath() or replacementPath() makes it'),
  })
  .strict();
export type InstanceReceivedPayload = z.infer<typeof instanceReceivedPayload>;
