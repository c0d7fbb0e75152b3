import { z } from 'zod';

/** Sends one planned mail. */
export const mailSendType = 'mail-send';
export const mailSendPayload = z.object({ outboundId: z.number().int().positive() }).strict();

/** Sends our signed receipt for a received and imported mail back to the partner. */
export const mailReceiptType = 'mail-receipt';
export const mailReceiptPayload = z.object({ inboundId: z.number().int().positive() }).strict();

/** Plans the send of a complete study to a partner whose routing rules take it. */
export const mailRouteType = 'mail-route';
export const mailRoutePayload = z.object({ studyInstanceUid: z.string().regex(/^[0-9]+(\.[0-9]+)*$/).max(64), partner: z.string().min(1).max(100) }).strict();
