import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { GatewayConfig } from '../config/index.ts';
import { ErrorCode, GatewayError, type FieldIssue } from '../domain/errors.ts';
import { cmsCertificate, type CmsCertificate } from './certificate.ts';

export type MailboxConfig = GatewayConfig['mail']['mailboxes'][number];

/** One of our mailboxes with its files read: TLS material for the servers and our S/MIME identity. */
export interface Mailbox {
  config: MailboxConfig;
  tls: { cert: Buffer; key: Buffer; ca: Buffer };
  smime: { certificate: CmsCertificate; key: KeyObject };
}

/**
 * Reads every mailbox's certificates and keys at start, so that a wrong path or a key that does not
 * belong to its certificate is reported once, naming every field, instead of at the first mail.
 */
export function loadMailboxes(configs: readonly MailboxConfig[]): Mailbox[] {
  const issues: FieldIssue[] = [];
  const mailboxes: Mailbox[] = [];
  configs.forEach((config, i) => {
    const at = `mail.mailboxes[${i}]`;
    const read = (file: string, field: string): Buffer | undefined => {
      try {
        return readFileSync(file);
      } catch (err) {
        issues.push({ path: `${at}.${field}`, message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
        return undefined;
      }
    };
    const tls = { cert: read(config.tls.cert, 'tls.cert'), key: read(config.tls.key, 'tls.key'), ca: read(config.tls.ca, 'tls.ca') };
    const smimeCert = read(config.smime.cert, 'smime.cert');
    const smimeKey = read(config.smime.key, 'smime.key');
    if (tls.cert === undefined || tls.key === undefined || tls.ca === undefined || smimeCert === undefined || smimeKey === undefined) return;
    let certificate: CmsCertificate;
    let key: KeyObject;
    try {
      certificate = cmsCertificate(smimeCert);
    } catch (err) {
      issues.push({ path: `${at}.smime.cert`, message: `not a PEM certificate: ${(err as Error).message}` });
      return;
    }
    try {
      key = createPrivateKey(smimeKey);
    } catch (err) {
      issues.push({ path: `${at}.smime.key`, message: `not a PEM private key: ${(err as Error).message}` });
      return;
    }
    if (!certificate.x509.checkPrivateKey(key)) {
      issues.push({ path: `${at}.smime.key`, message: 'the key does not belong to smime.cert' });
      return;
    }
    mailboxes.push({ config, tls: { cert: tls.cert, key: tls.key, ca: tls.ca }, smime: { certificate, key } });
  });
  if (issues.length > 0) throw new GatewayError(ErrorCode.Invalid, 'the mail configuration cannot be used', { issues });
  return mailboxes;
}
