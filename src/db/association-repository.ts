import type { AssociationOutcome, AssociationRecord } from '../domain/association.ts';
import type { Database } from './database.ts';

/** A finished association as stored: the record the DICOM listener hands over. */
export type StoredAssociation = AssociationRecord;

interface AssociationRow {
  id: string;
  calling_ae: string | null;
  called_ae: string | null;
  peer_address: string;
  tls: number;
  started_at: string;
  ended_at: string;
  duration_ms: number;
  accepted: number;
  outcome: AssociationOutcome;
  reason: string | null;
  services: string;
  bytes_received: number;
  bytes_sent: number;
}

function toAssociation(row: AssociationRow): StoredAssociation {
  return {
    id: row.id,
    callingAeTitle: row.calling_ae,
    calledAeTitle: row.called_ae,
    peerAddress: row.peer_address,
    tls: row.tls === 1,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    durationMs: row.duration_ms,
    accepted: row.accepted === 1,
    outcome: row.outcome,
    reason: row.reason,
    services: JSON.parse(row.services) as Record<string, number>,
    bytesReceived: row.bytes_received,
    bytesSent: row.bytes_sent,
  };
}

export interface AssociationQuery {
  callingAeTitle?: string | undefined;
  outcome?: string | undefined;
  /** ISO instants, inclusive start, exclusive end. */
  since?: string | undefined;
  until?: string | undefined;
  limit: number;
  offset: number;
}

/** Per calling AE title: when last seen, accepted associations in two periods, rejections in the first. */
export interface CallingAeActivity {
  callingAeTitle: string;
  lastSeen: string;
  current: number;
  previous: number;
  rejectedCurrent: number;
}

export class AssociationRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  /** Queued for the next group commit; resolves once durable. */
  record(a: StoredAssociation): Promise<void> {
    return this.#db.write((sqlite) => {
      sqlite
        .prepare(
          `INSERT INTO associations (id, calling_ae, called_ae, peer_address, tls, started_at, ended_at, duration_ms, accepted, outcome, reason, services, bytes_received, bytes_sent)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          a.id,
          a.callingAeTitle,
          a.calledAeTitle,
          a.peerAddress,
          a.tls ? 1 : 0,
          a.startedAt,
          a.endedAt,
          a.durationMs,
          a.accepted ? 1 : 0,
          a.outcome,
          a.reason,
          JSON.stringify(a.services),
          a.bytesReceived,
          a.bytesSent,
        );
    });
  }

  list(query: AssociationQuery): { items: StoredAssociation[]; total: number } {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.callingAeTitle !== undefined) {
      where.push('calling_ae = ?');
      params.push(query.callingAeTitle);
    }
    if (query.outcome !== undefined) {
      where.push('outcome = ?');
      params.push(query.outcome);
    }
    if (query.since !== undefined) {
      where.push('started_at >= ?');
      params.push(query.since);
    }
    if (query.until !== undefined) {
      where.push('started_at < ?');
      params.push(query.until);
    }
    const clause = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
    const sqlite = this.#db.sqlite;
    const total = (sqlite.prepare(`SELECT COUNT(*) AS n FROM associations ${clause}`).get(...params) as { n: number }).n;
    const rows = sqlite
      .prepare(`SELECT * FROM associations ${clause} ORDER BY started_at DESC, id LIMIT ? OFFSET ?`)
      .all(...params, query.limit, query.offset) as unknown as AssociationRow[];
    return { items: rows.map(toAssociation), total };
  }

  /** `currentStart` <= current < (open end); `previousStart` <= previous < `currentStart`. */
  activity(previousStart: string, currentStart: string): CallingAeActivity[] {
    const rows = this.#db.sqlite
      .prepare(
        `SELECT calling_ae AS callingAeTitle,
                MAX(started_at) AS lastSeen,
                SUM(accepted = 1 AND started_at >= ?) AS current,
                SUM(accepted = 1 AND started_at >= ? AND started_at < ?) AS previous,
                SUM(accepted = 0 AND started_at >= ?) AS rejectedCurrent
         FROM associations WHERE calling_ae IS NOT NULL GROUP BY calling_ae ORDER BY calling_ae`,
      )
      .all(currentStart, previousStart, currentStart, currentStart) as unknown as CallingAeActivity[];
    return rows.map((r) => ({ ...r, current: Number(r.current), previous: Number(r.previous), rejectedCurrent: Number(r.rejectedCurrent) }));
  }
}
