import type { DatabaseSync } from 'node:sqlite';
import type { CommitmentResult, FailureReason } from '../domain/storage-commitment.ts';
import type { Database } from './database.ts';

export const CommitmentState = {
  AwaitingAssociation: 'awaiting-association',
  Queued: 'queued',
  Delivered: 'delivered',
  Failed: 'failed',
} as const;
export type CommitmentState = (typeof CommitmentState)[keyof typeof CommitmentState];

export const ReportOn = { SameAssociation: 'same-association', NewAssociation: 'new-association' } as const;
export type ReportOn = (typeof ReportOn)[keyof typeof ReportOn];

export interface NewCommitment {
  transactionUid: string;
  callingAeTitle: string;
  associationId: string;
  reportOn: ReportOn;
  state: CommitmentState;
  reportFile: string;
  results: readonly CommitmentResult[];
  receivedAt: string;
  reason?: string;
}

/** A request as the API shows it; the delivery job's state is read from the job ledger. */
export interface StoredCommitment {
  id: number;
  transactionUid: string;
  callingAeTitle: string;
  associationId: string;
  reportOn: ReportOn;
  /** `queued` becomes `failed` here once its job has failed for good. */
  state: CommitmentState;
  committed: number;
  failed: number;
  receivedAt: string;
  deliveredAt: string | null;
  deliveredVia: ReportOn | null;
  reason: string | null;
  reportFile: string;
  job: { id: number; state: string; attempts: number; maxAttempts: number; nextAttemptAt: string | null; lastError: string | null } | null;
}

interface Row {
  id: number;
  transaction_uid: string;
  calling_ae_title: string;
  association_id: string;
  report_on: ReportOn;
  state: CommitmentState;
  report_file: string;
  committed: number;
  failed: number;
  job_id: number | null;
  received_at: string;
  delivered_at: string | null;
  delivered_via: ReportOn | null;
  reason: string | null;
  job_state: string | null;
  job_attempts: number | null;
  job_max_attempts: number | null;
  job_run_at: number | null;
  job_last_error: string | null;
}

const select = `
  SELECT c.*, j.state AS job_state, j.attempts AS job_attempts, j.max_attempts AS job_max_attempts, j.run_at AS job_run_at, j.last_error AS job_last_error
  FROM storage_commitments c LEFT JOIN jobs j ON j.id = c.job_id`;

function toCommitment(r: Row): StoredCommitment {
  const jobFailed = r.state === CommitmentState.Queued && r.job_state === 'failed';
  return {
    id: r.id,
    transactionUid: r.transaction_uid,
    callingAeTitle: r.calling_ae_title,
    associationId: r.association_id,
    reportOn: r.report_on,
    state: jobFailed ? CommitmentState.Failed : r.state,
    committed: r.committed,
    failed: r.failed,
    receivedAt: r.received_at,
    deliveredAt: r.delivered_at,
    deliveredVia: r.delivered_via,
    reason: jobFailed ? `the report could not be delivered: ${r.job_last_error ?? 'unknown error'}` : r.reason,
    reportFile: r.report_file,
    job:
      r.job_id === null || r.job_state === null
        ? null
        : {
            id: r.job_id,
            state: r.job_state,
            attempts: r.job_attempts ?? 0,
            maxAttempts: r.job_max_attempts ?? 0,
            nextAttemptAt: r.job_state === 'queued' && r.job_run_at !== null ? new Date(r.job_run_at).toISOString() : null,
            lastError: r.job_last_error,
          },
  };
}

/** Marks a request's report delivered; run in the transaction that completes its delivery job. */
export function markCommitmentDelivered(tx: DatabaseSync, id: number, via: ReportOn, at: string): void {
  tx.prepare(`UPDATE storage_commitments SET state = 'delivered', delivered_at = ?, delivered_via = ?, reason = NULL WHERE id = ? AND state <> 'delivered'`).run(at, via, id);
}

export class StorageCommitmentRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  insert(tx: DatabaseSync, c: NewCommitment): number {
    const committed = c.results.filter((r) => r.failureReason === null).length;
    const { lastInsertRowid } = this.#db
      .statement(
        `INSERT INTO storage_commitments (transaction_uid, calling_ae_title, association_id, report_on, state, report_file, committed, failed, received_at, reason)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        tx,
      )
      .run(c.transactionUid, c.callingAeTitle, c.associationId, c.reportOn, c.state, c.reportFile, committed, c.results.length - committed, c.receivedAt, c.reason ?? null);
    const id = Number(lastInsertRowid);
    const item = this.#db.statement('INSERT INTO storage_commitment_items (commitment_ref, position, sop_class_uid, sop_instance_uid, failure_reason) VALUES (?, ?, ?, ?, ?)', tx);
    c.results.forEach((r, i) => item.run(id, i + 1, r.sopClassUid, r.sopInstanceUid, r.failureReason));
    return id;
  }

  /** The delivery job now carries the report (queued), or it cannot be delivered (failed, with the reason). */
  setQueued(tx: DatabaseSync, id: number, jobId: number): void {
    this.#db.statement(`UPDATE storage_commitments SET state = 'queued', job_id = ? WHERE id = ?`, tx).run(jobId, id);
  }

  setFailed(tx: DatabaseSync, id: number, reason: string): void {
    this.#db.statement(`UPDATE storage_commitments SET state = 'failed', reason = ? WHERE id = ?`, tx).run(reason, id);
  }

  /** Requests whose report was to go on their association when the gateway stopped. */
  awaitingAssociation(): StoredCommitment[] {
    return (this.#db.sqlite.prepare(`${select} WHERE c.state = 'awaiting-association' ORDER BY c.id`).all() as unknown as Row[]).map(toCommitment);
  }

  get(id: number): StoredCommitment | undefined {
    const row = this.#db.sqlite.prepare(`${select} WHERE c.id = ?`).get(id) as Row | undefined;
    return row === undefined ? undefined : toCommitment(row);
  }

  results(id: number): CommitmentResult[] {
    const rows = this.#db.sqlite
      .prepare('SELECT sop_class_uid, sop_instance_uid, failure_reason FROM storage_commitment_items WHERE commitment_ref = ? ORDER BY position')
      .all(id) as { sop_class_uid: string; sop_instance_uid: string; failure_reason: number | null }[];
    return rows.map((r) => ({ sopClassUid: r.sop_class_uid, sopInstanceUid: r.sop_instance_uid, failureReason: r.failure_reason as FailureReason | null }));
  }

  list(q: { transactionUid?: string; callingAeTitle?: string; limit: number; offset: number }): { items: StoredCommitment[]; total: number } {
    const where: string[] = [];
    const args: string[] = [];
    if (q.transactionUid !== undefined) {
      where.push('c.transaction_uid = ?');
      args.push(q.transactionUid);
    }
    if (q.callingAeTitle !== undefined) {
      where.push('c.calling_ae_title = ?');
      args.push(q.callingAeTitle);
    }
    const clause = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
    const rows = this.#db.sqlite.prepare(`${select} ${clause} ORDER BY c.id DESC LIMIT ? OFFSET ?`).all(...args, q.limit, q.offset) as unknown as Row[];
    const { n } = this.#db.sqlite.prepare(`SELECT COUNT(*) AS n FROM storage_commitments c ${clause}`).get(...args) as { n: number };
    return { items: rows.map(toCommitment), total: n };
  }
}
