import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DicomJson, DicomJsonElement } from '../../src/domain/dicom-json.ts';
import { GatewayError } from '../../src/domain/errors.ts';
import { Tag } from '../../src/domain/mwl-attributes.ts';
import {
  buildAnswer,
  compileQuery,
  extractPrefilter,
  matches,
  offendingTags,
  splitScheduledSteps,
  type MatchOptions,
  type WorklistPrefilter,
} from '../../src/domain/worklist-matching.ts';

// --- building datasets tersely -------------------------------------------------------------------

const el = (vr: string, ...values: unknown[]): DicomJsonElement => (values.length === 0 ? { vr } : { vr, Value: values });
const pn = (...names: (string | { Alphabetic?: string; Ideographic?: string; Phonetic?: string })[]): DicomJsonElement =>
  names.length === 0 ? { vr: 'PN' } : { vr: 'PN', Value: names.map((n) => (typeof n === 'string' ? { Alphabetic: n } : n)) };
const sq = (...items: DicomJson[]): DicomJsonElement => (items.length === 0 ? { vr: 'SQ' } : { vr: 'SQ', Value: items });
const code = (value: string, scheme: string, meaning: string): DicomJson => ({
  [Tag.CodeValue]: el('SH', value),
  [Tag.CodingSchemeDesignator]: el('SH', scheme),
  [Tag.CodeMeaning]: el('LO', meaning),
});
const sps = (keys: DicomJson): DicomJson => ({ [Tag.ScheduledProcedureStepSequence]: sq(keys) });

const studyUid = '1.2.276.0.7230010.3.1.2.8323329.1';

/** One worklist item with a single scheduled step: Jürgen Müller, abdominal ultrasound on 5 Jan 2026 14:30. */
function candidate(overrides: DicomJson = {}, stepOverrides: DicomJson = {}): DicomJson {
  const step: DicomJson = {
    [Tag.ScheduledStationAETitle]: el('AE', 'US_ROOM2'),
    [Tag.ScheduledProcedureStepStartDate]: el('DA', '20260105'),
    [Tag.ScheduledProcedureStepStartTime]: el('TM', '143000'),
    [Tag.Modality]: el('CS', 'US'),
    [Tag.ScheduledPerformingPhysicianName]: pn(),
    [Tag.ScheduledProcedureStepDescription]: el('LO', 'Abdomen'),
    [Tag.ScheduledProtocolCodeSequence]: sq(code('P-ABD', '99LOCAL', 'Abdomen komplett')),
    [Tag.ScheduledProcedureStepID]: el('SH', 'SPS-7'),
    [Tag.ScheduledStationName]: el('SH', 'Sono 2'),
    [Tag.ScheduledProcedureStepStatus]: el('CS', 'SCHEDULED'),
    ...stepOverrides,
  };
  for (const [tag, value] of Object.entries(stepOverrides)) if (value === undefined) delete step[tag];
  const item: DicomJson = {
    [Tag.SpecificCharacterSet]: el('CS', 'ISO_IR 192'),
    [Tag.AccessionNumber]: el('SH', 'ACC-1001'),
    [Tag.ReferringPhysicianName]: pn('Weiß^Anna^^Dr.'),
    [Tag.PatientName]: pn('Müller^Jürgen'),
    [Tag.PatientID]: el('LO', 'PID-42'),
    [Tag.PatientBirthDate]: el('DA', '19650412'),
    [Tag.PatientSex]: el('CS', 'M'),
    [Tag.PatientWeight]: el('DS', 82.5),
    [Tag.PregnancyStatus]: el('US', 4),
    [Tag.MedicalAlerts]: el('LO', 'Latex', 'Penicillin'),
    [Tag.OtherPatientNames]: pn('Schmidt^Eva', 'Meyer^Eva'),
    [Tag.AdmissionID]: el('LO'),
    [Tag.RequestedProcedureDescription]: el('LO', 'Sono Abdomen'),
    [Tag.RequestedProcedureCodeSequence]: sq(code('US-ABD', '99LOCAL', 'Sonographie Abdomen'), code('76700', 'C4', 'US abdomen')),
    [Tag.StudyInstanceUID]: el('UI', studyUid),
    [Tag.RequestedProcedureID]: el('SH', 'RP-7'),
    [Tag.ReferencedStudySequence]: sq({ [Tag.ReferencedSOPClassUID]: el('UI', '1.2.840.10008.3.1.2.3.1'), [Tag.ReferencedSOPInstanceUID]: el('UI', studyUid) }),
    [Tag.ScheduledProcedureStepSequence]: sq(step),
    ...overrides,
  };
  for (const [tag, value] of Object.entries(overrides)) if (value === undefined) delete item[tag];
  return item;
}

type Case = [name: string, query: DicomJson, expected: boolean, options?: MatchOptions, item?: DicomJson];

