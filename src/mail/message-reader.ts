import { createHash, type KeyObject } from 'node:crypto';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { AsnError } from './der.ts';
import type { CmsCertificate } from './certificate.ts';
import { DecryptError, decryptEnvelopeFile } from './cms-envelope.ts';
import { checkSignature, parseSignedData } from './cms-verify.ts';
import { manifestName, manifestSchema, type DocumentContext, type Manifest } from './manifest.ts';
import { checkBoundary, maxHeaderBytes, MimeError, parseContentType, parseHeaders, partFileName } from './mime.ts';
import { decodeBase64Range, digestRange, findParts, readRangeToBuffer, type Range } from './mime-file.ts';

/** What the outer header says: enough to deduplicate and to find the partner, before anything is decrypted. */
export interface MailHeaders {
  messageId: string | null;
  /** The outer Content-Type (lower case, without parameters). */
  contentType: string;
  /** The sender's address, lower-case. */
  from: string | null;
}

export interface ReceivedFile {
  name: string;
  path: string;
  size: number;
  sha256: string;
}

/** A PDF that came with the study, decoded and checked, with what the manifest says of it. */
export interface ReceivedDocument extends ReceivedFile {
  title: string;
  study: DocumentContext;
}

export type ReadOutcome = { kind: 'verified'; manifest: Manifest; files: ReceivedFile[]; documents: ReceivedDocument[] } | { kind: 'quarantine'; reason: string };

export interface ReadLimits {
  /** Parts of the multipart/mixed body. */
  maxParts: number;
  /**
   * What a mail may open up to (decrypted, decompressed). OpenPGP messages may be compressed, and a
   * few KB can inflate to fill the disk; CMS content is never larger than the mail itself.
   */
  maxContentBytes?: number;
}

export interface ReadRequest {
  rawPath: string;
  /** Where the decrypted content and the decoded files go (the caller removes it). */
  workDir: string;
  ours: { certificate: CmsCertificate; key: KeyObject };
  /** The pinned certificate of the partner with this address, if we know one. */
  partnerCertificate: CmsCertificate | undefined;
  now: Date;
  limits: ReadLimits;
}

const smallPart = 1024 * 1024;

export async function head(handle: FileHandle): Promise<Buffer> {
  const buf = Buffer.alloc(maxHeaderBytes + 4);
  const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
  return buf.subarray(0, bytesRead);
}

function address(value: string | undefined): string | null {
  if (value === undefined) return null;
  const angle = /<([^<>\s]+@[^<>\s]+)>/.exec(value);
  const bare = /([^\s<>"]+@[^\s<>"]+)/.exec(value);
  return (angle?.[1] ?? bare?.[1] ?? null)?.toLowerCase() ?? null;
}

export async function readMailHeaders(rawPath: string): Promise<MailHeaders> {
  const handle = await open(rawPath, 'r');
  try {
    const { headers } = parseHeaders(await head(handle));
    const id = /<([^<>]{1,500})>/.exec(headers.get('message-id') ?? '')?.[1] ?? null;
    return { messageId: id, from: address(headers.get('from')), contentType: parseContentType(headers.get('content-type')).type };
  } catch {
    return { messageId: null, from: null, contentType: '' };
  } finally {
    await handle.close();
  }
}

/** Writes chunks to a new file, with back-pressure. */
export async function fileSink(file: string): Promise<{ write: (chunk: Buffer) => Promise<void>; close: () => Promise<void> }> {
  const handle = await open(file, 'wx');
  return {
    write: async (chunk) => {
      await handle.write(chunk);
    },
    close: async () => {
      await handle.sync();
      await handle.close();
    },
  };
}

/**
 * Opens a received mail: decrypts it with our key, checks the signature against the partner's pinned
 * certificate, checks the manifest, and decodes each DICOM part to a file in `workDir`, checking its
 * SHA-256. Anything that is not exactly that (unencrypted, unsigned, unknown signer, bad signature,
 * malformed MIME or CMS, a file not in the manifest) comes back as `quarantine` with the reason.
 * Everything streams from files: memory holds headers, the signature and the manifest only.
 */
export async function readMessage(req: ReadRequest): Promise<ReadOutcome> {
  try {
    return await read(req);
  } catch (err) {
    if (err instanceof MimeError || err instanceof AsnError || err instanceof DecryptError) return { kind: 'quarantine', reason: err.message };
    throw err;
  }
}

