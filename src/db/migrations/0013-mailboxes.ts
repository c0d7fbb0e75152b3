import type { Migration } from './index.ts';

/**
 * Our mailboxes made through the API (those of the config file stay there). Certificates are kept as
 * PEM; the private keys, the POP3 password and the OpenPGP passphrase only sealed (`enc:v1:`,
 * AES-256-GCM under the secret key file), so a copy of the database gives none of them away.
 */
export const mailboxes: Migration = {
  version: 13,
  name: 'mailboxes',
  sql: `
    CREATE TABLE mail_mailboxes (
      id INTEGER PRIMARY KEY,
      name TEXT NOT NULL UNIQUE,
      address TEXT NOT NULL,
      -- security: starttls or tls (implicit TLS, RFC 8314).
      smtp_host TEXT NOT NULL,
      smtp_port INTEGER NOT NULL,
      smtp_security TEXT NOT NULL CHECK (smtp_security IN ('starttls', 'tls')),
      pop3_host TEXT NOT NULL,
      pop3_port INTEGER NOT NULL,
      pop3_user TEXT NOT NULL,
      pop3_password_sealed TEXT NOT NULL,
      tls_cert TEXT NOT NULL,
      tls_key_sealed TEXT NOT NULL,
      tls_ca TEXT NOT NULL,
      smime_cert TEXT NOT NULL,
      smime_key_sealed TEXT NOT NULL,
      -- Both set or both NULL: our armored OpenPGP private key (passphrase-protected as well) and its passphrase.
      openpgp_key_sealed TEXT,
      openpgp_passphrase_sealed TEXT,
      poll_seconds REAL NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      CHECK ((openpgp_key_sealed IS NULL) = (openpgp_passphrase_sealed IS NULL))
    ) STRICT;
  `,
};
