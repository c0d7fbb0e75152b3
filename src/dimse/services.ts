import type { Device, DeviceService } from '../domain/device.ts';
import type { Logger } from '../log.ts';

/** What a handler knows of the association it serves. */
export interface AssociationContext {
  id: string;
  callingAeTitle: string;
  calledAeTitle: string;
  /** The alias the peer called, when it did not call our main AE title (may select a worklist partition). */
  calledAlias: string | undefined;
  peerAddress: string;
  device: Device | undefined;
  tls: boolean;
}

export interface RequestContext {
  association: AssociationContext;
  /** The accepted transfer syntax of the presentation context. */
  transferSyntax: string;
  sopClassUid: string;
  log: Logger;
  /** Aborted when the peer cancels (C-CANCEL) or the association ends. */
  signal: AbortSignal;
  /** Requests from us to the peer on this association (the SCP side sending N-EVENT-REPORT). */
  peer: PeerChannel;
}

/** An N-EVENT-REPORT request we send. */
export interface EventReport {
  sopClassUid: string;
  sopInstanceUid: string;
  eventTypeId: number;
  dataset: DicomElements;
}

/** What we may ask the peer on the association it opened. */
export interface PeerChannel {
  /** True while the association is established and the peer has not asked to release it. */
  isOpen(): boolean;
  /**
   * Sends the report in the association's accepted context of its SOP class; resolves with the
   * peer's response status, or undefined when the association ended (or the peer did not answer
   * within the idle timeout) first.
   */
  sendEventReport(report: EventReport): Promise<number | undefined>;
}

/** An N-ACTION request as the service sees it. */
export interface ActionRequest {
  sopInstanceUid: string;
  actionTypeId: number;
  /** Undefined when the request carried no data set. */
  dataset: DicomElements | undefined;
}

/** Work to run once the success response has been sent (it must not throw). */
export type AfterResponse = () => Promise<void>;

/** A naturalized DICOM dataset (dcmjs keywords). */
export type DicomElements = Record<string, unknown>;

/**
 * An answer already encoded in the presentation context's transfer syntax, its text in the character
 * set its (0008,0005) names (dcmjs would write UTF-8 whatever that says).
 */
export class EncodedDataset {
  readonly bytes: Buffer;
  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }
}

/**
 * A DICOM service the listener offers: the SOP classes it answers, the transfer syntaxes it handles
 * and the handlers for the DIMSE operations it supports. Later issues add C-FIND (worklist),
 * C-STORE and MPPS as more of these, passed to the listener in its deps.
 */
export interface DimseService {
  /** A name for records and logs, e.g. `echo`, `worklist`. */
  name: string;
  /** The registry service a device must be allowed to use it. */
  deviceService: DeviceService;
  sopClasses: readonly string[];
  /** Handled transfer syntaxes in the service's order of preference. */
  transferSyntaxes: readonly string[];
  echo?(ctx: RequestContext): Promise<void>;
  /**
   * C-FIND: yields the matches one at a time; the listener sends each as a Pending response, checks
   * for a C-CANCEL between them and ends with Success, Cancel or the mapped failure.
   */
  find?(ctx: RequestContext, identifier: DicomElements): AsyncIterable<DicomElements | EncodedDataset>;
  /** C-STORE: opens where the dataset of this request streams to (called when its command is in). */
  openStore?(ctx: RequestContext, sopInstanceUid: string): IncomingStore;
  /**
   * Asked when a new association proposes this service: a reason to refuse it for now (e.g. the disk
   * is full), answered with a transient A-ASSOCIATE-RJ, or undefined to go on.
   */
  refuseAssociation?(): Promise<string | undefined>;
  /** N-CREATE of an instance; throws GatewayErrors that status.ts maps (conflict 0111, invalid 0106, ...). */
  nCreate?(ctx: RequestContext, sopInstanceUid: string, dataset: DicomElements): Promise<void>;
  /** N-SET of an instance (not found 0112, refused 0110, ...). */
  nSet?(ctx: RequestContext, sopInstanceUid: string, changes: DicomElements): Promise<void>;
  /** N-ACTION; throws DimseFailure or GatewayError to refuse; may return work for after the response. */
  nAction?(ctx: RequestContext, request: ActionRequest): Promise<AfterResponse | undefined>;
}

/**
 * A C-STORE under way: the dataset's bytes go to `write` as they arrive (false: the listener pauses
 * the socket until `onDrain`); `complete` runs once the last fragment is in and decides the status
 * (throws GatewayErrors); `discard` drops it when the association ends first.
 */
export interface IncomingStore {
  write(chunk: Buffer): boolean;
  onDrain(listener: () => void): void;
  complete(): Promise<void>;
  discard(): Promise<void>;
}

/** Which service answers which SOP class; a SOP class belongs to one service only. */
export class ServiceRegistry {
  readonly #bySopClass = new Map<string, DimseService>();
  readonly services: readonly DimseService[];

  constructor(services: readonly DimseService[]) {
    this.services = services;
    for (const service of services) {
      for (const uid of service.sopClasses) {
        const existing = this.#bySopClass.get(uid);
        if (existing !== undefined) throw new Error(`SOP class ${uid} is offered by both ${existing.name} and ${service.name}`);
        this.#bySopClass.set(uid, service);
      }
    }
  }

  forSopClass(uid: string): DimseService | undefined {
    return this.#bySopClass.get(uid);
  }
}
