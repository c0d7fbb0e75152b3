import net from 'node:net';
import tls from 'node:tls';
import dimse from 'dcmjs-dimse';
import { ErrorCode, GatewayError } from '../domain/errors.ts';
import type { ReportTarget } from '../domain/storage-commitment.ts';
import { RejectResult, TransferSyntaxUid } from './constants.ts';
import type { EventReport } from './services.ts';

/** TLS errors that say the peer or we are configured wrongly: trying again does not help. */
function isTlsSetupError(code: string | undefined): boolean {
  return code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|ERR_SSL|HOSTNAME|IP_MISMATCH/.test(code);
}

/**
 * Sends one N-EVENT-REPORT on a new association and releases it; resolves with the peer's status.
 * We open the association as the SCP of the report's SOP class, so the context carries an SCP/SCU
 * Role Selection item with the SCP role for us (PS3.7 D.3.3.4), as devices expect for storage
 * commitment reports. dcmjs-dimse's Client cannot propose roles; its network class (`Scp`) can
 * request an association on a socket we open. Failures are GatewayErrors: `unavailable` (the device
 * is off, busy or slow: try later), `forbidden` (it refuses us for good).
 */
export function sendEventReport(target: ReportTarget, report: EventReport): Promise<number> {
  // In a worker process the listener never ran: the library would log every PDU to the console.
  dimse.log.setLevel('silent');
  const where = `${target.calledAeTitle} at ${target.host}:${target.port}`;
  return new Promise<number>((resolve, reject) => {
    const secure = target.tls;
    const socket =
      secure === undefined
        ? net.connect({ host: target.host, port: target.port })
        : tls.connect({
            host: target.host,
            port: target.port,
            cert: secure.cert,
            key: secure.key,
            ca: secure.ca,
            minVersion: 'TLSv1.2',
            ...(net.isIP(target.host) === 0 ? { servername: target.host } : {}),
          });
    socket.setNoDelay(true);
    // Before the library's own listener, so that a refused connection reads as such.
    socket.on('error', (err: NodeJS.ErrnoException) =>
      settle(new GatewayError(isTlsSetupError(err.code) ? ErrorCode.Forbidden : ErrorCode.Unavailable, `cannot reach ${where}${secure === undefined ? '' : ' over TLS'}: ${err.code ?? err.message}`)),
    );
    const network = new dimse.Scp(socket, { connectTimeout: target.timeoutMs, associationTimeout: target.timeoutMs, pduTimeout: target.timeoutMs });
    let status: number | undefined;
    let settled = false;
    const settle = (err: GatewayError | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err !== undefined) reject(err);
      else resolve(status as number);
    };
    const timer = setTimeout(() => settle(new GatewayError(ErrorCode.Unavailable, `${where} did not complete the report within ${target.timeoutMs} ms`)), target.timeoutMs);
    const request = new dimse.requests.NEventReportRequest(report.sopClassUid, report.sopInstanceUid, report.eventTypeId);
    request.setDataset(new dimse.Dataset(report.dataset, TransferSyntaxUid.ImplicitVrLittleEndian));

    socket.on(secure === undefined ? 'connect' : 'secureConnect', () => {
      const association = new dimse.association.Association(target.callingAeTitle, target.calledAeTitle);
      const id = association.addPresentationContext(report.sopClassUid);
      association.addTransferSyntaxToPresentationContext(id, TransferSyntaxUid.ExplicitVrLittleEndian);
      association.addTransferSyntaxToPresentationContext(id, TransferSyntaxUid.ImplicitVrLittleEndian);
      const context = association.getPresentationContext(id);
      context.setUserRole(false);
      context.setProviderRole(true);
      network.sendAssociationRequest(association);
    });
    network.on('associationAccepted', (association: InstanceType<typeof dimse.association.Association>) => {
      if (association.getAcceptedPresentationContextFromRequest(request) === undefined) {
        network.sendAbort();
        settle(new GatewayError(ErrorCode.Forbidden, `${where} accepted the association but not the storage commitment context (with us as its SCP)`));
        return;
      }
      request.on('response', (response: { getStatus(): number }) => {
        status = response.getStatus();
        network.sendAssociationReleaseRequest();
      });
      network.sendRequests(request);
    });
    network.on('associationReleaseResponse', () => settle(status === undefined ? new GatewayError(ErrorCode.Unavailable, `${where} released without answering the report`) : undefined));
    network.on('associationRejected', (rejection: { result: number; source: number; reason: number }) => {
      const text = `${where} rejected the association (result ${rejection.result}, source ${rejection.source}, reason ${rejection.reason})`;
      settle(new GatewayError(rejection.result === RejectResult.Permanent ? ErrorCode.Forbidden : ErrorCode.Unavailable, text));
    });
    network.on('networkError', (err: Error) => settle(new GatewayError(ErrorCode.Unavailable, `cannot deliver to ${where}: ${err.message.replace(/^.*-> /, '')}`)));
    // A peer that answered and then closed instead of releasing still got the report.
    socket.on('close', () => settle(status === undefined ? new GatewayError(ErrorCode.Unavailable, `${where} closed the connection before answering the report`) : undefined));
  });
}
