import { timingSafeEqual, verify } from 'node:crypto';
import { issuerAndSerialOfDer, type CmsCertificate } from './certificate.ts';
import { AsnError, children, expect, octetStringValue, readElement, readOid, Tag } from './der.ts';
import { digestNames, Oid } from './oids.ts';

/** What a SignedData says of its (single) signer, parsed but not yet checked. */
export interface ParsedSignature {
  /** Node's name of the digest the signer used (sha256, sha384, sha512). */
  digest: string;
  /** IssuerAndSerialNumber of the signer, DER (null when the signer is named by key identifier). */
  signerId: Buffer | null;
  /** Certificates the message carries, DER. */
  certificates: Buffer[];
  messageDigest: Buffer;
  /** The signed attributes re-encoded as a SET: what the signature covers. */
  signedAttributes: Buffer;
  signatureAlgorithm: string;
  signature: Buffer;
  /** Present when the content is inside (opaque signing) rather than detached. */
  content: Buffer | null;
}

/** Parses a CMS ContentInfo holding SignedData with one signer using signed attributes; throws AsnError when it is not one. */
export function parseSignedData(contentInfo: Buffer): ParsedSignature {
  const top = children(expect(readElement(contentInfo), Tag.Sequence, 'ContentInfo'));
  if (readOid(expect(top[0], Tag.Oid, 'contentType')) !== Oid.signedData) throw new AsnError('the signature is not CMS SignedData');
  const signedData = children(expect(children(expect(top[1], Tag.Context0, 'content'))[0], Tag.Sequence, 'SignedData'));
  const encap = children(expect(signedData[2], Tag.Sequence, 'encapContentInfo'));
  const eContent = encap[1] === undefined ? null : octetStringValue(expect(children(expect(encap[1], Tag.Context0, 'eContent'))[0], Tag.OctetString, 'eContent'));
  let i = 3;
  const certificates: Buffer[] = [];
  if (signedData[i]?.tag === Tag.Context0) {
    for (const c of children(signedData[i] as NonNullable<(typeof signedData)[number]>)) if (c.tag === Tag.Sequence) certificates.push(Buffer.from(c.raw));
    i++;
  }
  if (signedData[i]?.tag === Tag.Context1) i++; // CRLs
  const signerInfos = children(expect(signedData[i], Tag.Set, 'signerInfos'));
  if (signerInfos.length !== 1) throw new AsnError(`expected one signer, found ${signerInfos.length}`);
  const si = children(expect(signerInfos[0], Tag.Sequence, 'SignerInfo'));
  const sid = si[1];
  const signerId = sid?.tag === Tag.Sequence ? Buffer.from(sid.raw) : null;
  const digestOid = readOid(expect(children(expect(si[2], Tag.Sequence, 'digestAlgorithm'))[0], Tag.Oid, 'digestAlgorithm'));
  const digest = digestNames[digestOid];
  if (digest === undefined) throw new AsnError(`digest algorithm ${digestOid} is not accepted (SHA-256 or better is required)`);
  const attrs = expect(si[3], Tag.Context0, 'signedAttrs (a signature without signed attributes is not accepted)');
  let messageDigest: Buffer | undefined;
  for (const attr of children(attrs)) {
    const [type, values] = children(expect(attr, Tag.Sequence, 'attribute'));
    if (readOid(expect(type, Tag.Oid, 'attribute type')) === Oid.messageDigest) messageDigest = expect(children(expect(values, Tag.Set, 'attribute values'))[0], Tag.OctetString, 'messageDigest').content;
  }
  if (messageDigest === undefined) throw new AsnError('the signed attributes hold no message digest');
  const signedAttributes = Buffer.concat([Buffer.from([Tag.Set]), attrs.raw.subarray(1)]);
  const signatureAlgorithm = readOid(expect(children(expect(si[4], Tag.Sequence, 'signatureAlgorithm'))[0], Tag.Oid, 'signatureAlgorithm'));
  const signature = expect(si[5], Tag.OctetString, 'signature').content;
  return { digest, signerId, certificates, messageDigest: Buffer.from(messageDigest), signedAttributes, signatureAlgorithm, signature: Buffer.from(signature), content: eContent };
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks a parsed signature against the partner's pinned certificate: the signer must be that
 * certificate (by issuer and serial, or a carried certificate equal to it), the certificate valid now,
 * the content digest equal to the signed one, and the signature valid under the pinned public key.
 */
export function checkSignature(parsed: ParsedSignature, contentDigest: Buffer, pinned: CmsCertificate, now: Date): SignatureCheck {
  const signerIsPinned =
    parsed.signerId !== null
      ? parsed.signerId.equals(pinned.issuerAndSerial)
      : parsed.certificates.some((c) => c.equals(pinned.der));
  if (!signerIsPinned) {
    const carried = parsed.signerId === null ? undefined : parsed.certificates.find((c) => safeIssuerAndSerial(c)?.equals(parsed.signerId as Buffer));
    return { ok: false, reason: carried === undefined ? 'signed by an unknown signer, not the partner\'s pinned certificate' : 'signed with a certificate other than the partner\'s pinned one' };
  }
  if (now < new Date(pinned.x509.validFrom) || now > new Date(pinned.x509.validTo)) return { ok: false, reason: `the partner's certificate is not valid now (valid ${pinned.x509.validFrom} to ${pinned.x509.validTo})` };
  if (contentDigest.length !== parsed.messageDigest.length || !timingSafeEqual(contentDigest, parsed.messageDigest)) return { ok: false, reason: 'bad signature: the content does not match the signed digest (altered in transit)' };
  const hash = parsed.signatureAlgorithm === Oid.rsaEncryption ? parsed.digest : { [Oid.sha256WithRsa]: 'sha256', [Oid.sha384WithRsa]: 'sha384', [Oid.sha512WithRsa]: 'sha512' }[parsed.signatureAlgorithm];
  if (hash === undefined) return { ok: false, reason: `signature algorithm ${parsed.signatureAlgorithm} is not supported` };
  if (!verify(hash, parsed.signedAttributes, pinned.x509.publicKey, parsed.signature)) return { ok: false, reason: 'bad signature: it does not verify with the partner\'s certificate' };
  return { ok: true };
}

function safeIssuerAndSerial(certDer: Buffer): Buffer | undefined {
  try {
    return issuerAndSerialOfDer(certDer);
  } catch {
    return undefined;
  }
}
