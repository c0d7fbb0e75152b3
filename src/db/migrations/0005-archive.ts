import type { Migration } from './index.ts';

/** The index of received instances: studies and series of the patients the worklist knows too. */
export const archive: Migration = {
  version: 5,
  name: 'archive',
  sql: `
    CREATE TABLE studies (
      id INTEGER PRIMARY KEY,
      study_instance_uid TEXT NOT NULL UNIQUE,
      patient_ref INTEGER NOT NULL REFERENCES patients (id),
      study_date TEXT NOT NULL DEFAULT '',
      study_time TEXT NOT NULL DEFAULT '',
      accession_number TEXT NOT NULL DEFAULT '',
      study_id TEXT NOT NULL DEFAULT '',
      description TEXT NOT NULL DEFAULT '',
      referring_physician TEXT NOT NULL DEFAULT '',
      -- The order the study fulfilled; kept when the worklist item is cleaned up (no foreign key).
      order_item_id TEXT,
      order_accession_number TEXT NOT NULL DEFAULT '',
      order_requested_procedure_id TEXT NOT NULL DEFAULT '',
      order_step_id TEXT NOT NULL DEFAULT '',
      -- When the study was found complete (a quiet time without new instances); NULL while it is open.
      stable_at TEXT,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX studies_patient ON studies (patient_ref);
    CREATE INDEX studies_date ON studies (study_date);
    CREATE INDEX studies_accession ON studies (accession_number);
    CREATE INDEX studies_open ON studies (updated_at) WHERE stable_at IS NULL;

    CREATE TABLE series (
      id INTEGER PRIMARY KEY,
      series_instance_uid TEXT NOT NULL UNIQUE,
      study_ref INTEGER NOT NULL REFERENCES studies (id),
      modality TEXT NOT NULL DEFAULT '',
      series_number INTEGER,
      description TEXT NOT NULL DEFAULT '',
      body_part TEXT NOT NULL DEFAULT '',
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX series_study ON series (study_ref);

    -- path: relative to archive/. duplicates: later copies received and not kept (keep-first) or that replaced this one (overwrite).
    CREATE TABLE instances (
      id INTEGER PRIMARY KEY,
      sop_instance_uid TEXT NOT NULL UNIQUE,
      series_ref INTEGER NOT NULL REFERENCES series (id),
      sop_class_uid TEXT NOT NULL,
      transfer_syntax_uid TEXT NOT NULL,
      instance_number INTEGER,
      frames INTEGER NOT NULL,
      size INTEGER NOT NULL,
      sha256 TEXT NOT NULL,
      path TEXT NOT NULL,
      calling_ae_title TEXT NOT NULL,
      association_id TEXT NOT NULL,
      received_at TEXT NOT NULL,
      duplicates INTEGER NOT NULL DEFAULT 0,
      last_duplicate_at TEXT
    ) STRICT;
    CREATE INDEX instances_series ON instances (series_ref);
    CREATE INDEX instances_received ON instances (received_at);
  `,
};
