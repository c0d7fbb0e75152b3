import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ArchiveStore, DiskGuard, DuplicatePolicy, part10Header, type StoreRequest } from '../../../src/archive/index.ts';
import { ManualClock } from '../../../src/clock.ts';
import { ArchiveRepository, Database } from '../../../src/db/index.ts';
import { ErrorCode, isGatewayError } from '../../../src/domain/errors.ts';
import { silentLogger } from '../../../src/log.ts';
import { tempDir } from '../../support/temp.ts';
import { waitFor } from '../../support/wait.ts';

function setup(minFreeMb: number, options: { duplicates?: DuplicatePolicy; failJobs?: () => boolean } = {}) {
  const root = tempDir();
  const dirs = { archive: path.join(root, 'archive'), incoming: path.join(root, 'incoming') };
  for (const dir of Object.values(dirs)) mkdirSync(dir);
  const db = Database.open({ file: ':memory:' });
  const jobs: unknown[] = [];
  const repository = new ArchiveRepository(db);
  const store = new ArchiveStore({
    db,
    repository,
    jobs: {
      enqueueInTransaction: (_tx, request) => {
        if (options.failJobs?.() === true) throw new Error('the job ledger refused');
        jobs.push(request);
        return { id: jobs.length, deduplicated: false };
      },
    },
    dirs,
    diskGuard: new DiskGuard({ dir: dirs.archive, minFreeMb }),
    clock: new ManualClock('2026-03-15T10:00:00Z'),
    log: silentLogger(),
    duplicates: options.duplicates ?? DuplicatePolicy.KeepFirst,
    implementation: { classUid: '1.2.3.4', versionName: 'TEST' },
  });
  return { dirs, db, store, jobs, repository };
}

const request: StoreRequest = {
  sopClassUid: '1.2.840.10008.5.1.4.1.1.7',
  sopInstanceUid: '1.2.826.0.1.3680043.2.1125.8.1',
  transferSyntaxUid: '1.2.840.10008.1.2.1',
  callingAeTitle: 'US_1',
  associationId: 'a-1',
};

/** A tiny explicit VR little endian dataset: SOP class and instance, study and series UIDs. */
function dataset(sopInstanceUid = request.sopInstanceUid): Buffer {
  const el = (group: number, element: number, vr: string, value: string): Buffer => {
    const v = Buffer.from(value.length % 2 === 0 ? value : `${value}\0`, 'latin1');
    const head = Buffer.alloc(8);
    head.writeUInt16LE(group, 0);
    head.writeUInt16LE(element, 2);
    head.write(vr, 4, 'latin1');
    head.writeUInt16LE(v.length, 6);
    return Buffer.concat([head, v]);
  };
  return Buffer.concat([
    el(0x0008, 0x0016, 'UI', request.sopClassUid),
    el(0x0008, 0x0018, 'UI', sopInstanceUid),
    el(0x0008, 0x0060, 'CS', 'OT'),
    el(0x0010, 0x0020, 'LO', 'P-9'),
    el(0x0020, 0x000d, 'UI', '1.2.826.0.1.3680043.2.1125.8.2'),
    el(0x0020, 0x000e, 'UI', '1.2.826.0.1.3680043.2.1125.8.3'),
  ]);
}

