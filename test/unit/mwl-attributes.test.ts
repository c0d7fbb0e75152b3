import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attributeByKeyword, attributeByTag, dateTimePairs, describeTag, mwlAttributes, Tag } from '../../src/domain/mwl-attributes.ts';

interface DictionaryEntry {
  tag: string;
  vr: string;
}

async function dcmjsDictionary(): Promise<Record<string, DictionaryEntry>> {
  const specifier: string = 'dcmjs'; // untyped package: load it as a value
  const mod = (await import(specifier)) as { data?: { DicomMetaDictionary: { nameMap: Record<string, DictionaryEntry> } } };
  assert.ok(mod.data, 'dcmjs exports data');
  return mod.data.DicomMetaDictionary.nameMap;
}

test('every attribute has the tag and VR of the dcmjs data dictionary', async () => {
  const nameMap = await dcmjsDictionary();
  assert.ok(mwlAttributes.length >= 100, `${mwlAttributes.length} attributes`);
  for (const attribute of mwlAttributes) {
    const entry = nameMap[attribute.keyword];
    assert.ok(entry, `${attribute.keyword} is in the dictionary`);
    assert.equal(attribute.tag, entry.tag.replace(/[(),]/g, '').toUpperCase(), attribute.keyword);
    assert.equal(attribute.vr, entry.vr, attribute.keyword);
  }
});

test('lookups by tag and keyword agree, tags are unique', () => {
  assert.equal(new Set(mwlAttributes.map((a) => a.tag)).size, mwlAttributes.length);
  assert.deepEqual(attributeByTag('00400100'), { keyword: 'ScheduledProcedureStepSequence', tag: '00400100', vr: 'SQ' });
  assert.deepEqual(attributeByTag('0020000d'), { keyword: 'StudyInstanceUID', tag: '0020000D', vr: 'UI' });
  assert.equal(attributeByKeyword('ScheduledStationAETitle')?.tag, Tag.ScheduledStationAETitle);
  assert.equal(attributeByTag('00990099'), undefined);
  assert.equal(describeTag('00400002'), '(0040,0002) ScheduledProcedureStepStartDate');
  assert.equal(describeTag('00990099'), '(0099,0099)');
  for (const [date, time] of dateTimePairs) {
    assert.equal(attributeByTag(date)?.vr, 'DA');
    assert.equal(attributeByTag(time)?.vr, 'TM');
  }
});
