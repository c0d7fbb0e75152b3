import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { base64Lines, base64LinesLength } from './base64.ts';
import type { CmsCertificate } from './certificate.ts';
import { cbcLength, envelope } from './cms-envelope.ts';
import { detachedSignature } from './cms-sign.ts';
import { documentName, manifestName, partName, type DocumentContext, type Manifest } from './manifest.ts';

export interface OutgoingFile {
  path: string;
  size: number;
  /** SHA-256 (hex) the archive recorded; checked again as the file is read. */
  sha256: string;
}

/** A PDF sent with the study: the title the sender gave it and the study it belongs to. */
export interface OutgoingDocument extends OutgoingFile {
  title: string;
  study: DocumentContext;
}

/** One mail of a send, whatever protects it: the files, the set it belongs to, sender and recipient. */
export interface MailContent {
  files: readonly OutgoingFile[];
  /** PDFs that go with the study (none in most mails). */
  documents?: readonly OutgoingDocument[];
  sendId: string;
  part: number;
  parts: number;
  from: string;
  to: string;
  messageId: string;
  date: Date;
  /** Where the finished mail (RFC 5322, CRLF) is written. */
  outPath: string;
}

export interface BuildRequest extends MailContent {
  signer: { certificate: CmsCertificate; key: KeyObject };
  recipient: CmsCertificate;
}

const crlf = '\r\n';

export function boundary(): string {
  return `=_dcmgw_${randomBytes(12).toString('hex')}`;
}

