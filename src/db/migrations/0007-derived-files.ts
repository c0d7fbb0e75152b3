import type { Migration } from './index.ts';

/**
 * What rendering made of each instance: one `renditions` row per rendered instance (with the reason
 * when nothing could be made, e.g. a structured report) and its files under `derived/`.
 */
export const derivedFiles: Migration = {
  version: 7,
  name: 'derived-files',
  sql: `
    CREATE TABLE renditions (
      instance_ref INTEGER PRIMARY KEY REFERENCES instances (id) ON DELETE CASCADE,
      job_id INTEGER,
      skipped TEXT,
      rendered_at TEXT NOT NULL
    ) STRICT;

    -- path: relative to the data directory.
    CREATE TABLE derived_files (
      id INTEGER PRIMARY KEY,
      instance_ref INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
      kind TEXT NOT NULL CHECK (kind IN ('image', 'video', 'poster', 'document')),
      path TEXT NOT NULL UNIQUE,
      media_type TEXT NOT NULL,
      bytes INTEGER NOT NULL,
      sha256 TEXT NOT NULL,
      width INTEGER,
      height INTEGER,
      frames INTEGER,
      fps REAL,
      created_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX derived_files_instance ON derived_files (instance_ref);
  `,
};
