import type { DatabaseSync } from 'node:sqlite';
import type { Migration } from './migrations/index.ts';

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/**
 * Applies the migrations the database has not seen yet, each in one transaction, recorded in
 * `schema_migrations`. Forward only: a database from a newer gateway is refused rather than guessed at.
 */
export function applyMigrations(db: DatabaseSync, migrations: readonly Migration[]): number[] {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new MigrationError(`migration "${m.name}" has version ${m.version}, expected ${i + 1}`);
  });
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  ) STRICT`);
  const row = db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number };
  const current = row.v;
  if (current > migrations.length) {
    throw new MigrationError(
      `the database is at schema version ${current}, but this gateway knows only ${migrations.length}: it was written by a newer version; run that version or restore a backup`,
    );
  }
  const applied: number[] = [];
  for (const m of migrations.slice(current)) {
    const enforced = (db.prepare('PRAGMA foreign_keys').get() as { foreign_keys: number }).foreign_keys === 1;
    if (m.foreignKeysOff === true) db.exec('PRAGMA foreign_keys = OFF');
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(m.sql);
      if (m.foreignKeysOff === true) {
        const broken = db.prepare('PRAGMA foreign_key_check').all();
        if (broken.length > 0) throw new Error(`${broken.length} rows break a foreign key, e.g. in table ${String(broken[0]?.['table'])}`);
      }
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw new MigrationError(`migration ${m.version} (${m.name}) failed: ${(err as Error).message}`);
    } finally {
      if (m.foreignKeysOff === true && enforced) db.exec('PRAGMA foreign_keys = ON');
    }
    applied.push(m.version);
  }
  return applied;
}