function runCases(cases: Case[]): void {
  for (const [name, query, expected, options, item] of cases) {
    test(`${name} → ${expected ? 'match' : 'no match'}`, () => {
      const c = item ?? candidate();
      assert.equal(compileQuery(query, options).matches(c), expected);
      assert.equal(matches(query, c, options), expected);
    });
  }
}

const name = (value: string | { Alphabetic?: string; Ideographic?: string }): DicomJson => ({ [Tag.PatientName]: pn(value) });
const otherItem = (overrides: DicomJson = {}, step: DicomJson = {}) => candidate(overrides, step);

describe('universal matching', () => {
  runCases([
    ['empty query', {}, true],
    ['zero-length PN key', { [Tag.PatientName]: pn() }, true],
    ['PN key with empty string', name(''), true],
    ['PN key `*`', name('*'), true],
    ['LO key with empty string', { [Tag.PatientID]: el('LO', '') }, true],
    ['zero-length key, item value zero length', { [Tag.AdmissionID]: el('LO') }, true],
    ['`*` key, item value zero length', { [Tag.AdmissionID]: el('LO', '*') }, true],
    ['`*` key, item lacks the attribute', { [Tag.Allergies]: el('LO', '*') }, true],
    ['(0008,0005) is not a matching key', { [Tag.SpecificCharacterSet]: el('CS', 'ISO_IR 100') }, true],
    ['private attributes are not matching keys', { '00091010': el('LO', 'whatever') }, true],
  ]);
});

describe('a stored zero-length value does not match a non-universal key', () => {
  runCases([
    ['single value vs zero-length item value', { [Tag.AdmissionID]: el('LO', 'ADM1') }, false],
    ['wildcard `?*` vs zero-length item value', { [Tag.AdmissionID]: el('LO', '?*') }, false],
    ['single value vs absent attribute', { [Tag.Allergies]: el('LO', 'Latex') }, false],
    ['PN single value vs zero-length PN', sps({ [Tag.ScheduledPerformingPhysicianName]: pn('Weiß*') }), false],
  ]);
});

describe('single value matching (case-sensitive except PN)', () => {
  runCases([
    ['LO exact', { [Tag.PatientID]: el('LO', 'PID-42') }, true],
    ['LO padding is not significant', { [Tag.PatientID]: el('LO', ' PID-42  ') }, true],
    ['LO other case', { [Tag.PatientID]: el('LO', 'pid-42') }, false],
    ['LO prefix only', { [Tag.PatientID]: el('LO', 'PID-4') }, false],
    ['SH exact', { [Tag.AccessionNumber]: el('SH', 'ACC-1001') }, true],
    ['CS exact', { [Tag.PatientSex]: el('CS', 'M') }, true],
    ['CS other value', { [Tag.PatientSex]: el('CS', 'F') }, false],
    ['CS other case', { [Tag.PatientSex]: el('CS', 'm') }, false],
    ['DS number', { [Tag.PatientWeight]: el('DS', 82.5) }, true],
    ['DS numeric string', { [Tag.PatientWeight]: el('DS', '82.50') }, true],
    ['DS other number', { [Tag.PatientWeight]: el('DS', 80) }, false],
    ['US number', { [Tag.PregnancyStatus]: el('US', 4) }, true],
    ['US other number', { [Tag.PregnancyStatus]: el('US', 2) }, false],
    ['UI exact', { [Tag.StudyInstanceUID]: el('UI', studyUid) }, true],
    ['UI other', { [Tag.StudyInstanceUID]: el('UI', `${studyUid}1`) }, false],
  ]);
});

