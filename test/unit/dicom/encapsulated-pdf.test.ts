import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { tinyPdf } from '../../../fixtures/pdf.ts';
import { encapsulatedPdf } from '../../../src/dicom/index.ts';
import { nameBasedUid } from '../../../src/domain/uid.ts';
import { tempDir } from '../../support/temp.ts';

const dir = tempDir('gw-encapsulated-pdf-');
const context = {
  patientName: 'Müller^Jürgen',
  patientId: 'PAT-1',
  issuerOfPatientId: 'PRAXIS',
  patientBirthDate: '19700101',
  patientSex: 'M',
  studyInstanceUid: '1.2.826.0.1.3680043.2.1125.77.1',
  studyDate: '20261122',
  studyTime: '101500',
  accessionNumber: 'ACC1',
  studyId: '7',
  referringPhysicianName: 'Weiß^Anna',
  studyDescription: 'Sonographie Abdomen',
};

function write(name: string, pdf: Buffer, overrides: Partial<typeof context> = {}): string {
  const file = path.join(dir, `${name}.dcm`);
  writeFileSync(
    file,
    encapsulatedPdf({
      ...context,
      ...overrides,
      seriesInstanceUid: nameBasedUid(`series/${name}`),
      sopInstanceUid: nameBasedUid(`sop/${name}`),
      title: 'Befund Sonographie',
      pdf,
      at: new Date('2026-11-22T10:20:30Z'),
      implementation: { classUid: '1.2.826.0.1.3680043.2.1125.1', versionName: 'DCMGW_TEST' },
    }),
  );
  return file;
}

describe('Encapsulated PDF instances', () => {
  test('DCMTK extracts the very PDF, odd and even lengths; the text is UTF-8 as declared', () => {
    for (const comment of ['a', 'ab']) {
      const pdf = tinyPdf(comment);
      const file = write(`len-${pdf.length}`, pdf);
      const out = path.join(dir, `len-${pdf.length}.pdf`);
      execFileSync('dcm2pdf', [file, out]);
      assert.ok(readFileSync(out).equals(pdf), `PDF of ${pdf.length} bytes differs`);
      const dump = execFileSync('dcmdump', ['+U8', file]).toString('utf8');
      assert.match(dump, /\(0008,0005\) CS \[ISO_IR 192\]/);
      assert.match(dump, /\(0010,0010\) PN \[Müller\^Jürgen\]/);
      assert.match(dump, /\(0042,0012\) LO \[application\/pdf\]/);
      assert.match(dump, new RegExp(`\\(0042,0015\\) UL ${pdf.length}\\b`));
      assert.match(dump, /\(0008,0016\) UI =EncapsulatedPDFStorage/);
    }
  });

  test('dciodvfy finds no error against the Encapsulated PDF IOD, with all type 2 values empty too', () => {
    const full = write('full', tinyPdf('full'));
    const empty = write('empty', tinyPdf('empty'), { patientName: '', patientId: '', issuerOfPatientId: '', patientBirthDate: '', patientSex: '', studyDate: '', studyTime: '', accessionNumber: '', studyId: '', referringPhysicianName: '', studyDescription: '' });
    for (const file of [full, empty]) {
      const result = spawnSync('dciodvfy', ['-new', file], { encoding: 'utf8' });
      const report = `${result.stdout}${result.stderr}`;
      assert.match(report, /Encapsulated ?PDF/i, report);
      const errors = report.split('\n').filter((line) => /^Error/.test(line));
      assert.deepEqual(errors, [], report);
    }
  });

  test('name-based UIDs: the same name gives the same valid UID, another name another', () => {
    const a = nameBasedUid('x');
    assert.equal(nameBasedUid('x'), a);
    assert.notEqual(nameBasedUid('y'), a);
    assert.match(a, /^2\.25\.[1-9][0-9]*$/);
    assert.ok(a.length <= 64);
  });
});
