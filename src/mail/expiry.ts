import { X509Certificate } from 'node:crypto';

/** One certificate whose expiry the admin should know about. */
export interface CertificateExpiry {
  /** What it is, e.g. `mailbox main: S/MIME`, `partner Radiologie Nord`, `server smtp.example.org`. */
  owner: string;
  subject: string;
  validTo: string;
  daysLeft: number;
  status: 'ok' | 'expiring' | 'expired';
}

export function expiryOf(owner: string, certificate: X509Certificate, now: Date, warningDays: number): CertificateExpiry {
  return expiryAt(owner, certificate.subject.replace(/\n/g, ', '), new Date(certificate.validTo), now, warningDays);
}

/** The same for anything valid until a date (an OpenPGP key's expiry). */
export function expiryAt(owner: string, subject: string, validTo: Date, now: Date, warningDays: number): CertificateExpiry {
  const daysLeft = Math.floor((validTo.getTime() - now.getTime()) / 86_400_000);
  const status = validTo <= now ? 'expired' : daysLeft < warningDays ? 'expiring' : 'ok';
  return { owner, subject, validTo: validTo.toISOString(), daysLeft, status };
}

/** All certificates of a PEM bundle (a CA file may hold several). */
export function certificatesOfPem(pem: Buffer | string): X509Certificate[] {
  const text = pem.toString();
  return (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((block) => new X509Certificate(block));
}