async function read(req: ReadRequest): Promise<ReadOutcome> {
  await mkdir(req.workDir, { recursive: true });
  const raw = await open(req.rawPath, 'r');
  const envelopeDer = path.join(req.workDir, 'envelope.der');
  const contentFile = path.join(req.workDir, 'content.mime');
  try {
    const size = (await raw.stat()).size;
    const outer = parseHeaders(await head(raw));
    const type = parseContentType(outer.headers.get('content-type'));
    const smimeType = type.params.get('smime-type');
    if (!['application/pkcs7-mime', 'application/x-pkcs7-mime'].includes(type.type) || (smimeType !== undefined && smimeType !== 'enveloped-data')) {
      return { kind: 'quarantine', reason: `not encrypted: the mail is ${type.type}${smimeType === undefined ? '' : ` (${smimeType})`}, not S/MIME enveloped-data` };
    }
    if ((outer.headers.get('content-transfer-encoding') ?? '').toLowerCase() !== 'base64') return { kind: 'quarantine', reason: 'the encrypted body is not base64' };
    if (req.partnerCertificate === undefined) return { kind: 'quarantine', reason: 'unknown sender: no partner has this address' };
    const der = await fileSink(envelopeDer);
    try {
      await decodeBase64Range(raw, { start: outer.length, end: size }, der.write);
    } catch {
      return { kind: 'quarantine', reason: 'the encrypted body is not valid base64' };
    } finally {
      await der.close();
    }
    const derHandle = await open(envelopeDer, 'r');
    const content = await fileSink(contentFile);
    try {
      await decryptEnvelopeFile(derHandle, (await derHandle.stat()).size, req.ours, content.write);
    } finally {
      await content.close();
      await derHandle.close();
    }
  } finally {
    await raw.close();
  }
  const handle = await open(contentFile, 'r');
  try {
    return await readSigned(handle, req);
  } finally {
    await handle.close();
  }
}

async function readSigned(handle: FileHandle, req: ReadRequest): Promise<ReadOutcome> {
  const size = (await handle.stat()).size;
  const top = parseHeaders(await head(handle));
  const type = parseContentType(top.headers.get('content-type'));
  if (type.type === 'application/pkcs7-mime' || type.type === 'application/x-pkcs7-mime') {
    return { kind: 'quarantine', reason: `opaque S/MIME (${type.params.get('smime-type') ?? 'unknown'}) inside the encryption is not accepted: expected multipart/signed` };
  }
  if (type.type !== 'multipart/signed') return { kind: 'quarantine', reason: `unsigned: the decrypted content is ${type.type}, not multipart/signed` };
  const verified = await verifySignedEntity(handle, size, req.partnerCertificate as CmsCertificate, req.now);
  if (!verified.ok) return { kind: 'quarantine', reason: verified.reason };
  return readMixed(handle, verified.content, req);
}

/**
 * Checks a `multipart/signed` S/MIME entity that fills a file (its headers first): the signature must
 * be the partner's and match the content. Returns where the signed content lies in the file.
 */
export async function verifySignedEntity(handle: FileHandle, size: number, partnerCertificate: CmsCertificate, now: Date): Promise<{ ok: true; content: Range } | { ok: false; reason: string }> {
  const top = parseHeaders(await head(handle));
  const type = parseContentType(top.headers.get('content-type'));
  if (type.type !== 'multipart/signed') return { ok: false, reason: `unsigned: ${type.type}, not multipart/signed` };
  const protocol = (type.params.get('protocol') ?? '').toLowerCase();
  if (protocol !== 'application/pkcs7-signature' && protocol !== 'application/x-pkcs7-signature') return { ok: false, reason: `signature protocol "${protocol}" is not S/MIME` };
  const parts = await findParts(handle, { start: top.length, end: size }, checkBoundary(type.params.get('boundary')), 2);
  const [signedRange, signatureRange] = parts;
  if (parts.length !== 2 || signedRange === undefined || signatureRange === undefined) return { ok: false, reason: `multipart/signed with ${parts.length} parts (expected content and signature)` };
  const sigHead = parseHeaders(await readRangeToBuffer(handle, { start: signatureRange.start, end: Math.min(signatureRange.end, signatureRange.start + maxHeaderBytes) }, maxHeaderBytes, 'signature headers'));
  const signatureDer = await decodeToBuffer(handle, { start: signatureRange.start + sigHead.length, end: signatureRange.end });
  const parsed = parseSignedData(signatureDer);
  const digest = await digestRange(handle, signedRange, parsed.digest);
  const check = checkSignature(parsed, digest, partnerCertificate, now);
  return check.ok ? { ok: true, content: signedRange } : check;
}

async function decodeToBuffer(handle: FileHandle, range: Range): Promise<Buffer> {
  if (range.end - range.start > smallPart * 2) throw new MimeError('signature part too large');
  const out: Buffer[] = [];
  await decodeBase64Range(handle, range, async (c) => {
    out.push(c);
  });
  return Buffer.concat(out);
}

/**
 * The signed content once its signature is checked: the multipart/mixed entity in `range`, its
 * manifest, and each DICOM part decoded to a file in `req.workDir` and checked against the manifest.
 */
