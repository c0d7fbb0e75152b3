import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { base64Lines, base64LinesLength } from './base64.ts';
import type { CmsCertificate } from './certificate.ts';
import { cbcLength, envelope } from './cms-envelope.ts';
import { detachedSignature } from './cms-sign.ts';
import { manifestName, partName, type Manifest } from './manifest.ts';

export interface OutgoingFile {
  path: string;
  size: number;
  /** SHA-256 (hex) the archive recorded; checked again as the file is read. */
  sha256: string;
}

export interface BuildRequest {
  files: readonly OutgoingFile[];
  sendId: string;
  part: number;
  parts: number;
  from: string;
  to: string;
  messageId: string;
  date: Date;
  signer: { certificate: CmsCertificate; key: KeyObject };
  recipient: CmsCertificate;
  /** Where the finished mail (RFC 5322, CRLF) is written. */
  outPath: string;
}

const crlf = '\r\n';

function boundary(): string {
  return `=_dcmgw_${randomBytes(12).toString('hex')}`;
}

async function* fileBytes(file: OutgoingFile): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file.path, { highWaterMark: 1024 * 1024 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
  if (size !== file.size || hash.digest('hex') !== file.sha256) throw new Error('an archived file differs from its index entry (size or SHA-256)');
}

/**
 * The signed content: a multipart/mixed entity (PS3.12 Annex K, RFC 3240) holding the manifest and
 * one base64 `application/dicom` part per file. Generated, never held: both passes (digest, then
 * encryption) produce the same bytes from the files.
 */
async function* mixedEntity(files: readonly OutgoingFile[], manifest: Buffer, b: string): AsyncGenerator<Buffer> {
  yield Buffer.from(`Content-Type: multipart/mixed; boundary="${b}"${crlf}${crlf}--${b}${crlf}Content-Type: application/json; name="${manifestName}"${crlf}Content-Disposition: attachment; filename="${manifestName}"${crlf}${crlf}`);
  yield manifest;
  for (const [i, file] of files.entries()) {
    const name = partName(i);
    yield Buffer.from(`${crlf}--${b}${crlf}Content-Type: application/dicom; name="${name}"${crlf}Content-Transfer-Encoding: base64${crlf}Content-Disposition: attachment; filename="${name}"${crlf}${crlf}`);
    // The base64 lines end in CRLF; the delimiter's own CRLF follows, which is allowed (padding of base64 is whitespace-free).
    yield* base64Lines(fileBytes(file));
  }
  yield Buffer.from(`${crlf}--${b}--`);
}

export interface BuiltMessage {
  size: number;
  /** SHA-256 of the signed content, for the record. */
  contentDigest: string;
}

/**
 * Writes one mail per PS3.15 B.8: the DICOM files in multipart/mixed with a SHA-256 manifest, signed
 * (multipart/signed, CMS SignedData, SHA-256), then enveloped (CMS EnvelopedData, AES-256) as
 * `application/pkcs7-mime`. Two passes over the files: the first computes the digest to sign and the
 * length, the second encrypts straight to the output file. Memory: about one read chunk (1 MB) plus
 * the stream buffers, whatever the study's size.
 */
export async function buildMessage(req: BuildRequest): Promise<BuiltMessage> {
  const manifest: Manifest = {
    format: 'dicom-gateway-mail/1',
    sendId: req.sendId,
    part: req.part,
    parts: req.parts,
    files: req.files.map((f, i) => ({ name: partName(i), size: f.size, sha256: f.sha256 })),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const mixedBoundary = boundary();
  const hash = createHash('sha256');
  let mixedLength = 0;
  for await (const chunk of mixedEntity(req.files, manifestBytes, mixedBoundary)) {
    hash.update(chunk);
    mixedLength += chunk.length;
  }
  const digest = hash.digest();
  const signature = detachedSignature({ digest, certificate: req.signer.certificate, key: req.signer.key, signingTime: req.date });
  const sb = boundary();
  const signedHead = Buffer.from(
    `Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg="sha-256"; boundary="${sb}"${crlf}${crlf}This is an S/MIME signed message${crlf}${crlf}--${sb}${crlf}`,
  );
  const signedTail = Buffer.from(
    `${crlf}--${sb}${crlf}Content-Type: application/pkcs7-signature; name="smime.p7s"${crlf}Content-Transfer-Encoding: base64${crlf}Content-Disposition: attachment; filename="smime.p7s"${crlf}${crlf}${signature.toString('base64').replace(/.{1,76}/g, `$&${crlf}`)}--${sb}--${crlf}`,
  );
  const signedLength = signedHead.length + mixedLength + signedTail.length;
  async function* signedEntity(): AsyncGenerator<Buffer> {
    yield signedHead;
    yield* mixedEntity(req.files, manifestBytes, mixedBoundary);
    yield signedTail;
  }
  const headers = Buffer.from(
    [
      `From: <${req.from}>`,
      `To: <${req.to}>`,
      // Neutral on purpose: nothing of the patient or the study outside the encryption.
      `Subject: DICOM ${req.part}/${req.parts}`,
      `Date: ${req.date.toUTCString().replace('GMT', '+0000')}`,
      `Message-ID: <${req.messageId}>`,
      'MIME-Version: 1.0',
      'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"',
      'Content-Transfer-Encoding: base64',
      'Content-Disposition: attachment; filename="smime.p7m"',
      '',
      '',
    ].join(crlf),
  );
  let size = 0;
  async function* mail(): AsyncGenerator<Buffer> {
    yield headers;
    yield* base64Lines(envelope(signedEntity(), signedLength, req.recipient));
  }
  const counted = Readable.from(
    (async function* () {
      for await (const chunk of mail()) {
        size += chunk.length;
        yield chunk;
      }
    })(),
  );
  await pipeline(counted, createWriteStream(req.outPath));
  return { size, contentDigest: digest.toString('hex') };
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
