import type { Device, DeviceSettings, DeviceSource } from '../domain/device.ts';
import type { Database } from './database.ts';

interface DeviceRow {
  ae_title: string;
  source: DeviceSource;
  settings: string;
  created_at: string;
  updated_at: string;
}

function toDevice(row: DeviceRow): Device {
  const settings = JSON.parse(row.settings) as DeviceSettings;
  return { ...settings, aeTitle: row.ae_title, source: row.source, createdAt: row.created_at, updatedAt: row.updated_at };
}

/** Devices are few and read often; settings are kept as validated JSON so new fields need no migration. */
export class DeviceRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  list(): Device[] {
    const rows = this.#db.sqlite.prepare('SELECT * FROM devices ORDER BY ae_title').all() as unknown as DeviceRow[];
    return rows.map(toDevice);
  }

  get(aeTitle: string): Device | undefined {
    const row = this.#db.sqlite.prepare('SELECT * FROM devices WHERE ae_title = ?').get(aeTitle) as DeviceRow | undefined;
    return row === undefined ? undefined : toDevice(row);
  }

  /** Inserts or replaces; keeps the creation time of an existing row. */
  upsert(settings: DeviceSettings, source: DeviceSource, now: Date): Device {
    const at = now.toISOString();
    this.#db.sqlite
      .prepare(
        `INSERT INTO devices (ae_title, source, settings, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (ae_title) DO UPDATE SET source = excluded.source, settings = excluded.settings, updated_at = excluded.updated_at`,
      )
      .run(settings.aeTitle, source, JSON.stringify(settings), at, at);
    return this.get(settings.aeTitle) as Device;
  }

  delete(aeTitle: string): boolean {
    return Number(this.#db.sqlite.prepare('DELETE FROM devices WHERE ae_title = ?').run(aeTitle).changes) > 0;
  }

  /** Removes config-sourced devices no longer in the config. */
  deleteConfigDevicesExcept(aeTitles: readonly string[]): number {
    const keep = new Set(aeTitles);
    let removed = 0;
    for (const d of this.list()) {
      if (d.source === 'config' && !keep.has(d.aeTitle)) removed += this.delete(d.aeTitle) ? 1 : 0;
    }
    return removed;
  }
}
