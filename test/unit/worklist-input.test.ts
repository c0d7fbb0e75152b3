import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GatewayError } from '../../src/domain/errors.ts';
import { normalizeWorklistInput, type WorklistInputContext } from '../../src/domain/worklist-input.ts';

const ctx: WorklistInputContext = {
  timeZone: 'Europe/Berlin',
  uidRoot: '1.2.826.0.1.3680043.10.999',
  stationFor: (modality) => (modality === 'US' ? 'US_ROOM1' : undefined),
};

function issuesOf(input: unknown): Record<string, string> {
  try {
    normalizeWorklistInput(input, ctx);
  } catch (err) {
    assert.ok(err instanceof GatewayError);
    return Object.fromEntries(err.issues.map((i) => [i.path, i.message]));
  }
  assert.fail('expected the input to be rejected');
}

describe('worklist input', () => {
  test('plain keyword JSON with ISO dates becomes DICOM DA/TM in the site zone, defaults filled', () => {
    const item = normalizeWorklistInput(
      {
        PatientName: 'Müller^Jürgen',
        PatientID: '4711',
        PatientBirthDate: '1970-03-01',
        PatientSex: 'm',
        AccessionNumber: 'ACC-1',
        Modality: 'US',
        ScheduledProcedureStepStartDate: '2026-11-23T08:30:00Z',
        ScheduledProcedureStepDescription: 'Sono Abdomen',
      },
      ctx,
    );
    assert.deepEqual(item.patient.name, { family: 'Müller', given: 'Jürgen', middle: '', prefix: '', suffix: '' });
    assert.equal(item.patient.birthDate, '19700301');
    assert.equal(item.patient.sex, 'M');
    assert.equal(item.steps.length, 1);
    const step = item.steps[0];
    assert.equal(step?.startDate, '20261123');
    assert.equal(step?.startTime, '093000', 'UTC 08:30 is 09:30 in Berlin in November');
    assert.equal(step?.stationAeTitle, 'US_ROOM1', 'taken from the one device for US');
    assert.equal(step?.stepId, '1');
    assert.equal(step?.status, 'scheduled');
    assert.equal(item.requestedProcedure.id, 'ACC-1');
    assert.match(item.studyInstanceUid, /^1\.2\.826\.0\.1\.3680043\.10\.999\.\d+$/);
    assert.ok(item.studyInstanceUid.length <= 64);
  });

  test('the DICOM JSON model shapes (PN objects, one-element arrays) are understood', () => {
    const item = normalizeWorklistInput(
      {
        PatientName: [{ Alphabetic: 'Özdemir^Ayşe' }],
        PatientID: ['P1'],
        StudyInstanceUID: ['1.2.3.4'],
        ScheduledProcedureStepSequence: [
          { Modality: ['CR'], ScheduledStationAETitle: ['CR_1'], ScheduledProcedureStepStartDate: ['20261124'], ScheduledProcedureStepStartTime: ['101500'], ScheduledProtocolCodeSequence: [{ CodeValue: 'T1', CodingSchemeDesignator: '99PRAXIS', CodeMeaning: 'Thorax' }] },
          { Modality: 'CR', ScheduledStationAETitle: 'CR_1', ScheduledProcedureStepStartDate: '20261124', ScheduledProcedureStepStartTime: '10:45' },
        ],
      },
      ctx,
    );
    assert.equal(item.patient.name.family, 'Özdemir');
    assert.equal(item.studyInstanceUid, '1.2.3.4');
    assert.deepEqual(item.steps.map((s) => [s.stepId, s.startTime]), [['1', '101500'], ['2', '104500']]);
    assert.deepEqual(item.steps[0]?.protocolCodes, [{ value: 'T1', scheme: '99PRAXIS', schemeVersion: '', meaning: 'Thorax' }]);
  });

  test('every invalid or missing field is named at once', () => {
    const issues = issuesOf({
      PatientID: '',
      PatientBirthDate: '31.02.1970',
      PatientSex: 'X',
      AccessionNumber: 'THIS-ACCESSION-IS-TOO-LONG',
      StudyInstanceUID: '1.2.abc',
      Colour: 'blue',
      ScheduledProcedureStepSequence: [
        { Modality: 'XA', ScheduledProcedureStepStartDate: '2026-02-30', ScheduledProcedureStepStartTime: '25:00' },
        { Modality: 'us', ScheduledStationAETitle: 'US_ROOM1' },
      ],
    });
    assert.deepEqual(Object.keys(issues).sort(), [
      'AccessionNumber',
      'Colour',
      'PatientBirthDate',
      'PatientID',
      'PatientName',
      'PatientSex',
      'ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate',
      'ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartTime',
      'ScheduledProcedureStepSequence[0].ScheduledStationAETitle',
      'ScheduledProcedureStepSequence[1].Modality',
      'ScheduledProcedureStepSequence[1].ScheduledProcedureStepStartDate',
      'StudyInstanceUID',
    ]);
    assert.match(issues['ScheduledProcedureStepSequence[0].ScheduledStationAETitle'] ?? '', /modality XA/);
  });

  test('a step without steps is refused, duplicate step IDs too', () => {
    assert.ok('ScheduledProcedureStepSequence' in issuesOf({ PatientName: 'A^B', PatientID: '1' }));
    const dup = issuesOf({
      PatientName: 'A^B',
      PatientID: '1',
      ScheduledProcedureStepSequence: [
        { Modality: 'US', ScheduledProcedureStepStartDate: '20261101', ScheduledProcedureStepID: 'S1' },
        { Modality: 'US', ScheduledProcedureStepStartDate: '20261101', ScheduledProcedureStepID: 'S1' },
      ],
    });
    assert.deepEqual(Object.keys(dup), ['ScheduledProcedureStepSequence[1].ScheduledProcedureStepID']);
  });
});
