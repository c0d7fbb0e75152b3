import { estimateMailSize } from './message-builder.ts';

/**
 * Splits files (in order) into groups whose mail stays within `limit` bytes, by whole files: a file is
 * never cut. Returns the index of a file that alone is too large instead, since no split can send it.
 */
export function splitBySize<T extends { size: number }>(files: readonly T[], limit: number): { groups: T[][] } | { tooLarge: number } {
  const groups: T[][] = [];
  let current: T[] = [];
  for (const [i, file] of files.entries()) {
    if (estimateMailSize([file.size]) > limit) return { tooLarge: i };
    if (current.length > 0 && estimateMailSize([...current, file].map((f) => f.size)) > limit) {
      groups.push(current);
      current = [];
    }
    current.push(file);
  }
  if (current.length > 0) groups.push(current);
  return { groups };
}

/**
 * Plans the mails of a send: whole files per mail within `limit`; a file too large for any mail goes
 * alone in a mail that is sent as message/partial fragments (RFC 2046 5.2.2) of at most `limit`.
 */
export function planMails<T extends { size: number }>(files: readonly T[], limit: number): { files: T[]; fragment: boolean }[] {
  const plan: { files: T[]; fragment: boolean }[] = [];
  let current: T[] = [];
  for (const file of files) {
    if (estimateMailSize([file.size]) > limit) {
      plan.push({ files: [file], fragment: true });
      continue;
    }
    if (current.length > 0 && estimateMailSize([...current, file].map((f) => f.size)) > limit) {
      plan.push({ files: current, fragment: false });
      current = [];
    }
    current.push(file);
  }
  if (current.length > 0) plan.push({ files: current, fragment: false });
  return plan;
}
