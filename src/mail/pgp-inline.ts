import type { FileHandle } from 'node:fs/promises';
import type { ContentType } from './mime.ts';
import { readRange, readRangeToBuffer, type Range } from './mime-file.ts';

/**
 * What the body of a mail that is not PGP/MIME holds, as far as inline PGP goes:
 * - `inline`: the whole text/plain body is one armored OpenPGP message (only blank space around it);
 * - `clearsigned`: a clear-signed text (signed, never encrypted);
 * - `refused`: an armored message, but not in a form we read (the reason says which);
 * - `none`: no inline PGP at all.
 */
export type InlineBody = { kind: 'inline'; armored: Range } | { kind: 'clearsigned' } | { kind: 'refused'; reason: string } | { kind: 'none' };

const begin = '-----BEGIN PGP MESSAGE-----';
const end = '-----END PGP MESSAGE-----';
const dashes = Buffer.from('\n-----', 'latin1');
const peek = 4096;

/**
 * Looks for inline PGP in the body `range` of a mail whose top-level type is `type`. Strict on
 * purpose: text/plain (or no Content-Type) in 7bit/8bit, and nothing but the one armored block,
 * so no unsigned text can ride along and an armored block inside quoted-printable is not guessed at.
 */
export async function findInlinePgp(handle: FileHandle, range: Range, type: ContentType, transferEncoding: string | undefined): Promise<InlineBody> {
  const first = (await readRangeToBuffer(handle, { start: range.start, end: Math.min(range.end, range.start + peek) }, peek, 'body')).toString('latin1');
  const lead = first.length - first.trimStart().length;
  const text = first.slice(lead);
  if (text.startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) return { kind: 'clearsigned' };
  if (!text.startsWith(begin)) return { kind: 'none' };
  if (type.type !== 'text/plain') return { kind: 'refused', reason: `inline PGP in a ${type.type} body (only a text/plain body is read)` };
  const cte = (transferEncoding ?? '7bit').toLowerCase();
  if (cte !== '7bit' && cte !== '8bit') return { kind: 'refused', reason: `inline PGP in a ${cte} body (only 7bit or 8bit is read)` };
  // Armor lines are base64 or headers: the only lines that start with five dashes are the BEGIN and END lines.
  const lines = await dashLines(handle, { start: range.start + lead, end: range.end });
  const last = lines[1];
  if (lines.length !== 2 || last === undefined) return { kind: 'refused', reason: `the body holds ${lines.length === 1 ? 'no END line' : 'more than one armored block or other dashed lines'}; inline PGP is read only as one armored OpenPGP message filling the body` };
  const tail = (await readRangeToBuffer(handle, { start: last, end: range.end }, peek, 'the text after the armored message')).toString('latin1');
  if (!tail.startsWith(end) || tail.slice(end.length).trim() !== '') return { kind: 'refused', reason: 'the armored OpenPGP message does not end the body (other text follows its END line)' };
  return { kind: 'inline', armored: { start: range.start + lead, end: range.end } };
}

/** Where each line starting with five dashes begins (the first line counts without a line break before it). */
async function dashLines(handle: FileHandle, range: Range): Promise<number[]> {
  const found = [range.start];
  let position = range.start;
  let carry = Buffer.alloc(0);
  for await (const chunk of readRange(handle, range)) {
    const view = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
    const base = position - carry.length;
    for (let i = view.indexOf(dashes); i !== -1; i = view.indexOf(dashes, i + 1)) {
      const at = base + i + 1;
      if (at > (found.at(-1) as number)) found.push(at);
      // More than two is already refused; no need to keep counting a hostile body.
      if (found.length > 2) return found;
    }
    position += chunk.length;
    carry = Buffer.from(view.subarray(Math.max(0, view.length - dashes.length + 1)));
  }
  return found;
}
