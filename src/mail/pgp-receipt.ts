import { open } from 'node:fs/promises';
import * as openpgp from 'openpgp';
import { checkBoundary, maxHeaderBytes, parseContentType, parseHeaders } from './mime.ts';
import { findParts, readCanonical, readRangeToBuffer } from './mime-file.ts';
import type { PinnedPartner } from './partners.ts';
import type { OpenPgpIdentity } from './pgp-identity.ts';
import { readDispositionReport, reportEntity, signedReceiptMail, type ReceiptOutcome, type ReceiptRequest } from './receipt.ts';

const crlf = '\r\n';

/** A receipt (RFC 8098 MDN) for an OpenPGP partner: the same report, signed per RFC 3156 5 (detached, armored). */
export async function buildPgpReceipt(req: Omit<ReceiptRequest, 'signer'> & { signer: OpenPgpIdentity }): Promise<Buffer> {
  const report = reportEntity(req);
  const signature = await openpgp.sign({ message: await openpgp.createMessage({ binary: report }), signingKeys: req.signer.privateKey, detached: true, format: 'armored' });
  return signedReceiptMail(req, report, {
    protocol: 'application/pgp-signature',
    micalg: 'pgp-sha512',
    signaturePart: `Content-Type: application/pgp-signature; name="signature.asc"${crlf}${crlf}${signature.replace(/\r?\n/g, crlf)}${crlf}`,
  });
}

/** Reads a PGP/MIME signed receipt (RFC 3156 5): the signature must be the partner's pinned key's. */
export async function readPgpReceipt(rawPath: string, partner: Extract<PinnedPartner, { format: 'openpgp' }>): Promise<ReceiptOutcome> {
  const handle = await open(rawPath, 'r');
  try {
    const size = (await handle.stat()).size;
    if (size > 1024 * 1024) return { kind: 'quarantine', reason: 'a receipt larger than 1 MB' };
    const top = parseHeaders(await readRangeToBuffer(handle, { start: 0, end: Math.min(size, maxHeaderBytes) }, maxHeaderBytes, 'headers'));
    const type = parseContentType(top.headers.get('content-type'));
    if (type.type !== 'multipart/signed' || (type.params.get('protocol') ?? '').toLowerCase() !== 'application/pgp-signature') return { kind: 'quarantine', reason: `a receipt from an OpenPGP partner must be PGP/MIME signed; this is ${type.type}` };
    const parts = await findParts(handle, { start: top.length, end: size }, checkBoundary(type.params.get('boundary')), 2);
    const [content, signaturePart] = parts;
    if (parts.length !== 2 || content === undefined || signaturePart === undefined) return { kind: 'quarantine', reason: `multipart/signed with ${parts.length} parts (expected content and signature)` };
    const sigText = (await readRangeToBuffer(handle, signaturePart, 64 * 1024, 'signature')).toString('latin1');
    // The signed bytes in canonical form (CRLF), as RFC 3156 5 has the signer hash them.
    const chunks: Buffer[] = [];
    for await (const chunk of readCanonical(handle, content)) chunks.push(chunk);
    const canonical = Buffer.concat(chunks);
    try {
      const signature = await openpgp.readSignature({ armoredSignature: sigText.slice(parseHeaders(Buffer.from(sigText, 'latin1')).length) });
      const result = await openpgp.verify({ message: await openpgp.createMessage({ binary: canonical }), signature, verificationKeys: partner.key, expectSigned: true, config: partner.config });
      await result.signatures[0]?.verified;
    } catch (err) {
      return { kind: 'quarantine', reason: `the receipt's signature is not the partner's or does not match (${(err as Error).message})` };
    }
    return await readDispositionReport(handle, content);
  } finally {
    await handle.close();
  }
}
