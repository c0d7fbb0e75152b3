import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import dimse from 'dcmjs-dimse';
import { ManualClock } from '../../src/clock.ts';
import { runTool } from '../support/dcmtk.ts';
import { fakeWorklist } from '../support/fake-services.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

interface AssociationItem {
  callingAeTitle: string | null;
  calledAeTitle: string | null;
  peerAddress: string;
  accepted: boolean;
  outcome: string;
  reason: string | null;
  services: Record<string, number>;
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
  startedAt: string;
}

/** The association records, once `count` of them are written (they are written when the association ends). */
async function records(gw: RunningGateway, count: number, query = ''): Promise<AssociationItem[]> {
  for (;;) {
    const res = await gw.api(`/api/v1/associations${query}`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { items: AssociationItem[] };
    if (body.items.length >= count) return body.items;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const echo = (gw: RunningGateway, ...args: string[]) => runTool('echoscu', [...args, '127.0.0.1', String(gw.ports.dicom)]);

describe('DICOM listener with DCMTK peers', () => {
  test('C-ECHO is answered with Success and the association is recorded', async () => {
    const gw = await startGateway();
    const result = await echo(gw, '-v', '-aet', 'US_ROOM_2', '-aec', 'DICOM_GATEWAY', '--repeat', '3');
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /Received Echo Response \(Success\)/);
    const [item] = await records(gw, 1);
    assert.ok(item);
    assert.equal(item.callingAeTitle, 'US_ROOM_2');
    assert.equal(item.calledAeTitle, 'DICOM_GATEWAY');
    assert.equal(item.peerAddress, '127.0.0.1');
    assert.equal(item.accepted, true);
    assert.equal(item.outcome, 'released');
    assert.deepEqual(item.services, { 'C-ECHO': 3 });
    assert.ok(item.bytesReceived > 0 && item.bytesSent > 0);
  });

  test('an alias is a called AE title of ours', async () => {
    const gw = await startGateway({ gateway: { aliases: ['WL_PART_B'] } });
    const result = await echo(gw, '-aec', 'WL_PART_B');
    assert.equal(result.code, 0, result.output);
  });

  test('a wrong called AE title is rejected permanently by the service user, reason 7', async () => {
    const gw = await startGateway();
    const result = await echo(gw, '-aec', 'NOT_US');
    assert.notEqual(result.code, 0);
    assert.match(result.output, /Rejected Permanent, Source: Service User/);
    assert.match(result.output, /Called AE Title Not Recognized/);
    const [item] = await records(gw, 1);
    assert.equal(item?.outcome, 'rejected');
    assert.equal(item?.reason, 'called-ae-unknown');
    assert.equal(item?.accepted, false);
  });

  test('a strict registry rejects unknown calling AE titles (reason 3) and accepts registered ones', async () => {
    const gw = await startGateway({ dicom: { strictDevices: true }, devices: [{ aeTitle: 'KNOWN_US', services: ['echo'] }] });
    const unknown = await echo(gw, '-aet', 'STRANGER', '-aec', 'DICOM_GATEWAY');
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.output, /Rejected Permanent, Source: Service User/);
    assert.match(unknown.output, /Calling AE Title Not Recognized/);
    const known = await echo(gw, '-aet', 'KNOWN_US', '-aec', 'DICOM_GATEWAY');
    assert.equal(known.code, 0, known.output);
    const health = (await (await fetch(`${gw.baseUrl}/healthz`)).json()) as { warnings: string[] };
    assert.ok(!health.warnings.some((w) => w.includes('registry is open')));
  });

  test('an open registry is warned about in /healthz', async () => {
    const gw = await startGateway();
    const health = (await (await fetch(`${gw.baseUrl}/healthz`)).json()) as { warnings: string[]; components: Record<string, { details?: Record<string, unknown> }> };
    assert.ok(health.warnings.some((w) => w.includes('registry is open')));
    assert.equal(health.components['dicom']?.details?.['port'], gw.ports.dicom);
  });

  test('a device may use only the services the registry allows: its contexts are refused', async () => {
    const gw = await startGateway({ dicom: { strictDevices: true }, devices: [{ aeTitle: 'STORE_ONLY', services: ['store'] }] });
    const result = await echo(gw, '-aet', 'STORE_ONLY', '-aec', 'DICOM_GATEWAY');
    assert.notEqual(result.code, 0);
    assert.match(result.output, /No Acceptable Presentation Contexts/);
  });

  test('transfer syntax negotiation picks explicit little endian when big endian is proposed first (findscu -xb)', async () => {
    const worklist = fakeWorklist({ answers: [{ AccessionNumber: 'ACC1' }, { AccessionNumber: 'ACC2' }] });
    const gw = await startGateway({}, { dimseServices: [worklist] });
    const result = await runTool('findscu', ['-xb', '-d', '-W', '-k', 'AccessionNumber=', '-aec', 'DICOM_GATEWAY', '127.0.0.1', String(gw.ports.dicom)]);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /Accepted Transfer Syntax: =LittleEndianExplicit/);
    assert.match(result.output, /\[ACC1\]/);
    assert.match(result.output, /\[ACC2\]/);
    assert.match(result.output, /Received Final Find Response/);
    assert.equal(worklist.queries.length, 1);
  });

  test('the configured preference wins over our default order', async () => {
    const gw = await startGateway({ dicom: { transferSyntaxPreference: ['1.2.840.10008.1.2'] } }, { dimseServices: [fakeWorklist({ answers: [] })] });
    const result = await runTool('findscu', ['-xb', '-d', '-W', '-k', 'AccessionNumber=', '-aec', 'DICOM_GATEWAY', '127.0.0.1', String(gw.ports.dicom)]);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /Accepted Transfer Syntax: =LittleEndianImplicit/);
  });

  test('C-FIND on a SOP class we do not offer is refused in negotiation, and the listener goes on', async () => {
    const gw = await startGateway();
    // Patient Root Query/Retrieve: not a service of ours.
    const result = await runTool('findscu', ['-P', '-k', 'QueryRetrieveLevel=PATIENT', '-k', 'PatientID=', '-aec', 'DICOM_GATEWAY', '127.0.0.1', String(gw.ports.dicom)]);
    assert.notEqual(result.code, 0);
    assert.match(result.output, /No Acceptable Presentation Contexts|No presentation context/i);
    assert.equal((await echo(gw, '-aec', 'DICOM_GATEWAY')).code, 0);
  });

  test('C-FIND answers go one at a time, and a C-CANCEL stops them', async () => {
    const answers = Array.from({ length: 5 }, (_, i) => ({ AccessionNumber: `ACC${i + 1}` }));
    const gw = await startGateway({}, { dimseServices: [fakeWorklist({ answers, waitForCancelAfter: 1 })] });
    const result = await runTool('findscu', ['-v', '--cancel', '1', '-W', '-k', 'AccessionNumber=', '-aec', 'DICOM_GATEWAY', '127.0.0.1', String(gw.ports.dicom)]);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /Find Response: 1 \(Pending\)/);
    assert.doesNotMatch(result.output, /Find Response: 3/);
    assert.match(result.output, /Received Final Find Response \(Cancel/);
    const logLine = gw.logs.lines.find((l) => l['msg'] === 'C-FIND answered');
    assert.equal(logLine?.['cancelled'], true);
  });

  test('a failing C-FIND service gets a failure status, not a dead listener', async () => {
    const gw = await startGateway({}, { dimseServices: [fakeWorklist({ answers: [{ AccessionNumber: 'ACC1' }], failWith: new Error('boom') })] });
    const result = await runTool('findscu', ['-v', '-W', '-k', 'AccessionNumber=', '-aec', 'DICOM_GATEWAY', '127.0.0.1', String(gw.ports.dicom)]);
    assert.match(result.output, /Received Final Find Response \(Failed: UnableToProcess\)/);
    assert.equal((await echo(gw, '-aec', 'DICOM_GATEWAY')).code, 0);
  });

  test('user identity negotiation is accepted, with a positive response when asked for', async () => {
    const gw = await startGateway();
    const client = new dimse.Client();
    let serverResponse = false;
    let status: number | undefined;
    client.on('associationAccepted', (association: InstanceType<typeof dimse.association.Association>) => {
      serverResponse = association.getNegotiateUserIdentityServerResponse();
    });
    client.on('networkError', () => {});
    const done = new Promise<void>((resolve) => client.on('closed', () => resolve()));
    const requests = new Promise<void>((resolve) => {
      const request = new dimse.requests.CEchoRequest();
      request.on('response', (response: InstanceType<typeof dimse.responses.CEchoResponse>) => {
        status = response.getStatus();
        resolve();
      });
      client.addRequest(request);
    });
    client.send('127.0.0.1', gw.ports.dicom, 'SONO_1', 'DICOM_GATEWAY', {
      userIdentity: { type: dimse.constants.UserIdentityType.UsernameAndPasscode, positiveResponseRequested: true, primaryField: 'sonographer', secondaryField: 'secret' },
    });
    await requests;
    await done;
    assert.equal(status, 0);
    assert.equal(serverResponse, true);
    assert.ok(!gw.logs.raw.some((l) => l.includes('secret')), 'the passcode is never logged');
  });

  test('association limits: per calling AE (local limit exceeded) and overall (temporary congestion)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let queried!: () => void;
    const queryArrived = new Promise<void>((resolve) => (queried = resolve));
    const gw = await startGateway({ dicom: { maxAssociations: 2, maxAssociationsPerDevice: 1 } }, { dimseServices: [fakeWorklist({ answers: [], gate, onQuery: () => queried() })] });
    const port = String(gw.ports.dicom);
    const held = runTool('findscu', ['-aet', 'US_1', '-W', '-k', 'AccessionNumber=', '-aec', 'DICOM_GATEWAY', '127.0.0.1', port]);
    await queryArrived;
    const sameDevice = await echo(gw, '-aet', 'US_1', '-aec', 'DICOM_GATEWAY');
    assert.notEqual(sameDevice.code, 0);
    assert.match(sameDevice.output, /Rejected Transient, Source: Service Provider \(Presentation Related\)/);
    assert.match(sameDevice.output, /Local Limit Exceeded/);
    // Another device is still welcome.
    const other = await echo(gw, '-aet', 'US_2', '-aec', 'DICOM_GATEWAY');
    assert.equal(other.code, 0, other.output);
    release();
    assert.equal((await held).code, 0);
    const items = await records(gw, 3);
    assert.deepEqual(items.map((i) => i.reason).sort(), [null, null, 'too-many-for-device']);
  });

  test('the overall limit turns peers away with temporary congestion', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let queried!: () => void;
    const queryArrived = new Promise<void>((resolve) => (queried = resolve));
    const gw = await startGateway({ dicom: { maxAssociations: 1 } }, { dimseServices: [fakeWorklist({ answers: [], gate, onQuery: () => queried() })] });
    const held = runTool('findscu', ['-aet', 'US_1', '-W', '-k', 'AccessionNumber=', '-aec', 'DICOM_GATEWAY', '127.0.0.1', String(gw.ports.dicom)]);
    await queryArrived;
    const turnedAway = await echo(gw, '-aet', 'US_2', '-aec', 'DICOM_GATEWAY');
    assert.notEqual(turnedAway.code, 0);
    assert.match(turnedAway.output, /Rejected Transient, Source: Service Provider \(Presentation Related\)/);
    assert.match(turnedAway.output, /Temporary Congestion/);
    release();
    assert.equal((await held).code, 0);
    assert.equal((await echo(gw, '-aet', 'US_2', '-aec', 'DICOM_GATEWAY')).code, 0);
  });

  test('per device: last seen and counts this quarter and last quarter in the site time zone', async () => {
    // 2026-03-31 23:30 UTC is already April 1st (Q2) in Berlin.
    const clock = new ManualClock('2026-03-31T23:30:00Z');
    const gw = await startGateway({ devices: [{ aeTitle: 'CT_1' }, { aeTitle: 'IDLE_DEVICE' }] }, { clock });
    assert.equal((await echo(gw, '-aet', 'CT_1', '-aec', 'DICOM_GATEWAY')).code, 0);
    assert.equal((await echo(gw, '-aet', 'GUEST', '-aec', 'DICOM_GATEWAY')).code, 0);
    await records(gw, 2);
    clock.set('2026-07-02T08:00:00Z');
    assert.equal((await echo(gw, '-aet', 'CT_1', '-aec', 'DICOM_GATEWAY')).code, 0);
    assert.equal((await echo(gw, '-aet', 'CT_1', '-aec', 'DICOM_GATEWAY')).code, 0);
    assert.notEqual((await echo(gw, '-aet', 'CT_1', '-aec', 'NOT_US')).code, 0);
    await records(gw, 5);
    const res = await gw.api('/api/v1/associations/devices');
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      thisQuarter: { name: string; start: string };
      items: { callingAeTitle: string; known: boolean; lastSeen: string | null; thisQuarter: number; lastQuarter: number; rejectedThisQuarter: number }[];
    };
    assert.deepEqual(body.thisQuarter, { name: '2026-Q3', start: '2026-06-30T22:00:00.000Z' });
    const byAe = new Map(body.items.map((i) => [i.callingAeTitle, i]));
    assert.deepEqual(byAe.get('CT_1'), { callingAeTitle: 'CT_1', known: true, description: '', lastSeen: '2026-07-02T08:00:00.000Z', thisQuarter: 2, lastQuarter: 1, rejectedThisQuarter: 1 });
    assert.equal(byAe.get('GUEST')?.known, false);
    assert.equal(byAe.get('GUEST')?.lastQuarter, 1);
    assert.equal(byAe.get('IDLE_DEVICE')?.lastSeen, null);

    const filtered = await records(gw, 1, '?callingAeTitle=GUEST');
    assert.equal(filtered.length, 1);
    const page = (await (await gw.api('/api/v1/associations?limit=2&offset=1')).json()) as { items: unknown[]; total: number };
    assert.equal(page.items.length, 2);
    assert.equal(page.total, 5);
    assert.equal((await gw.api('/api/v1/associations?limit=0')).status, 400);
  });
});
