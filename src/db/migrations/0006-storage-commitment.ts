import type { Migration } from './index.ts';

/**
 * Storage Commitment requests (N-ACTION) and what became of their report (N-EVENT-REPORT). A row is
 * written before the N-ACTION is answered; its items carry the outcome of the check against the index.
 */
export const storageCommitment: Migration = {
  version: 6,
  name: 'storage-commitment',
  sql: `
    CREATE TABLE storage_commitments (
      id INTEGER PRIMARY KEY,
      transaction_uid TEXT NOT NULL,
      calling_ae_title TEXT NOT NULL,
      association_id TEXT NOT NULL,
      -- the device's preference: the association of the request while open, or always a new one
      report_on TEXT NOT NULL CHECK (report_on IN ('same-association', 'new-association')),
      -- awaiting-association: to be sent on the request's association; queued: a delivery job runs
      -- (its state and attempts are in jobs); delivered; failed: cannot be delivered (reason)
      state TEXT NOT NULL CHECK (state IN ('awaiting-association', 'queued', 'delivered', 'failed')),
      -- the report's content, relative to the data directory (workers do not open the database)
      report_file TEXT NOT NULL,
      committed INTEGER NOT NULL,
      failed INTEGER NOT NULL,
      -- no foreign key: finished jobs are pruned
      job_id INTEGER,
      received_at TEXT NOT NULL,
      delivered_at TEXT,
      delivered_via TEXT CHECK (delivered_via IN ('same-association', 'new-association')),
      reason TEXT
    ) STRICT;
    CREATE INDEX storage_commitments_transaction ON storage_commitments (transaction_uid);
    CREATE INDEX storage_commitments_state ON storage_commitments (state, id);

    -- failure_reason: NULL when committed, else the Failure Reason (0008,1197) sent
    CREATE TABLE storage_commitment_items (
      commitment_ref INTEGER NOT NULL REFERENCES storage_commitments (id) ON DELETE CASCADE,
      position INTEGER NOT NULL,
      sop_class_uid TEXT NOT NULL,
      sop_instance_uid TEXT NOT NULL,
      failure_reason INTEGER,
      PRIMARY KEY (commitment_ref, position)
    ) STRICT, WITHOUT ROWID;
  `,
};
