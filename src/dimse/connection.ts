import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import dimse from 'dcmjs-dimse';
import type { Clock } from '../clock.ts';
import type { Device } from '../domain/device.ts';
import { isGatewayError } from '../domain/errors.ts';
import type { Logger } from '../log.ts';
import { AssociationOutcome, type AssociationRecord } from './association-log.ts';
import { useFastCommandEncoding } from './command-set.ts';
import { AbortReason, AbortSource, ContextResult, DimseStatus, RejectReason, RejectResult, RejectSource } from './constants.ts';
import { decideContexts, type ProposedContext } from './negotiation.ts';
import { endsWithLastCommandFragment, PduFaultKind, PduFramer, PduType, type PduFault, type PduGuardLimits } from './pdu-guard.ts';
import { RejectionCode, type PolicyDecision } from './policy.ts';
import { EncodedDataset, type AssociationContext, type DicomElements, type DimseService, type EventReport, type IncomingStore, type PeerChannel, type RequestContext, type ServiceRegistry } from './services.ts';
import { DimseFailure, isFailure, OperationKind, statusForError, type StatusOutcome } from './status.ts';

/** A library dataset that sends bytes we encoded ourselves instead of re-encoding its elements. */
function preEncodedDataset(bytes: Buffer, transferSyntaxUid: string | undefined): InstanceType<typeof dimse.Dataset> {
  const dataset = new dimse.Dataset({}, transferSyntaxUid);
  dataset.getDenaturalizedDataset = () => bytes;
  return dataset;
}

type Association = InstanceType<typeof dimse.association.Association>;
type Scp = InstanceType<typeof dimse.Scp>;
type Request = InstanceType<typeof dimse.requests.Request>;
type Response = InstanceType<typeof dimse.responses.Response>;
type CFindRequest = InstanceType<typeof dimse.requests.CFindRequest>;
type CCancelRequest = InstanceType<typeof dimse.requests.CCancelRequest>;
type CStoreRequest = InstanceType<typeof dimse.requests.CStoreRequest>;
type NActionRequest = InstanceType<typeof dimse.requests.NActionRequest>;

/**
 * What dcmjs-dimse writes a C-STORE dataset to, fragment by fragment. It always takes the bytes (the
 * library does not wait for `drain` in order); when the service's sink needs to catch up, the
 * connection pauses the socket instead, so that memory does not grow with the object.
 */
