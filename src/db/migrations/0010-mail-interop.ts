import type { Migration } from './index.ts';

/**
 * E-mail interop (issue 9): partners that speak OpenPGP (PGP/MIME) instead of S/MIME, with their
 * pinned public key and the legacy exceptions an admin granted them. An OpenPGP partner has no
 * certificate: its `certificate` is the empty string (the column of version 9 is NOT NULL).
 * And message/partial (RFC 2046 5.2.2) both ways: fragments we send, sets we reassemble.
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

    -- A mail of one object larger than the limit goes as message/partial fragments (RFC 2046 5.2.2) of at
    -- most fragment_limit bytes; the built mail is kept until every fragment is sent (fragments_sent).
    ALTER TABLE mail_outbound ADD COLUMN fragment_limit INTEGER;
    ALTER TABLE mail_outbound ADD COLUMN partial_id TEXT;
    ALTER TABLE mail_outbound ADD COLUMN fragments INTEGER;
    ALTER TABLE mail_outbound ADD COLUMN fragments_sent INTEGER NOT NULL DEFAULT 0;

    -- Which send (set) a received mail belongs to, from its signed manifest: receipts go once the whole
    -- set is imported, and a set still incomplete after a while is flagged.
    ALTER TABLE mail_inbound ADD COLUMN set_id TEXT;
    ALTER TABLE mail_inbound ADD COLUMN set_part INTEGER;
    ALTER TABLE mail_inbound ADD COLUMN set_parts INTEGER;
    CREATE INDEX mail_inbound_set ON mail_inbound (mailbox, sender, set_id);

    -- Received message/partial sets. state: waiting (fragments missing), assembled (whole; the mail was
    -- put together and handled like any other: assembled_inbound), expired (not whole in time; nothing imported).
    CREATE TABLE mail_partials (
      id INTEGER PRIMARY KEY,
      mailbox TEXT NOT NULL,
      sender TEXT NOT NULL,
      partial_id TEXT NOT NULL,
      total INTEGER,
      state TEXT NOT NULL,
      assembled_inbound INTEGER,
      first_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      UNIQUE (mailbox, sender, partial_id)
    ) STRICT;
    CREATE INDEX mail_partials_state ON mail_partials (state, first_at);

    -- The fragments of a set: each a received mail (stored durably like any other) and where its body starts.
    CREATE TABLE mail_fragments (
      partial_ref INTEGER NOT NULL REFERENCES mail_partials (id) ON DELETE CASCADE,
      number INTEGER NOT NULL,
      inbound_id INTEGER NOT NULL,
      raw_path TEXT NOT NULL,
      body_start INTEGER NOT NULL,
      PRIMARY KEY (partial_ref, number)
    ) STRICT;
  `,
};
