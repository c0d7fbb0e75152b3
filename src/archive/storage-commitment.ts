import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import type { Clock } from '../clock.ts';
import type { ArchiveRepository, Database } from '../db/index.ts';
import { CommitmentState, markCommitmentDelivered, ReportOn, type StorageCommitmentRepository } from '../db/storage-commitment-repository.ts';
import type { Device } from '../domain/device.ts';
import { commitmentReportDataset, FailureReason, StorageCommitmentUid, type CommitmentReference, type CommitmentRequest, type CommitmentResult } from '../domain/storage-commitment.ts';
import type { JobQueue } from '../jobs/index.ts';
import { fsyncFile } from '../group-fsync.ts';
import type { Logger } from '../log.ts';
import { storageCommitmentReportType, type ReportFile, type StorageCommitmentReportPayload } from './storage-commitment-job.ts';

export interface StorageCommitmentsDeps {
  db: Database;
  repository: StorageCommitmentRepository;
  archive: Pick<ArchiveRepository, 'instance'>;
  jobs: JobQueue;
  devices: { find(aeTitle: string): Device | undefined };
  /** The data directory (report files are kept relative to it) and the archive inside it. */
  dirs: { root: string; archive: string };
  /** Our AE title: the calling AE title of report associations. */
  aeTitle: string;
  clock: Clock;
  log: Logger;
}

export interface RecordedRequest {
  id: number;
  eventTypeId: 1 | 2;
  dataset: Record<string, unknown>;
  reportOn: ReportOn;
}

/**
 * Storage commitment (the archive's side): each referenced instance is checked against the index
 * (stored, of the same SOP class, its file present), the outcome is written to a report file and the
 * request recorded, with its delivery job when the report goes on a new association, in one
 * transaction. Only then is the N-ACTION answered. Nothing waits in memory only: a report meant for
 * the request's association that had not gone out when the gateway stopped goes on a new one at start.
 */
export class StorageCommitments {
  readonly #deps: StorageCommitmentsDeps;
  constructor(deps: StorageCommitmentsDeps) {
    this.#deps = deps;
  }

  async request(input: { request: CommitmentRequest; callingAeTitle: string; associationId: string; device: Device | undefined }): Promise<RecordedRequest> {
    const { db, repository, clock } = this.#deps;
    const results = await this.#check(input.request.references);
    const { eventTypeId, dataset } = commitmentReportDataset(input.request.transactionUid, results);
    const reportFile = await this.#writeReport({ sopClassUid: StorageCommitmentUid.sopClass, sopInstanceUid: StorageCommitmentUid.instance, eventTypeId, dataset });
    const reportOn = input.device?.commitmentReport ?? ReportOn.SameAssociation;
    const id = await db.write((tx) => {
      const id = repository.insert(tx, {
        transactionUid: input.request.transactionUid,
        callingAeTitle: input.callingAeTitle,
        associationId: input.associationId,
        reportOn,
        state: CommitmentState.AwaitingAssociation,
        reportFile,
        results,
        receivedAt: clock.now().toISOString(),
      });
      if (reportOn === ReportOn.NewAssociation) this.#enqueue(tx, id, input.callingAeTitle, reportFile);
      return id;
    });
    return { id, eventTypeId, dataset, reportOn };
  }

  async deliveredOnAssociation(id: number): Promise<void> {
    const at = this.#deps.clock.now().toISOString();
    await this.#deps.db.write((tx) => markCommitmentDelivered(tx, id, ReportOn.SameAssociation, at));
  }

  async associationUnavailable(id: number, why: string): Promise<void> {
    const commitment = this.#deps.repository.get(id);
    if (commitment === undefined || commitment.state !== CommitmentState.AwaitingAssociation) return;
    await this.#deps.db.write((tx) => this.#enqueue(tx, id, commitment.callingAeTitle, commitment.reportFile, why));
  }

  /** At start: reports that were to go on an association that is gone now go on a new one. */
  async recover(): Promise<number> {
    const waiting = this.#deps.repository.awaitingAssociation();
    for (const c of waiting) await this.associationUnavailable(c.id, 'the gateway stopped before the report was sent on the association');
    if (waiting.length > 0) this.#deps.log.info({ count: waiting.length }, 'storage commitment reports handed to delivery on a new association');
    return waiting.length;
  }

  /** Queues the delivery to the device's registered address, or records why there is none. */
  #enqueue(tx: DatabaseSync, id: number, callingAeTitle: string, reportFile: string, why?: string): void {
    const { repository, jobs, devices, aeTitle, log } = this.#deps;
    const device = devices.find(callingAeTitle);
    if (device?.host === undefined || device.port === undefined) {
      const reason = `${why === undefined ? '' : `${why}; `}the device ${callingAeTitle} has no registered host and port for a report on a new association`;
      repository.setFailed(tx, id, reason);
      log.warn({ commitment: id, callingAeTitle }, 'storage commitment report cannot be delivered: register the device with host and port');
      return;
    }
    const payload: StorageCommitmentReportPayload = { commitmentId: id, reportFile, calledAeTitle: device.aeTitle, callingAeTitle: aeTitle, host: device.host, port: device.port, tls: device.tls };
    const job = jobs.enqueueInTransaction(tx, { type: storageCommitmentReportType, payload, key: `storage-commitment:${id}` });
    repository.setQueued(tx, id, job.id);
  }

  async #check(references: readonly CommitmentReference[]): Promise<CommitmentResult[]> {
    const { archive, dirs } = this.#deps;
    const results: CommitmentResult[] = [];
    for (const ref of references) {
      const stored = archive.instance(ref.sopInstanceUid);
      let failureReason: FailureReason | null = null;
      if (stored === undefined) failureReason = FailureReason.NoSuchObjectInstance;
      else if (stored.sopClassUid !== ref.sopClassUid) failureReason = FailureReason.ClassInstanceConflict;
      else if (!(await isFile(path.join(dirs.archive, stored.path)))) {
        failureReason = FailureReason.ProcessingFailure;
        this.#deps.log.error({ sopInstanceUid: ref.sopInstanceUid, path: stored.path }, 'an indexed instance has no file: storage commitment refused for it');
      }
      results.push({ ...ref, failureReason });
    }
    return results;
  }

  /** Written and fsync'd before the request is recorded: the delivery job may run anywhere. */
  async #writeReport(report: ReportFile): Promise<string> {
    const relative = `commitments/${randomUUID()}.json`;
    const file = path.join(this.#deps.dirs.root, relative);
    const dir = path.dirname(file);
    await mkdir(dir, { recursive: true });
    const temp = `${file}.part`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(JSON.stringify(report));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
    await fsyncFile(dir);
    return relative;
  }
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