async function* fileBytes(file: OutgoingFile): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  let size = 0;
  // A multiple of 57 bytes: whole base64 lines, nothing carried between chunks.
  for await (const chunk of createReadStream(file.path, { highWaterMark: 57 * 2304 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
  if (size !== file.size || hash.digest('hex') !== file.sha256) throw new Error('an archived file differs from its index entry (size or SHA-256)');
}

function partHeader(type: string, name: string, b: string): Buffer {
  return Buffer.from(`${crlf}--${b}${crlf}Content-Type: ${type}; name="${name}"${crlf}Content-Transfer-Encoding: base64${crlf}Content-Disposition: attachment; filename="${name}"${crlf}${crlf}`);
}

/** Every part after the manifest, in order: the DICOM files, then the PDFs. */
function parts(content: Pick<MailContent, 'files' | 'documents'>): { header: (b: string) => Buffer; file: OutgoingFile }[] {
  return [
    ...content.files.map((file, i) => ({ header: (b: string) => partHeader('application/dicom', partName(i), b), file })),
    ...(content.documents ?? []).map((file, i) => ({ header: (b: string) => partHeader('application/pdf', documentName(i), b), file })),
  ];
}

function mixedHead(b: string): Buffer {
  return Buffer.from(`Content-Type: multipart/mixed; boundary="${b}"${crlf}${crlf}--${b}${crlf}Content-Type: application/json; name="${manifestName}"${crlf}Content-Disposition: attachment; filename="${manifestName}"${crlf}${crlf}`);
}

const mixedTail = (b: string): Buffer => Buffer.from(`${crlf}--${b}--`);

/**
 * The signed content: a multipart/mixed entity (PS3.12 Annex K, RFC 3240) holding the manifest, one
 * base64 `application/dicom` part per file and one `application/pdf` part per document, generated as
 * the files are read, never held.
 */
export async function* mixedEntity(content: Pick<MailContent, 'files' | 'documents'>, manifest: Buffer, b: string): AsyncGenerator<Buffer> {
  yield mixedHead(b);
  yield manifest;
  for (const part of parts(content)) {
    yield part.header(b);
    // The base64 lines end in CRLF; the delimiter's own CRLF follows (whitespace ends base64 harmlessly).
    yield* base64Lines(fileBytes(part.file));
  }
  yield mixedTail(b);
}

/** The length of `mixedEntity`, known before a byte is read: base64 and headers are sized by the file sizes. */
function mixedLength(content: Pick<MailContent, 'files' | 'documents'>, manifest: Buffer, b: string): number {
  let n = mixedHead(b).length + manifest.length + mixedTail(b).length;
  for (const part of parts(content)) n += part.header(b).length + base64LinesLength(part.file.size);
  return n;
}

export interface BuiltMessage {
  size: number;
  /** SHA-256 of the signed content, for the record. */
  contentDigest: string;
}

function signaturePart(signature: Buffer, sb: string): Buffer {
  return Buffer.from(
    `${crlf}--${sb}${crlf}Content-Type: application/pkcs7-signature; name="smime.p7s"${crlf}Content-Transfer-Encoding: base64${crlf}Content-Disposition: attachment; filename="smime.p7s"${crlf}${crlf}${signature.toString('base64').replace(/.{1,76}/g, `$&${crlf}`)}--${sb}--${crlf}`,
  );
}

/**
 * The outer headers of a DICOM mail, S/MIME or PGP/MIME alike: neutral on purpose, nothing of the
 * patient or the study outside the encryption; a receipt (RFC 8098 MDN) is asked of the partner's
 * gateway, to our own mailbox.
 */
export function outerHeaders(req: Pick<BuildRequest, 'from' | 'to' | 'part' | 'parts' | 'date' | 'messageId'>): string[] {
  return [
    `From: <${req.from}>`,
    `To: <${req.to}>`,
    `Subject: DICOM ${req.part}/${req.parts}`,
    `Date: ${req.date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${req.messageId}>`,
    `Disposition-Notification-To: <${req.from}>`,
  ];
}

/** The manifest of one mail, as its bytes. */
export function manifestOf(req: Pick<BuildRequest, 'files' | 'documents' | 'sendId' | 'part' | 'parts'>): Buffer {
  const documents = req.documents ?? [];
  const manifest: Manifest = {
    format: 'dicom-gateway-mail/1',
    sendId: req.sendId,
    part: req.part,
    parts: req.parts,
    files: req.files.map((f, i) => ({ name: partName(i), size: f.size, sha256: f.sha256 })),
    ...(documents.length === 0 ? {} : { documents: documents.map((d, i) => ({ name: documentName(i), size: d.size, sha256: d.sha256, title: d.title, study: d.study })) }),
  };
  return Buffer.from(JSON.stringify(manifest));
}

/**
 * Writes one mail per PS3.15 B.8: the DICOM files in multipart/mixed with a SHA-256 manifest, signed
 * (multipart/signed, CMS SignedData, SHA-256), then enveloped (CMS EnvelopedData, AES-256) as
 * `application/pkcs7-mime`. One pass over the files: every length is computed up front (the detached
 * signature has a fixed length for a given key), so the content is hashed and encrypted as it streams
 * and the signature, which follows the content in multipart/signed, is made at its end. Memory: a
 * read chunk and its base64 forms (a few MB), whatever the study's size.
 */
export async function buildMessage(req: BuildRequest): Promise<BuiltMessage> {
  const manifestBytes = manifestOf(req);
  const mixedBoundary = boundary();
  const sb = boundary();
  const sign = (digest: Buffer): Buffer => detachedSignature({ digest, certificate: req.signer.certificate, key: req.signer.key, signingTime: req.date });
  const tailLength = signaturePart(sign(Buffer.alloc(32)), sb).length;
  const signedHead = Buffer.from(
    `Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg="sha-256"; boundary="${sb}"${crlf}${crlf}This is an S/MIME signed message${crlf}${crlf}--${sb}${crlf}`,
  );
  const signedLength = signedHead.length + mixedLength(req, manifestBytes, mixedBoundary) + tailLength;
  let contentDigest = '';
  async function* signedEntity(): AsyncGenerator<Buffer> {
    yield signedHead;
    const hash = createHash('sha256');
    for await (const chunk of mixedEntity(req, manifestBytes, mixedBoundary)) {
      hash.update(chunk);
      yield chunk;
    }
    const digest = hash.digest();
    contentDigest = digest.toString('hex');
    const tail = signaturePart(sign(digest), sb);
    if (tail.length !== tailLength) throw new Error('the signature has another length than computed');
    yield tail;
  }
  const headers = Buffer.from(
    [
      ...outerHeaders(req),
      'MIME-Version: 1.0',
      'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"',
      'Content-Transfer-Encoding: base64',
      'Content-Disposition: attachment; filename="smime.p7m"',
      '',
      '',
    ].join(crlf),
  );
  const out = await open(req.outPath, 'w');
  let size = 0;
  try {
    for await (const chunk of (async function* () {
      yield headers;
      yield* base64Lines(envelope(signedEntity(), signedLength, req.recipient));
    })()) {
      size += chunk.length;
      await out.write(chunk);
    }
    await out.sync();
  } finally {
    await out.close();
  }
  return { size, contentDigest };
}

/**
 * An upper estimate of a mail's size for files of these sizes: base64 of each file inside the signed
 * layer, then base64 of the encrypted whole (about 1.87 times the raw data), plus headers and the
 * signature with our certificate. Used to split a study before anything is built.
 */
export function estimateMailSize(fileSizes: readonly number[], certificateBytes = 4096): number {
  const perPart = 260;
  const manifest = 200 + fileSizes.length * 130;
  const mixed = 200 + manifest + fileSizes.reduce((sum, n) => sum + perPart + base64LinesLength(n), 0);
  const signed = 400 + mixed + 600 + base64LinesLength(certificateBytes + 1200);
  const enveloped = 200 + 600 + cbcLength(signed);
  return 800 + base64LinesLength(enveloped);
}
