import type { Migration } from './index.ts';

/**
 * Patient records: entries (one per study and type code) with their attachments, and which patients
 * the PVS knows. Every received study creates a patient row, so a row alone does not say that the
 * PVS has that patient: `registered` does (set by a worklist order, by `createUnknown`, or by an
 * assignment through the API). The feed orders entries by `seq`, raised on every change.
 */
export const records: Migration = {
  version: 8,
  name: 'records',
  sql: `
    ALTER TABLE patients ADD COLUMN registered INTEGER NOT NULL DEFAULT 0 CHECK (registered IN (0, 1));
    UPDATE patients SET registered = 1 WHERE id IN (SELECT patient_ref FROM worklist_items);
    CREATE TRIGGER patients_registered_by_order AFTER INSERT ON worklist_items
      BEGIN UPDATE patients SET registered = 1 WHERE id = NEW.patient_ref AND registered = 0; END;
    CREATE TRIGGER patients_registered_by_order_change AFTER UPDATE OF patient_ref ON worklist_items
      BEGIN UPDATE patients SET registered = 1 WHERE id = NEW.patient_ref AND registered = 0; END;
    CREATE INDEX patients_birth_date ON patients (birth_date) WHERE registered = 1;
    CREATE INDEX patients_number ON patients (patient_id);

    CREATE TABLE record_entries (
      id INTEGER PRIMARY KEY,
      seq INTEGER NOT NULL UNIQUE,
      type TEXT NOT NULL,
      title TEXT NOT NULL,
      entry_date TEXT NOT NULL,
      text TEXT NOT NULL DEFAULT '',
      source TEXT NOT NULL CHECK (source IN ('dicom', 'file-import', 'mail')),
      study_instance_uid TEXT,
      accession_number TEXT NOT NULL DEFAULT '',
      -- NULL while the entry waits in the unassigned inbox, with the reason
      patient_ref INTEGER REFERENCES patients (id),
      unassigned_reason TEXT CHECK (unassigned_reason IN ('no-match', 'unknown-patient', 'several-patients')),
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      CHECK ((patient_ref IS NULL) = (unassigned_reason IS NOT NULL))
    ) STRICT;
    CREATE UNIQUE INDEX record_entries_study_type ON record_entries (study_instance_uid, type, source) WHERE study_instance_uid IS NOT NULL;
    CREATE INDEX record_entries_patient ON record_entries (patient_ref);
    CREATE INDEX record_entries_inbox ON record_entries (id) WHERE patient_ref IS NULL;

    -- path: relative to the data directory (under derived/); n: 1, 2, ... within the entry
    CREATE TABLE record_attachments (
      entry_ref INTEGER NOT NULL REFERENCES record_entries (id) ON DELETE CASCADE,
      n INTEGER NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('image', 'video', 'poster', 'document')),
      path TEXT NOT NULL,
      media_type TEXT NOT NULL,
      bytes INTEGER NOT NULL,
      sha256 TEXT NOT NULL,
      sop_instance_uid TEXT NOT NULL,
      width INTEGER,
      height INTEGER,
      frames INTEGER,
      fps REAL,
      created_at TEXT NOT NULL,
      PRIMARY KEY (entry_ref, n),
      UNIQUE (entry_ref, path)
    ) STRICT;
  `,
};
