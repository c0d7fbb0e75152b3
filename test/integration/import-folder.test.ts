import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import { startGateway } from '../support/gateway.ts';
import { compress, datasetBytes, makeInstance } from '../../fixtures/instances.ts';
import { tempDir } from '../support/temp.ts';

describe('import folder', () => {
  test('Part 10 files are imported like received instances; bad ones go to error/ with the reason', async () => {
    const folder = tempDir('gw-import-');
    const work = tempDir('gw-import-src-');
    const gw = await startGateway({ archive: { importFolder: { path: folder, settleSeconds: 0 } } }, { clock: new ManualClock() });
    const a = makeInstance(work, 'a.dcm', { sopInstanceUid: '1.2.826.0.1.3680043.10.999.71.1', studyInstanceUid: '1.2.826.0.1.3680043.10.999.71', seriesInstanceUid: '1.2.826.0.1.3680043.10.999.71.9', patientId: 'IMP1' });
    const b = compress(makeInstance(work, 'b.dcm', { sopInstanceUid: '1.2.826.0.1.3680043.10.999.71.2', studyInstanceUid: '1.2.826.0.1.3680043.10.999.71', seriesInstanceUid: '1.2.826.0.1.3680043.10.999.71.9', patientId: 'IMP1' }), 'rle');
    copyFileSync(a, path.join(folder, 'a.dcm'));
    copyFileSync(b, path.join(folder, 'b.dcm'));
    writeFileSync(path.join(folder, 'notes.txt'), 'not DICOM');
    const bare = datasetBytes(a);
    writeFileSync(path.join(folder, 'bare.dcm'), bare);
    const old = new Date(Date.now() - 60_000);
    for (const f of readdirSync(folder)) if (f.includes('.')) utimesSync(path.join(folder, f), old, old);

    const report = (await (await gw.api('/api/v1/import-folder/scan', { method: 'POST' })).json()) as { imported: number; failed: number };
    assert.deepEqual({ imported: report.imported, failed: report.failed }, { imported: 2, failed: 2 });

    const studies = (await (await gw.api('/api/v1/studies?patientId=IMP1')).json()) as { items: { studyInstanceUid: string }[] };
    assert.deepEqual(studies.items.map((s) => s.studyInstanceUid), ['1.2.826.0.1.3680043.10.999.71']);
    const file = await gw.api('/api/v1/instances/1.2.826.0.1.3680043.10.999.71.1/file');
    assert.equal(file.status, 200);
    assert.ok(Buffer.from(await file.arrayBuffer()).subarray(-bare.length).equals(bare), 'the dataset is stored as it was in the file');

    assert.deepEqual(readdirSync(path.join(folder, 'processed')).sort(), ['a.dcm', 'b.dcm']);
    assert.deepEqual(readdirSync(path.join(folder, 'error')).sort(), ['bare.dcm', 'bare.dcm.reason.txt', 'notes.txt', 'notes.txt.reason.txt']);
    assert.match(readFileSync(path.join(folder, 'error', 'notes.txt.reason.txt'), 'utf8'), /not a DICOM Part 10 file/);
    assert.ok(!existsSync(path.join(folder, 'a.dcm')));
    assert.deepEqual(readdirSync(gw.gateway.layout.incoming), [], 'no temp file remains');
  });

  test('a file still being written is left for a later pass', async () => {
    const folder = tempDir('gw-import-');
    const work = tempDir('gw-import-src-');
    const gw = await startGateway({ archive: { importFolder: { path: folder, settleSeconds: 3600 } } }, { clock: new ManualClock() });
    copyFileSync(makeInstance(work, 'a.dcm', { sopInstanceUid: '1.2.826.0.1.3680043.10.999.72.1' }), path.join(folder, 'a.dcm'));
    const report = (await (await gw.api('/api/v1/import-folder/scan', { method: 'POST' })).json()) as { imported: number; failed: number };
    assert.deepEqual({ imported: report.imported, failed: report.failed }, { imported: 0, failed: 0 });
    assert.ok(existsSync(path.join(folder, 'a.dcm')));
  });
});
