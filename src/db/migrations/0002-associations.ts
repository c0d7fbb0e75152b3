import type { Migration } from './index.ts';

export const associations: Migration = {
  version: 2,
  name: 'associations',
  sql: `
    CREATE TABLE associations (
      id TEXT PRIMARY KEY,
      calling_ae TEXT,
      called_ae TEXT,
      peer_address TEXT NOT NULL,
      tls INTEGER NOT NULL CHECK (tls IN (0, 1)),
      started_at TEXT NOT NULL,
      ended_at TEXT NOT NULL,
      duration_ms INTEGER NOT NULL,
      accepted INTEGER NOT NULL CHECK (accepted IN (0, 1)),
      outcome TEXT NOT NULL,
      reason TEXT,
      services TEXT NOT NULL,
      bytes_received INTEGER NOT NULL,
      bytes_sent INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX associations_started ON associations (started_at DESC);
    CREATE INDEX associations_calling ON associations (calling_ae, started_at);
  `,
};
