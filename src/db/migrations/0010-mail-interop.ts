import type { Migration } from './index.ts';

/**
 * E-mail interop (issue 9): partners that speak OpenPGP (PGP/MIME) instead of S/MIME, with their
 * pinned public key and the legacy exceptions an admin granted them. An OpenPGP partner has no
 * certificate: its `certificate` is the empty string (the column of version 9 is NOT NULL).
 */
export const mailInterop: Migration = {
  version: 10,
  name: 'mail-interop',
  sql: `
    -- format: smime or openpgp.
    ALTER TABLE mail_partners ADD COLUMN format TEXT NOT NULL DEFAULT 'smime';
    -- The partner's armored OpenPGP public key, pinned: the only key whose signatures we accept from it.
    ALTER TABLE mail_partners ADD COLUMN openpgp_key TEXT;
    -- JSON {"sha1": bool, "oldKeyTypes": bool}: exceptions to the strict OpenPGP rules for this partner.
    ALTER TABLE mail_partners ADD COLUMN legacy TEXT NOT NULL DEFAULT '{"sha1":false,"oldKeyTypes":false}';
  `,
};
