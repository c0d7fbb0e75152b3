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

describe('worklist daily cleanup', () => {
  test('runs as a scheduled job at the configured hour of the site time zone and removes past steps', async () => {
    const { ManualClock } = await import('../../src/clock.ts');
    const { waitFor } = await import('../support/wait.ts');
    // 23:00 UTC on 22 November is midnight in Berlin; the cleanup runs at 03:00 Berlin time, 02:00 UTC.
    const clock = new ManualClock('2026-11-22T23:00:00Z');
    const gw = await startGateway({ worklist: { cleanup: { hour: 3, pastDays: 1, finishedDays: 2 } } }, { clock });
    const schedules = (await (await gw.api('/api/v1/jobs/schedules')).json()) as { items?: { name: string; nextRunAt: string }[] } | { name: string; nextRunAt: string }[];
    const list = Array.isArray(schedules) ? schedules : (schedules.items ?? []);
    assert.deepEqual(list.filter((s) => s.name === 'worklist-cleanup').map((s) => s.nextRunAt), ['2026-11-23T02:00:00.000Z']);

    await post(gw, { ...order, AccessionNumber: 'OLD', ScheduledProcedureStepSequence: [{ ...order.ScheduledProcedureStepSequence[0], ScheduledProcedureStepStartDate: '2026-11-20' }] });
    await post(gw, { ...order, AccessionNumber: 'NEW', ScheduledProcedureStepSequence: [{ ...order.ScheduledProcedureStepSequence[0], ScheduledProcedureStepStartDate: '2026-11-23' }] });
    const accessions = async () => ((await (await gw.api('/api/v1/worklist-items')).json()) as { items: Item[] }).items.map((i) => i['AccessionNumber']).sort();
    assert.deepEqual(await accessions(), ['NEW', 'OLD']);
    clock.advance(3 * 3600_000 + 1000);
    await waitFor(async () => (await accessions()).length === 1, { what: 'the cleanup job', onPoll: () => clock.advance(10) });
    assert.deepEqual(await accessions(), ['NEW']);
    const jobs = gw.gateway.jobs.list({ type: 'worklist-cleanup' }).items;
    assert.equal(jobs[0]?.state, 'completed');
  });
});

describe('patients', () => {
  test('the registry lists patients from orders, by ID or the start of the family name, with counts', async () => {
    const gw = await startGateway();
    await post(gw, order);
    await post(gw, { ...order, PatientID: 'PVS-9', PatientName: 'Schmidt^Anna', AccessionNumber: 'ACC-9' });
    const list = async (q: string) => (await (await gw.api(`/api/v1/patients${q}`)).json()) as { items: { patientId: string; name: { family: string }; worklistItems: number }[]; total: number };
    assert.deepEqual((await list('')).items.map((p) => p.patientId), ['PVS-4711', 'PVS-9']);
    assert.deepEqual((await list('?name=schm')).items.map((p) => [p.patientId, p.worklistItems]), [['PVS-9', 1]]);
    assert.deepEqual((await list('?patientId=PVS-4711')).items.map((p) => p.name.family), ['Müller']);
    assert.equal((await list('?name=%25')).total, 0, 'a % in the name is a character, not a wildcard');
    assert.equal((await gw.api('/api/v1/patients?limit=0')).status, 400);
  });
});
