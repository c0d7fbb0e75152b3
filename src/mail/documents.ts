import { createHash } from 'node:crypto';
import { mkdir, open, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { OutboundDocument } from '../db/index.ts';
import { ErrorCode, GatewayError, type FieldIssue } from '../domain/errors.ts';
import { fsyncFile } from '../group-fsync.ts';

export const maxDocuments = 10;
export const maxDocumentBytes = 50 * 1024 * 1024;
export const maxDocumentsTotalBytes = 64 * 1024 * 1024;

/** PDFs to send with a study, as the send API takes them: a title each and the bytes in base64. */
export const attachmentsSchema = z
  .array(
    z
      .object({
        /** Shown to the partner (inside the encryption) and kept as the document title (0042,0010). */
        title: z.string().trim().min(1).max(200).regex(/^[^\0-\x1f\\]*$/, 'no control characters or backslashes'),
        contentBase64: z.string().min(1),
      })
      .strict(),
  )
  .max(maxDocuments, `at most ${maxDocuments} documents per send`);

export interface DocumentInput {
  title: string;
  content: Buffer;
}

/**
 * Decodes and checks the PDFs of a send request; every wrong one is named (not base64, not a PDF,
 * too large) before anything is stored.
 */
export function decodeAttachments(input: z.infer<typeof attachmentsSchema>): DocumentInput[] {
  const issues: FieldIssue[] = [];
  let total = 0;
  const out = input.map((a, i) => {
    const at = `attachments[${i}].contentBase64`;
    const text = a.contentBase64.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
      issues.push({ path: at, message: 'not base64' });
      return { title: a.title, content: Buffer.alloc(0) };
    }
    const content = Buffer.from(text, 'base64');
    total += content.length;
    if (content.length > maxDocumentBytes) issues.push({ path: at, message: `${content.length} bytes; a document may have at most ${maxDocumentBytes}` });
    else if (content.subarray(0, 5).toString('latin1') !== '%PDF-') issues.push({ path: at, message: 'not a PDF (it does not start with %PDF-)' });
    return { title: a.title, content };
  });
  if (total > maxDocumentsTotalBytes) issues.push({ path: 'attachments', message: `${total} bytes together; at most ${maxDocumentsTotalBytes} per send` });
  if (issues.length > 0) throw new GatewayError(ErrorCode.Invalid, 'invalid attachments', { issues });
  return out;
}

/**
 * Stores a send's PDFs durably (written, fsync'd, their directory too) before the send is recorded:
 * once the API answers, a restart does not lose them. Paths are relative to `baseDir`.
 */
export async function storeDocuments(baseDir: string, sendId: string, documents: readonly DocumentInput[]): Promise<OutboundDocument[]> {
  if (documents.length === 0) return [];
  const dir = path.join(baseDir, 'documents', sendId);
  try {
    await mkdir(dir, { recursive: true });
    const stored: OutboundDocument[] = [];
    for (const [i, doc] of documents.entries()) {
      const file = path.join(dir, `${i + 1}.pdf`);
      const handle = await open(file, 'wx');
      try {
        await handle.writeFile(doc.content);
        await handle.sync();
      } finally {
        await handle.close();
      }
      stored.push({ name: `${i + 1}.pdf`, title: doc.title, file: path.relative(baseDir, file), size: doc.content.length, sha256: createHash('sha256').update(doc.content).digest('hex') });
    }
    await fsyncFile(dir);
    await fsyncFile(path.dirname(dir));
    return stored;
  } catch (err) {
    // Nothing half-stored stays behind; the caller is told to try again (the disk full, ...).
    await removeDocuments(baseDir, sendId);
    throw new GatewayError(ErrorCode.Unavailable, `the PDFs could not be stored: ${(err as Error).message}`, { cause: err, publicDetail: 'the PDFs could not be stored; try again later' });
  }
}

/** Removes a send's stored PDFs: it could not be recorded. */
export async function removeDocuments(baseDir: string, sendId: string): Promise<void> {
  await rm(path.join(baseDir, 'documents', sendId), { recursive: true, force: true });
}

/** Removes the PDFs of one mail once it is sent, and the send's folder when that was the last of them. */
export async function removeSentDocuments(baseDir: string, documents: readonly OutboundDocument[]): Promise<void> {
  for (const doc of documents) await rm(path.join(baseDir, doc.file), { force: true });
  const dir = documents[0] === undefined ? undefined : path.dirname(path.join(baseDir, documents[0].file));
  if (dir !== undefined) await rmdir(dir).catch(() => undefined);
}
