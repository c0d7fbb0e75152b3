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
