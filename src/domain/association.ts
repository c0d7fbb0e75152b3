/** One association (or a connection dropped before it became one), as recorded when it ends. */
export interface AssociationRecord {
  id: string;
  /** Null when the connection never sent an A-ASSOCIATE-RQ. */
  callingAeTitle: string | null;
  calledAeTitle: string | null;
  peerAddress: string;
  tls: boolean;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  accepted: boolean;
  outcome: AssociationOutcome;
  /** Why it was rejected, dropped or aborted; a code or a short technical text, never patient data. */
  reason: string | null;
  /** DIMSE operations by name and count, e.g. `{ "C-ECHO": 3 }`. */
  services: Record<string, number>;
  bytesReceived: number;
  bytesSent: number;
}

export const AssociationOutcome = {
  /** Ended by A-RELEASE. */
  Released: 'released',
  Rejected: 'rejected',
  /** The peer sent A-ABORT. */
  AbortedByPeer: 'aborted-by-peer',
  /** We aborted: timeout, shutdown, protocol error. */
  Aborted: 'aborted',
  /** Not DICOM, or a PDU we refuse; the connection was closed. */
  Dropped: 'dropped',
  /** The peer closed the connection without release or abort. */
  Closed: 'closed',
} as const;
export type AssociationOutcome = (typeof AssociationOutcome)[keyof typeof AssociationOutcome];