describe('person names: case- and accent-insensitive, German spellings', () => {
  runCases([
    ['exact name', name('Müller^Jürgen'), true],
    ['MÜLLER*', name('MÜLLER*'), true],
    ['müller*', name('müller*'), true],
    ['MULLER*', name('MULLER*'), true],
    ['MUELLER*', name('MUELLER*'), true],
    ['Mueller^Juergen', name('Mueller^Juergen'), true],
    ['MULLER^JURGEN', name('MULLER^JURGEN'), true],
    ['family name alone is not the whole value', name('Müller'), false],
    ['Müller^* (trailing component wildcard)', name('Müller^*'), true],
    ['*^Jürgen', name('*^Jürgen'), true],
    ['M?ller* (? is one letter: ü)', name('M?ller*'), true],
    ['Mül*^J*', name('Mül*^J*'), true],
    ['other name', name('Meier*'), false],
    ['other given name', name('Müller^Hans'), false],
    ['ß: WEISS* finds Weiß', { [Tag.ReferringPhysicianName]: pn('WEISS*') }, true],
    ['ß: weiß^anna^^dr. (whole value, any case)', { [Tag.ReferringPhysicianName]: pn('weiß^anna^^dr.') }, true],
    ['ß: Weis* does not find Weiß^Anna when ß folds to ss? it does (prefix)', { [Tag.ReferringPhysicianName]: pn('Weis*') }, true],
    ['ß: Weiz* does not', { [Tag.ReferringPhysicianName]: pn('Weiz*') }, false],
    ['Müller* finds stored Mueller (either spelling on either side)', name('Müller*'), true, undefined, otherItem({ [Tag.PatientName]: pn('Mueller^Hans') })],
    ['Straße finds stored STRASSE', name('Straße^Eva'), true, undefined, otherItem({ [Tag.PatientName]: pn('STRASSE^EVA') })],
    ['Łukasz finds stored Lukasz', name('*^Łukasz'), true, undefined, otherItem({ [Tag.PatientName]: pn('Nowak^Lukasz') })],
    ['Dvořák finds stored DVORAK', name('Dvořák*'), true, undefined, otherItem({ [Tag.PatientName]: pn('DVORAK^Antonin') })],
    ['trailing empty components do not count', name('Müller^Jürgen'), true, undefined, otherItem({ [Tag.PatientName]: pn('Müller^Jürgen^^^') })],
    ['component padding does not count', name('Müller^Jürgen'), true, undefined, otherItem({ [Tag.PatientName]: pn('Müller ^Jürgen ') })],
    ['Müller^* finds a stored name without given name', name('Müller^*'), true, undefined, otherItem({ [Tag.PatientName]: pn('Müller') })],
    ['multi-valued PN: any value', { [Tag.OtherPatientNames]: pn('MEYER*') }, true],
    ['multi-valued PN: none', { [Tag.OtherPatientNames]: pn('Schulz*') }, false],
    ['PN key as a DICOM string (REST callers)', { [Tag.PatientName]: { vr: 'PN', Value: ['MÜLLER*'] } }, true],
  ]);
});

describe('person names: options', () => {
  const exact: MatchOptions = { personName: { ignoreCase: false, ignoreAccents: false } };
  const accentsOnly: MatchOptions = { personName: { ignoreCase: false } };
  const noDigraphs: MatchOptions = { personName: { foldDigraphs: false } };
  runCases([
    ['exact: Müller*', name('Müller*'), true, exact],
    ['exact: MÜLLER*', name('MÜLLER*'), false, exact],
    ['exact: Muller*', name('Muller*'), false, exact],
    ['accent-insensitive only: Muller*', name('Muller*'), true, accentsOnly],
    ['accent-insensitive only: MULLER*', name('MULLER*'), false, accentsOnly],
    ['without digraph folding: MULLER*', name('MULLER*'), true, noDigraphs],
    ['without digraph folding: MUELLER*', name('MUELLER*'), false, noDigraphs],
  ]);
});

