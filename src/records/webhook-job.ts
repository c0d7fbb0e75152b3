import { z } from 'zod';
import type { Clock } from '../clock.ts';
import type { RecordsConfig } from '../config/records-schema.ts';
import { PermanentJobError, TransientJobError, type JobDefinition } from '../jobs/index.ts';
import { WebhookHeader, webhookSignature } from './webhook-signature.ts';

export const recordsWebhookType = 'records-webhook';

export const RecordEvent = {
  Created: 'record.created',
  Updated: 'record.updated',
  Assigned: 'record.assigned',
} as const;
export type RecordEvent = (typeof RecordEvent)[keyof typeof RecordEvent];

/**
 * The whole request body travels in the payload (written in the main process, which has the
 * database), so that a `dicom-gateway worker` without the database can send it.
 */
const payload = z
  .object({
    delivery: z.uuid(),
    event: z.enum([RecordEvent.Created, RecordEvent.Updated, RecordEvent.Assigned]),
    body: z.string().min(2).max(14 * 1024),
  })
  .strict();
export type RecordsWebhookPayload = z.infer<typeof payload>;

/** Statuses that say the receiver will never take this request. */
function isPermanentRefusal(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 425 && status !== 429;
}

/**
 * POSTs one entry event, signed (see webhook-signature.ts). A receiver that is down or answers 5xx
 * gets the request again with backoff until the attempts run out; a 4xx other than 408, 425 or 429
 * fails the job at once (it shows among failed jobs and can be retried from the API).
 */
export function recordsWebhookJob(deps: { webhook: RecordsConfig['webhook']; clock: Clock }): JobDefinition<RecordsWebhookPayload, { status: number } | { skipped: string }> {
  const { webhook } = deps;
  return {
    type: recordsWebhookType,
    payload,
    maxAttempts: webhook.maxAttempts,
    backoff: { baseMs: webhook.retrySeconds * 1000, maxMs: Math.max(webhook.retrySeconds, webhook.maxRetrySeconds) * 1000 },
    handler: async (ctx) => {
      if (webhook.url === undefined || webhook.secret === undefined) return { skipped: 'no webhook is configured (records.webhook.url)' };
      const timestamp = String(Math.floor(deps.clock.now().getTime() / 1000));
      let response: Response;
      try {
        response = await fetch(webhook.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            [WebhookHeader.Event]: ctx.payload.event,
            [WebhookHeader.Delivery]: ctx.payload.delivery,
            [WebhookHeader.Timestamp]: timestamp,
            [WebhookHeader.Signature]: webhookSignature(webhook.secret, timestamp, ctx.payload.body),
          },
          body: ctx.payload.body,
          signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(webhook.timeoutSeconds * 1000)]),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
        throw new TransientJobError(`the webhook receiver could not be reached (${cause})`);
      }
      await response.body?.cancel();
      if (response.ok) return { status: response.status };
      if (isPermanentRefusal(response.status)) throw new PermanentJobError(`the webhook receiver refused the request with HTTP ${response.status}`);
      throw new TransientJobError(`the webhook receiver answered HTTP ${response.status}`);
    },
  };
}
