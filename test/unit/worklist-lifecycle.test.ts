import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import { Database, DeviceRepository, MppsRepository, WorklistRepository } from '../../src/db/index.ts';
import { DeviceRegistry } from '../../src/devices/index.ts';
import { silentLogger } from '../../src/log.ts';
import { MppsService, WorklistService } from '../../src/worklist/index.ts';

function setup() {
  const db = Database.open({ file: ':memory:' });
  const clock = new ManualClock('2026-11-23T07:00:00Z');
  const log = silentLogger();
  const repository = new WorklistRepository(db);
  const devices = new DeviceRegistry({ repository: new DeviceRepository(db), clock, log });
  const worklist = new WorklistService({ db, repository, devices, clock, log, timeZone: 'Europe/Berlin', uidRoot: '2.25', cleanup: { pastDays: 7, finishedDays: 2 } });
  const mpps = new MppsService({ db, mpps: new MppsRepository(db), worklist: repository, clock, log });
  return { db, clock, worklist, mpps };
}

const order = (accession: string, date: string, steps = ['S1']) => ({
  PatientName: 'Müller^Jürgen',
  PatientID: 'P1',
  AccessionNumber: accession,
  ScheduledProcedureStepSequence: steps.map((id) => ({ Modality: 'US', ScheduledStationAETitle: 'US_1', ScheduledProcedureStepStartDate: date, ScheduledProcedureStepID: id })),
});

const mppsCreate = (accession: string, stepId: string, status = 'IN PROGRESS') => ({
  PerformedProcedureStepStatus: status,
  ScheduledStepAttributesSequence: [{ AccessionNumber: accession, ScheduledProcedureStepID: stepId, StudyInstanceUID: '' }],
});

describe('worklist lifecycle', () => {
  test('MPPS moves the referenced step through in progress to completed; the refusals', async () => {
    const { worklist, mpps } = setup();
    const { item } = await worklist.save(order('A1', '20261123', ['S1', 'S2']));

    assert.deepEqual(await mpps.create('1.2.3.1', { PerformedProcedureStepStatus: 'COMPLETED' }, 'US_1'), { kind: 'invalid', missing: false, element: '(0040,0252)', message: 'N-CREATE must carry IN PROGRESS, not COMPLETED' });
    assert.equal((await mpps.create('1.2.3.1', {}, 'US_1')).kind, 'invalid');
    assert.deepEqual(await mpps.create('1.2.3.1', mppsCreate('A1', 'S1'), 'US_1'), { kind: 'created', linkedSteps: 1 });
    assert.deepEqual(await mpps.create('1.2.3.1', mppsCreate('A1', 'S1'), 'US_1'), { kind: 'duplicate' });
    let now = worklist.get(item.id);
    assert.deepEqual(now.steps.map((s) => s.status), ['in_progress', 'scheduled']);
    assert.equal(now.status, 'in_progress');

    assert.deepEqual(await mpps.set('9.9.9', { PerformedProcedureStepStatus: 'COMPLETED' }), { kind: 'unknown' });
    assert.equal((await mpps.set('1.2.3.1', { PerformedProcedureStepStatus: 'FINISHED' })).kind, 'invalid');
    assert.deepEqual(await mpps.set('1.2.3.1', { PerformedProcedureStepDescription: 'more' }), { kind: 'updated', status: 'IN PROGRESS', linkedSteps: 1 });
    assert.deepEqual(await mpps.set('1.2.3.1', { PerformedProcedureStepStatus: 'COMPLETED' }), { kind: 'updated', status: 'COMPLETED', linkedSteps: 1 });
    assert.deepEqual(await mpps.set('1.2.3.1', { PerformedProcedureStepStatus: 'DISCONTINUED' }), { kind: 'final', status: 'COMPLETED' });
    now = worklist.get(item.id);
    assert.deepEqual(now.steps.map((s) => s.status), ['completed', 'scheduled']);
    assert.equal(now.status, 'scheduled');

    // Unscheduled: no step to link, kept all the same.
    assert.deepEqual(await mpps.create('1.2.3.2', mppsCreate('NOPE', 'X'), 'US_1'), { kind: 'created', linkedSteps: 0 });
    await mpps.create('1.2.3.3', mppsCreate('A1', 'S2'), 'US_1');
    await mpps.set('1.2.3.3', { PerformedProcedureStepStatus: 'DISCONTINUED' });
    assert.equal(worklist.get(item.id).status, 'completed');
    assert.equal(mpps.list().length, 3);
  });

  test('cleanup removes past and long-finished steps, and items left empty; patients stay', async () => {
    const { worklist, clock, db } = setup();
    const old = await worklist.save(order('OLD', '20261110'));
    const today = await worklist.save(order('TODAY', '20261123'));
    const done = await worklist.save(order('DONE', '20261122'));
    await worklist.cancel(done.item.id);
    assert.deepEqual(await worklist.cleanup(), { steps: 1, items: 1 }, 'only the step from 13 days ago');
    clock.advance(3 * 86_400_000);
    assert.deepEqual(await worklist.cleanup(), { steps: 1, items: 1 }, 'the cancelled one after two days');
    assert.equal(worklist.search({ limit: 10, offset: 0 }).items.map((i) => i.accessionNumber).join(), 'TODAY');
    assert.throws(() => worklist.get(old.item.id));
    assert.equal(worklist.get(today.item.id).accessionNumber, 'TODAY');
    assert.equal((db.sqlite.prepare('SELECT COUNT(*) AS n FROM patients').get() as { n: number }).n, 1);
  });
});
