import { readFileSync } from 'node:fs';
import net from 'node:net';
import dimse from 'dcmjs-dimse';
import type { RunningGateway } from './gateway.ts';

type AnyRequest = InstanceType<typeof dimse.requests.CStoreRequest> | InstanceType<typeof dimse.requests.NCreateRequest> | InstanceType<typeof dimse.requests.NSetRequest>;

/** Sends the requests over one association from a dcmjs-dimse client (calling AE `US_1`); resolves with their statuses. */
export async function sendRequests(gw: RunningGateway, requests: readonly AnyRequest[]): Promise<number[]> {
  const client = new dimse.Client();
  const statuses: number[] = [];
  client.on('networkError', () => {});
  const closed = new Promise<void>((resolve) => client.on('closed', () => resolve()));
  for (const request of requests) {
    request.on('response', (response: { getStatus(): number }) => statuses.push(response.getStatus()));
    client.addRequest(request);
  }
  client.send('127.0.0.1', gw.ports.dicom, 'US_1', 'DICOM_GATEWAY');
  await closed;
  return statuses;
}

type Association = InstanceType<typeof dimse.association.Association>;
type NEventReportRequest = InstanceType<typeof dimse.requests.NEventReportRequest>;

/** A received N-EVENT-REPORT: its command values and data set. */
export interface ReceivedReport {
  sopClassUid: string;
  sopInstanceUid: string;
  eventTypeId: number;
  dataset: Record<string, unknown>;
}

function reportOf(request: NEventReportRequest): ReceivedReport {
  return {
    sopClassUid: request.getAffectedSopClassUid(),
    sopInstanceUid: request.getAffectedSopInstanceUid(),
    eventTypeId: request.getEventTypeId(),
    dataset: request.getDataset()?.getElements() ?? {},
  };
}

export interface ProposedContextSpec {
  abstractSyntax: string;
  transferSyntaxes?: string[];
  /** An SCP/SCU Role Selection item for this abstract syntax. */
  roles?: { scu: boolean; scp: boolean };
}

/**
 * An association we open and close ourselves (dcmjs-dimse's network class on our socket), unlike
 * `Client`, which releases when its request list is done: a test can wait for the gateway's
 * N-EVENT-REPORT before it releases, and propose role selection.
 */
export class TestAssociation {
  readonly association: Association;
  readonly reports: ReceivedReport[] = [];
  /** Status we answer N-EVENT-REPORTs with; undefined: we never answer them. */
  reportStatus: number | undefined = 0;
  readonly closed: Promise<void>;
  readonly #network: InstanceType<typeof dimse.Scp>;
  readonly #socket: net.Socket;
  #waiters: (() => void)[] = [];

