import assert from 'node:assert/strict';
import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import { dump2dcm, worklistDump } from '../support/dcmtk.ts';
import { startGateway } from '../support/gateway.ts';
import { tempDir } from '../support/temp.ts';

interface Report {
  files: number;
  errors: { file: string; reason: string }[];
}
type Item = Record<string, unknown> & { id: string; sourceFile: string; partition: string };

describe('worklist folder', () => {
  test('imports .wl files (Part 10 and bare datasets), follows changes and deletions, reports bad files', async () => {
    const folder = tempDir('gw-wl-');
    const work = tempDir('gw-dump-');
    const gw = await startGateway({ gateway: { aliases: ['PARTITION_B'] }, worklist: { folder } }, { clock: new ManualClock() });
    const scan = async (): Promise<Report> => (await (await gw.api('/api/v1/worklist-folder/scan', { method: 'POST' })).json()) as Report;
    const items = async (): Promise<Item[]> => ((await (await gw.api('/api/v1/worklist-items')).json()) as { items: Item[] }).items;

    const a = dump2dcm(work, 'a.wl', worklistDump({ name: 'Müller^Jürgen', id: 'P1', accession: 'A1', modality: 'US', station: 'US_ROOM1', date: '20261123', charset: 'ISO_IR 100' }), { latin1: true });
    const b = dump2dcm(work, 'b.wl', worklistDump({ name: 'Schmidt^Anna', id: 'P2', accession: 'A2', modality: 'CR', station: 'CR_1', date: '20261124' }), { bare: true });
    writeFileSync(path.join(folder, 'a.wl'), Buffer.from(await import('node:fs').then((fs) => fs.readFileSync(a))));
    mkdirSync(path.join(folder, 'PARTITION_B'));
    writeFileSync(path.join(folder, 'PARTITION_B', 'b.wl'), await import('node:fs').then((fs) => fs.readFileSync(b)));
    writeFileSync(path.join(folder, 'garbage.wl'), 'this is not DICOM at all, just text');
    const incomplete = dump2dcm(work, 'c.wl', '(0010,0010) PN [Ohne^Nummer]\n(0008,0050) SH [A3]\n');
    writeFileSync(path.join(folder, 'incomplete.wl'), await import('node:fs').then((fs) => fs.readFileSync(incomplete)));
    writeFileSync(path.join(folder, 'notes.txt'), 'ignored: not a .wl file');

    let report = await scan();
    assert.equal(report.files, 4);
    assert.deepEqual(report.errors.map((e) => e.file).sort(), ['garbage.wl', 'incomplete.wl']);
    assert.match(report.errors.find((e) => e.file === 'garbage.wl')?.reason ?? '', /not a readable DICOM dataset/);
    const reason = report.errors.find((e) => e.file === 'incomplete.wl')?.reason ?? '';
    assert.match(reason, /PatientID/);
    assert.match(reason, /ScheduledProcedureStepSequence/);

    let list = await items();
    assert.deepEqual(list.map((i) => [i['PatientName'], i.sourceFile, i.partition]).sort(), [
      ['Müller^Jürgen', 'a.wl', ''],
      ['Schmidt^Anna', 'PARTITION_B/b.wl', 'PARTITION_B'],
    ]);
    const health = (await (await fetch(`${gw.baseUrl}/healthz`)).json()) as { warnings: string[] };
    assert.ok(health.warnings.some((w) => /2 worklist file\(s\)/.test(w)));

    // A changed file updates its item; a deleted file removes it; a fixed file is imported.
    const a2 = dump2dcm(work, 'a2.wl', worklistDump({ name: 'Müller^Jürgen', id: 'P1', accession: 'A1', modality: 'US', station: 'US_ROOM2', date: '20261125', charset: 'ISO_IR 100' }), { latin1: true });
    writeFileSync(path.join(folder, 'a.wl'), await import('node:fs').then((fs) => fs.readFileSync(a2)));
    utimesSync(path.join(folder, 'a.wl'), new Date(), new Date(Date.now() + 5000));
    rmSync(path.join(folder, 'PARTITION_B', 'b.wl'));
    rmSync(path.join(folder, 'garbage.wl'));
    report = await scan();
    assert.deepEqual(report.errors.map((e) => e.file), ['incomplete.wl']);
    list = await items();
    assert.equal(list.length, 1);
    const steps = list[0]?.['ScheduledProcedureStepSequence'] as Record<string, unknown>[];
    assert.equal(steps[0]?.['ScheduledStationAETitle'], 'US_ROOM2');
    assert.equal(steps[0]?.['ScheduledProcedureStepStartDate'], '20261125');

    // Bad files never reach the log with patient data.
    assert.ok(!gw.logs.raw.some((l) => l.includes('Ohne') || l.includes('Müller')));
  });

  test('a missing folder is reported, not a crash', async () => {
    const gw = await startGateway({ worklist: { folder: path.join(tempDir(), 'does-not-exist') } }, { clock: new ManualClock() });
    const report = (await (await gw.api('/api/v1/worklist-folder/scan', { method: 'POST' })).json()) as Report;
    assert.match(report.errors[0]?.reason ?? '', /cannot read the worklist folder/);
  });
});