export async function readMixed(handle: FileHandle, range: Range, req: Pick<ReadRequest, 'workDir' | 'limits'>): Promise<ReadOutcome> {
  const entityHead = parseHeaders(await readRangeToBuffer(handle, { start: range.start, end: Math.min(range.end, range.start + maxHeaderBytes) }, maxHeaderBytes, 'content headers'));
  const type = parseContentType(entityHead.headers.get('content-type'));
  if (type.type !== 'multipart/mixed') return { kind: 'quarantine', reason: `the signed content is ${type.type}, not multipart/mixed` };
  const parts = await findParts(handle, { start: range.start + entityHead.length, end: range.end }, checkBoundary(type.params.get('boundary')), req.limits.maxParts);
  let manifest: Manifest | undefined;
  const dicomParts: { name: string; body: Range }[] = [];
  const pdfParts: { name: string; body: Range }[] = [];
  for (const part of parts) {
    const h = parseHeaders(await readRangeToBuffer(handle, { start: part.start, end: Math.min(part.end, part.start + maxHeaderBytes) }, maxHeaderBytes, 'part headers'));
    const partType = parseContentType(h.headers.get('content-type')).type;
    const name = partFileName(h.headers) ?? '';
    const body = { start: part.start + h.length, end: part.end };
    if (partType === 'application/json' && name === manifestName) {
      if (manifest !== undefined) return { kind: 'quarantine', reason: 'two manifests' };
      const parsed = manifestSchema.safeParse(safeJson((await readRangeToBuffer(handle, body, smallPart * 16, 'manifest')).toString('utf8')));
      if (!parsed.success) return { kind: 'quarantine', reason: `invalid manifest: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
      manifest = parsed.data;
    } else if (partType === 'application/dicom' || partType === 'application/pdf') {
      if ((h.headers.get('content-transfer-encoding') ?? '').toLowerCase() !== 'base64') return { kind: 'quarantine', reason: `a ${partType === 'application/pdf' ? 'PDF' : 'DICOM'} part is not base64` };
      (partType === 'application/pdf' ? pdfParts : dicomParts).push({ name, body });
    } else return { kind: 'quarantine', reason: `unexpected part ${partType}` };
  }
  if (manifest === undefined) return { kind: 'quarantine', reason: 'no manifest' };
  const listedDocuments = manifest.documents ?? [];
  if (new Set(manifest.files.map((f) => f.name)).size !== manifest.files.length || new Set(listedDocuments.map((d) => d.name)).size !== listedDocuments.length) return { kind: 'quarantine', reason: 'the manifest names a file twice' };
  if (dicomParts.length !== manifest.files.length) return { kind: 'quarantine', reason: `the manifest lists ${manifest.files.length} files, the mail holds ${dicomParts.length}` };
  if (pdfParts.length !== listedDocuments.length) return { kind: 'quarantine', reason: `the manifest lists ${listedDocuments.length} documents, the mail holds ${pdfParts.length}` };
  const filesDir = path.join(req.workDir, 'files');
  await mkdir(filesDir, { recursive: true });
  const decoded = async (part: { name: string; body: Range }, entry: { size: number; sha256: string }, file: string): Promise<ReceivedFile | undefined> => {
    const sink = await fileSink(file);
    const hash = createHash('sha256');
    let size = 0;
    try {
      await decodeBase64Range(handle, part.body, async (chunk) => {
        size += chunk.length;
        if (size > entry.size) throw new MimeError(`${part.name} is larger than the manifest says`);
        hash.update(chunk);
        await sink.write(chunk);
      });
    } finally {
      await sink.close();
    }
    const sha256 = hash.digest('hex');
    return size === entry.size && sha256 === entry.sha256 ? { name: part.name, path: file, size, sha256 } : undefined;
  };
  // Names are only looked up, never used as paths (they could hold ../): files are numbered by us.
  const expected = new Map(manifest.files.map((f) => [f.name, f]));
  const files: ReceivedFile[] = [];
  for (const part of dicomParts) {
    const entry = expected.get(part.name);
    if (entry === undefined) return { kind: 'quarantine', reason: 'a DICOM part is not in the manifest' };
    expected.delete(part.name);
    const file = await decoded(part, entry, path.join(filesDir, `${String(files.length).padStart(6, '0')}.dcm`));
    if (file === undefined) return { kind: 'quarantine', reason: `${part.name} does not match the manifest (size or SHA-256)` };
    files.push(file);
  }
  const expectedDocuments = new Map(listedDocuments.map((d) => [d.name, d]));
  const documents: ReceivedDocument[] = [];
  for (const part of pdfParts) {
    const entry = expectedDocuments.get(part.name);
    if (entry === undefined) return { kind: 'quarantine', reason: 'a PDF part is not in the manifest' };
    expectedDocuments.delete(part.name);
    const file = await decoded(part, entry, path.join(filesDir, `doc-${String(documents.length).padStart(6, '0')}.pdf`));
    if (file === undefined) return { kind: 'quarantine', reason: `${part.name} does not match the manifest (size or SHA-256)` };
    documents.push({ ...file, title: entry.title, study: entry.study });
  }
  return { kind: 'verified', manifest, files, documents };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
