import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import { Database, DeviceRepository, WorklistRepository } from '../../src/db/index.ts';
import { DeviceRegistry } from '../../src/devices/index.ts';
import { deviceSchema, type Device } from '../../src/domain/device.ts';
import type { DicomJson } from '../../src/domain/dicom-json.ts';
import { GatewayError } from '../../src/domain/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { TooManyMatches, WorklistQuery, WorklistService } from '../../src/worklist/index.ts';

async function setup(maxResults = 100) {
  const db = Database.open({ file: ':memory:' });
  const clock = new ManualClock();
  const log = silentLogger();
  const repository = new WorklistRepository(db);
  const devices = new DeviceRegistry({ repository: new DeviceRepository(db), clock, log });
  const worklist = new WorklistService({ db, repository, devices, clock, log, timeZone: 'Europe/Berlin', uidRoot: '2.25', cleanup: { pastDays: 7, finishedDays: 2 } });
  const add = (name: string, modality: string, station: string, date: string, extra: Record<string, unknown> = {}, partition = '') =>
    worklist.save({ PatientName: name, PatientID: `ID-${name}`, AccessionNumber: `A-${name}`.slice(0, 16), ScheduledProcedureStepSequence: [{ Modality: modality, ScheduledStationAETitle: station, ScheduledProcedureStepStartDate: date, ScheduledProcedureStepStartTime: '0900' }], ...extra }, { partition });
  await add('Müller^Jürgen', 'US', 'US_1', '20261123');
  await add('Mueller^Hans', 'US', 'US_2', '20261124');
  await add('Łukasz^Nowak', 'CR', 'CR_1', '20261123');
  await add('Schmidt^Anna', 'US', 'US_1', '20261201', {}, 'ALIAS_B');
  const query = new WorklistQuery({ repository, maxResults, offerInProgress: false, personNameMatching: 'fuzzy' });
  return { query, worklist };
}

const pn = (v: string) => ({ vr: 'PN', Value: v === '' ? [] : [{ Alphabetic: v }] });
function identifier(name = '', step: DicomJson = {}): DicomJson {
  return {
    '00100010': pn(name),
    '00100020': { vr: 'LO' },
    '00400100': { vr: 'SQ', Value: [{ '00080060': { vr: 'CS' }, '00400001': { vr: 'AE' }, '00400002': { vr: 'DA' }, '00400003': { vr: 'TM' }, ...step }] },
  };
}
const names = (answers: { dataset: DicomJson }[]) => answers.map((a) => (a.dataset['00100010']?.Value?.[0] as { Alphabetic: string } | undefined)?.Alphabetic).sort();
const device = (input: Record<string, unknown>): Device => ({ ...deviceSchema.parse(input), source: 'api', createdAt: '', updatedAt: '' });

describe('worklist query', () => {
  test('fuzzy names, every requested key, Latin-1 answers with (0008,0005)', async () => {
    const { query } = await setup();
    const answers = [...query.answers(identifier('MÜLLER*'), { callingAeTitle: 'X', calledAlias: undefined, device: undefined })];
    assert.deepEqual(names(answers), ['Mueller^Hans', 'Müller^Jürgen']);
    const jurgen = answers.find((a) => JSON.stringify(a.dataset).includes('Jürgen'));
    assert.equal(jurgen?.charset, 'ISO_IR 100');
    assert.deepEqual(jurgen?.dataset['00080005'], { vr: 'CS', Value: ['ISO_IR 100'] });
    assert.deepEqual(Object.keys(jurgen?.dataset ?? {}).sort(), ['00080005', '00100010', '00100020', '00400100']);
    const step = (jurgen?.dataset['00400100']?.Value?.[0] ?? {}) as DicomJson;
    assert.deepEqual(Object.keys(step).sort(), ['00080060', '00400001', '00400002', '00400003']);
    assert.deepEqual(step['00400003']?.Value, ['090000']);
    const ascii = answers.find((a) => JSON.stringify(a.dataset).includes('Hans'));
    assert.equal(ascii?.dataset['00080005'], undefined, 'plain ASCII answers carry no (0008,0005)');
  });

  test('a name Latin-1 cannot hold is transliterated for a Latin-1 device, sent as UTF-8 to a UTF-8 device', async () => {
    const { query } = await setup();
    const q = identifier('', { '00080060': { vr: 'CS', Value: ['CR'] } });
    const [latin] = [...query.answers(q, { callingAeTitle: 'CR_1', calledAlias: undefined, device: device({ aeTitle: 'CR_1' }) })];
    assert.equal(names([latin!])[0], 'Lukasz^Nowak');
    const [utf8] = [...query.answers(q, { callingAeTitle: 'CR_1', calledAlias: undefined, device: device({ aeTitle: 'CR_1', characterSet: 'ISO_IR 192' }) })];
    assert.equal(names([utf8!])[0], 'Łukasz^Nowak');
    assert.deepEqual(utf8?.dataset['00080005']?.Value, ['ISO_IR 192']);
  });

  test('a device sees only its modalities and its own station, even with an empty key', async () => {
    const { query } = await setup();
    const us1 = device({ aeTitle: 'US_1', worklistFilter: { modalities: ['US'], stationAeTitle: 'calling' } });
    assert.deepEqual(names([...query.answers(identifier(), { callingAeTitle: 'US_1', calledAlias: undefined, device: us1 })]), ['Müller^Jürgen']);
    const usAny = device({ aeTitle: 'US_9', worklistFilter: { modalities: ['US'] } });
    assert.deepEqual(names([...query.answers(identifier(), { callingAeTitle: 'US_9', calledAlias: undefined, device: usAny })]), ['Mueller^Hans', 'Müller^Jürgen']);
    const asksCr = identifier('', { '00080060': { vr: 'CS', Value: ['CR'] } });
    assert.deepEqual([...query.answers(asksCr, { callingAeTitle: 'US_9', calledAlias: undefined, device: usAny })], []);
  });

  test('an alias sees its partition as well as the common items', async () => {
    const { query } = await setup();
    assert.equal([...query.answers(identifier(), { callingAeTitle: 'X', calledAlias: undefined, device: undefined })].length, 3);
    assert.equal([...query.answers(identifier(), { callingAeTitle: 'X', calledAlias: 'ALIAS_B', device: undefined })].length, 4);
  });

  test('date ranges, only scheduled steps, more matches than the limit, bad identifiers', async () => {
    const { query, worklist } = await setup(2);
    const asker = { callingAeTitle: 'X', calledAlias: undefined, device: undefined };
    assert.deepEqual(names([...query.answers(identifier('', { '00400002': { vr: 'DA', Value: ['20261124-20261130'] } }), asker)]), ['Mueller^Hans']);
    const all = query.answers(identifier(), asker);
    assert.ok(all.next().value);
    assert.ok(all.next().value);
    assert.throws(() => all.next(), (e: unknown) => e instanceof TooManyMatches);
    const hans = worklist.search({ patientId: 'ID-Mueller^Hans', limit: 1, offset: 0 }).items[0]!;
    await worklist.cancel(hans.id);
    assert.equal([...query.answers(identifier('', { '00400002': { vr: 'DA', Value: ['20261124'] } }), asker)].length, 0);
    assert.throws(
      () => [...query.answers(identifier('', { '00400002': { vr: 'DA', Value: ['2026*'] } }), asker)],
      (e: unknown) => e instanceof GatewayError && e.code === 'invalid' && e.issues.some((i) => i.path === '(0040,0002)'),
    );
  });
});
