import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { runTool } from '../support/dcmtk.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { compress, datasetBytes, makeInstance } from '../support/storage-fixtures.ts';
import { tempDir } from '../support/temp.ts';

const uidBase = '1.2.826.0.1.3680043.2.1125.9';

function storescu(gw: RunningGateway, files: readonly string[], options: readonly string[] = []) {
  return runTool('storescu', ['-aet', 'CT_1', '-aec', 'DICOM_GATEWAY', ...options, '127.0.0.1', String(gw.ports.dicom), ...files]);
}

async function instanceRow(gw: RunningGateway, sop: string): Promise<Record<string, unknown>> {
  const res = await gw.api(`/api/v1/instances/${sop}`);
  assert.equal(res.status, 200, `instance ${sop}`);
  return (await res.json()) as Record<string, unknown>;
}

function storedFile(gw: RunningGateway, row: Record<string, unknown>): string {
  return path.join(gw.config.dataDir, 'archive', String(row['path']));
}

function incomingFiles(gw: RunningGateway): string[] {
  return readdirSync(path.join(gw.config.dataDir, 'incoming'));
}

describe('Storage SCP with DCMTK storescu', () => {
  test('stores the dataset byte for byte behind a valid meta header, private tags included, and indexes it', async () => {
    const gw = await startGateway();
    const dir = tempDir();
    const sop = `${uidBase}.1`;
    const file = makeInstance(dir, 'ct1', { sopInstanceUid: sop });
    const result = await storescu(gw, [file], ['-xe']);
    assert.equal(result.code, 0, result.output + gw.logs.lines?.map?.((l: unknown) => JSON.stringify(l)).join("\n"));

    const row = await instanceRow(gw, sop);
    assert.equal(row['transferSyntaxUid'], '1.2.840.10008.1.2.1');
    assert.equal(row['callingAeTitle'], 'CT_1');
    assert.equal(row['frames'], 1);
    const stored = storedFile(gw, row);
    assert.ok(stored.startsWith(path.join(gw.config.dataDir, 'archive')));
    assert.deepEqual(datasetBytes(stored), datasetBytes(file));
    assert.equal(readFileSync(stored).length, row['size']);
    const check = await runTool('dcmftest', [stored]);
    assert.equal(check.code, 0, check.output);
    const dump = await runTool('dcmdump', ['-M', stored]);
    assert.match(dump.stdout, /\(0002,0010\) UI =LittleEndianExplicit/);
    assert.match(dump.stdout, /\(0002,0016\) AE \[CT_1\]/);
    assert.match(dump.stdout, /\(0029,1010\) LO \[private value kept\]/);
    assert.deepEqual(incomingFiles(gw), []);

    const studies = (await (await gw.api('/api/v1/studies?patientId=PAT-1')).json()) as { items: Record<string, unknown>[]; total: number };
    assert.equal(studies.total, 1);
    const study = studies.items[0] as Record<string, unknown>;
    assert.deepEqual(study['patientName'], { family: 'Müller', given: 'Jürgen', middle: '', prefix: '', suffix: '' });
    assert.equal(study['accessionNumber'], 'ACC123');
    assert.deepEqual(study['modalities'], ['CT']);
    assert.equal((await (await gw.api('/api/v1/studies?patientId=OTHER')).json() as { total: number }).total, 0);
    const series = (await (await gw.api(`/api/v1/studies/${String(study['studyInstanceUid'])}/series`)).json()) as { items: Record<string, unknown>[] };
    assert.equal(series.items.length, 1);
    assert.equal(series.items[0]?.['description'], 'Serie eins');
    assert.equal(series.items[0]?.['instances'], 1);

    const download = await gw.api(`/api/v1/instances/${sop}/file`);
    assert.equal(download.status, 200);
    assert.equal(download.headers.get('content-type'), 'application/dicom');
    assert.deepEqual(Buffer.from(await download.arrayBuffer()), readFileSync(stored));
    assert.equal((await gw.api('/api/v1/instances/1.2.3.404')).status, 404);

    const jobs = (await (await gw.api('/api/v1/jobs?type=instance-received')).json()) as { items: unknown[] };
    assert.equal(jobs.items.length, 1);
  });
});
