import { createHash, randomUUID } from 'node:crypto';

/**
 * A new UID under `root`. Under `2.25` it is the UUID as a decimal integer (PS3.5 B.2); under any other
 * root, random decimal digits fill the room up to 64 characters (at most 38, i.e. 122 bits).
 */
export function generateUid(root: string): string {
  const uuid = BigInt(`0x${randomUUID().replaceAll('-', '')}`);
  if (root === '2.25') return `2.25.${uuid.toString()}`;
  const room = 64 - root.length - 1;
  const digits = uuid.toString().slice(0, Math.min(room, 38)).replace(/^0+/, '') || '1';
  return `${root}.${digits}`;
}

export function isValidUid(uid: string): boolean {
  return uid.length <= 64 && /^(0|[1-9]\d*)(\.(0|[1-9]\d*))+$/.test(uid);
}

/**
 * A UID under 2.25 that is always the same for the same name: an RFC 9562 version 8 UUID from the
 * name's SHA-256, as a decimal integer. What we make from received content (a PDF filed as an
 * instance) gets the same UID when the content comes again, so the archive sees a duplicate.
 */
export function nameBasedUid(name: string): string {
  const bytes = createHash('sha256').update(name).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  return `2.25.${BigInt(`0x${bytes.toString('hex')}`).toString()}`;
}