describe('ArchiveStore', () => {
  test('stores, indexes and records the follow-up job; the file is the meta header plus the bytes received', async () => {
    const { dirs, store, jobs } = setup(0);
    const file = store.begin(request);
    const bytes = dataset();
    file.write(bytes.subarray(0, 10));
    file.write(bytes.subarray(10));
    const outcome = await store.complete(file, request);
    assert.equal(outcome.kind, 'stored');
    assert.equal(jobs.length, 1);
    assert.deepEqual(readdirSync(dirs.incoming), []);
    const [study] = readdirSync(dirs.archive);
    const [series] = readdirSync(path.join(dirs.archive, study as string));
    const stored = readFileSync(path.join(dirs.archive, study as string, series as string, `${request.sopInstanceUid}.dcm`));
    const header = part10Header({ ...request, implementationClassUid: '1.2.3.4', implementationVersionName: 'TEST', sourceAeTitle: 'US_1' });
    assert.deepEqual(stored, Buffer.concat([header, bytes]));
  });

  test('a series folder removed behind its back is made again for the next instance', async () => {
    const { dirs, store } = setup(0);
    const first = store.begin(request);
    first.write(dataset());
    assert.equal((await store.complete(first, request)).kind, 'stored');
    const [study] = readdirSync(dirs.archive);
    rmSync(path.join(dirs.archive, study as string), { recursive: true });
    const next = { ...request, sopInstanceUid: '1.2.826.0.1.3680043.2.1125.8.9' };
    const second = store.begin(next);
    second.write(dataset(next.sopInstanceUid));
    assert.equal((await store.complete(second, next)).kind, 'stored');
    const [series] = readdirSync(path.join(dirs.archive, study as string));
    assert.ok(existsSync(path.join(dirs.archive, study as string, series as string, `${next.sopInstanceUid}.dcm`)));
  });

  test('overwrite: a replacing copy whose commit fails leaves the indexed file whole; one that commits replaces it', async () => {
    let fail = false;
    const { dirs, store, repository } = setup(0, { duplicates: DuplicatePolicy.Overwrite, failJobs: () => fail });
    const first = store.begin(request);
    const original = dataset();
    first.write(original);
    assert.equal((await store.complete(first, request)).kind, 'stored');
    const indexed = repository.instance(request.sopInstanceUid);
    const stored = path.join(dirs.archive, String(indexed?.path));
    const before = readFileSync(stored);

    fail = true;
    const second = store.begin(request);
    second.write(Buffer.concat([original, Buffer.from([0x10, 0x00, 0x10, 0x00, 0x50, 0x4e, 0x04, 0x00, 0x4e, 0x65, 0x75, 0x20])]));
    // Not the dataset's fault: out of resources (A700), so that the device sends it again later.
    await assert.rejects(store.complete(second, request), (err: unknown) => isGatewayError(err) && err.code === ErrorCode.Unavailable && /refused/.test(err.message));
    assert.deepEqual(readFileSync(stored), before);
    assert.equal(repository.instance(request.sopInstanceUid)?.path, indexed?.path);
    assert.deepEqual(readdirSync(path.dirname(stored)), [path.basename(stored)]);

    fail = false;
    const third = store.begin(request);
    third.write(original);
    assert.equal((await store.complete(third, request)).kind, 'replaced');
    const now = repository.instance(request.sopInstanceUid);
    assert.notEqual(now?.path, indexed?.path);
    assert.deepEqual(readdirSync(path.dirname(stored)), [path.basename(String(now?.path))]);
  });

  test('below minFreeMb a completed transfer is refused as unavailable (A700) and its temp file removed', async () => {
    const { dirs, store, jobs } = setup(10_000_000);
    const file = store.begin(request);
    file.write(dataset());
    await assert.rejects(store.complete(file, request), (err) => isGatewayError(err) && err.code === ErrorCode.Unavailable);
    assert.deepEqual(readdirSync(dirs.incoming), []);
    assert.deepEqual(readdirSync(dirs.archive), []);
    assert.equal(jobs.length, 0);
    assert.equal(await store.hasRoom(), false);
  });

  test('a discarded transfer leaves nothing; leftovers of a crash are removed at start', async () => {
    const { dirs, store } = setup(0);
    const file = store.begin(request);
    file.write(dataset());
    await file.discard();
    assert.deepEqual(readdirSync(dirs.incoming), []);
    // A file a crashed run left: opened (asynchronously) and never finished.
    store.begin(request).write(Buffer.from('partial'));
    await waitFor(() => readdirSync(dirs.incoming).length === 1, { what: 'the temp file' });
    assert.equal(await store.removeLeftovers(), 1);
    assert.deepEqual(readdirSync(dirs.incoming), []);
  });
});
