import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { dump2dcm, runTool } from '../support/dcmtk.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { tempDir } from '../support/temp.ts';

async function order(gw: RunningGateway, name: string, id: string, modality: string, station: string, date: string, accession = `A-${id}`): Promise<void> {
  const res = await gw.api('/api/v1/worklist-items', {
    method: 'POST',
    body: JSON.stringify({
      PatientName: name,
      PatientID: id,
      AccessionNumber: accession,
      RequestedProcedureDescription: 'Sonographie Schilddrüse',
      ScheduledProcedureStepSequence: [{ Modality: modality, ScheduledStationAETitle: station, ScheduledProcedureStepStartDate: date, ScheduledProcedureStepStartTime: '0930', ScheduledProcedureStepID: 'S1' }],
    }),
  });
  assert.equal(res.status, 201, await res.text());
}

/** A worklist query file; `name` goes into the PatientName key. */
function query(dir: string, file: string, lines: string[], latin1 = false): string {
  return dump2dcm(
    dir,
    file,
    [
      ...lines,
      '(0010,0020) LO []',
      '(0032,1060) LO []',
      '(0040,0100) SQ (Sequence with explicit length #=1)',
      '  (fffe,e000) na (Item with explicit length #=4)',
      '    (0008,0060) CS []',
      '    (0040,0001) AE []',
      '    (0040,0002) DA []',
      '    (0040,0003) TM []',
      '  (fffe,e00d) na (ItemDelimitationItem for re-encoding)',
      '(fffe,e0dd) na (SequenceDelimitationItem for re-encoding)',
    ].join('\n'),
    { latin1 },
  );
}

async function find(gw: RunningGateway, queryFile: string, extra: string[] = []): Promise<{ code: number; output: string; responses: Buffer[] }> {
  const out = tempDir('gw-rsp-');
  const result = await runTool('findscu', ['-v', '-W', '-X', '-od', out, '-aec', 'DICOM_GATEWAY', ...extra, '127.0.0.1', String(gw.ports.dicom), queryFile]);
  const responses = readdirSync(out)
    .filter((f) => f.startsWith('rsp'))
    .sort()
    .map((f) => readFileSync(path.join(out, f)));
  return { code: result.code, output: result.output, responses };
}

