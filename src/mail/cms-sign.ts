import { sign, type KeyObject } from 'node:crypto';
import type { CmsCertificate } from './certificate.ts';
import { der, int, nullValue, octets, oid, seq, setOf, Tag, utcTime } from './der.ts';
import { Oid } from './oids.ts';

function attribute(type: string, value: Buffer): Buffer {
  return seq(oid(type), setOf(value));
}

/**
 * A detached CMS SignedData (RFC 5652) over content whose SHA-256 the caller computed while streaming
 * it: signed attributes (content type, signing time, message digest) signed with RSA PKCS#1 v1.5 and
 * SHA-256, our certificate included. Returned as a DER ContentInfo, for `application/pkcs7-signature`.
 */
export function detachedSignature(deps: { digest: Buffer; certificate: CmsCertificate; key: KeyObject; signingTime: Date }): Buffer {
  const sha256 = seq(oid(Oid.sha256));
  const attributes = [attribute(Oid.contentType, oid(Oid.data)), attribute(Oid.signingTime, utcTime(deps.signingTime)), attribute(Oid.messageDigest, octets(deps.digest))];
  // The signature covers the attributes encoded as a SET (tag 0x31); in SignerInfo they carry [0] IMPLICIT.
  const signedSet = setOf(...attributes);
  const signature = sign('sha256', signedSet, deps.key);
  const signedAttrs = Buffer.concat([Buffer.from([Tag.Context0]), signedSet.subarray(1)]);
  const signerInfo = seq(int(1), deps.certificate.issuerAndSerial, sha256, signedAttrs, seq(oid(Oid.rsaEncryption), nullValue()), octets(signature));
  const signedData = seq(int(1), setOf(sha256), seq(oid(Oid.data)), der(Tag.Context0, deps.certificate.der), setOf(signerInfo));
  return seq(oid(Oid.signedData), der(Tag.Context0, signedData));
}
