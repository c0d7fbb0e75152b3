import { readFile } from 'node:fs/promises';
import * as openpgp from 'openpgp';
import type { PrivateKey, PublicKey } from 'openpgp';
import { ErrorCode, GatewayError, type FieldIssue } from '../domain/errors.ts';
import type { MailboxConfig } from './identity.ts';

/** Our OpenPGP key pair for one mailbox: we sign with it and partners encrypt to it. */
export interface OpenPgpIdentity {
  privateKey: PrivateKey;
  publicKey: PublicKey;
  fingerprint: string;
  /** The armored public key, for partners to pin. */
  armoredPublicKey: string;
}

/**
 * Opens one mailbox's OpenPGP key, given as its armored contents. The key must be
 * passphrase-protected (S2K): the key pair stays encrypted at rest. Problems go to `issues` under
 * `at` (`<at>.key`, `<at>.passphrase`). The one check for config-file and API mailboxes.
 */
export async function openOpenPgpIdentity(armored: string, passphrase: string, at: string, issues: FieldIssue[]): Promise<OpenPgpIdentity | undefined> {
  let locked: PrivateKey;
  try {
    locked = await openpgp.readPrivateKey({ armoredKey: armored });
  } catch (err) {
    issues.push({ path: `${at}.key`, message: `not an armored OpenPGP private key: ${(err as Error).message}` });
    return undefined;
  }
  if (locked.isDecrypted()) {
    issues.push({ path: `${at}.key`, message: 'the private key is not protected by a passphrase; export it with one (gpg --export-secret-keys --armor)' });
    return undefined;
  }
  try {
    const privateKey = await openpgp.decryptKey({ privateKey: locked, passphrase });
    // Signing and decryption must work under our own strict rules.
    await privateKey.getSigningKey();
    await privateKey.getDecryptionKeys();
    const publicKey = privateKey.toPublic();
    return { privateKey, publicKey, fingerprint: privateKey.getFingerprint().toUpperCase(), armoredPublicKey: publicKey.armor() };
  } catch (err) {
    issues.push({ path: `${at}.passphrase`, message: `the key cannot be opened or used: ${(err as Error).message}` });
    return undefined;
  }
}

/**
 * Opens every config-file mailbox's OpenPGP key at start (the passphrase in the config may itself
 * be sealed, enc:v1:). Every problem is reported at once, by field.
 */
export async function loadOpenPgpIdentities(configs: readonly MailboxConfig[]): Promise<Map<string, OpenPgpIdentity>> {
  const issues: FieldIssue[] = [];
  const out = new Map<string, OpenPgpIdentity>();
  for (const [i, config] of configs.entries()) {
    if (config.openpgp === undefined) continue;
    const at = `mail.mailboxes[${i}].openpgp`;
    let armored: string;
    try {
      armored = await readFile(config.openpgp.key, 'utf8');
    } catch (err) {
      issues.push({ path: `${at}.key`, message: `cannot read ${config.openpgp.key}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
      continue;
    }
    const identity = await openOpenPgpIdentity(armored, config.openpgp.passphrase, at, issues);
    if (identity !== undefined) out.set(config.name, identity);
  }
  if (issues.length > 0) throw new GatewayError(ErrorCode.Invalid, 'the mail configuration cannot be used', { issues });
  return out;
}
