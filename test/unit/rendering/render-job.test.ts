import assert from 'node:assert/strict';
import type { DatabaseSync } from 'node:sqlite';
import { describe, test } from 'node:test';
import { ManualClock } from '../../../src/clock.ts';
import { ArchiveRepository, Database, DerivedFileRepository } from '../../../src/db/index.ts';
import type { JobRecord } from '../../../src/jobs/index.ts';
import { renderJob, type DerivedFile, type OnRendered, type Renderer } from '../../../src/rendering/index.ts';

const sop = '1.2.826.0.1.3680043.2.1125.7.1';

function setup(onRendered?: OnRendered) {
  const db = Database.open({ file: ':memory:' });
  const archive = new ArchiveRepository(db);
  const { instanceId } = db.transaction((tx) =>
    archive.index(
      tx,
      {
        patient: { patientId: 'P-1', issuer: '', name: { family: 'Test', given: '', middle: '', prefix: '', suffix: '' }, birthDate: '', sex: '' },
        study: { studyInstanceUid: '1.2.3.1', studyDate: '20260315', studyTime: '', accessionNumber: '', studyId: '', description: '', referringPhysician: '' },
        series: { seriesInstanceUid: '1.2.3.2', modality: 'US', seriesNumber: 1, description: '', bodyPart: '' },
        instance: { sopInstanceUid: sop, sopClassUid: '1.2.840.10008.5.1.4.1.1.6.1', transferSyntaxUid: '1.2.840.10008.1.2.1', instanceNumber: 1, frames: 1, size: 10, sha256: 'x', path: `0123456789abcdef/0123456789abcdef/${sop}.dcm`, callingAeTitle: 'US_1', associationId: 'a', receivedAt: '2026-03-15T10:00:00Z' },
      },
      false,
    ),
  );
  const repository = new DerivedFileRepository(db);
  // The handler is not run here: onCompleted is what the main process does with a result.
  const job = renderJob({ renderer: {} as Renderer, repository, clock: new ManualClock('2026-03-15T10:01:00Z'), ...(onRendered === undefined ? {} : { onRendered }) });
  const record = (payload: unknown): JobRecord => ({ id: 7, type: job.type, key: null, state: 'completed', payload, correlationId: 'c', attempts: 1, maxAttempts: 3, progress: 100, runAt: '', createdAt: '', startedAt: null, finishedAt: null, result: null, lastError: null, errorKind: null, schedule: null, dispatched: false });
  const payload = { instanceId, sopInstanceUid: sop, path: `0123456789abcdef/0123456789abcdef/${sop}.dcm` };
  return { db, repository, job, record, payload, instanceId };
}

const jpeg: DerivedFile = { kind: 'image', path: `derived/0123456789abcdef/0123456789abcdef/${sop}.jpg`, mediaType: 'image/jpeg', bytes: 1234, sha256: 'a'.repeat(64), width: 640, height: 480, frames: 1, fps: null };

describe('render job results', () => {
  test('are recorded in the completing transaction and handed to onRendered there', () => {
    const calls: { inTransaction: boolean; rendered: unknown }[] = [];
    const { db, repository, job, record, payload, instanceId } = setup((tx: DatabaseSync, rendered) => {
      calls.push({ inTransaction: tx.isTransaction, rendered });
    });
    db.transaction((tx) => job.onCompleted?.(tx, record(payload), { derived: [jpeg] }));
    assert.deepEqual(calls, [{ inTransaction: true, rendered: { instanceId, sopInstanceUid: sop, derived: [jpeg] } }]);
    const rendition = repository.forInstance(sop);
    assert.equal(rendition?.jobId, 7);
    assert.equal(rendition?.renderedAt, '2026-03-15T10:01:00.000Z');
    assert.deepEqual(rendition?.files.map(({ id: _id, createdAt: _at, ...f }) => f), [jpeg]);

    // A re-render (the instance was replaced) replaces the files; a skipped object has none.
    db.transaction((tx) => job.onCompleted?.(tx, record(payload), { derived: [], skipped: 'no pixel data' }));
    assert.deepEqual([repository.forInstance(sop)?.skipped, repository.forInstance(sop)?.files], ['no pixel data', []]);
    assert.deepEqual(calls[1]?.rendered, { instanceId, sopInstanceUid: sop, derived: [], skipped: 'no pixel data' });
  });

  test('a result that names a file outside derived/ or has unknown fields is refused', () => {
    const { db, job, record, payload, repository } = setup();
    for (const bad of [{ derived: [{ ...jpeg, path: 'archive/x.dcm' }] }, { derived: [{ ...jpeg, path: 'derived/../gateway.db' }] }, { derived: [{ ...jpeg, kind: 'movie' }] }, { derived: [], extra: 1 }]) {
      assert.throws(() => db.transaction((tx) => job.onCompleted?.(tx, record(payload), bad as never)), { name: 'ZodError' });
    }
    assert.equal(repository.forInstance(sop), undefined);
  });

  test('payloads must carry an archive path that stays inside archive/', () => {
    const { job, payload } = setup();
    assert.equal(job.payload.safeParse(payload).success, true);
    for (const path of ['../gateway.db', `/etc/${sop}.dcm`, `0123456789abcdef/../${sop}.dcm`, 'a/b/c.dcm']) {
      assert.equal(job.payload.safeParse({ ...payload, path }).success, false, path);
    }
    assert.equal(job.payload.safeParse({ instanceId: 1, sopInstanceUid: sop }).success, false, 'the path is required');
  });

  test('nothing is recorded for an instance that is gone', () => {
    const calls: unknown[] = [];
    const { db, job, record, payload, repository } = setup((_tx, r) => calls.push(r));
    db.transaction((tx) => job.onCompleted?.(tx, record({ ...payload, instanceId: 999 }), { derived: [jpeg] }));
    assert.deepEqual(calls, []);
    assert.equal(repository.forInstance(sop), undefined);
  });
});
