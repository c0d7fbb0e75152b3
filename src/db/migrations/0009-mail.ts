import type { Migration } from './index.ts';

/**
 * The e-mail relay: partners (their pinned certificates and routing rules), the mails we send (one
 * row per mail; a study split by size makes several) and the mails we receive (one row per mail on a
 * mailbox, recorded before anything else is done with it).
 */
export const mail: Migration = {
  version: 9,
  name: 'mail',
  sql: `
    CREATE TABLE mail_partners (
      id INTEGER PRIMARY KEY,
      name TEXT NOT NULL UNIQUE,
      address TEXT NOT NULL UNIQUE COLLATE NOCASE,
      -- PEM; the only certificate whose signature we accept from this partner, and the one we encrypt to.
      certificate TEXT NOT NULL,
      mailbox TEXT NOT NULL,
      max_mail_bytes INTEGER NOT NULL,
      -- JSON arrays: studies from these calling AE titles or with these modalities go to the partner when complete.
      route_devices TEXT NOT NULL DEFAULT '[]',
      route_modalities TEXT NOT NULL DEFAULT '[]',
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    ) STRICT;

    -- state: queued, sent, failed, acknowledged (the partner's signed receipt came back). instance_ids: JSON array of archive instance ids in this mail.
    CREATE TABLE mail_outbound (
      id INTEGER PRIMARY KEY,
      send_id TEXT NOT NULL,
      partner_ref INTEGER REFERENCES mail_partners (id) ON DELETE SET NULL,
      partner_name TEXT NOT NULL,
      recipient TEXT NOT NULL,
      mailbox TEXT NOT NULL,
      study_instance_uid TEXT NOT NULL,
      part INTEGER NOT NULL,
      parts INTEGER NOT NULL,
      instance_ids TEXT NOT NULL,
      message_id TEXT NOT NULL UNIQUE,
      trigger TEXT NOT NULL,
      state TEXT NOT NULL,
      size INTEGER,
      attempts INTEGER NOT NULL DEFAULT 0,
      last_error TEXT,
      smtp_response TEXT,
      job_id INTEGER,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      sent_at TEXT,
      acknowledged_at TEXT
    ) STRICT;
    CREATE INDEX mail_outbound_state ON mail_outbound (state, id);
    CREATE INDEX mail_outbound_study ON mail_outbound (study_instance_uid);

    -- state: stored (raw mail on disk, not yet handled), imported, quarantined, duplicate, too_large, receipt (a partner's acknowledgement).
    -- deleted_at: when it was deleted from the server (only after it was fully handled).
    CREATE TABLE mail_inbound (
      id INTEGER PRIMARY KEY,
      mailbox TEXT NOT NULL,
      uidl TEXT NOT NULL,
      message_id TEXT,
      sender TEXT,
      partner_name TEXT,
      state TEXT NOT NULL,
      reason TEXT,
      raw_path TEXT,
      size INTEGER NOT NULL,
      files INTEGER,
      stored INTEGER,
      duplicates INTEGER,
      received_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      deleted_at TEXT,
      UNIQUE (mailbox, uidl)
    ) STRICT;
    CREATE INDEX mail_inbound_message ON mail_inbound (message_id);
    CREATE INDEX mail_inbound_state ON mail_inbound (state, id);
  `,
};
