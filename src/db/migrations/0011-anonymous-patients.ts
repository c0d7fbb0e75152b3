import type { Migration } from './index.ts';

/**
 * Instances without a Patient ID no longer share one patient row: each such study gets a patient of
 * its own, with the name and birth date its device sent. The patient key (ID and issuer) stays unique
 * where there is an ID. SQLite cannot drop a table constraint, so the table is rebuilt (with foreign
 * keys off for this migration, checked before it commits). Studies that shared the one row before
 * keep sharing it: their own names were not kept.
 */
export const anonymousPatients: Migration = {
  version: 11,
  name: 'anonymous-patients',
  foreignKeysOff: true,
  sql: `
    -- Triggers that name patients would stop the rename (SQLite checks them against the schema).
    DROP TRIGGER patients_registered_by_order;
    DROP TRIGGER patients_registered_by_order_change;
    CREATE TABLE patients_new (
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
      registered INTEGER NOT NULL DEFAULT 0 CHECK (registered IN (0, 1))
    ) STRICT;
    INSERT INTO patients_new (id, patient_id, issuer, family_name, given_name, middle_name, name_prefix, name_suffix, birth_date, sex, other_ids, created_at, updated_at, registered)
      SELECT id, patient_id, issuer, family_name, given_name, middle_name, name_prefix, name_suffix, birth_date, sex, other_ids, created_at, updated_at, registered FROM patients;
    DROP TABLE patients;
    ALTER TABLE patients_new RENAME TO patients;
    CREATE UNIQUE INDEX patients_key ON patients (patient_id, issuer) WHERE patient_id <> '';
    CREATE INDEX patients_birth_date ON patients (birth_date) WHERE registered = 1;
    CREATE INDEX patients_number ON patients (patient_id);
    CREATE TRIGGER patients_registered_by_order AFTER INSERT ON worklist_items
      BEGIN UPDATE patients SET registered = 1 WHERE id = NEW.patient_ref AND registered = 0; END;
    CREATE TRIGGER patients_registered_by_order_change AFTER UPDATE OF patient_ref ON worklist_items
      BEGIN UPDATE patients SET registered = 1 WHERE id = NEW.patient_ref AND registered = 0; END;
  `,
};
