/**
 * Frames the raw bytes of a connection into whole PDUs before the DIMSE library sees them, and
 * refuses what is not DICOM upper layer traffic on the header alone: unknown PDU types, lengths
 * beyond what we announced (nothing is buffered for them), PDUs an SCP never receives. Memory per
 * connection is bounded by the largest allowed PDU.
 */

export const PduType = {
  AssociateRq: 0x01,
  AssociateAc: 0x02,
  AssociateRj: 0x03,
  DataTf: 0x04,
  ReleaseRq: 0x05,
  ReleaseRp: 0x06,
  Abort: 0x07,
} as const;
export type PduType = (typeof PduType)[keyof typeof PduType];

export const PduFaultKind = {
  /** Printable text: most likely an HTTP request or a telnet session. */
  Text: 'text',
  /** A TLS ClientHello on a plain port (or the other way round). */
  TlsHandshake: 'tls-handshake',
  UnknownPduType: 'unknown-pdu-type',
  /** The PDU type is valid but not here: an SCP never receives A-ASSOCIATE-AC, or a second RQ. */
  UnexpectedPdu: 'unexpected-pdu',
  /** The header claims more than we accept for this PDU type. */
  TooLarge: 'pdu-too-large',
  /** The length cannot be right for this PDU type. */
  BadLength: 'bad-pdu-length',
} as const;
export type PduFaultKind = (typeof PduFaultKind)[keyof typeof PduFaultKind];

export interface PduFault {
  kind: PduFaultKind;
  pduType: number;
  /** The length the header claims (0 when the header is not DICOM). */
  claimedLength: number;
  detail: string;
}

export interface PduGuardLimits {
  /** The maximum P-DATA-TF length we announce (Maximum Length Received). */
  maxDataPduLength: number;
  /** A-ASSOCIATE-RQ carries presentation contexts and user identity; a few hundred kB is plenty. */
  maxAssociateRqLength: number;
}

export const defaultMaxAssociateRqLength = 256 * 1024;
const headerLength = 6;

export interface FramedPdu {
  type: PduType;
  /** The whole PDU including its 6-byte header, as the library expects it. */
  bytes: Buffer;
}

export type PushResult = { pdus: FramedPdu[]; fault?: PduFault };

function describeStart(head: Buffer): PduFaultKind {
  if (head[0] === 0x16 && head[1] === 0x03) return PduFaultKind.TlsHandshake;
  const text = head.subarray(0, Math.min(head.length, 8));
  if (text.length >= 4 && [...text].every((b) => (b >= 0x20 && b < 0x7f) || b === 0x0d || b === 0x0a || b === 0x09)) return PduFaultKind.Text;
  return PduFaultKind.UnknownPduType;
}