describe('person names: component groups', () => {
  const yamada = otherItem({ [Tag.PatientName]: pn({ Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎' }) });
  runCases([
    ['alphabetic and ideographic both match', name({ Alphabetic: 'YAMADA^TAROU', Ideographic: '山田^太郎' }), true, undefined, yamada],
    ['ideographic group alone', name({ Ideographic: '山田*' }), true, undefined, yamada],
    ['ideographic group differs', name({ Ideographic: '田中*' }), false, undefined, yamada],
    ['alphabetic matches, ideographic differs', name({ Alphabetic: 'Yamada*', Ideographic: '田中*' }), false, undefined, yamada],
    ['ideographic key, item has no ideographic group', name({ Ideographic: '山田*' }), false],
  ]);
});

describe('wildcards', () => {
  const dotted = otherItem({ [Tag.PatientID]: el('LO', 'A.B(1)+') });
  runCases([
    ['LO prefix*', { [Tag.PatientID]: el('LO', 'PID*') }, true],
    ['LO ? one character', { [Tag.PatientID]: el('LO', 'PID-4?') }, true],
    ['LO ? is exactly one character', { [Tag.PatientID]: el('LO', 'PID-?') }, false],
    ['LO *suffix', { [Tag.PatientID]: el('LO', '*42') }, true],
    ['LO several wildcards', { [Tag.PatientID]: el('LO', 'P*D*2') }, true],
    ['wildcards stay case-sensitive outside PN', { [Tag.PatientID]: el('LO', 'pid*') }, false],
    ['CS U?', sps({ [Tag.Modality]: el('CS', 'U?') }), true],
    ['CS u? (case-sensitive)', sps({ [Tag.Modality]: el('CS', 'u?') }), false],
    ['AE prefix', sps({ [Tag.ScheduledStationAETitle]: el('AE', 'US_*') }), true],
    ['regex characters are literal', { [Tag.PatientID]: el('LO', 'A.B(1)+') }, true, undefined, dotted],
    ['regex characters with a wildcard', { [Tag.PatientID]: el('LO', 'A.B*') }, true, undefined, dotted],
    ['a dot does not match any character', { [Tag.PatientID]: el('LO', 'A.B(1)+') }, false, undefined, otherItem({ [Tag.PatientID]: el('LO', 'AxB(1)+') })],
    ['multi-valued item attribute: any value', { [Tag.MedicalAlerts]: el('LO', 'Pen*') }, true],
    ['multi-valued item attribute: second value exact', { [Tag.MedicalAlerts]: el('LO', 'Penicillin') }, true],
    ['multi-valued item attribute: no value', { [Tag.MedicalAlerts]: el('LO', 'Aspirin') }, false],
  ]);
});

describe('range matching: DA and TM', () => {
  const noTime = otherItem({}, { [Tag.ScheduledProcedureStepStartTime]: undefined } as unknown as DicomJson);
  runCases([
    ['DA single', { [Tag.PatientBirthDate]: el('DA', '19650412') }, true],
    ['DA other day', { [Tag.PatientBirthDate]: el('DA', '19650413') }, false],
    ['DA a-b', { [Tag.PatientBirthDate]: el('DA', '19650101-19651231') }, true],
    ['DA -b before', { [Tag.PatientBirthDate]: el('DA', '-19641231') }, false],
    ['DA -b inclusive', { [Tag.PatientBirthDate]: el('DA', '-19650412') }, true],
    ['DA a- inclusive', { [Tag.PatientBirthDate]: el('DA', '19650412-') }, true],
    ['DA a- after', { [Tag.PatientBirthDate]: el('DA', '19650413-') }, false],
    ['DA ACR-NEMA form YYYY.MM.DD', { [Tag.PatientBirthDate]: el('DA', '1965.04.12') }, true],
    ['TM alone: HHMM-HHMM', sps({ [Tag.ScheduledProcedureStepStartTime]: el('TM', '1400-1500') }), true],
    ['TM alone: 08-10 (hours)', sps({ [Tag.ScheduledProcedureStepStartTime]: el('TM', '08-10') }), false],
    ['TM alone: 13-14 includes 14:30 (hour 14 spans to 14:59)', sps({ [Tag.ScheduledProcedureStepStartTime]: el('TM', '13-14') }), true],
    ['TM alone: 0800-1000', sps({ [Tag.ScheduledProcedureStepStartTime]: el('TM', '0800-1000') }), false],
    ['TM alone: single hour 14', sps({ [Tag.ScheduledProcedureStepStartTime]: el('TM', '14') }), true],
    ['TM alone: single minute 1430', sps({ [Tag.ScheduledProcedureStepStartTime]: el('TM', '1430') }), true],
    ['TM alone: fractional 143000.000', sps({ [Tag.ScheduledProcedureStepStartTime]: el('TM', '143000.000') }), true],
    ['TM alone: fractional range 142959.5-143000.25', sps({ [Tag.ScheduledProcedureStepStartTime]: el('TM', '142959.5-143000.25') }), true],
    ['TM alone: -1429 (ends 14:29:59.999999)', sps({ [Tag.ScheduledProcedureStepStartTime]: el('TM', '-1429') }), false],
    ['TM alone: 1430- ', sps({ [Tag.ScheduledProcedureStepStartTime]: el('TM', '1430-') }), true],
    ['TM alone: HH:MM:SS form', sps({ [Tag.ScheduledProcedureStepStartTime]: el('TM', '14:00:00-14:45:00') }), true],
    ['TM key, item without time', sps({ [Tag.ScheduledProcedureStepStartTime]: el('TM', '0000-2359') }), false, undefined, noTime],
  ]);
});

describe('combined date and time range (PS3.4 C.2.2.2.5.1)', () => {
  const dt = (date: string, time: string): DicomJson =>
    sps({ [Tag.ScheduledProcedureStepStartDate]: el('DA', date), [Tag.ScheduledProcedureStepStartTime]: el('TM', time) });
  const separate: MatchOptions = { combineDateTime: false };
  const noTime = otherItem({}, { [Tag.ScheduledProcedureStepStartTime]: undefined } as unknown as DicomJson);
  runCases([
    ['date and time range on that day', dt('20260105', '1400-1500'), true],
    ['date, time range later that day', dt('20260105', '1500-1600'), false],
    ['overnight range 4 Jan 18:00 to 5 Jan 15:00', dt('20260104-20260105', '1800-1500'), true],
    ['overnight range 5 Jan 15:00 to 6 Jan 08:00', dt('20260105-20260106', '1500-0800'), false],
    ['separately the same keys match', dt('20260104-20260105', '1400-1500'), true, separate],
    ['separately the time range excludes 14:30', dt('20260104-20260106', '1500-1600'), false, separate],
    ['combined, the same keys include 5 Jan 14:30 (4 Jan 15:00 to 6 Jan 16:59)', dt('20260104-20260106', '1500-1600'), true],
    ['combined, 4 Jan 08:00 to 5 Jan 12:59 excludes 5 Jan 14:30', dt('20260104-20260105', '0800-1200'), false],
    ['open start: from 5 Jan 15:00', dt('20260105-', '1500-'), false],
    ['open start: from 5 Jan 14:00', dt('20260105-', '1400-'), true],
    ['open end: to 5 Jan 14:30:59', dt('-20260105', '-1430'), true],
    ['open end: to 5 Jan 14:29:59', dt('-20260105', '-1429'), false],
    ['date range, time universal', dt('20260101-20260131', ''), true],
    ['date universal, time range', dt('', '1400-1500'), true],
    ['item without time: its day overlaps', dt('20260105', '0800-1000'), true, undefined, noTime],
    ['item without time: other day', dt('20260106', '0000-2359'), false, undefined, noTime],
  ]);
});

describe('DT range matching', () => {
  const at = otherItem({ '0040A120': el('DT', '20260105143000') });
  const key = (value: string): DicomJson => ({ '0040A120': el('DT', value) });
  runCases([
    ['DT day', key('20260105'), true, undefined, at],
    ['DT year', key('2026'), true, undefined, at],
    ['DT other year', key('2025'), false, undefined, at],
    ['DT range', key('202601051400-202601051500'), true, undefined, at],
    ['DT with offset: 14:30+0100 is 13:30 UTC', key('20260105143000+0100'), false, undefined, at],
    ['DT with offset: 13:30-0100 is 14:30 UTC', key('20260105133000-0100'), true, undefined, at],
    ['DT range with offsets', key('20260105150000+0100-20260105160000+0100'), true, undefined, at],
  ]);
});

describe('list of UID matching', () => {
  runCases([
    ['UID list with the UID', { [Tag.StudyInstanceUID]: el('UI', '1.2.3', studyUid) }, true],
    ['UID list without it', { [Tag.StudyInstanceUID]: el('UI', '1.2.3', '1.2.4') }, false],
    ['UID list as a backslash string', { [Tag.StudyInstanceUID]: el('UI', `1.2.3\\${studyUid}`) }, true],
    ['UID in a sequence item', { [Tag.ReferencedStudySequence]: sq({ [Tag.ReferencedSOPInstanceUID]: el('UI', studyUid) }) }, true],
    ['other values of a CS key (extension): US\\CT', sps({ [Tag.Modality]: el('CS', 'CT', 'US') }), true],
    ['other values of a CS key (extension): CT\\MR', sps({ [Tag.Modality]: el('CS', 'CT', 'MR') }), false],
  ]);
});

describe('sequence matching', () => {
  runCases([
    ['scheduled step modality', sps({ [Tag.Modality]: el('CS', 'US') }), true],
    ['scheduled step other modality', sps({ [Tag.Modality]: el('CS', 'CT') }), false],
    ['scheduled step station and modality', sps({ [Tag.Modality]: el('CS', 'US'), [Tag.ScheduledStationAETitle]: el('AE', 'US_ROOM2') }), true],
    ['scheduled step: one key fails', sps({ [Tag.Modality]: el('CS', 'US'), [Tag.ScheduledStationAETitle]: el('AE', 'CT_ROOM1') }), false],
    ['zero-length sequence key', { [Tag.ScheduledProcedureStepSequence]: sq() }, true],
    ['sequence key with an empty item', sps({}), true],
    ['item of universal keys is universal, item lacks the sequence', { [Tag.OtherPatientIDsSequence]: sq({ [Tag.PatientID]: el('LO') }) }, true],
    ['item key, item lacks the sequence', { [Tag.OtherPatientIDsSequence]: sq({ [Tag.PatientID]: el('LO', 'X1') }) }, false],
    ['any item of the sequence (second code)', { [Tag.RequestedProcedureCodeSequence]: sq({ [Tag.CodeValue]: el('SH', '76700') }) }, true],
    [
      'all keys in the same item',
      { [Tag.RequestedProcedureCodeSequence]: sq({ [Tag.CodeValue]: el('SH', 'US-ABD'), [Tag.CodingSchemeDesignator]: el('SH', 'C4') }) },
      false,
    ],
    [
      'keys in the same item',
      { [Tag.RequestedProcedureCodeSequence]: sq({ [Tag.CodeValue]: el('SH', 'US-ABD'), [Tag.CodingSchemeDesignator]: el('SH', '99LOCAL') }) },
      true,
    ],
    ['nested sequence in the step', sps({ [Tag.ScheduledProtocolCodeSequence]: sq({ [Tag.CodeValue]: el('SH', 'P-ABD') }) }), true],
    ['nested sequence in the step, other code', sps({ [Tag.ScheduledProtocolCodeSequence]: sq({ [Tag.CodeValue]: el('SH', 'P-KNEE') }) }), false],
  ]);
});

describe('identifiers we cannot process', () => {
  const cases: [string, DicomJson, string[], MatchOptions?][] = [
    ['ISO date', sps({ [Tag.ScheduledProcedureStepStartDate]: el('DA', '2026-01-05') }), ['(0040,0002)']],
    ['impossible date', sps({ [Tag.ScheduledProcedureStepStartDate]: el('DA', '20260230') }), ['(0040,0002)']],
    ['wildcard in a date', sps({ [Tag.ScheduledProcedureStepStartDate]: el('DA', '202601*') }), ['(0040,0002)']],
    ['reversed date range', { [Tag.PatientBirthDate]: el('DA', '20260110-20260101') }, ['(0010,0030)']],
    ['malformed date range', { [Tag.PatientBirthDate]: el('DA', '20260101--20260110') }, ['(0010,0030)']],
    ['hour 25', sps({ [Tag.ScheduledProcedureStepStartTime]: el('TM', '25') }), ['(0040,0003)']],
    ['combined range that ends before it starts', sps({ [Tag.ScheduledProcedureStepStartDate]: el('DA', '20260105'), [Tag.ScheduledProcedureStepStartTime]: el('TM', '1500-0800') }), ['(0040,0003)']],
    ['reversed time range, separately', sps({ [Tag.ScheduledProcedureStepStartDate]: el('DA', '20260105'), [Tag.ScheduledProcedureStepStartTime]: el('TM', '1500-0800') }), ['(0040,0003)'], { combineDateTime: false }],
    ['wildcard in a UID list', { [Tag.StudyInstanceUID]: el('UI', '1.2.3', '1.2.*') }, ['(0020,000D)']],
    ['not a UID', { [Tag.StudyInstanceUID]: el('UI', '1.2.abc') }, ['(0020,000D)']],
    ['range on a DS key', { [Tag.PatientWeight]: el('DS', '80-90') }, ['(0010,1030)']],
    ['wildcard on a US key', { [Tag.PregnancyStatus]: el('US', '?') }, ['(0010,21C0)']],
    ['two items in a sequence key', { [Tag.ScheduledProcedureStepSequence]: sq({}, {}) }, ['(0040,0100)']],
    ['matching value on OB', { '00091001': el('OB', 'x'), '7FE00010': el('OB', 'AAAA') }, ['(7FE0,0010)']],
    [
      'every offending element at once',
      { [Tag.PatientBirthDate]: el('DA', 'yesterday'), ...sps({ [Tag.ScheduledProcedureStepStartDate]: el('DA', '2026*') }) },
      ['(0010,0030)', '(0040,0002)'],
    ],
  ];
  for (const [label, query, paths, options] of cases) {
    test(`${label}: GatewayError invalid naming ${paths.join(', ')}`, () => {
      assert.throws(
        () => compileQuery(query, options),
        (err: unknown) => {
          assert.ok(err instanceof GatewayError);
          assert.equal(err.code, 'invalid');
          assert.deepEqual(err.issues.map((i) => i.path).sort(), [...paths].sort());
          for (const issue of err.issues) assert.ok(issue.message.length > 10, issue.message);
          return true;
        },
      );
    });
  }

  test('offendingTags lists the tags for the DICOM Offending Element', () => {
    try {
      compileQuery({ [Tag.PatientBirthDate]: el('DA', 'x'), ...sps({ [Tag.ScheduledProcedureStepStartTime]: el('TM', '99') }) });
      assert.fail('should throw');
    } catch (err) {
      assert.ok(err instanceof GatewayError);
      assert.deepEqual(offendingTags(err).sort(), ['00100030', '00400003']);
      assert.match(err.issues.find((i) => i.path === '(0040,0003)')!.message, /ScheduledProcedureStepSequence/);
    }
  });

  test('a lone * is universal even where wildcards are not allowed (lenient)', () => {
    assert.equal(compileQuery(sps({ [Tag.ScheduledProcedureStepStartDate]: el('DA', '*') })).matches(candidate()), true);
    assert.deepEqual(compileQuery(sps({ [Tag.ScheduledProcedureStepStartDate]: el('DA', '*') })).matchingKeys, []);
  });
});

describe('buildAnswer', () => {
  test('every requested key comes back, nested keys included, and nothing else', () => {
    const query: DicomJson = {
      [Tag.SpecificCharacterSet]: el('CS', 'ISO_IR 100'),
      [Tag.PatientName]: pn(),
      [Tag.PatientID]: el('LO'),
      [Tag.Allergies]: el('LO'),
      [Tag.PatientWeight]: el('DS'),
      [Tag.OtherPatientIDsSequence]: sq({ [Tag.PatientID]: el('LO') }),
      [Tag.ReferencedStudySequence]: sq(),
      [Tag.RequestedProcedureCodeSequence]: sq({ [Tag.CodeValue]: el('SH'), [Tag.CodingSchemeVersion]: el('SH') }),
      ...sps({
        [Tag.Modality]: el('CS', 'US'),
        [Tag.ScheduledProcedureStepStartDate]: el('DA', '20260105'),
        [Tag.ScheduledPerformingPhysicianName]: pn(),
        [Tag.PreMedication]: el('LO'),
        [Tag.ScheduledProtocolCodeSequence]: sq({ [Tag.CodeValue]: el('SH'), [Tag.CodeMeaning]: el('LO') }),
      }),
    };
    const item = candidate();
    const answer = buildAnswer(query, item);
    assert.deepEqual(answer, {
      [Tag.PatientName]: pn('Müller^Jürgen'),
      [Tag.PatientID]: el('LO', 'PID-42'),
      [Tag.Allergies]: el('LO'),
      [Tag.PatientWeight]: el('DS', 82.5),
      [Tag.OtherPatientIDsSequence]: sq(),
      [Tag.ReferencedStudySequence]: item[Tag.ReferencedStudySequence],
      [Tag.RequestedProcedureCodeSequence]: sq(
        { [Tag.CodeValue]: el('SH', 'US-ABD'), [Tag.CodingSchemeVersion]: el('SH') },
        { [Tag.CodeValue]: el('SH', '76700'), [Tag.CodingSchemeVersion]: el('SH') },
      ),
      ...sps({
        [Tag.Modality]: el('CS', 'US'),
        [Tag.ScheduledProcedureStepStartDate]: el('DA', '20260105'),
        [Tag.ScheduledPerformingPhysicianName]: pn(),
        [Tag.PreMedication]: el('LO'),
        [Tag.ScheduledProtocolCodeSequence]: sq({ [Tag.CodeValue]: el('SH', 'P-ABD'), [Tag.CodeMeaning]: el('LO', 'Abdomen komplett') }),
      }),
    });
    assert.equal(answer[Tag.SpecificCharacterSet], undefined, '(0008,0005) is the caller’s');
    assert.equal(answer[Tag.PatientSex], undefined, 'not requested');
    assert.deepEqual(Object.keys(answer), Object.keys(answer).toSorted(), 'tag order');
  });

  test('the answer holds copies: changing it leaves the item alone', () => {
    const item = candidate();
    const answer = compileQuery({ [Tag.PatientName]: pn(), [Tag.ReferencedStudySequence]: sq() }).answer(item);
    (answer[Tag.PatientName]!.Value![0] as { Alphabetic: string }).Alphabetic = 'X';
    (answer[Tag.ReferencedStudySequence]!.Value![0] as DicomJson)[Tag.ReferencedSOPInstanceUID] = el('UI', '9');
    assert.deepEqual(item[Tag.PatientName], pn('Müller^Jürgen'));
    assert.deepEqual((item[Tag.ReferencedStudySequence]!.Value![0] as DicomJson)[Tag.ReferencedSOPInstanceUID], el('UI', studyUid));
  });
});

describe('one answer per scheduled step', () => {
  test('splitScheduledSteps gives one candidate per step, and each matches on its own', () => {
    const item = candidate();
    const us = item[Tag.ScheduledProcedureStepSequence]!.Value![0] as DicomJson;
    const ct: DicomJson = { ...us, [Tag.Modality]: el('CS', 'CT'), [Tag.ScheduledProcedureStepID]: el('SH', 'SPS-8') };
    item[Tag.ScheduledProcedureStepSequence] = sq(us, ct);
    const parts = splitScheduledSteps(item);
    assert.equal(parts.length, 2);
    const query = compileQuery(sps({ [Tag.Modality]: el('CS', 'CT'), [Tag.ScheduledProcedureStepID]: el('SH') }));
    const answers = parts.filter((p) => query.matches(p)).map((p) => query.answer(p));
    assert.deepEqual(answers, [sps({ [Tag.Modality]: el('CS', 'CT'), [Tag.ScheduledProcedureStepID]: el('SH', 'SPS-8') })]);
    assert.deepEqual(splitScheduledSteps(candidate()), [candidate()]);
  });
});

describe('database pre-filter', () => {
  const cases: [string, DicomJson, WorklistPrefilter][] = [
    ['universal query', {}, {}],
    [
      'all the indexed keys',
      {
        [Tag.PatientID]: el('LO', 'PID-42'),
        [Tag.AccessionNumber]: el('SH', 'ACC-1001'),
        ...sps({ [Tag.Modality]: el('CS', 'US'), [Tag.ScheduledStationAETitle]: el('AE', 'US_ROOM2'), [Tag.ScheduledProcedureStepStartDate]: el('DA', '20260105-20260107') }),
      },
      { patientId: 'PID-42', accessionNumber: 'ACC-1001', modalities: ['US'], stationAeTitles: ['US_ROOM2'], startDate: { from: '20260105', to: '20260107' } },
    ],
    ['wildcards give no restriction', { [Tag.PatientID]: el('LO', 'PID*'), ...sps({ [Tag.Modality]: el('CS', 'U?') }) }, {}],
    ['modality list', sps({ [Tag.Modality]: el('CS', 'US', 'CT') }), { modalities: ['US', 'CT'] }],
    ['single date', sps({ [Tag.ScheduledProcedureStepStartDate]: el('DA', '20260105') }), { startDate: { from: '20260105', to: '20260105' } }],
    ['open date range', sps({ [Tag.ScheduledProcedureStepStartDate]: el('DA', '20260105-') }), { startDate: { from: '20260105' } }],
    ['date of a combined range', sps({ [Tag.ScheduledProcedureStepStartDate]: el('DA', '-20260105'), [Tag.ScheduledProcedureStepStartTime]: el('TM', '-1200') }), { startDate: { to: '20260105' } }],
  ];
  for (const [label, query, expected] of cases) {
    test(label, () => {
      assert.deepEqual(extractPrefilter(query), expected);
      assert.deepEqual(compileQuery(query).prefilter, expected);
    });
  }

  test('it validates like compileQuery', () => {
    assert.throws(() => extractPrefilter(sps({ [Tag.ScheduledProcedureStepStartDate]: el('DA', 'today') })), GatewayError);
  });

  test('it is a superset: every item that matches passes it', () => {
    const passes = (f: WorklistPrefilter, item: DicomJson): boolean => {
      const step = item[Tag.ScheduledProcedureStepSequence]!.Value![0] as DicomJson;
      const first = (ds: DicomJson, tag: string) => ds[tag]?.Value?.[0] as string | undefined;
      const date = first(step, Tag.ScheduledProcedureStepStartDate) ?? '';
      return (
        (f.modalities === undefined || f.modalities.includes(first(step, Tag.Modality) ?? '')) &&
        (f.stationAeTitles === undefined || f.stationAeTitles.includes(first(step, Tag.ScheduledStationAETitle) ?? '')) &&
        (f.startDate?.from === undefined || date >= f.startDate.from) &&
        (f.startDate?.to === undefined || date <= f.startDate.to) &&
        (f.patientId === undefined || f.patientId === first(item, Tag.PatientID)) &&
        (f.accessionNumber === undefined || f.accessionNumber === first(item, Tag.AccessionNumber))
      );
    };
    const items: DicomJson[] = [];
    for (const modality of ['US', 'CT']) {
      for (const date of ['20260104', '20260105', '20260106']) {
        for (const time of ['0700', '143000', '2330']) {
          items.push(candidate({ [Tag.PatientID]: el('LO', `P-${modality}`) }, { [Tag.Modality]: el('CS', modality), [Tag.ScheduledProcedureStepStartDate]: el('DA', date), [Tag.ScheduledProcedureStepStartTime]: el('TM', time) }));
        }
      }
    }
    const queries: DicomJson[] = [
      sps({ [Tag.Modality]: el('CS', 'US'), [Tag.ScheduledProcedureStepStartDate]: el('DA', '20260105') }),
      sps({ [Tag.ScheduledProcedureStepStartDate]: el('DA', '20260104-20260105'), [Tag.ScheduledProcedureStepStartTime]: el('TM', '2300-0800') }),
      { [Tag.PatientID]: el('LO', 'P-CT'), ...sps({ [Tag.ScheduledProcedureStepStartDate]: el('DA', '20260106-') }) },
    ];
    let matched = 0;
    for (const q of queries) {
      const compiled = compileQuery(q);
      for (const item of items) {
        if (compiled.matches(item)) {
          matched++;
          assert.ok(passes(compiled.prefilter, item), 'a matching item must pass the pre-filter');
        }
      }
    }
    assert.ok(matched >= 6, `expected several matches, got ${matched}`);
  });
});

describe('performance', () => {
  test('a compiled query runs over 3,000 candidates quickly', () => {
    const items = Array.from({ length: 3000 }, (_, i) =>
      candidate({ [Tag.PatientName]: pn(i % 100 === 0 ? 'Müller^Jürgen' : `Name${i}^Given${i}`), [Tag.PatientID]: el('LO', `PID-${i}`) }),
    );
    const query = compileQuery({
      [Tag.PatientName]: pn('MUELLER*'),
      ...sps({ [Tag.Modality]: el('CS', 'US'), [Tag.ScheduledProcedureStepStartDate]: el('DA', '20260105'), [Tag.ScheduledProcedureStepStartTime]: el('TM', '0000-2359') }),
    });
    const start = performance.now();
    let count = 0;
    for (let round = 0; round < 10; round++) count = items.filter((c) => query.matches(c)).length;
    const perQuery = (performance.now() - start) / 10;
    assert.equal(count, 30);
    assert.ok(perQuery < 100, `3,000 candidates took ${perQuery.toFixed(1)} ms`);
  });
});
