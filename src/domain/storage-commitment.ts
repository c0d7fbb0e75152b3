import type { FieldIssue } from './errors.ts';
import { isValidUid } from './uid.ts';

/** The Storage Commitment Push Model SOP class and its one, well-known instance (PS3.4 J.3). */
export const StorageCommitmentUid = { sopClass: '1.2.840.10008.1.20.1', instance: '1.2.840.10008.1.20.1.1' } as const;

/** One instance a device asks us to commit to. */
export interface CommitmentReference {
  sopClassUid: string;
  sopInstanceUid: string;
}

/** A validated Storage Commitment request (N-ACTION, Action Type 1). */
export interface CommitmentRequest {
  transactionUid: string;
  references: CommitmentReference[];
}

/** Failure Reason (0008,1197) values of a Failed SOP Sequence item (PS3.4 J.3.3.1.1). */
export const FailureReason = {
  /** Known but lost: indexed and its file is missing. */
  ProcessingFailure: 0x0110,
  NoSuchObjectInstance: 0x0112,
  ClassInstanceConflict: 0x0119,
} as const;
export type FailureReason = (typeof FailureReason)[keyof typeof FailureReason];

/** A reference with its outcome: committed, or the reason we cannot commit to it. */
export interface CommitmentResult extends CommitmentReference {
  failureReason: FailureReason | null;
}

/** An element value that is one valid UID (PS3.5 9.1). */
export function isUid(value: unknown): value is string {
  return typeof value === 'string' && isValidUid(value);
}

/** Requests larger than this are refused (a study of this many instances is split by every device we know). */
export const maxCommitmentReferences = 10_000;

function textOf(value: unknown): unknown {
  // dcmjs gives multi-valued or single elements as arrays at times; a UI element has one value.
  if (Array.isArray(value)) return value.length === 1 ? value[0] : value;
  return value;
}

/**
 * Checks the Action Information of a Storage Commitment request. Every problem is listed, with the
 * element it concerns, so that the error comment and the log name all of them.
 */
export function parseCommitmentRequest(dataset: Record<string, unknown> | undefined): { ok: true; request: CommitmentRequest } | { ok: false; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  if (dataset === undefined) return { ok: false, issues: [{ path: 'dataset', message: 'the N-ACTION carries no Action Information' }] };
  const transactionUid = textOf(dataset['TransactionUID']);
  if (transactionUid === undefined || transactionUid === null || transactionUid === '') {
    issues.push({ path: '(0008,1195)', message: 'Transaction UID is missing or empty' });
  } else if (!isUid(transactionUid)) {
    issues.push({ path: '(0008,1195)', message: 'Transaction UID is not a valid UID' });
  }
  const sequence = dataset['ReferencedSOPSequence'];
  const references: CommitmentReference[] = [];
  if (!Array.isArray(sequence) || sequence.length === 0) {
    issues.push({ path: '(0008,1199)', message: 'Referenced SOP Sequence is missing or empty' });
  } else if (sequence.length > maxCommitmentReferences) {
    issues.push({ path: '(0008,1199)', message: `Referenced SOP Sequence has ${sequence.length} items, at most ${maxCommitmentReferences} are accepted` });
  } else {
    sequence.forEach((item: unknown, i) => {
      const fields = typeof item === 'object' && item !== null ? (item as Record<string, unknown>) : {};
      const sopClassUid = textOf(fields['ReferencedSOPClassUID']);
      const sopInstanceUid = textOf(fields['ReferencedSOPInstanceUID']);
      const at = `(0008,1199)[${i + 1}]`;
      if (!isUid(sopClassUid)) issues.push({ path: `${at}(0008,1150)`, message: `item ${i + 1}: Referenced SOP Class UID is ${sopClassUid === undefined || sopClassUid === '' ? 'missing' : 'not a valid UID'}` });
      if (!isUid(sopInstanceUid)) issues.push({ path: `${at}(0008,1155)`, message: `item ${i + 1}: Referenced SOP Instance UID is ${sopInstanceUid === undefined || sopInstanceUid === '' ? 'missing' : 'not a valid UID'}` });
      if (isUid(sopClassUid) && isUid(sopInstanceUid)) references.push({ sopClassUid, sopInstanceUid });
    });
  }
  if (issues.length > 0 || !isUid(transactionUid)) return { ok: false, issues };
  return { ok: true, request: { transactionUid, references } };
}

/** The Action Information of a report (Event Type 1 all committed, 2 some failed), as dcmjs elements. */
export function commitmentReportDataset(transactionUid: string, results: readonly CommitmentResult[]): { eventTypeId: 1 | 2; dataset: Record<string, unknown> } {
  const committed = results.filter((r) => r.failureReason === null);
  const failed = results.filter((r) => r.failureReason !== null);
  const dataset: Record<string, unknown> = { TransactionUID: transactionUid };
  if (committed.length > 0) dataset['ReferencedSOPSequence'] = committed.map((r) => ({ ReferencedSOPClassUID: r.sopClassUid, ReferencedSOPInstanceUID: r.sopInstanceUid }));
  if (failed.length > 0) {
    dataset['FailedSOPSequence'] = failed.map((r) => ({ ReferencedSOPClassUID: r.sopClassUid, ReferencedSOPInstanceUID: r.sopInstanceUid, FailureReason: r.failureReason }));
  }
  return { eventTypeId: failed.length === 0 ? 1 : 2, dataset };
}

/** Where an N-EVENT-REPORT goes on an association of its own: the device, and how we reach it. */
export interface ReportTarget {
  host: string;
  port: number;
  /** The device's AE title. */
  calledAeTitle: string;
  /** Ours. */
  callingAeTitle: string;
  /** For the whole exchange, from connect to release. */
  timeoutMs: number;
  /** DICOM over TLS: our client certificate and the CA that signs the device's (else the system's CAs). */
  tls?: { cert?: Buffer | undefined; key?: Buffer | undefined; ca?: Buffer | undefined } | undefined;
}