describe('worklist over DICOM (findscu)', () => {
  test('an ISO_IR 100 query for MÜLLER* finds Müller and Mueller, answered in ISO_IR 100', async () => {
    const gw = await startGateway();
    await order(gw, 'Müller^Jürgen', 'P1', 'US', 'US_1', '20261123');
    await order(gw, 'Mueller^Hans', 'P2', 'US', 'US_1', '20261123');
    await order(gw, 'Schmidt^Anna', 'P3', 'US', 'US_1', '20261123');
    const dir = tempDir();
    const q = query(dir, 'q.dcm', ['(0008,0005) CS [ISO_IR 100]', '(0010,0010) PN [MÜLLER*]'], true);
    const { code, output, responses } = await find(gw, q);
    assert.equal(code, 0, output);
    assert.equal(responses.length, 2, output);
    const muller = responses.find((r) => r.includes(Buffer.from('M\xfcller^J\xfcrgen', 'latin1')));
    assert.ok(muller, 'Müller^Jürgen in Latin-1 bytes');
    assert.ok(muller.includes(Buffer.from('ISO_IR 100')), '(0008,0005) ISO_IR 100');
    assert.ok(!muller.includes(Buffer.from('Müller', 'utf8')), 'no UTF-8 bytes in a Latin-1 answer');
    assert.ok(muller.includes(Buffer.from('Sonographie Schilddr\xfcse', 'latin1')), 'every requested key comes back');
    const dump = await runTool('dcmdump', [path.join(tempDir(), 'none')]);
    assert.notEqual(dump.code, 0);
  });

  test('a UTF-8 device gets ISO_IR 192 answers', async () => {
    const gw = await startGateway({ devices: [{ aeTitle: 'US_UTF8', characterSet: 'ISO_IR 192' }] });
    await order(gw, 'Müller^Jürgen', 'P1', 'US', 'US_1', '20261123');
    const q = query(tempDir(), 'q.dcm', ['(0010,0010) PN [M*]']);
    const { responses, output } = await find(gw, q, ['-aet', 'US_UTF8']);
    assert.equal(responses.length, 1, output);
    assert.ok(responses[0]?.includes(Buffer.from('Müller^Jürgen', 'utf8')));
    assert.ok(responses[0]?.includes(Buffer.from('ISO_IR 192')));
  });

  test('a device sees only the items scheduled for it, even when the query leaves the keys empty', async () => {
    const gw = await startGateway({ devices: [{ aeTitle: 'US_1', worklistFilter: { modalities: ['US'], stationAeTitle: 'calling' } }] });
    await order(gw, 'A^One', 'P1', 'US', 'US_1', '20261123');
    await order(gw, 'B^Two', 'P2', 'US', 'US_2', '20261123');
    await order(gw, 'C^Three', 'P3', 'CR', 'US_1', '20261123');
    const q = query(tempDir(), 'q.dcm', ['(0010,0010) PN []']);
    const mine = await find(gw, q, ['-aet', 'US_1']);
    assert.equal(mine.responses.length, 1, mine.output);
    assert.ok(mine.responses[0]?.includes(Buffer.from('A^One')));
    const unknown = await find(gw, q, ['-aet', 'SOMEONE']);
    assert.equal(unknown.responses.length, 3, 'an unregistered caller in an open registry sees everything');
  });

  test('C-CANCEL stops the answers', async () => {
    const gw = await startGateway();
    for (let i = 0; i < 20; i++) await order(gw, `Patient^${i}`, `P${i}`, 'US', 'US_1', '20261123');
    const q = query(tempDir(), 'q.dcm', ['(0010,0010) PN []']);
    const { output, responses } = await find(gw, q, ['--cancel', '2']);
    assert.match(output, /Received Final Find Response \(Cancel/);
    assert.ok(responses.length < 20, `${responses.length} answers after the cancel`);
  });

  test('more matches than the limit end with A700, a bad key with A900 naming the element', async () => {
    const gw = await startGateway({ worklist: { maxResults: 2 } });
    for (let i = 0; i < 3; i++) await order(gw, `Patient^${i}`, `P${i}`, 'US', 'US_1', '20261123');
    const dir = tempDir();
    const many = await find(gw, query(dir, 'q.dcm', ['(0010,0010) PN []']), ['-d']);
    assert.equal(many.responses.length, 2);
    assert.match(many.output, /DIMSE Status\s+: 0xa700/);
    assert.match(many.output, /\(0000,0902\) LO \[too many matches/);
    mkdirSync(path.join(dir, 'bad'));
    // (A wildcard in a UID key never reaches us: dcmjs drops the `*` of a UI value when it reads it.)
    const bad = dump2dcm(dir, 'bad/q.dcm', ['(0010,0010) PN []', '(0010,0030) DA [19*]'].join('\n'));
    const invalid = await find(gw, bad, ['-d']);
    assert.match(invalid.output, /DIMSE Status\s+: 0xa900/);
    assert.match(invalid.output, /\(0000,0901\) AT \(0010,0030\)/i);
    assert.equal(invalid.responses.length, 0);
    assert.equal((await runTool('echoscu', ['-aec', 'DICOM_GATEWAY', '127.0.0.1', String(gw.ports.dicom)])).code, 0);
  });

  test('steps not scheduled any more are not offered', async () => {
    const gw = await startGateway();
    await order(gw, 'A^One', 'P1', 'US', 'US_1', '20261123');
    const list = (await (await gw.api('/api/v1/worklist-items')).json()) as { items: { id: string }[] };
    await gw.api(`/api/v1/worklist-items/${list.items[0]?.id}/cancel`, { method: 'POST' });
    const { responses } = await find(gw, query(tempDir(), 'q.dcm', ['(0010,0010) PN []']));
    assert.equal(responses.length, 0);
  });
});