class StoreStream extends EventEmitter {
  readonly #store: IncomingStore | undefined;
  readonly #pause: (store: IncomingStore) => void;
  constructor(store: IncomingStore | undefined, pause: (store: IncomingStore) => void) {
    super();
    this.#store = store;
    this.#pause = pause;
  }
  write(chunk: Buffer): boolean {
    if (this.#store !== undefined && !this.#store.write(chunk)) this.#pause(this.#store);
    return true;
  }
  end(): void {}
}

const { CEchoResponse, CFindResponse, CStoreResponse, CMoveResponse, CGetResponse, NActionResponse, NCreateResponse, NDeleteResponse, NEventReportResponse, NGetResponse, NSetResponse } =
  dimse.responses;

export interface ConnectionTimeouts {
  /** From connect until the A-ASSOCIATE-RQ, and from release or reject until the peer closes. */
  artimMs: number;
  /** No PDU for this long during an association: abort. */
  idleMs: number;
  /** The longest an association may last. */
  associationMs: number;
}

/** What the connection asks the listener when an A-ASSOCIATE-RQ arrives. */
export interface AdmissionRequest {
  callingAeTitle: string;
  calledAeTitle: string;
  applicationContextName: string;
  peerAddress: string;
}
export type Admission = PolicyDecision & { device: Device | undefined };

export interface ConnectionDeps {
  id: string;
  socket: Socket;
  tls: boolean;
  clock: Clock;
  log: Logger;
  limits: PduGuardLimits;
  timeouts: ConnectionTimeouts;
  services: ServiceRegistry;
  transferSyntaxPreference: readonly string[];
  admit(request: AdmissionRequest): Promise<Admission>;
  onAccepted(connection: DicomConnection): void;
  onEnded(connection: DicomConnection, record: AssociationRecord): void;
}

type LibraryContext = ReturnType<Association['getPresentationContexts']>[number];

/**
 * The roles a requestor proposed for an abstract syntax. The item names the abstract syntax, and
 * the library records it on the first context of that syntax only.
 */
function proposedRoles(contexts: readonly LibraryContext[], abstractSyntax: string): { scu: boolean; scp: boolean } | undefined {
  for (const { context } of contexts) {
    if (context.getAbstractSyntaxUid() !== abstractSyntax) continue;
    const scu = context.getUserRole() as boolean | undefined;
    const scp = context.getProviderRole() as boolean | undefined;
    if (scu !== undefined || scp !== undefined) return { scu: scu === true, scp: scp === true };
  }
  return undefined;
}

function actionOf(request: NActionRequest): { sopInstanceUid: string; actionTypeId: number; dataset: DicomElements | undefined } {
  return {
    sopInstanceUid: request.getRequestedSopInstanceUid() ?? '',
    actionTypeId: request.getActionTypeId(),
    dataset: request.getDataset()?.getElements(),
  };
}

const faultAbortReason: Record<PduFaultKind, number> = {
  [PduFaultKind.Text]: AbortReason.UnrecognizedPdu,
  [PduFaultKind.TlsHandshake]: AbortReason.UnrecognizedPdu,
  [PduFaultKind.UnknownPduType]: AbortReason.UnrecognizedPdu,
  [PduFaultKind.UnexpectedPdu]: AbortReason.UnexpectedPdu,
  [PduFaultKind.TooLarge]: AbortReason.InvalidPduParameterValue,
  [PduFaultKind.BadLength]: AbortReason.InvalidPduParameterValue,
};

function abortPdu(source: number, reason: number): Buffer {
  return Buffer.from([PduType.Abort, 0, 0, 0, 0, 4, 0, 0, source, reason]);
}

/**
 * Stands in for the socket towards dcmjs-dimse: the library sees only whole PDUs that passed the
 * guard, and its writes are counted. Its own socket timeout is not used (we keep our own timers).
 */
class LibrarySocket extends EventEmitter {
  readonly #write: (data: Buffer) => boolean;
  constructor(write: (data: Buffer) => boolean) {
    super();
    this.#write = write;
  }
  write(data: Buffer): boolean {
    return this.#write(data);
  }
  setTimeout(): this {
    return this;
  }
  end(): void {}
  destroy(): void {}
}

/** How long a peer that asked to release may still answer a request of ours. */
const releaseGraceMs = 1000;

const State = { AwaitingRequest: 'awaiting-request', Deciding: 'deciding', Associated: 'associated', Closing: 'closing', Closed: 'closed' } as const;
type State = (typeof State)[keyof typeof State];

/**
 * One TCP (or TLS) connection: the PDU guard in front of a dcmjs-dimse SCP, our timers, the
 * association policy and negotiation, and DIMSE handlers that always answer and never throw.
 */
export class DicomConnection {
  readonly id: string;
  readonly peerAddress: string;
  readonly #deps: ConnectionDeps;
  readonly #socket: Socket;
  readonly #framer: PduFramer;
  readonly #facade: LibrarySocket;
  readonly #scp: Scp;
  readonly #log: Logger;
  readonly #startedAt: Date;
  #state: State = State.AwaitingRequest;
  #callingAeTitle: string | null = null;
  #calledAeTitle: string | null = null;
  #accepted = false;
  #outcome: AssociationOutcome | undefined;
  #reason: string | null = null;
  #services: Record<string, number> = {};
  #bytesReceived = 0;
  #bytesSent = 0;
  #lastActivity: number;
  #commandComplete = false;
  #cancelTimers: (() => void)[] = [];
  #artimCancel: (() => void) | undefined;
  #inFlight = new Set<Promise<void>>();
  #finds = new Map<number, AbortController>();
  /** C-STORE datasets being received, until their request is handed to the service. */
  #stores = new Map<CStoreRequest, IncomingStore>();
  readonly #closed: Promise<void>;
  #resolveClosed!: () => void;
  #association: AssociationContext | undefined;
  #libAssociation: Association | undefined;
  #releaseRequested = false;
  /** Our requests waiting for the peer's response: each entry ends the wait (as unanswered). */
  #awaitingPeer = new Set<() => void>();
  readonly #peer: PeerChannel = {
    isOpen: () => this.#state === State.Associated && !this.#releaseRequested,
    sendEventReport: (report) => this.#sendEventReport(report),
  };

