import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDate, parseDateTime, parseRange, parseTime, formatDate } from '../../src/domain/dicom-datetime.ts';
import {
  collectTexts,
  formatTag,
  getItems,
  getString,
  getStrings,
  isEmptyElement,
  mapTexts,
  parseTag,
  personNameToString,
  toPersonName,
  type DicomJson,
} from '../../src/domain/dicom-json.ts';

const dataset: DicomJson = {
  '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎' }] },
  '00100020': { vr: 'LO', Value: ['  PID-1 '] },
  '00101030': { vr: 'DS', Value: [82.5] },
  '00102000': { vr: 'LO', Value: ['Latex', null, 'Penicillin'] },
  '00380010': { vr: 'LO' },
  '00400100': { vr: 'SQ', Value: [{ '00400007': { vr: 'LO', Value: ['Schädel'] } }] },
  '0020000D': { vr: 'UI', Value: ['1.2.3'] },
};

describe('DICOM JSON helpers', () => {
  test('getStrings and getString', () => {
    assert.deepEqual(getStrings(dataset, '00102000'), ['Latex', '', 'Penicillin']);
    assert.deepEqual(getStrings(dataset, '00100010'), ['Yamada^Tarou=山田^太郎']);
    assert.deepEqual(getStrings(dataset, '00101030'), ['82.5']);
    assert.deepEqual(getStrings(dataset, '00380010'), []);
    assert.deepEqual(getStrings(dataset, '00400100'), []);
    assert.equal(getString(dataset, '00100020'), 'PID-1');
    assert.equal(getString(dataset, '00380010'), undefined);
    assert.equal(getString(undefined, '00100020'), undefined);
  });

  test('getItems, isEmptyElement', () => {
    assert.equal(getItems(dataset, '00400100').length, 1);
    assert.deepEqual(getItems(dataset, '00101002'), []);
    assert.equal(isEmptyElement(dataset['00380010']), true);
    assert.equal(isEmptyElement({ vr: 'LO', Value: [''] }), true);
    assert.equal(isEmptyElement({ vr: 'PN', Value: [{}] }), true);
    assert.equal(isEmptyElement(dataset['00100020']), false);
    assert.equal(isEmptyElement(undefined), true);
  });

  test('tags', () => {
    assert.equal(formatTag('00400002'), '(0040,0002)');
    assert.equal(parseTag('(0040,0002)'), '00400002');
    assert.equal(parseTag('0x0020000d'), '0020000D');
    assert.equal(parseTag('PatientName'), undefined);
  });

  test('person names', () => {
    assert.equal(personNameToString({ Alphabetic: 'A^B' }), 'A^B');
    assert.equal(personNameToString({ Ideographic: '山田' }), '=山田');
    assert.deepEqual(toPersonName('A^B=山田'), { Alphabetic: 'A^B', Ideographic: '山田' });
  });

  test('collectTexts lists character-set text only; mapTexts rewrites it in a copy', () => {
    assert.deepEqual(collectTexts(dataset).sort(), ['  PID-1 ', 'Latex', 'Penicillin', 'Schädel', 'Yamada^Tarou', '山田^太郎'].sort());
    const upper = mapTexts(dataset, (t) => t.toUpperCase());
    assert.deepEqual(upper['00100010'], { vr: 'PN', Value: [{ Alphabetic: 'YAMADA^TAROU', Ideographic: '山田^太郎' }] });
    assert.deepEqual((upper['00400100']!.Value![0] as DicomJson)['00400007'], { vr: 'LO', Value: ['SCHÄDEL'] });
    assert.deepEqual(upper['0020000D'], { vr: 'UI', Value: ['1.2.3'] }, 'UIDs are not text');
    assert.deepEqual(dataset['00100020'], { vr: 'LO', Value: ['  PID-1 '] }, 'input unchanged');
  });
});

describe('DA, TM, DT', () => {
  test('dates', () => {
    assert.equal(parseDate('19700101'), 0);
    assert.equal(parseDate('20260105'), 20458);
    assert.equal(parseDate('20240229'), parseDate('20240228')! + 1);
    assert.equal(parseDate('20250229'), undefined);
    assert.equal(parseDate('20261301'), undefined);
    assert.equal(parseDate('2026-01-05'), undefined);
    assert.equal(parseDate('2026.01.05'), 20458);
    assert.equal(parseDate('00010101'), -719162);
    assert.equal(formatDate(20458), '20260105');
  });

  test('times span their precision', () => {
    const h = 3_600_000_000;
    assert.deepEqual(parseTime('10'), { lo: 10 * h, hi: 11 * h - 1 });
    assert.deepEqual(parseTime('1030'), { lo: 10.5 * h, hi: 10.5 * h + 60_000_000 - 1 });
    assert.deepEqual(parseTime('103000.5'), { lo: 10.5 * h + 500_000, hi: 10.5 * h + 599_999 });
    assert.deepEqual(parseTime('10:30:00'), parseTime('103000'));
    assert.equal(parseTime('2400'), undefined);
    assert.equal(parseTime('1060'), undefined);
    assert.equal(parseTime('10:3000'), undefined);
    assert.equal(parseTime('1'), undefined);
  });

  test('datetimes', () => {
    const day = 86_400_000_000;
    assert.deepEqual(parseDateTime('1970'), { lo: 0, hi: 365 * day - 1 });
    assert.deepEqual(parseDateTime('197002'), { lo: 31 * day, hi: 59 * day - 1 });
    assert.equal(parseDateTime('19700101010000+0100')!.lo, 0);
    assert.equal(parseDateTime('197013'), undefined);
    assert.equal(parseDateTime('1970.5'), undefined);
  });

  test('ranges', () => {
    assert.deepEqual(parseRange('DA', '19700101-19700102'), { range: { lo: 0, hi: 1 }, isRange: true });
    assert.deepEqual(parseRange('DA', '-19700102'), { range: { lo: -Infinity, hi: 1 }, isRange: true });
    assert.deepEqual(parseRange('DA', '19700102-'), { range: { lo: 1, hi: Infinity }, isRange: true });
    assert.deepEqual(parseRange('DA', '19700102'), { range: { lo: 1, hi: 1 }, isRange: false });
    assert.equal(parseRange('DA', '-'), undefined);
    assert.equal(parseRange('DA', '1970-01-01'), undefined);
    assert.equal(parseRange('DT', '19700101-0100')?.isRange, false, 'a DT offset is not a range');
    assert.equal(parseRange('DT', '1970-1971')?.isRange, true);
  });
});
