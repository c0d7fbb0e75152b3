import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import type { CmsCertificate } from './certificate.ts';
import { detachedSignature } from './cms-sign.ts';
import { verifySignedEntity } from './message-reader.ts';
import { checkBoundary, maxHeaderBytes, parseContentType, parseHeaders } from './mime.ts';
import { findParts, readRangeToBuffer, type Range } from './mime-file.ts';

const crlf = '\r\n';

export interface ReceiptRequest {
  from: string;
  to: string;
  /** The Message-ID of the mail we received and imported. */
  originalMessageId: string;
  messageId: string;
  date: Date;
  signer: { certificate: CmsCertificate; key: KeyObject };
}

/** The `multipart/report` entity of a receipt (RFC 8098, disposition `processed`), CRLF, as it is signed. */
export function reportEntity(req: Pick<ReceiptRequest, 'from' | 'originalMessageId'>): Buffer {
  const rb = `=_dcmgw_r_${randomBytes(8).toString('hex')}`;
  return Buffer.from(
    [
      `Content-Type: multipart/report; report-type=disposition-notification; boundary="${rb}"`,
      '',
      `--${rb}`,
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'The DICOM mail was received, its signature verified, and its objects imported.',
      `--${rb}`,
      'Content-Type: message/disposition-notification',
      '',
      'Reporting-UA: dicom-gateway',
      `Final-Recipient: rfc822;${req.from}`,
      `Original-Message-ID: <${req.originalMessageId}>`,
      'Disposition: automatic-action/MDN-sent-automatically; processed',
      `--${rb}--`,
    ].join(crlf),
  );
}

/**
 * An acknowledgement that a DICOM mail was received, verified and imported: a message disposition
 * notification (RFC 8098, `processed`) in `multipart/report`, signed with our S/MIME certificate so
 * that the partner can trust it. Not encrypted: it holds nothing but the original Message-ID.
 */
export function buildReceipt(req: ReceiptRequest): Buffer {
  const report = reportEntity(req);
  const signature = detachedSignature({ digest: createHash('sha256').update(report).digest(), certificate: req.signer.certificate, key: req.signer.key, signingTime: req.date });
  return signedReceiptMail(req, report, {
    protocol: 'application/pkcs7-signature',
    micalg: 'sha-256',
    signaturePart: `Content-Type: application/pkcs7-signature; name="smime.p7s"${crlf}Content-Transfer-Encoding: base64${crlf}Content-Disposition: attachment; filename="smime.p7s"${crlf}${crlf}${signature.toString('base64').replace(/.{1,76}/g, `$&${crlf}`)}`,
  });
}

/**
 * A receipt mail: headers, then `multipart/signed` of the report and its detached signature (S/MIME
 * or OpenPGP, RFC 3156 5). `signaturePart` is the signature's MIME part, headers included, ending in CRLF.
 */
export function signedReceiptMail(req: Pick<ReceiptRequest, 'from' | 'to' | 'date' | 'messageId'>, report: Buffer, signed: { protocol: string; micalg: string; signaturePart: string }): Buffer {
  const sb = `=_dcmgw_s_${randomBytes(8).toString('hex')}`;
  return Buffer.concat([
    Buffer.from(
      [
        `From: <${req.from}>`,
        `To: <${req.to}>`,
        'Subject: DICOM receipt',
        `Date: ${req.date.toUTCString().replace('GMT', '+0000')}`,
        `Message-ID: <${req.messageId}>`,
        'MIME-Version: 1.0',
        `Content-Type: multipart/signed; protocol="${signed.protocol}"; micalg="${signed.micalg}"; boundary="${sb}"`,
        '',
        `--${sb}`,
        '',
      ].join(crlf),
    ),
    report,
    Buffer.from(`${crlf}--${sb}${crlf}${signed.signaturePart}--${sb}--${crlf}`),
  ]);
}

export type ReceiptOutcome = { kind: 'receipt'; originalMessageId: string } | { kind: 'quarantine'; reason: string };

/** Reads a signed receipt from a partner: the signature must be the partner's; returns the Message-ID it acknowledges. */
export async function readReceipt(rawPath: string, partnerCertificate: CmsCertificate, now: Date): Promise<ReceiptOutcome> {
  const handle = await open(rawPath, 'r');
  try {
    const size = (await handle.stat()).size;
    if (size > 1024 * 1024) return { kind: 'quarantine', reason: 'a receipt larger than 1 MB' };
    const verified = await verifySignedEntity(handle, size, partnerCertificate, now);
    if (!verified.ok) return { kind: 'quarantine', reason: verified.reason };
    return await readDispositionReport(handle, verified.content);
  } finally {
    await handle.close();
  }
}

/** The report entity of a receipt whose signature was checked: the Message-ID it acknowledges. */
export async function readDispositionReport(handle: FileHandle, content: Range): Promise<ReceiptOutcome> {
  const entity = parseHeaders(await readRangeToBuffer(handle, { start: content.start, end: Math.min(content.end, content.start + maxHeaderBytes) }, maxHeaderBytes, 'receipt headers'));
  const type = parseContentType(entity.headers.get('content-type'));
  if (type.type !== 'multipart/report' || type.params.get('report-type') !== 'disposition-notification') return { kind: 'quarantine', reason: `signed, unencrypted mail that is not a receipt (${type.type})` };
  for (const part of await findParts(handle, { start: content.start + entity.length, end: content.end }, checkBoundary(type.params.get('boundary')), 3)) {
    const text = (await readRangeToBuffer(handle, part, 64 * 1024, 'receipt part')).toString('latin1');
    const headers = parseHeaders(Buffer.from(text, 'latin1'));
    if (parseContentType(headers.headers.get('content-type')).type !== 'message/disposition-notification') continue;
    const fields = parseHeaders(Buffer.from(`${text.slice(headers.length)}\r\n\r\n`, 'latin1')).headers;
    const original = /<([^<>]{1,500})>/.exec(fields.get('original-message-id') ?? '')?.[1];
    if (original === undefined) return { kind: 'quarantine', reason: 'a receipt without Original-Message-ID' };
    if (!/;\s*processed\b/i.test(fields.get('disposition') ?? '')) return { kind: 'quarantine', reason: `a receipt with disposition "${fields.get('disposition') ?? ''}"` };
    return { kind: 'receipt', originalMessageId: original };
  }
  return { kind: 'quarantine', reason: 'a report without a disposition notification' };
}
