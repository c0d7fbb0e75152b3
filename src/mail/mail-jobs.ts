import { PermanentJobError, TransientJobError, type AnyJobDefinition, type JobDefinition } from '../jobs/index.ts';
import { mailReceiptPayload, mailReceiptType, mailRoutePayload, mailRouteType, mailSendPayload, mailSendType } from './job-types.ts';
import { SendFailure, type MailOutbound } from './outbound.ts';

/** A mail not sent, as the job layer retries it: never again (5xx, TLS refused) or later (4xx, no connection). */
function asJobError(err: unknown): unknown {
  if (!(err instanceof SendFailure)) return err;
  return err.outcome.kind === 'permanent' ? new PermanentJobError(err.message) : new TransientJobError(err.message);
}

/**
 * The relay's job types. They read the database (partners, the archive index), so they run in the
 * gateway process: with the Redis driver, keep `queue.runWorkers` on for them.
 */
export function mailJobs(deps: { outbound: MailOutbound; sendAttempts: number }): AnyJobDefinition[] {
  const send: JobDefinition<{ outboundId: number }, { state: string }> = {
    type: mailSendType,
    payload: mailSendPayload,
    maxAttempts: deps.sendAttempts,
    // A 4xx usually means the server is busy or a quota is full: minutes, not seconds.
    backoff: { baseMs: 60_000, maxMs: 60 * 60_000 },
    handler: async (ctx) => {
      try {
        const mail = await deps.outbound.send(ctx.payload.outboundId, { last: ctx.attempt >= deps.sendAttempts });
        return { state: mail.state };
      } catch (err) {
        throw asJobError(err);
      }
    },
  };
  const route: JobDefinition<{ studyInstanceUid: string; partner: string }, { mails: number }> = {
    type: mailRouteType,
    payload: mailRoutePayload,
    maxAttempts: 5,
    handler: async (ctx) => {
      const mails = await deps.outbound.sendStudy({ studyInstanceUid: ctx.payload.studyInstanceUid, partner: ctx.payload.partner, trigger: 'rule', correlationId: ctx.correlationId });
      return { mails: mails.length };
    },
  };
  const receipt: JobDefinition<{ inboundId: number }, Record<string, never>> = {
    type: mailReceiptType,
    payload: mailReceiptPayload,
    maxAttempts: deps.sendAttempts,
    backoff: { baseMs: 60_000, maxMs: 60 * 60_000 },
    handler: async (ctx) => {
      try {
        await deps.outbound.sendReceipt(ctx.payload.inboundId);
        return {};
      } catch (err) {
        throw asJobError(err);
      }
    },
  };
  return [send, route, receipt];
}
