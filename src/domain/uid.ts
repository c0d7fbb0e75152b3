import { randomUUID } from 'node:crypto';

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