  constructor(deps: ConnectionDeps) {
    this.#deps = deps;
    this.id = deps.id;
    this.#socket = deps.socket;
    this.peerAddress = deps.socket.remoteAddress ?? 'unknown';
    this.#log = deps.log.child({ association: deps.id, peer: this.peerAddress });
    this.#startedAt = deps.clock.now();
    this.#lastActivity = this.#startedAt.getTime();
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#framer = new PduFramer(deps.limits);
    this.#facade = new LibrarySocket((data) => this.#write(data));
    // The library's own timers stay off: `connected` is never set on an accepted socket, and the
    // socket timeout goes to the facade.
    this.#scp = new dimse.Scp(this.#facade as unknown as Socket, { connectTimeout: deps.timeouts.associationMs });
    this.#wireScp();

    const socket = this.#socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.#log.debug({ code: err.code, message: err.message }, 'socket error');
      this.#setOutcome(AssociationOutcome.Closed, err.code ?? 'socket-error');
    });
    socket.on('close', () => this.#onClose());

    this.#artimCancel = deps.clock.setTimer(deps.timeouts.artimMs, () => this.#timeout('artim'));
    this.#cancelTimers.push(deps.clock.setTimer(deps.timeouts.associationMs, () => this.#timeout('association')));
    this.#scheduleIdleCheck(deps.timeouts.idleMs);
  }

  get callingAeTitle(): string | null {
    return this.#callingAeTitle;
  }

  get isAssociated(): boolean {
    return this.#state === State.Associated;
  }

  /** Resolves when the socket has closed and the record is handed over. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** Sends A-ABORT and closes, e.g. at the end of a graceful shutdown. */
  abort(reason: string): void {
    if (this.#state === State.Closed) return;
    this.#log.warn({ reason }, 'aborting association');
    this.#setOutcome(AssociationOutcome.Aborted, reason);
    this.#write(abortPdu(AbortSource.ServiceProvider, AbortReason.NotSpecified));
    this.#destroySoon();
  }

  /** Closes a connection that has not asked for an association yet. */
  dropIfIdle(reason: string): boolean {
    if (this.#state !== State.AwaitingRequest) return false;
    this.#setOutcome(AssociationOutcome.Dropped, reason);
    this.#socket.destroy();
    return true;
  }

  // ---- socket side ----

  #write(data: Buffer): boolean {
    if (this.#socket.destroyed || !this.#socket.writable) return false;
    this.#bytesSent += data.length;
    return this.#socket.write(data);
  }

  #onData(chunk: Buffer): void {
    this.#bytesReceived += chunk.length;
    const { pdus, fault } = this.#framer.push(chunk);
    for (const pdu of pdus) {
      this.#lastActivity = this.#deps.clock.now().getTime();
      if (pdu.type === PduType.AssociateRq) {
        this.#artimCancel?.();
        this.#artimCancel = undefined;
        this.#state = State.Deciding;
      }
      try {
        if (pdu.type === PduType.DataTf) {
          if (this.#commandComplete) this.#resetLibraryCommandBuffer();
          this.#facade.emit('data', pdu.bytes);
          this.#commandComplete = endsWithLastCommandFragment(pdu.bytes);
        } else this.#facade.emit('data', pdu.bytes);
      } catch (err) {
        // Whatever the library throws while reading a PDU ends this association, never the process.
        this.#log.error({ err }, 'the DIMSE library failed on a PDU');
        this.abort('protocol-error');
        return;
      }
    }
    if (fault !== undefined) this.#refuse(fault);
  }

  /** See `endsWithLastCommandFragment`: drops the library's stale command buffer between messages. */
  #resetLibraryCommandBuffer(): void {
    const library = this.#scp as unknown as { dimse?: unknown; dimseStream?: unknown };
    if (library.dimse === undefined) library.dimseStream = undefined;
  }

  #refuse(fault: PduFault): void {
    // Logged at warn: an admin should see port scanners, misconfigured devices and TLS mix-ups.
    this.#log.warn({ fault: fault.kind, pduType: fault.pduType, claimedLength: fault.claimedLength, detail: fault.detail }, 'dropped connection: not an acceptable DICOM PDU');
    this.#setOutcome(this.#accepted ? AssociationOutcome.Aborted : AssociationOutcome.Dropped, fault.kind);
    const dicomLike = fault.kind !== PduFaultKind.Text && fault.kind !== PduFaultKind.TlsHandshake;
    if (dicomLike) this.#write(abortPdu(AbortSource.ServiceProvider, faultAbortReason[fault.kind]));
    this.#destroySoon();
  }

  /** Ends our side now and destroys the socket once the last bytes are out (or at once if they cannot go). */
  #destroySoon(): void {
    if (this.#state === State.Closed) return;
    this.#state = State.Closing;
    this.#socket.end(() => this.#socket.destroy());
    this.#cancelTimers.push(this.#deps.clock.setTimer(1000, () => this.#socket.destroy()));
  }

  /** After a reject or a release response the peer closes; ARTIM bounds the wait. */
  #closeAfterLastPdu(): void {
    this.#state = State.Closing;
    this.#socket.end();
    this.#artimCancel?.();
    this.#artimCancel = this.#deps.clock.setTimer(this.#deps.timeouts.artimMs, () => this.#socket.destroy());
  }

  #scheduleIdleCheck(ms: number): void {
    this.#cancelTimers.push(
      this.#deps.clock.setTimer(ms, () => {
        if (this.#state === State.Closed) return;
        const idleMs = this.#deps.timeouts.idleMs;
        // Only an association with nothing running can be idle; before it, ARTIM is the timer.
        if (this.#state !== State.Associated || this.#inFlight.size > 0) {
          this.#scheduleIdleCheck(idleMs);
          return;
        }
        const idle = this.#deps.clock.now().getTime() - this.#lastActivity;
        if (idle >= idleMs) this.#timeout('idle');
        else this.#scheduleIdleCheck(idleMs - idle);
      }),
    );
  }

  #timeout(kind: 'artim' | 'idle' | 'association'): void {
    if (this.#state === State.Closed) return;
    if (kind === 'artim') {
      if (this.#state !== State.AwaitingRequest) return;
      this.#log.warn({ pendingBytes: this.#framer.pendingBytes }, 'no association request in time (ARTIM): connection dropped');
      this.#setOutcome(AssociationOutcome.Dropped, 'artim-timeout');
      this.#socket.destroy();
      return;
    }
    this.#log.warn({ timeout: kind }, `${kind} timeout: aborting association`);
    this.#setOutcome(AssociationOutcome.Aborted, `${kind}-timeout`);
    this.#write(abortPdu(AbortSource.ServiceProvider, AbortReason.NotSpecified));
    this.#destroySoon();
  }

  #setOutcome(outcome: AssociationOutcome, reason: string | null): void {
    if (this.#outcome !== undefined) return;
    this.#outcome = outcome;
    this.#reason = reason;
  }

  #onClose(): void {
    if (this.#state === State.Closed) return;
    const wasPending = this.#framer.pendingBytes;
    if (this.#outcome === undefined && wasPending > 0) {
      this.#log.warn({ pendingBytes: wasPending }, 'connection closed in the middle of a PDU');
      this.#setOutcome(this.#accepted ? AssociationOutcome.Closed : AssociationOutcome.Dropped, 'truncated-pdu');
    }
    this.#setOutcome(this.#accepted ? AssociationOutcome.Closed : AssociationOutcome.Dropped, this.#accepted ? 'closed-without-release' : 'closed-before-request');
    this.#state = State.Closed;
    this.#artimCancel?.();
    for (const cancel of this.#cancelTimers) cancel();
    this.#cancelTimers = [];
    for (const find of this.#finds.values()) find.abort();
    // A dataset cut off by an abort or a closed connection leaves nothing behind.
    for (const store of this.#stores.values()) this.#track(store.discard());
    this.#stores.clear();
    // Lets the library clear its interval timer.
    this.#facade.emit('close');
    const endedAt = this.#deps.clock.now();
    const record: AssociationRecord = {
      id: this.id,
      callingAeTitle: this.#callingAeTitle,
      calledAeTitle: this.#calledAeTitle,
      peerAddress: this.peerAddress,
      tls: this.#deps.tls,
      startedAt: this.#startedAt.toISOString(),
      endedAt: endedAt.toISOString(),
      durationMs: Math.max(0, endedAt.getTime() - this.#startedAt.getTime()),
      accepted: this.#accepted,
      outcome: this.#outcome ?? AssociationOutcome.Closed,
      reason: this.#reason,
      services: this.#services,
      bytesReceived: this.#bytesReceived,
      bytesSent: this.#bytesSent,
    };
    this.#log.info(
      { outcome: record.outcome, reason: record.reason, callingAeTitle: record.callingAeTitle, durationMs: record.durationMs, services: record.services, bytesReceived: record.bytesReceived, bytesSent: record.bytesSent },
      'association ended',
    );
    try {
      this.#deps.onEnded(this, record);
    } finally {
      this.#resolveClosed();
    }
  }

  // ---- library side ----

  #wireScp(): void {
    const scp = this.#scp;
    scp.on('networkError', (err: Error) => {
      this.#log.warn({ detail: err.message }, 'DICOM protocol error: connection dropped');
      this.#setOutcome(this.#accepted ? AssociationOutcome.Aborted : AssociationOutcome.Dropped, 'protocol-error');
      if (this.#accepted) this.#write(abortPdu(AbortSource.ServiceProvider, AbortReason.NotSpecified));
      this.#destroySoon();
    });
    scp.associationRequested = (association) => {
      this.#track(this.#onAssociationRequested(association));
    };
    scp.associationReleaseRequested = () => {
      void this.#onReleaseRequested();
    };
    scp.abort = () => {
      this.#log.info('association aborted by the peer');
      this.#setOutcome(AssociationOutcome.AbortedByPeer, null);
      this.#socket.destroy();
    };
    scp.cEchoRequest = (request, callback) => this.#single('C-ECHO', OperationKind.Echo, request, callback, () => CEchoResponse.fromRequest(request), (svc, ctx) => svc.echo?.(ctx));
    scp.cFindRequest = (request, callback) => this.#find(request, callback);
    scp.cCancelRequest = (request) => this.#cancel(request);
    this.#wireStore();
    // Operations no service of ours offers yet: answered, never left hanging.
    scp.cMoveRequest = (request, callback) => this.#single('C-MOVE', OperationKind.Store, request, (r) => callback([r]), () => CMoveResponse.fromRequest(request), undefined);
    scp.cGetRequest = (request, callback) => this.#single('C-GET', OperationKind.Store, request, (r) => callback([r]), () => CGetResponse.fromRequest(request), undefined);
    scp.nCreateRequest = (request, callback) =>
      this.#single('N-CREATE', OperationKind.Normalized, request, callback, () => NCreateResponse.fromRequest(request), (svc, ctx) =>
        svc.nCreate?.(ctx, request.getAffectedSopInstanceUid(), request.getDataset()?.getElements() ?? {}),
      );
    scp.nSetRequest = (request, callback) =>
      this.#single('N-SET', OperationKind.Normalized, request, callback, () => NSetResponse.fromRequest(request), (svc, ctx) =>
        svc.nSet?.(ctx, request.getRequestedSopInstanceUid(), request.getDataset()?.getElements() ?? {}),
      );
    scp.nGetRequest = (request, callback) => this.#single('N-GET', OperationKind.Normalized, request, callback, () => NGetResponse.fromRequest(request), undefined);
    scp.nActionRequest = (request, callback) =>
      this.#single('N-ACTION', OperationKind.Normalized, request, callback, () => NActionResponse.fromRequest(request), (svc, ctx) => svc.nAction?.(ctx, actionOf(request)));
    scp.nDeleteRequest = (request, callback) => this.#single('N-DELETE', OperationKind.Normalized, request, callback, () => NDeleteResponse.fromRequest(request), undefined);
    scp.nEventReportRequest = (request, callback) =>
      this.#single('N-EVENT-REPORT', OperationKind.Normalized, request, callback, () => NEventReportResponse.fromRequest(request), undefined);
  }

  #wireStore(): void {
    const scp = this.#scp;
    scp.createStoreWritableStream = (context, request) => {
      // The context the dataset arrives on: a peer may propose one SOP class in several contexts.
      const store = this.#openStore(request, context.getAcceptedTransferSyntaxUid() ?? '');
      if (store !== undefined) this.#stores.set(request, store);
      return new StoreStream(store, (s) => this.#pauseFor(s)) as unknown as ReturnType<Scp['createStoreWritableStream']>;
    };
    // The bytes are in the service's sink already: the library gets an empty dataset to pass on, at
    // once, so that it is ready for the next message.
    scp.createDatasetFromStoreWritableStream = (_writable, context, callback) => callback(new dimse.Dataset({}, context.getAcceptedTransferSyntaxUid()));
    scp.cStoreRequest = (request, callback) => {
      const store = this.#stores.get(request);
      this.#stores.delete(request);
      let handed = false;
      this.#single('C-STORE', OperationKind.Store, request, callback, () => CStoreResponse.fromRequest(request), () => {
        if (store === undefined) return undefined;
        handed = true;
        return store.complete();
      });
      if (!handed && store !== undefined) this.#track(store.discard());
    };
  }

  /** The sink of a C-STORE's dataset; undefined (the bytes are dropped) when no service stores this SOP class. */
  #openStore(request: CStoreRequest, transferSyntax: string): IncomingStore | undefined {
    const target = this.#requestContext(request, new AbortController().signal);
    if (target === undefined || target.service.openStore === undefined) return undefined;
    try {
      return target.service.openStore({ ...target.ctx, transferSyntax }, request.getAffectedSopInstanceUid() ?? '');
    } catch (err) {
      this.#log.error({ err }, 'cannot open the store for a C-STORE');
      return undefined;
    }
  }

  /** Stops reading from the socket until the sink has written what it holds. */
  #pauseFor(store: IncomingStore): void {
    if (this.#socket.isPaused()) return;
    this.#socket.pause();
    store.onDrain(() => {
      if (this.#state !== State.Closed) this.#socket.resume();
    });
  }

  #track(work: Promise<void>): void {
    const guarded = work.catch((err: unknown) => {
      this.#log.error({ err }, 'unexpected error in the DICOM listener; association aborted');
      this.abort('internal-error');
    });
    this.#inFlight.add(guarded);
    void guarded.finally(() => this.#inFlight.delete(guarded));
  }

  async #onAssociationRequested(association: Association): Promise<void> {
    this.#libAssociation = association;
    this.#callingAeTitle = association.getCallingAeTitle().trim();
    this.#calledAeTitle = association.getCalledAeTitle().trim();
    const admission = await this.#deps.admit({
      callingAeTitle: this.#callingAeTitle,
      calledAeTitle: this.#calledAeTitle,
      applicationContextName: association.getApplicationContextName(),
      peerAddress: this.peerAddress,
    });
    if (this.#state !== State.Deciding) return;
    if (admission.kind === 'reject') {
      const { rejection } = admission;
      this.#log.warn(
        { callingAeTitle: this.#callingAeTitle, calledAeTitle: this.#calledAeTitle, rejection: rejection.code, result: rejection.result, source: rejection.source, reason: rejection.reason },
        `association rejected: ${rejection.detail}`,
      );
      this.#setOutcome(AssociationOutcome.Rejected, rejection.code);
      this.#scp.sendAssociationReject(rejection.result, rejection.source, rejection.reason);
      this.#closeAfterLastPdu();
      return;
    }
    const device = admission.device;
    const contexts = association.getPresentationContexts();
    // Copy the proposed syntaxes first: setResult() empties the library's live array.
    const proposed: ProposedContext[] = contexts.map(({ id, context }) => ({
      id,
      abstractSyntax: context.getAbstractSyntaxUid(),
      transferSyntaxes: [...context.getTransferSyntaxUids()],
      roles: proposedRoles(contexts, context.getAbstractSyntaxUid()),
    }));
    for (const service of new Set(proposed.map((p) => this.#deps.services.forSopClass(p.abstractSyntax)))) {
      const refusal = await service?.refuseAssociation?.();
      if (this.#state !== State.Deciding) return;
      if (refusal !== undefined) {
        this.#log.warn({ callingAeTitle: this.#callingAeTitle, service: service?.name, reason: refusal }, 'association rejected: a proposed service cannot take work now');
        this.#setOutcome(AssociationOutcome.Rejected, RejectionCode.ServiceUnavailable);
        this.#scp.sendAssociationReject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.PresentationLocalLimitExceeded);
        this.#closeAfterLastPdu();
        return;
      }
    }
    const decisions = decideContexts(
      proposed,
      (uid) => {
        const service = this.#deps.services.forSopClass(uid);
        if (service === undefined) return undefined;
        return { service: service.name, transferSyntaxes: service.transferSyntaxes, allowed: device === undefined || device.services.includes(service.deviceService) };
      },
      this.#deps.transferSyntaxPreference,
    );
    for (const decision of decisions) {
      const context = association.getPresentationContext(decision.id);
      if (decision.result === ContextResult.Acceptance) context.setResult(decision.result, decision.transferSyntax);
      else context.setResult(decision.result);
      // The library answers with the roles as proposed, on the context that holds the item; ours:
      // the requestor may be the SCU, we are never its SCU.
      const roles = proposed.find((p) => p.id === decision.id)?.roles;
      if (roles !== undefined && (context.getUserRole() !== undefined || context.getProviderRole() !== undefined)) {
        context.setUserRole(roles.scu);
        context.setProviderRole(false);
      }
    }
    if (association.getNegotiateUserIdentity()) {
      // Accepted as sent; the identity is not checked (no user accounts for DICOM peers yet).
      if (association.getUserIdentityPositiveResponseRequested()) {
        association.setNegotiateUserIdentityServerResponse(true);
        association.setUserIdentityServerResponse('');
      }
    }
    if (association.getNegotiateAsyncOps()) {
      // We perform one operation at a time per association.
      association.setMaxAsyncOpsInvoked(1);
      association.setMaxAsyncOpsPerformed(1);
    }
    this.#accepted = true;
    this.#state = State.Associated;
    this.#lastActivity = this.#deps.clock.now().getTime();
    const accepted = decisions.filter((d) => d.result === ContextResult.Acceptance);
    this.#association = {
      id: this.id,
      callingAeTitle: this.#callingAeTitle,
      calledAeTitle: this.#calledAeTitle,
      calledAlias: admission.calledAlias,
      peerAddress: this.peerAddress,
      device,
      tls: this.#deps.tls,
    };
    this.#deps.onAccepted(this);
    this.#scp.sendAssociationAccept();
    this.#log.info(
      {
        callingAeTitle: this.#callingAeTitle,
        calledAeTitle: this.#calledAeTitle,
        knownDevice: device !== undefined,
        contexts: decisions.map((d) => ('transferSyntax' in d ? `${d.id}:${d.service}:${d.transferSyntax}` : `${d.id}:rejected(${d.result})`)),
        userIdentity: association.getNegotiateUserIdentity() ? association.getUserIdentityType() : undefined,
      },
      accepted.length > 0 ? 'association accepted' : 'association accepted without any acceptable presentation context',
    );
  }

  async #onReleaseRequested(): Promise<void> {
    this.#releaseRequested = true;
    // A peer releasing may still answer a request of ours (PS3.8 Sta7), but most do not: a short
    // grace, then the release goes on and the service sends its report another way.
    if (this.#awaitingPeer.size > 0) {
      const pending = [...this.#awaitingPeer];
      this.#cancelTimers.push(this.#deps.clock.setTimer(releaseGraceMs, () => pending.forEach((giveUp) => giveUp())));
    }
    // Let running operations finish first, so that their last response precedes the release.
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    if (this.#state === State.Closed) return;
    this.#setOutcome(AssociationOutcome.Released, null);
    this.#scp.sendAssociationReleaseResponse();
    this.#closeAfterLastPdu();
  }

  #count(operation: string): void {
    this.#services[operation] = (this.#services[operation] ?? 0) + 1;
  }

  #requestContext(request: Request, signal: AbortSignal): { service: DimseService; ctx: RequestContext } | undefined {
    const sopClassUid = request.getAffectedSopClassUid() ?? request.getRequestedSopClassUid();
    const service = this.#deps.services.forSopClass(sopClassUid);
    const context = this.#libAssociation?.getAcceptedPresentationContextFromRequest(request);
    if (service === undefined || context === undefined || this.#association === undefined) return undefined;
    return {
      service,
      ctx: { association: this.#association, transferSyntax: context.getAcceptedTransferSyntaxUid() ?? '', sopClassUid, log: this.#log, signal, peer: this.#peer },
    };
  }

  /** Single-response operations: the handler runs wrapped, and exactly one response goes back. */
  #single<R extends Response>(
    operation: string,
    kind: OperationKind,
    request: Request,
    callback: (response: R) => void,
    makeResponse: () => R,
    handle: ((service: DimseService, ctx: RequestContext) => Promise<unknown> | undefined) | undefined,
  ): void {
    this.#count(operation);
    const respond = (status: number, comment?: string): void => {
      const response = useFastCommandEncoding(makeResponse());
      response.setStatus(status);
      if (comment !== undefined) response.setErrorComment(comment);
      if (isFailure(status)) this.#log.warn({ operation, status: `0x${status.toString(16).padStart(4, '0')}`, comment }, 'DIMSE operation failed');
      callback(response);
    };
    const controller = new AbortController();
    const work = async (): Promise<void> => {
      try {
        const target = this.#requestContext(request, controller.signal);
        const run = target === undefined || handle === undefined ? undefined : handle(target.service, target.ctx);
        if (run === undefined) {
          respond(target === undefined ? DimseStatus.SopClassNotSupported : DimseStatus.UnrecognizedOperation);
          return;
        }
        const afterResponse = await run;
        respond(DimseStatus.Success);
        // E.g. the storage commitment report, which must follow the N-ACTION response.
        if (typeof afterResponse === 'function') this.#track((afterResponse as () => Promise<void>)());
      } catch (err) {
        if (!isGatewayError(err) && !(err instanceof DimseFailure)) this.#log.error({ err, operation }, 'DIMSE handler failed');
        const outcome = statusForError(err, kind);
        respond(outcome.status, outcome.errorComment);
      }
    };
    this.#track(work());
  }

  /**
   * A request from our side of the association (we are its acceptor): the library matches the
   * peer's response by message ID. Bounded by the idle timeout, and by the association's end.
   */
  async #sendEventReport(report: EventReport): Promise<number | undefined> {
    if (!this.#peer.isOpen()) return undefined;
    const request = new dimse.requests.NEventReportRequest(report.sopClassUid, report.sopInstanceUid, report.eventTypeId);
    const context = this.#libAssociation?.getAcceptedPresentationContextFromRequest(request);
    if (context === undefined) return undefined;
    request.setDataset(new dimse.Dataset(report.dataset, context.getAcceptedTransferSyntaxUid()));
    this.#count('N-EVENT-REPORT sent');
    return new Promise<number | undefined>((resolve) => {
      let settled = false;
      const finish = (status: number | undefined): void => {
        if (settled) return;
        settled = true;
        cancelTimer();
        this.#awaitingPeer.delete(giveUp);
        resolve(status);
      };
      const giveUp = (): void => finish(undefined);
      this.#awaitingPeer.add(giveUp);
      const cancelTimer = this.#deps.clock.setTimer(this.#deps.timeouts.idleMs, () => {
        this.#log.warn('the peer did not answer our N-EVENT-REPORT in time');
        finish(undefined);
      });
      request.on('response', (response: { getStatus(): number }) => {
        this.#lastActivity = this.#deps.clock.now().getTime();
        if (response.getStatus() !== DimseStatus.Pending) finish(response.getStatus());
      });
      void this.#closed.then(() => finish(undefined));
      this.#scp.sendRequests(request);
    });
  }

  /** C-FIND: one Pending response at a time, a C-CANCEL checked between them. */
  #find(request: CFindRequest, callback: (responses: InstanceType<typeof CFindResponse>[]) => void): void {
    this.#count('C-FIND');
    const messageId = request.getMessageId();
    const controller = new AbortController();
    this.#finds.set(messageId, controller);
    // The library's callback may be called once only: pending responses go out through
    // sendResponse(), one at a time; the final one through the callback.
    const respond = (status: number, dataset?: DicomElements | EncodedDataset, ts?: string, failure?: StatusOutcome): void => {
      const response = useFastCommandEncoding(CFindResponse.fromRequest(request));
      response.setAffectedSopClassUid(request.getAffectedSopClassUid());
      response.setStatus(status);
      if (dataset instanceof EncodedDataset) response.setDataset(preEncodedDataset(dataset.bytes, ts));
      else if (dataset !== undefined) response.setDataset(new dimse.Dataset(dataset, ts));
      if (failure?.errorComment !== undefined) response.setErrorComment(failure.errorComment);
      if (failure !== undefined && failure.offendingElements.length > 0) response.getCommandDataset().setElement('OffendingElement', failure.offendingElements as unknown as string);
      if (status === DimseStatus.Pending) {
        // The library writes the command and the dataset PDUs apart: one TCP segment for both.
        this.#socket.cork();
        this.#scp.sendResponse(request, response);
        this.#socket.uncork();
      }
      else callback([response]);
    };
    const work = async (): Promise<void> => {
      let count = 0;
      try {
        const target = this.#requestContext(request, controller.signal);
        if (target === undefined || target.service.find === undefined) {
          respond(target === undefined ? DimseStatus.SopClassNotSupported : DimseStatus.UnrecognizedOperation);
          return;
        }
        const identifier = request.getDataset()?.getElements() ?? {};
        for await (const answer of target.service.find(target.ctx, identifier)) {
          if (controller.signal.aborted) break;
          respond(DimseStatus.Pending, answer, target.ctx.transferSyntax);
          count++;
          await this.#writable();
          if (controller.signal.aborted) break;
        }
        if (this.#state === State.Closed) return;
        this.#log.info({ operation: 'C-FIND', matches: count, cancelled: controller.signal.aborted }, 'C-FIND answered');
        respond(controller.signal.aborted ? DimseStatus.Cancel : DimseStatus.Success);
      } catch (err) {
        if (this.#state === State.Closed) return;
        this.#log.error({ err, operation: 'C-FIND', matches: count }, 'C-FIND failed');
        const outcome = statusForError(err, OperationKind.Find);
        respond(outcome.status, undefined, undefined, outcome);
      } finally {
        this.#finds.delete(messageId);
      }
    };
    this.#track(work());
  }

  #cancel(request: CCancelRequest): void {
    this.#count('C-CANCEL');
    const find = this.#finds.get(request.getMessageIdBeingRespondedTo());
    if (find === undefined) {
      this.#log.debug('C-CANCEL for an operation that is not running');
      return;
    }
    find.abort();
  }

  /** Resolves once the socket can take more and incoming PDUs (a C-CANCEL) have had their turn. */
  async #writable(): Promise<void> {
    if (this.#socket.writableNeedDrain) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.#socket.off('drain', done);
          this.#socket.off('close', done);
          resolve();
        };
        this.#socket.on('drain', done);
        this.#socket.on('close', done);
      });
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