/** Checks a PDU header against the connection's state; returns a fault or undefined. */
export function checkPduHeader(type: number, length: number, state: { associationRequested: boolean }, limits: PduGuardLimits, head: Buffer): PduFault | undefined {
  const fault = (kind: PduFaultKind, detail: string): PduFault => ({ kind, pduType: type, claimedLength: length, detail });
  // The reserved byte after the type is not checked: PS3.8 says receivers shall not test reserved fields.
  if (type < PduType.AssociateRq || type > PduType.Abort) {
    const kind = describeStart(head);
    // Text and TLS are not DICOM at all: claimed lengths mean nothing there.
    return { kind, pduType: type, claimedLength: kind === PduFaultKind.UnknownPduType ? length : 0, detail: kind === PduFaultKind.UnknownPduType ? `unknown PDU type 0x${type.toString(16).padStart(2, '0')}` : `not DICOM (${kind})` };
  }
  if (!state.associationRequested && type !== PduType.AssociateRq && type !== PduType.Abort) {
    return fault(PduFaultKind.UnexpectedPdu, `PDU type ${type} before an A-ASSOCIATE-RQ`);
  }
  switch (type) {
    case PduType.AssociateRq:
      if (state.associationRequested) return fault(PduFaultKind.UnexpectedPdu, 'a second A-ASSOCIATE-RQ on one connection');
      if (length > limits.maxAssociateRqLength) return fault(PduFaultKind.TooLarge, `A-ASSOCIATE-RQ of ${length} bytes, limit ${limits.maxAssociateRqLength}`);
      // Protocol version (2) + reserved (2) + called and calling AE (32) + reserved (32) + application context item.
      if (length < 68) return fault(PduFaultKind.BadLength, `A-ASSOCIATE-RQ of ${length} bytes is too short`);
      return undefined;
    case PduType.AssociateAc:
    case PduType.AssociateRj:
      return fault(PduFaultKind.UnexpectedPdu, `PDU type ${type} is sent by an SCP, never to one`);
    case PduType.DataTf:
      if (length > limits.maxDataPduLength) return fault(PduFaultKind.TooLarge, `P-DATA-TF of ${length} bytes, announced maximum ${limits.maxDataPduLength}`);
      // One PDV item: 4-byte length, context id, message control header.
      if (length < 6) return fault(PduFaultKind.BadLength, `P-DATA-TF of ${length} bytes is too short`);
      return undefined;
    default:
      // A-RELEASE-RQ, A-RELEASE-RP, A-ABORT: four fixed bytes.
      if (length !== 4) return fault(PduFaultKind.BadLength, `PDU type ${type} must be 4 bytes long, claims ${length}`);
      return undefined;
  }
}

/**
 * Accumulates socket chunks into whole PDUs. After a fault it refuses everything: the caller drops
 * the connection.
 */
export class PduFramer {
  readonly #limits: PduGuardLimits;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #associationRequested = false;
  #failed = false;

  constructor(limits: PduGuardLimits) {
    this.#limits = limits;
  }

  /** Bytes of a PDU begun but not complete. */
  get pendingBytes(): number {
    return this.#buffered;
  }

  push(chunk: Buffer): PushResult {
    const pdus: FramedPdu[] = [];
    if (this.#failed) return { pdus };
    if (chunk.length === 0) return { pdus };
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    for (;;) {
      if (this.#buffered < headerLength) return { pdus };
      const head = this.#head();
      const type = head[0] as number;
      const length = head.readUInt32BE(2);
      const fault = checkPduHeader(type, length, { associationRequested: this.#associationRequested }, this.#limits, head);
      if (fault !== undefined) {
        this.#failed = true;
        this.#chunks = [];
        this.#buffered = 0;
        return { pdus, fault };
      }
      const total = headerLength + length;
      if (this.#buffered < total) return { pdus };
      if (type === PduType.AssociateRq) this.#associationRequested = true;
      pdus.push({ type: type as PduType, bytes: this.#take(total) });
    }
  }

  /** The first bytes buffered (at least the header), without consuming them. */
  #head(): Buffer {
    const first = this.#chunks[0] as Buffer;
    if (first.length >= 8 || first.length === this.#buffered) return first;
    const joined = Buffer.concat(this.#chunks, this.#buffered);
    this.#chunks = [joined];
    return joined;
  }

  #take(n: number): Buffer {
    const first = this.#chunks[0] as Buffer;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
    } else {
      const joined = Buffer.concat(this.#chunks, this.#buffered);
      out = joined.subarray(0, n);
      this.#chunks = joined.length > n ? [joined.subarray(n)] : [];
    }
    this.#buffered -= n;
    return out;
  }
}

/**
 * Whether the last PDV of a P-DATA-TF is the last fragment of a command. dcmjs-dimse 0.3.3 keeps
 * the buffer of a command without a data set after handling it and appends the next command to it,
 * so every message on one association parses all the ones before (quadratic time); the connection
 * uses this to reset that buffer between messages.
 */
export function endsWithLastCommandFragment(pdu: Buffer): boolean {
  let at = headerLength;
  let last = false;
  while (at + 6 <= pdu.length) {
    const itemLength = pdu.readUInt32BE(at);
    const control = pdu[at + 5] as number;
    last = (control & 0x03) === 0x03;
    at += 4 + itemLength;
  }
  return last;
}
