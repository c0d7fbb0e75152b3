import { createHmac, timingSafeEqual } from 'node:crypto';

/** The headers of a webhook request; the receiver checks the signature before anything else. */
export const WebhookHeader = {
  Event: 'x-gateway-event',
  Delivery: 'x-gateway-delivery',
  Timestamp: 'x-gateway-timestamp',
  Signature: 'x-gateway-signature',
} as const;

/**
 * `sha256=` and the hex HMAC-SHA256, keyed with the shared secret, of `<timestamp>.<body>`: the
 * timestamp header's value (Unix seconds), a full stop, and the exact bytes of the request body.
 * Signing the timestamp lets the receiver refuse replays of old requests.
 */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** The receiver's check, in constant time. */
export function isValidWebhookSignature(secret: string, timestamp: string, body: string, signature: string): boolean {
  const expected = Buffer.from(webhookSignature(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
