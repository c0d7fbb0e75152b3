import { mkdir, open, rename } from 'node:fs/promises';
import path from 'node:path';
import { InboundState, PartialState, type InboundMail, type MailPartialRepository, type MailRepository, type PartialSet } from '../db/index.ts';
import { fsyncFile } from '../group-fsync.ts';
import { head } from './message-reader.ts';
import { MimeError, parseContentType, parseHeaders } from './mime.ts';
import { readRange } from './mime-file.ts';

/** A set of more fragments than this is refused (hostile or misconfigured). */
export const maxFragments = 1000;

export interface FragmentHeader {
  partialId: string;
  number: number;
  total: number | null;
  bodyStart: number;
}

/** Reads the message/partial parameters (RFC 2046 5.2.2) of a stored mail; throws MimeError when they are not sane. */
export async function readFragmentHeader(rawPath: string): Promise<FragmentHeader> {
  const handle = await open(rawPath, 'r');
  try {
    const outer = parseHeaders(await head(handle));
    const type = parseContentType(outer.headers.get('content-type'));
    const id = type.params.get('id') ?? '';
    const number = Number(type.params.get('number'));
    const totalText = type.params.get('total');
    const total = totalText === undefined ? null : Number(totalText);
    if (!/^[\x21-\x7e]{1,200}$/.test(id)) throw new MimeError('message/partial without a usable id');
    if (!Number.isInteger(number) || number < 1 || number > maxFragments) throw new MimeError(`message/partial number "${type.params.get('number') ?? ''}" is not 1 to ${maxFragments}`);
    if (total !== null && (!Number.isInteger(total) || total < number || total > maxFragments)) throw new MimeError(`message/partial total "${totalText ?? ''}" is not ${number} to ${maxFragments}`);
    return { partialId: id, number, total, bodyStart: outer.length };
  } finally {
    await handle.close();
  }
}

/**
 * Puts a whole set back together: the fragments' bodies in order make the original mail, written
 * durably (fsync, rename, directory fsync) and recorded as a stored mail of its own (UIDL
 * `partial:<set>`), which is then handled like any received mail. Only a whole set is assembled, so
 * a partial object is never imported. Returns the stored record, or why not when the set is too large.
 */
export async function assemble(deps: { mail: MailRepository; partials: MailPartialRepository; dir: string; maxBytes: number; now: string }, set: PartialSet): Promise<InboundMail | { refused: string }> {
  const uidl = `partial:${set.id}`;
  const existing = deps.mail.inbound(set.mailbox, uidl);
  if (existing !== undefined) {
    deps.partials.markAssembled(set.id, existing.id, deps.now);
    return existing;
  }
  await mkdir(deps.dir, { recursive: true });
  const file = path.join(deps.dir, `partial-${set.id}.eml`);
  const out = await open(`${file}.part`, 'w');
  let size = 0;
  try {
    for (const fragment of deps.partials.fragments(set.id)) {
      const handle = await open(fragment.rawPath, 'r');
      try {
        for await (const chunk of readRange(handle, { start: fragment.bodyStart, end: (await handle.stat()).size })) {
          size += chunk.length;
          if (size > deps.maxBytes) return { refused: `the reassembled mail is larger than mail.maxInboundMb (${deps.maxBytes} bytes)` };
          await out.write(chunk);
        }
      } finally {
        await handle.close();
      }
    }
    await out.sync();
  } finally {
    await out.close();
  }
  await rename(`${file}.part`, file);
  await fsyncFile(deps.dir);
  const row = deps.mail.insertInbound({ mailbox: set.mailbox, uidl, state: InboundState.Stored, rawPath: file, size }, deps.now);
  deps.partials.markAssembled(set.id, row.id, deps.now);
  return row;
}

/** Whether a set has all its fragments and still waits to be assembled. */
export function isWhole(set: PartialSet): boolean {
  return set.state === PartialState.Waiting && set.total !== null && set.received === set.total;
}
