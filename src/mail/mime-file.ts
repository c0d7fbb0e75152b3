import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Base64Decoder } from './base64.ts';
import { MimeError } from './mime.ts';

/** A stretch of a file: [start, end). */
export interface Range {
  start: number;
  end: number;
}

// Small enough that the base64 text of a chunk and its decoded bytes stay a few hundred KB.
const chunkSize = 256 * 1024;

/** The bytes of a range, a chunk at a time. */
export async function* readRange(handle: FileHandle, range: Range): AsyncGenerator<Buffer> {
  for (let p = range.start; p < range.end; ) {
    const buf = Buffer.alloc(Math.min(chunkSize, range.end - p));
    const { bytesRead } = await handle.read(buf, 0, buf.length, p);
    if (bytesRead === 0) throw new MimeError('file shorter than expected');
    p += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

export async function readRangeToBuffer(handle: FileHandle, range: Range, limit: number, what: string): Promise<Buffer> {
  if (range.end - range.start > limit) throw new MimeError(`${what} is too large`);
  const parts: Buffer[] = [];
  for await (const chunk of readRange(handle, range)) parts.push(chunk);
  return Buffer.concat(parts);
}

/**
 * The parts of a multipart body within `range`: each part's bytes (headers and body) between its
 * delimiter line and the line break before the next delimiter (RFC 2046 5.1.1). Scans the file in
 * chunks; the preamble and epilogue are ignored. Throws when the close delimiter is missing.
 */
export async function findParts(handle: FileHandle, range: Range, boundary: string, maxParts: number): Promise<Range[]> {
  const marker = Buffer.from(`\n--${boundary}`, 'latin1');
  const hits: { lineStart: number; after: number; close: boolean }[] = [];
  // A delimiter may open the range with no line break before it.
  const first = await readRangeToBuffer(handle, { start: range.start, end: Math.min(range.end, range.start + marker.length + 1) }, marker.length + 2, 'boundary');
  let searchFrom = range.start;
  if (first.subarray(0, marker.length - 1).equals(marker.subarray(1))) {
    hits.push(await delimiterAt(handle, range, range.start, range.start + marker.length - 1));
    searchFrom = range.start + marker.length - 1;
  }
  for (let p = searchFrom; p < range.end; ) {
    const buf = Buffer.alloc(Math.min(chunkSize + marker.length, range.end - p));
    const { bytesRead } = await handle.read(buf, 0, buf.length, p);
    if (bytesRead === 0) break;
    const view = buf.subarray(0, bytesRead);
    for (let i = view.indexOf(marker); i !== -1; i = view.indexOf(marker, i + 1)) {
      const at = p + i;
      if (hits.length > 0 && at < (hits[hits.length - 1] as { after: number }).after) continue;
      const lineStart = at > range.start && view[i - 1] === 0x0d ? at - 1 : at;
      hits.push(await delimiterAt(handle, range, lineStart, at + marker.length));
      if ((hits[hits.length - 1] as { close: boolean }).close) break;
      if (hits.length > maxParts + 1) throw new MimeError(`more than ${maxParts} parts`);
    }
    if (hits.at(-1)?.close === true) break;
    if (bytesRead <= marker.length) break;
    p += bytesRead - marker.length;
  }
  const last = hits.at(-1);
  if (last === undefined || !last.close) throw new MimeError('multipart body without its closing boundary');
  const parts: Range[] = [];
  for (let i = 0; i + 1 < hits.length; i++) parts.push({ start: (hits[i] as { after: number }).after, end: (hits[i + 1] as { lineStart: number }).lineStart });
  return parts;
}

/** Reads what follows a boundary: `--` (close) or transport padding and a line break. */
async function delimiterAt(handle: FileHandle, range: Range, lineStart: number, afterMarker: number): Promise<{ lineStart: number; after: number; close: boolean }> {
  const tail = await readRangeToBuffer(handle, { start: afterMarker, end: Math.min(range.end, afterMarker + 200) }, 200, 'boundary line');
  const text = tail.toString('latin1');
  if (text.startsWith('--')) return { lineStart, after: afterMarker + 2, close: true };
  const m = /^[ \t]*\r?\n/.exec(text);
  if (m === null) throw new MimeError('a boundary line is followed by other text');
  return { lineStart, after: afterMarker + m[0].length, close: false };
}

const cr = Buffer.from('\r');

/**
 * The bytes of a range in canonical form (RFC 5751 3.1.1, RFC 3156 5: CRLF line ends), which is
 * what a signer hashed even if a hop stored the entity with bare LFs.
 */
export async function* readCanonical(handle: FileHandle, range: Range): AsyncGenerator<Buffer> {
  let previous = -1;
  for await (const chunk of readRange(handle, range)) {
    const pieces: Buffer[] = [];
    let from = 0;
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) {
      const before = i > 0 ? chunk[i - 1] : previous;
      if (before !== 0x0d) {
        pieces.push(chunk.subarray(from, i), cr);
        from = i;
      }
    }
    previous = chunk[chunk.length - 1] ?? previous;
    if (pieces.length === 0) yield chunk;
    else yield Buffer.concat([...pieces, chunk.subarray(from)]);
  }
}

/** Digest of a range in canonical form (see readCanonical). */
export async function digestRange(handle: FileHandle, range: Range, algorithm: string): Promise<Buffer> {
  const hash = createHash(algorithm);
  for await (const chunk of readCanonical(handle, range)) hash.update(chunk);
  return hash.digest();
}

/** Decodes the base64 of a range through `write`, chunk by chunk. */
export async function decodeBase64Range(handle: FileHandle, range: Range, write: (chunk: Buffer) => Promise<void>): Promise<void> {
  const decoder = new Base64Decoder();
  for await (const chunk of readRange(handle, range)) {
    const out = decoder.push(chunk);
    if (out.length > 0) await write(out);
  }
  const rest = decoder.end();
  if (rest.length > 0) await write(rest);
}
