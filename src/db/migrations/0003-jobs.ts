import type { Migration } from './index.ts';

/**
 * The job queue's ledger: with the embedded driver the queue itself, with the Redis driver the outbox
 * (jobs are first recorded here, in the caller's transaction) and the record of their results.
 * Times are epoch milliseconds from the gateway's clock.
 */
export const jobs: Migration = {
  version: 3,
  name: 'jobs',
  sql: `
    CREATE TABLE jobs (
      id INTEGER PRIMARY KEY,
      type TEXT NOT NULL,
      -- deduplication key: at most one waiting job per key, never two running at once
      key TEXT,
      payload TEXT NOT NULL,
      correlation_id TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'completed', 'failed')),
      attempts INTEGER NOT NULL DEFAULT 0,
      max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
      run_at INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      started_at INTEGER,
      finished_at INTEGER,
      progress REAL NOT NULL DEFAULT 0,
      result TEXT,
      last_error TEXT,
      error_kind TEXT CHECK (error_kind IN ('transient', 'permanent', 'interrupted')),
      -- incremented on every claim or dispatch: a late answer of an older run is ignored
      run INTEGER NOT NULL DEFAULT 0,
      -- Redis driver: when the dispatcher handed the current run to BullMQ
      dispatched_at INTEGER,
      schedule TEXT
    ) STRICT;
    CREATE INDEX jobs_claim ON jobs (state, type, run_at, id);
    CREATE INDEX jobs_state_id ON jobs (state, id);
    CREATE INDEX jobs_key ON jobs (key, state) WHERE key IS NOT NULL;
    CREATE INDEX jobs_type_state ON jobs (type, state, id);

    CREATE TABLE job_schedules (
      name TEXT PRIMARY KEY,
      type TEXT NOT NULL,
      cron TEXT NOT NULL,
      payload TEXT NOT NULL,
      paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
      next_run_at INTEGER,
      last_run_at INTEGER,
      last_job_id INTEGER,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    ) STRICT;
  `,
};
