import type { Migration } from './index.ts';

export const worklist: Migration = {
  version: 4,
  name: 'worklist',
  sql: `
    CREATE TABLE patients (
      id INTEGER PRIMARY KEY,
      patient_id TEXT NOT NULL,
      issuer TEXT NOT NULL DEFAULT '',
      family_name TEXT NOT NULL DEFAULT '',
      given_name TEXT NOT NULL DEFAULT '',
      middle_name TEXT NOT NULL DEFAULT '',
      name_prefix TEXT NOT NULL DEFAULT '',
      name_suffix TEXT NOT NULL DEFAULT '',
      birth_date TEXT NOT NULL DEFAULT '',
      sex TEXT NOT NULL DEFAULT '',
      other_ids TEXT NOT NULL DEFAULT '[]',
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      UNIQUE (patient_id, issuer)
    ) STRICT;

    CREATE TABLE worklist_items (
      id TEXT PRIMARY KEY,
      patient_ref INTEGER NOT NULL REFERENCES patients (id),
      accession_number TEXT NOT NULL DEFAULT '',
      study_instance_uid TEXT NOT NULL,
      partition TEXT NOT NULL DEFAULT '',
      source TEXT NOT NULL CHECK (source IN ('api', 'folder')),
      source_file TEXT,
      data TEXT NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX worklist_items_accession ON worklist_items (accession_number);
    CREATE INDEX worklist_items_patient ON worklist_items (patient_ref);
    CREATE UNIQUE INDEX worklist_items_source_file ON worklist_items (source_file) WHERE source_file IS NOT NULL;

    CREATE TABLE worklist_steps (
      item_id TEXT NOT NULL REFERENCES worklist_items (id) ON DELETE CASCADE,
      step_id TEXT NOT NULL,
      station_ae_title TEXT NOT NULL,
      modality TEXT NOT NULL,
      start_date TEXT NOT NULL,
      start_time TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('scheduled', 'in_progress', 'completed', 'discontinued', 'cancelled')),
      data TEXT NOT NULL,
      status_changed_at TEXT NOT NULL,
      PRIMARY KEY (item_id, step_id)
    ) STRICT;
    -- C-FIND narrows by date first (a day or a month of a busy site), then modality and station.
    CREATE INDEX worklist_steps_date ON worklist_steps (start_date, modality, station_ae_title);
    CREATE INDEX worklist_steps_station ON worklist_steps (station_ae_title, start_date);
    CREATE INDEX worklist_steps_status ON worklist_steps (status, status_changed_at);

    -- Performed procedure steps, kept whether or not they match a scheduled step (unscheduled MPPS).
    CREATE TABLE mpps_instances (
      sop_instance_uid TEXT PRIMARY KEY,
      status TEXT NOT NULL CHECK (status IN ('IN PROGRESS', 'COMPLETED', 'DISCONTINUED')),
      calling_ae_title TEXT NOT NULL,
      steps TEXT NOT NULL DEFAULT '[]',
      attributes TEXT NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    ) STRICT;

    CREATE TABLE idempotency_keys (
      key TEXT PRIMARY KEY,
      request_hash TEXT NOT NULL,
      status INTEGER NOT NULL,
      body TEXT NOT NULL,
      created_at TEXT NOT NULL
    ) STRICT;
  `,
};
