import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

type Item = Record<string, unknown> & { id: string; status: string; stepStatus: Record<string, string>; ScheduledProcedureStepSequence: Record<string, unknown>[] };

const order = {
  PatientName: 'Müller^Jürgen',
  PatientID: 'PVS-4711',
  PatientBirthDate: '1970-03-01',
  PatientSex: 'M',
  AccessionNumber: 'ACC-100',
  RequestedProcedureDescription: 'Sonographie Abdomen',
  ScheduledProcedureStepSequence: [
    { Modality: 'US', ScheduledStationAETitle: 'US_ROOM1', ScheduledProcedureStepStartDate: '2026-11-23', ScheduledProcedureStepStartTime: '09:30', ScheduledProcedureStepID: 'S1' },
  ],
};

async function post(gw: RunningGateway, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; item: Item }> {
  const res = await gw.api('/api/v1/worklist-items', { method: 'POST', body: JSON.stringify(body), headers });
  return { status: res.status, item: (await res.json()) as Item };
}

describe('worklist API', () => {
  test('create, read, search, update, cancel and delete an order', async () => {
    const gw = await startGateway();
    const created = await post(gw, order);
    assert.equal(created.status, 201, JSON.stringify(created.item));
    const item = created.item;
    assert.equal(item['PatientName'], 'Müller^Jürgen');
    assert.equal(item['PatientBirthDate'], '19700301');
    assert.equal(item.status, 'scheduled');
    assert.equal(item.ScheduledProcedureStepSequence[0]?.['ScheduledProcedureStepStartTime'], '093000');
    assert.equal(item.ScheduledProcedureStepSequence[0]?.['ScheduledProcedureStepStatus'], 'SCHEDULED');
    assert.match(String(item['StudyInstanceUID']), /^2\.25\.\d+$/);

    const read = (await (await gw.api(`/api/v1/worklist-items/${item.id}`)).json()) as Item;
    assert.deepEqual(read, item);

    await post(gw, { ...order, PatientID: 'PVS-9', PatientName: 'Schmidt^Anna', AccessionNumber: 'ACC-101', ScheduledProcedureStepSequence: [{ ...order.ScheduledProcedureStepSequence[0], Modality: 'CR', ScheduledStationAETitle: 'CR_1', ScheduledProcedureStepStartDate: '2026-12-02' }] });
    const search = async (q: string) => ((await (await gw.api(`/api/v1/worklist-items?${q}`)).json()) as { items: Item[]; total: number });
    assert.equal((await search('')).total, 2);
    assert.deepEqual((await search('modality=US')).items.map((i) => i['AccessionNumber']), ['ACC-100']);
    assert.deepEqual((await search('dateFrom=2026-12-01&dateTo=2026-12-31')).items.map((i) => i['AccessionNumber']), ['ACC-101']);
    assert.deepEqual((await search('stationAeTitle=CR_1')).items.map((i) => i['AccessionNumber']), ['ACC-101']);
    assert.deepEqual((await search('patientId=PVS-4711')).items.map((i) => i.id), [item.id]);
    const page = await search('limit=1&offset=1');
    assert.equal(page.items.length, 1);
    assert.equal(page.total, 2);
    assert.equal(page.items[0]?.['AccessionNumber'], 'ACC-101');

    const put = await gw.api(`/api/v1/worklist-items/${item.id}`, { method: 'PUT', body: JSON.stringify({ ...order, RequestedProcedureDescription: 'Sono Schilddrüse' }) });
    assert.equal(put.status, 200);
    const updated = (await put.json()) as Item;
    assert.equal(updated['RequestedProcedureDescription'], 'Sono Schilddrüse');
    assert.equal(updated['StudyInstanceUID'], item['StudyInstanceUID'], 'an update keeps the study UID');

    const cancelled = (await (await gw.api(`/api/v1/worklist-items/${item.id}/cancel`, { method: 'POST' })).json()) as Item;
    assert.equal(cancelled.status, 'cancelled');
    assert.deepEqual(cancelled.stepStatus, { S1: 'cancelled' });
    assert.deepEqual((await search('status=scheduled')).items.map((i) => i['AccessionNumber']), ['ACC-101']);

    assert.equal((await gw.api(`/api/v1/worklist-items/${item.id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await gw.api(`/api/v1/worklist-items/${item.id}`)).status, 404);
  });

  test('the same accession number and step ID update instead of duplicating', async () => {
    const gw = await startGateway();
    const first = await post(gw, order);
    const again = await post(gw, { ...order, PatientName: 'Müller^Jürgen Karl' });
    assert.equal(again.status, 200);
    assert.equal(again.item.id, first.item.id);
    assert.equal(again.item['PatientName'], 'Müller^Jürgen Karl');
    assert.equal(again.item['StudyInstanceUID'], first.item['StudyInstanceUID']);
    const list = (await (await gw.api('/api/v1/worklist-items')).json()) as { total: number };
    assert.equal(list.total, 1);
  });

  test('an Idempotency-Key replays the first answer; reused with another body it is refused', async () => {
    const gw = await startGateway();
    const body = { ...order, AccessionNumber: '' };
    const a = await post(gw, body, { 'Idempotency-Key': 'pvs-req-1' });
    const b = await post(gw, body, { 'Idempotency-Key': 'pvs-req-1' });
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    assert.equal(b.item.id, a.item.id);
    const other = await gw.api('/api/v1/worklist-items', { method: 'POST', body: JSON.stringify({ ...body, PatientID: 'X' }), headers: { 'Idempotency-Key': 'pvs-req-1' } });
    assert.equal(other.status, 409);
    // Without an accession number nor a key, a second post is a second order.
    await post(gw, body);
    assert.equal(((await (await gw.api('/api/v1/worklist-items')).json()) as { total: number }).total, 2);
  });

  test('the DICOM JSON model is accepted', async () => {
    const gw = await startGateway();
    const { status, item } = await post(gw, {
      '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Weiß^Äneas' }] },
      '00100020': { vr: 'LO', Value: ['PVS-77'] },
      '00080050': { vr: 'SH', Value: ['ACC-77'] },
      '00400100': {
        vr: 'SQ',
        Value: [
          {
            '00400001': { vr: 'AE', Value: ['DX_1'] },
            '00080060': { vr: 'CS', Value: ['DX'] },
            '00400002': { vr: 'DA', Value: ['20261124'] },
            '00400003': { vr: 'TM', Value: ['101500'] },
          },
        ],
      },
    });
    assert.equal(status, 201, JSON.stringify(item));
    assert.equal(item['PatientName'], 'Weiß^Äneas');
    assert.equal(item.ScheduledProcedureStepSequence[0]?.['ScheduledStationAETitle'], 'DX_1');
  });

  test('validation names every invalid or missing field', async () => {
    const gw = await startGateway();
    const res = await gw.api('/api/v1/worklist-items', { method: 'POST', body: JSON.stringify({ PatientName: 'A^B', PatientSex: 'maybe', ScheduledProcedureStepSequence: [{ Modality: 'US', ScheduledProcedureStepStartDate: 'tomorrow' }] }) });
    assert.equal(res.status, 400);
    const problem = (await res.json()) as { errors: { path: string }[] };
    assert.deepEqual(problem.errors.map((e) => e.path).sort(), [
      'PatientID',
      'PatientSex',
      'ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate',
      'ScheduledProcedureStepSequence[0].ScheduledStationAETitle',
    ]);
    const badQuery = await gw.api('/api/v1/worklist-items?status=done&limit=0&dateFrom=13.13.2026');
    assert.equal(badQuery.status, 400);
    assert.deepEqual(((await badQuery.json()) as { errors: { path: string }[] }).errors.map((e) => e.path).sort(), ['dateFrom', 'limit', 'status[0]']);
  });

  test('the station AE title defaults to the one registered device for the modality', async () => {
    const gw = await startGateway({ devices: [{ aeTitle: 'US_ROOM1', worklistFilter: { modalities: ['US'] } }] });
    const { status, item } = await post(gw, { PatientName: 'A^B', PatientID: '1', Modality: 'US', ScheduledProcedureStepStartDate: '2026-11-23' });
    assert.equal(status, 201, JSON.stringify(item));
    assert.equal(item.ScheduledProcedureStepSequence[0]?.['ScheduledStationAETitle'], 'US_ROOM1');
  });
});