  private constructor(socket: net.Socket, network: InstanceType<typeof dimse.Scp>, association: Association) {
    this.#socket = socket;
    this.#network = network;
    this.association = association;
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
    (network as unknown as { nEventReportRequest: (r: NEventReportRequest, cb: (r: unknown) => void) => void }).nEventReportRequest = (request, callback) => {
      this.reports.push(reportOf(request));
      if (this.reportStatus !== undefined) {
        const response = dimse.responses.NEventReportResponse.fromRequest(request);
        response.setStatus(this.reportStatus);
        callback(response);
      }
      for (const w of this.#waiters.splice(0)) w();
    };
  }

  /** Opens the association; rejects when the gateway rejects it. */
  static open(port: number, options: { callingAeTitle: string; calledAeTitle?: string; contexts: readonly ProposedContextSpec[] }): Promise<TestAssociation> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.setNoDelay(true);
      const network = new dimse.Scp(socket, { connectTimeout: 30_000, associationTimeout: 30_000, pduTimeout: 30_000 });
      const association = new dimse.association.Association(options.callingAeTitle, options.calledAeTitle ?? 'DICOM_GATEWAY');
      for (const spec of options.contexts) {
        const id = association.addPresentationContext(spec.abstractSyntax);
        for (const ts of spec.transferSyntaxes ?? ['1.2.840.10008.1.2']) association.addTransferSyntaxToPresentationContext(id, ts);
        if (spec.roles !== undefined) {
          association.getPresentationContext(id).setUserRole(spec.roles.scu);
          association.getPresentationContext(id).setProviderRole(spec.roles.scp);
        }
      }
      const peer = new TestAssociation(socket, network, association);
      socket.on('connect', () => network.sendAssociationRequest(association));
      network.on('associationAccepted', () => resolve(peer));
      network.on('associationRejected', (r: unknown) => reject(new Error(`association rejected: ${JSON.stringify(r)}`)));
      network.on('networkError', (err: Error) => reject(err));
    });
  }

  /** Sends one request; resolves with the response's status and error comment. */
  send(request: InstanceType<typeof dimse.requests.Request>): Promise<{ status: number; comment: string | undefined }> {
    return new Promise((resolve) => {
      request.on('response', (response: { getStatus(): number; getErrorComment(): string | undefined }) => resolve({ status: response.getStatus(), comment: response.getErrorComment() }));
      this.#network.sendRequests(request);
    });
  }

  /** Resolves once `count` reports have arrived. */
  async waitForReports(count: number): Promise<ReceivedReport[]> {
    while (this.reports.length < count) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    return this.reports;
  }

  async release(): Promise<void> {
    this.#network.sendAssociationReleaseRequest();
    await this.closed;
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

/**
 * A device's listening side for storage commitment reports (a dcmjs-dimse Server): accepts the
 * Storage Commitment context, records the roles the caller proposed and every report.
 */
export async function startReportListener(
  port: number,
  options: { tls?: { key: string; cert: string; ca: string } } = {},
): Promise<{ reports: ReceivedReport[]; proposedRoles: { scu: boolean | undefined; scp: boolean | undefined }[]; callingAeTitles: string[]; clientCertificates: string[]; stop(): void }> {
  const reports: ReceivedReport[] = [];
  const clientCertificates: string[] = [];
  const proposedRoles: { scu: boolean | undefined; scp: boolean | undefined }[] = [];
  const callingAeTitles: string[] = [];
  class ReportScp extends dimse.Scp {
    override associationRequested(association: Association): void {
      callingAeTitles.push(association.getCallingAeTitle().trim());
      const socket = (this as unknown as { socket: { getPeerCertificate?(): { subject?: { CN?: string } } } }).socket;
      const cn = socket.getPeerCertificate?.().subject?.CN;
      if (cn !== undefined) clientCertificates.push(cn);
      for (const { context } of association.getPresentationContexts()) {
        proposedRoles.push({ scu: context.getUserRole(), scp: context.getProviderRole() });
        if (context.getAbstractSyntaxUid() === '1.2.840.10008.1.20.1') context.setResult(dimse.constants.PresentationContextResult.Accept, [...context.getTransferSyntaxUids()][0]);
        else context.setResult(dimse.constants.PresentationContextResult.RejectAbstractSyntaxNotSupported);
      }
      this.sendAssociationAccept();
    }
    override associationReleaseRequested(): void {
      this.sendAssociationReleaseResponse();
    }
    override nEventReportRequest(request: NEventReportRequest, callback: (response: InstanceType<typeof dimse.responses.NEventReportResponse>) => void): void {
      reports.push(reportOf(request));
      const response = dimse.responses.NEventReportResponse.fromRequest(request);
      response.setStatus(0);
      callback(response);
    }
  }
  const server = new dimse.Server(ReportScp);
  server.on('networkError', () => {});
  const tls = options.tls;
  server.listen(
    port,
    tls === undefined
      ? {}
      : { securityOptions: { key: readFileSync(tls.key), cert: readFileSync(tls.cert), ca: readFileSync(tls.ca), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' } },
  );
  return { reports, proposedRoles, callingAeTitles, clientCertificates, stop: () => server.close() };
}
