import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import dimse from 'dcmjs-dimse';
import { sendRequests } from '../support/dimse-client.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

const mppsClass = '1.2.840.10008.3.1.2.3.3';

type Req = InstanceType<typeof dimse.requests.NCreateRequest> | InstanceType<typeof dimse.requests.NSetRequest>;


function create(uid: string, status: string, accession: string, stepId: string): Req {
  const request = new dimse.requests.NCreateRequest(mppsClass, uid);
  request.setDataset(
    new dimse.Dataset({
      PerformedProcedureStepStatus: status,
      PerformedProcedureStepID: 'PPS1',
      PerformedStationAETitle: 'US_1',
      Modality: 'US',
      ScheduledStepAttributesSequence: [{ AccessionNumber: accession, ScheduledProcedureStepID: stepId, StudyInstanceUID: '1.2.3.4' }],
    }),
  );
  return request;
}

function set(uid: string, status: string): Req {
  const request = new dimse.requests.NSetRequest(mppsClass, uid);
  request.setDataset(new dimse.Dataset({ PerformedProcedureStepStatus: status }));
  return request;
}

describe('MPPS over DICOM', () => {
  test('N-CREATE IN PROGRESS and N-SET COMPLETED move the step; the refusals get 0111, 0112, 0110, 0106', async () => {
    const gw = await startGateway();
    const res = await gw.api('/api/v1/worklist-items', {
      method: 'POST',
      body: JSON.stringify({ PatientName: 'Müller^Jürgen', PatientID: 'P1', AccessionNumber: 'ACC1', Modality: 'US', ScheduledStationAETitle: 'US_1', ScheduledProcedureStepStartDate: '20261123', ScheduledProcedureStepID: 'S1' }),
    });
    const item = (await res.json()) as { id: string };
    const state = async () => ((await (await gw.api(`/api/v1/worklist-items/${item.id}`)).json()) as { status: string }).status;

    const statuses = await sendRequests(gw, [
      create('1.2.826.0.1.3680043.10.999.1', 'COMPLETED', 'ACC1', 'S1'),
      create('1.2.826.0.1.3680043.10.999.1', 'IN PROGRESS', 'ACC1', 'S1'),
      create('1.2.826.0.1.3680043.10.999.1', 'IN PROGRESS', 'ACC1', 'S1'),
      set('1.2.826.0.1.3680043.10.999.404', 'COMPLETED'),
    ]);
    assert.deepEqual(statuses, [0x0106, 0x0000, 0x0111, 0x0112]);
    assert.equal(await state(), 'in_progress');

    assert.deepEqual(await sendRequests(gw, [set('1.2.826.0.1.3680043.10.999.1', 'COMPLETED'), set('1.2.826.0.1.3680043.10.999.1', 'DISCONTINUED')]), [0x0000, 0x0110]);
    assert.equal(await state(), 'completed');

    // Unscheduled: accepted and kept, no step to move.
    assert.deepEqual(await sendRequests(gw, [create('1.2.826.0.1.3680043.10.999.2', 'IN PROGRESS', 'OTHER', 'X')]), [0x0000]);
    const count = gw.gateway.db.sqlite.prepare('SELECT COUNT(*) AS n FROM mpps_instances').get() as { n: number };
    assert.equal(count.n, 2);
    assert.ok(!gw.logs.raw.some((l) => l.includes('Müller')));
  });

  test('N-CREATE without Performed Procedure Step Status gets 0120 (missing attribute), not 0106', async () => {
    const gw = await startGateway();
    const request = new dimse.requests.NCreateRequest(mppsClass, '1.2.826.0.1.3680043.10.999.3');
    request.setDataset(new dimse.Dataset({ PerformedProcedureStepID: 'PPS1', Modality: 'US' }));
    const comments: string[] = [];
    request.on('response', (response: { getErrorComment(): string }) => comments.push(response.getErrorComment()));
    assert.deepEqual(await sendRequests(gw, [request]), [0x0120]);
    assert.deepEqual(comments, ['Performed Procedure Step Status is missing']);
    const count = gw.gateway.db.sqlite.prepare('SELECT COUNT(*) AS n FROM mpps_instances').get() as { n: number };
    assert.equal(count.n, 0);
  });
});
