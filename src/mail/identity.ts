import { createPrivateKey, type KeyObject, type X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { GatewayConfig } from '../config/index.ts';
import { ErrorCode, GatewayError, type FieldIssue } from '../domain/errors.ts';
import { cmsCertificate, type CmsCertificate } from './certificate.ts';
import { certificatesOfPem } from './expiry.ts';

export type MailboxConfig = GatewayConfig['mail']['mailboxes'][number];

/** What the relay needs of a mailbox besides its key material, wherever the mailbox was defined. */
export type MailboxSettings = Omit<MailboxConfig, 'tls' | 'smime' | 'openpgp'>;

/** Where a mailbox was defined: the config file (read-only in the API) or the API (kept in the database). */
export const MailboxSource = { Config: 'config', Api: 'api' } as const;
export type MailboxSource = (typeof MailboxSource)[keyof typeof MailboxSource];

/** A mailbox's certificates and keys as contents (PEM), before they are checked. */
export interface MailboxMaterial {
  tls: { cert: Buffer; key: Buffer; ca: Buffer };
  smime: { cert: Buffer; key: Buffer };
}

/** One of our mailboxes with its material checked: TLS material for the servers and our S/MIME identity. */
export interface Mailbox {
  config: MailboxSettings;
  source: MailboxSource;
  tls: { cert: Buffer; key: Buffer; ca: Buffer };
  smime: { certificate: CmsCertificate; key: KeyObject };
}

const field = (at: string, name: string): string => (at === '' ? name : `${at}.${name}`);

/**
 * Checks a mailbox's certificates and keys, given as contents: each is PEM, each key belongs to its
 * certificate, the CA file holds certificates. Every problem goes to `issues` under `at` (the
 * mailbox's path in the config file, or '' for an API request), so that all are named at once.
 * The one check for config-file and API mailboxes.
 */
export function checkMailboxMaterial(material: MailboxMaterial, at: string, issues: FieldIssue[]): Pick<Mailbox, 'tls' | 'smime'> | undefined {
  const before = issues.length;
  const privateKey = (pem: Buffer, name: string): KeyObject | undefined => {
    try {
      return createPrivateKey(pem);
    } catch (err) {
      issues.push({ path: field(at, name), message: `not a PEM private key (unencrypted): ${(err as Error).message}` });
      return undefined;
    }
  };
  const matches = (cert: X509Certificate | undefined, key: KeyObject | undefined, keyField: string, certField: string): void => {
    if (cert !== undefined && key !== undefined && !cert.checkPrivateKey(key)) issues.push({ path: field(at, keyField), message: `the key does not belong to ${certField}` });
  };

  // PEM only, as TLS takes it; a chain (ours first, then intermediates) is fine.
  let tlsCert: X509Certificate | undefined;
  try {
    tlsCert = certificatesOfPem(material.tls.cert)[0];
    if (tlsCert === undefined) issues.push({ path: field(at, 'tls.cert'), message: 'not a PEM certificate (-----BEGIN CERTIFICATE----- ...)' });
  } catch (err) {
    issues.push({ path: field(at, 'tls.cert'), message: `not a PEM certificate: ${(err as Error).message}` });
  }
  matches(tlsCert, privateKey(material.tls.key, 'tls.key'), 'tls.key', 'tls.cert');
  try {
    if (certificatesOfPem(material.tls.ca).length === 0) issues.push({ path: field(at, 'tls.ca'), message: 'no PEM certificate (-----BEGIN CERTIFICATE----- ...) in it' });
  } catch (err) {
    issues.push({ path: field(at, 'tls.ca'), message: `not a PEM certificate: ${(err as Error).message}` });
  }

  let smime: CmsCertificate | undefined;
  try {
    smime = cmsCertificate(material.smime.cert);
  } catch (err) {
    issues.push({ path: field(at, 'smime.cert'), message: `not a PEM certificate: ${(err as Error).message}` });
  }
  const smimeKey = privateKey(material.smime.key, 'smime.key');
  matches(smime?.x509, smimeKey, 'smime.key', 'smime.cert');

  if (issues.length > before || smime === undefined || smimeKey === undefined) return undefined;
  return { tls: material.tls, smime: { certificate: smime, key: smimeKey } };
}

/**
 * Reads every config-file mailbox's certificates and keys at start, so that a wrong path or a key
 * that does not belong to its certificate is reported once, naming every field, instead of at the
 * first mail.
 */
export function loadMailboxes(configs: readonly MailboxConfig[]): Mailbox[] {
  const issues: FieldIssue[] = [];
  const mailboxes: Mailbox[] = [];
  configs.forEach((config, i) => {
    const at = `mail.mailboxes[${i}]`;
    const read = (file: string, name: string): Buffer | undefined => {
      try {
        return readFileSync(file);
      } catch (err) {
        issues.push({ path: `${at}.${name}`, message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
        return undefined;
      }
    };
    const files = { tlsCert: read(config.tls.cert, 'tls.cert'), tlsKey: read(config.tls.key, 'tls.key'), ca: read(config.tls.ca, 'tls.ca'), smimeCert: read(config.smime.cert, 'smime.cert'), smimeKey: read(config.smime.key, 'smime.key') };
    if (files.tlsCert === undefined || files.tlsKey === undefined || files.ca === undefined || files.smimeCert === undefined || files.smimeKey === undefined) return;
    const checked = checkMailboxMaterial({ tls: { cert: files.tlsCert, key: files.tlsKey, ca: files.ca }, smime: { cert: files.smimeCert, key: files.smimeKey } }, at, issues);
    if (checked === undefined) return;
    const { tls: _, smime: __, openpgp: ___, ...settings } = config;
    mailboxes.push({ config: settings, source: MailboxSource.Config, ...checked });
  });
  if (issues.length > 0) throw new GatewayError(ErrorCode.Invalid, 'the mail configuration cannot be used', { issues });
  return mailboxes;
}
