import type { DatabaseSync } from 'node:sqlite';
import type { MppsStatus } from '../domain/mpps.ts';
import type { Database } from './database.ts';

export interface MppsRecord {
  sopInstanceUid: string;
  status: MppsStatus;
  callingAeTitle: string;
  /** The scheduled steps it was linked to: `[itemId, stepId]`. */
  steps: [string, string][];
  attributes: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

interface Row {
  sop_instance_uid: string;
  status: MppsStatus;
  calling_ae_title: string;
  steps: string;
  attributes: string;
  created_at: string;
  updated_at: string;
}

function toRecord(r: Row): MppsRecord {
  return {
    sopInstanceUid: r.sop_instance_uid,
    status: r.status,
    callingAeTitle: r.calling_ae_title,
    steps: JSON.parse(r.steps) as [string, string][],
    attributes: JSON.parse(r.attributes) as Record<string, unknown>,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export class MppsRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  get(uid: string, tx: DatabaseSync = this.#db.sqlite): MppsRecord | undefined {
    const row = tx.prepare('SELECT * FROM mpps_instances WHERE sop_instance_uid = ?').get(uid) as Row | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  insert(tx: DatabaseSync, r: MppsRecord): void {
    tx.prepare('INSERT INTO mpps_instances (sop_instance_uid, status, calling_ae_title, steps, attributes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
      r.sopInstanceUid,
      r.status,
      r.callingAeTitle,
      JSON.stringify(r.steps),
      JSON.stringify(r.attributes),
      r.createdAt,
      r.updatedAt,
    );
  }

  update(tx: DatabaseSync, uid: string, status: MppsStatus, attributes: Record<string, unknown>, now: string): void {
    tx.prepare('UPDATE mpps_instances SET status = ?, attributes = ?, updated_at = ? WHERE sop_instance_uid = ?').run(status, JSON.stringify(attributes), now, uid);
  }

  list(limit: number, offset: number): MppsRecord[] {
    return (this.#db.sqlite.prepare('SELECT * FROM mpps_instances ORDER BY updated_at DESC LIMIT ? OFFSET ?').all(limit, offset) as unknown as Row[]).map(toRecord);
  }
}
