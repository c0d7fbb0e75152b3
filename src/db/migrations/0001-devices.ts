import type { Migration } from './index.ts';

export const devices: Migration = {
  version: 1,
  name: 'devices',
  sql: `
    CREATE TABLE devices (
      ae_title TEXT PRIMARY KEY,
      source TEXT NOT NULL CHECK (source IN ('config', 'api')),
      settings TEXT NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    ) STRICT;
  `,
};
