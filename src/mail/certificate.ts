import { X509Certificate } from 'node:crypto';
import { children, expect, readElement, seq, Tag, type Element } from './der.ts';

/** A certificate as the CMS code needs it: the parsed one, its DER, and the issuer and serial that name it. */
export interface CmsCertificate {
  x509: X509Certificate;
  der: Buffer;
  /** IssuerAndSerialNumber, DER. */
  issuerAndSerial: Buffer;
}

/** The issuer Name and serial INTEGER elements of a certificate's TBSCertificate. */
function issuerAndSerialOf(certDer: Buffer): { issuer: Element; serial: Element } {
  const tbs = children(expect(readElement(certDer), Tag.Sequence, 'certificate'))[0];
  const fields = children(expect(tbs, Tag.Sequence, 'TBSCertificate'));
  // version is an optional [0] EXPLICIT before the serial number.
  const offset = fields[0]?.tag === Tag.Context0 ? 1 : 0;
  return { serial: expect(fields[offset], Tag.Integer, 'serialNumber'), issuer: expect(fields[offset + 2], Tag.Sequence, 'issuer') };
}

export function cmsCertificate(pem: string | Buffer): CmsCertificate {
  const x509 = new X509Certificate(pem);
  const certDer = x509.raw;
  const { issuer, serial } = issuerAndSerialOf(certDer);
  return { x509, der: certDer, issuerAndSerial: seq(issuer.raw, serial.raw) };
}

/** The IssuerAndSerialNumber of a certificate given as DER (one found inside a CMS message). */
export function issuerAndSerialOfDer(certDer: Buffer): Buffer {
  const { issuer, serial } = issuerAndSerialOf(certDer);
  return seq(issuer.raw, serial.raw);
}


/** What the API shows of a certificate: enough to recognise it and see when it ends. */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  serialNumber: string;
  validFrom: string;
  validTo: string;
  fingerprint256: string;
}

export function certificateInfo(cert: X509Certificate): CertificateInfo {
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    serialNumber: cert.serialNumber,
    validFrom: new Date(cert.validFrom).toISOString(),
    validTo: new Date(cert.validTo).toISOString(),
    fingerprint256: cert.fingerprint256,
  };
}
