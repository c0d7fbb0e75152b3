import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runTool } from '../support/dcmtk.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { makeInstance } from '../../fixtures/instances.ts';
import { tempDir } from '../support/temp.ts';

// The fixtures carry StudyDate 20260315, AccessionNumber ACC123, Modality CT.
async function order(gw: RunningGateway, body: Record<string, unknown>): Promise<string> {
  const res = await gw.api('/api/v1/worklist-items', {
    method: 'POST',
    body: JSON.stringify({ PatientName: 'Test^Patient', Modality: 'CT', ScheduledStationAETitle: 'CT_1', ScheduledProcedureStepStartDate: '20260315', ScheduledProcedureStepID: 'S1', ...body }),
  });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  return (JSON.parse(text) as { id: string }).id;
}

async function send(gw: RunningGateway, file: string): Promise<void> {
  const r = await runTool('storescu', ['-aec', 'DICOM_GATEWAY', '127.0.0.1', String(gw.ports.dicom), file]);
  assert.equal(r.code, 0, r.output);
}

type Study = { studyInstanceUid: string; order: { itemId: string; accessionNumber: string; stepId: string } | null };
const studies = async (gw: RunningGateway): Promise<Study[]> => ((await (await gw.api('/api/v1/studies')).json()) as { items: Study[] }).items;
const status = async (gw: RunningGateway, id: string): Promise<string> => ((await (await gw.api(`/api/v1/worklist-items/${id}`)).json()) as { status: string }).status;

describe('received studies and their orders', () => {
  test('a study is linked by accession number; its step follows the images; the link outlives the cleanup', async () => {
    const gw = await startGateway();
    const other = await order(gw, { PatientID: 'PAT-1', AccessionNumber: 'OTHER' });
    const id = await order(gw, { PatientID: 'PAT-1', AccessionNumber: 'ACC123' });
    await send(gw, makeInstance(tempDir(), 'a.dcm', { sopInstanceUid: '1.2.826.0.1.3680043.10.999.81.1', studyInstanceUid: '1.2.826.0.1.3680043.10.999.81' }));
    const [study] = await studies(gw);
    assert.deepEqual(study?.order, { itemId: id, accessionNumber: 'ACC123', requestedProcedureId: 'ACC123', stepId: 'S1' });
    assert.equal(await status(gw, id), 'in_progress');
    assert.equal(await status(gw, other), 'scheduled');
    await gw.api(`/api/v1/worklist-items/${id}`, { method: 'DELETE' });
    assert.equal((await studies(gw))[0]?.order?.itemId, id, 'the study keeps its link');
  });

  test('without accession or study UID match: patient ID, date and modality; no match leaves the study unlinked', async () => {
    const gw = await startGateway({ worklist: { stepFollowsImages: false } });
    const id = await order(gw, { PatientID: 'PAT-9', AccessionNumber: 'NOT-THE-SAME' });
    await send(gw, makeInstance(tempDir(), 'b.dcm', { sopInstanceUid: '1.2.826.0.1.3680043.10.999.82.1', studyInstanceUid: '1.2.826.0.1.3680043.10.999.82', patientId: 'PAT-9' }));
    await send(gw, makeInstance(tempDir(), 'c.dcm', { sopInstanceUid: '1.2.826.0.1.3680043.10.999.83.1', studyInstanceUid: '1.2.826.0.1.3680043.10.999.83', patientId: 'NOBODY' }));
    const byUid = new Map((await studies(gw)).map((s) => [s.studyInstanceUid, s.order?.itemId ?? null]));
    assert.equal(byUid.get('1.2.826.0.1.3680043.10.999.82'), id);
    assert.equal(byUid.get('1.2.826.0.1.3680043.10.999.83'), null);
    assert.equal(await status(gw, id), 'scheduled', 'stepFollowsImages: false leaves the step alone');
  });
});
