import { randomBytes } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import { mkdir, readdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.ts';
import type { ArchiveRepository, Database } from '../db/index.ts';
import { ErrorCode, GatewayError, isGatewayError } from '../domain/errors.ts';
import { DirectorySyncs, fsyncFile } from '../group-fsync.ts';
import { isValidUid } from '../domain/uid.ts';
import type { JobQueue } from '../jobs/index.ts';
import type { Logger } from '../log.ts';
import type { DiskGuard } from './disk-guard.ts';
import { IncomingFile } from './incoming-file.ts';
import { readIndexAttributes, type IndexAttributes } from './index-attributes.ts';
import { instanceReceivedType } from './instance-received-job.ts';
import { part10Header } from './part10-header.ts';
import { archivePath, replacementPath } from './paths.ts';

export const DuplicatePolicy = { KeepFirst: 'keep-first', Overwrite: 'overwrite' } as const;
export type DuplicatePolicy = (typeof DuplicatePolicy)[keyof typeof DuplicatePolicy];

/** What the command of a C-STORE says, and who sent it. */
export interface StoreRequest {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  callingAeTitle: string;
  associationId: string;
}

export type StoreOutcome = { kind: 'stored'; instanceId: number } | { kind: 'replaced'; instanceId: number } | { kind: 'duplicate' };

export interface ArchiveStoreDeps {
  db: Database;
  repository: ArchiveRepository;
  jobs: Pick<JobQueue, 'enqueueInTransaction'>;
  dirs: { archive: string; incoming: string };
  diskGuard: DiskGuard;
  clock: Clock;
  log: Logger;
  duplicates: DuplicatePolicy;
  implementation: { classUid: string; versionName: string };
  /** Runs in the indexing transaction (the worklist links the study to its order there). */
  onIndexed?: (tx: DatabaseSync, study: { studyInstanceUid: string; accessionNumber: string; patientId: string; studyDate: string; modality: string }, now: string) => void;
}

const invalid = (detail: string): GatewayError => new GatewayError(ErrorCode.Invalid, detail, { publicDetail: detail });

/**
 * Receives instances durably: the bytes go to a temp file in `incoming/` behind a Part 10 meta header
 * as they arrive; once complete the file is checked against the command, renamed into `archive/`,
 * the file and its directory are fsync'd (at once: both must be on disk, in no particular order),
 * and one transaction records the index rows and the follow-up job. Only then does the caller
 * answer Success. A crash before the commit can leave an unindexed file at its archive path, which
 * nothing reads and the device's next attempt replaces; an indexed file is never replaced unsynced.
 */
export class ArchiveStore {
  readonly #deps: ArchiveStoreDeps;
  /** Stores of one SOP Instance UID run one after the other (duplicate handling needs a settled index). */
  readonly #bySop = new Map<string, Promise<unknown>>();
  readonly #dirSyncs = new DirectorySyncs();
  /** Series folders made or seen lately: most instances go where the one before went (no mkdir each time). */
  readonly #knownDirs = new Set<string>();

  constructor(deps: ArchiveStoreDeps) {
    this.#deps = deps;
  }

  /** Removes temp files a crash left in `incoming/` (none of them was answered Success); call before listening. */
  async removeLeftovers(): Promise<number> {
    const names = (await readdir(this.#deps.dirs.incoming)).filter((n) => n.endsWith('.part'));
    for (const name of names) await unlink(path.join(this.#deps.dirs.incoming, name)).catch(() => undefined);
    if (names.length > 0) this.#deps.log.warn({ files: names.length }, 'removed unfinished received files left by an earlier run');
    return names.length;
  }

  /** False while the archive's disk is below its minimum free space (measured now). */
  hasRoom(): Promise<boolean> {
    return this.#deps.diskGuard.check();
  }

  /** Starts a temp file for an instance announced by a C-STORE command. */
  begin(request: StoreRequest): IncomingFile {
    const header = part10Header({
      sopClassUid: request.sopClassUid,
      sopInstanceUid: request.sopInstanceUid,
      transferSyntaxUid: request.transferSyntaxUid,
      implementationClassUid: this.#deps.implementation.classUid,
      implementationVersionName: this.#deps.implementation.versionName,
      sourceAeTitle: request.callingAeTitle,
    });
    return IncomingFile.create(this.#deps.dirs.incoming, header);
  }

  /** Completes a received instance; throws GatewayErrors for statuses (the temp file is gone then). */
  async complete(file: IncomingFile, request: StoreRequest): Promise<StoreOutcome> {
    if (!(await this.#deps.diskGuard.check())) {
      await file.discard();
      throw new GatewayError(ErrorCode.Unavailable, 'the archive is below its minimum free space', { publicDetail: 'archive disk space low' });
    }
    const finished = await file.finish();
    let attributes: IndexAttributes;
    try {
      attributes = await readIndexAttributes(finished.path, finished.head, finished.size);
    } catch (err) {
      await file.discard();
      this.#deps.log.warn({ sopInstanceUid: request.sopInstanceUid, detail: (err as Error).message, size: finished.size }, 'received dataset cannot be parsed');
      throw new GatewayError(ErrorCode.Unreadable, `the received dataset cannot be read: ${(err as Error).message}`, { cause: err, publicDetail: 'dataset cannot be parsed' });
    }
    try {
      this.#check(attributes, request);
    } catch (err) {
      await file.discard();
      throw err;
    }
    const previous = this.#bySop.get(request.sopInstanceUid) ?? Promise.resolve();
    const run = previous.then(
      () => this.#archive(file, finished, attributes, request),
      () => this.#archive(file, finished, attributes, request),
    );
    this.#bySop.set(request.sopInstanceUid, run);
    try {
      return await run;
    } finally {
      if (this.#bySop.get(request.sopInstanceUid) === run) this.#bySop.delete(request.sopInstanceUid);
    }
  }

  #check(a: IndexAttributes, request: StoreRequest): void {
    if (a.sopInstanceUid === '' || a.sopClassUid === '') throw invalid('SOP Class or Instance UID missing');
    if (a.sopInstanceUid !== request.sopInstanceUid) throw invalid('SOP Instance UID differs from the command');
    if (a.sopClassUid !== request.sopClassUid) throw invalid('SOP Class UID differs from the command');
    if (!isValidUid(a.sopInstanceUid)) throw invalid('SOP Instance UID is not a valid UID');
    if (a.studyInstanceUid === '' || a.seriesInstanceUid === '') throw invalid('Study or Series Instance UID missing');
  }

  /** Renames the file into place, making its folders when needed; returns the first folder made, if any. */
  async #moveInto(from: string, target: string): Promise<string | undefined> {
    const dir = path.dirname(target);
    if (this.#knownDirs.has(dir)) {
      try {
        await rename(from, target);
        return undefined;
      } catch (err) {
        // Removed behind our back: make it again below.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        this.#knownDirs.delete(dir);
      }
    }
    const created = await mkdir(dir, { recursive: true });
    await rename(from, target);
    if (this.#knownDirs.size >= 1000) this.#knownDirs.clear();
    this.#knownDirs.add(dir);
    return created;
  }

  async #archive(file: IncomingFile, finished: { path: string; size: number; sha256: string }, a: IndexAttributes, request: StoreRequest): Promise<StoreOutcome> {
    const { db, repository, dirs, clock, log, duplicates } = this.#deps;
    const receivedAt = clock.now().toISOString();
    if (duplicates === DuplicatePolicy.KeepFirst && repository.instance(a.sopInstanceUid) !== undefined) {
      await file.discard();
      await db.write((tx) => repository.recordDuplicate(tx, a.sopInstanceUid, receivedAt));
      log.info({ sopInstanceUid: a.sopInstanceUid, callingAeTitle: request.callingAeTitle }, 'duplicate instance received: the first copy is kept');
      return { kind: 'duplicate' };
    }
    // A replacing copy gets a name of its own: the indexed file stays whole until the commit points elsewhere.
    const replacing = duplicates === DuplicatePolicy.Overwrite && repository.instance(a.sopInstanceUid) !== undefined;
    const relative = replacing ? replacementPath(archivePath(a), randomBytes(6).toString('hex')) : archivePath(a);
    const target = path.join(dirs.archive, relative);
    const seriesDir = path.dirname(target);
    try {
      const created = await this.#moveInto(finished.path, target);
      const syncs = [fsyncFile(target), this.#dirSyncs.sync(seriesDir)];
      // New directories must survive a crash too: their parents hold their entries.
      if (created !== undefined) {
        const top = path.dirname(created);
        for (let dir = path.dirname(seriesDir); ; dir = path.dirname(dir)) {
          syncs.push(this.#dirSyncs.sync(dir));
          if (dir === top || dir === dirs.archive || dir === path.dirname(dir)) break;
        }
      }
      await Promise.all(syncs);
    } catch (err) {
      await file.discard();
      await unlink(target).catch(() => undefined);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') throw new GatewayError(ErrorCode.Unavailable, 'the disk is full', { cause: err, publicDetail: 'out of disk space' });
      throw err;
    }
    let outcome: { instanceId: number; replaced: boolean; replacedPath: string | undefined };
    try {
      outcome = await db.write((tx) => {
        const result = repository.index(
          tx,
          {
            patient: { patientId: a.patientId, issuer: a.issuerOfPatientId, name: a.patientName, birthDate: a.patientBirthDate, sex: a.patientSex },
            study: {
              studyInstanceUid: a.studyInstanceUid,
              studyDate: a.studyDate,
              studyTime: a.studyTime,
              accessionNumber: a.accessionNumber,
              studyId: a.studyId,
              description: a.studyDescription,
              referringPhysician: a.referringPhysician,
            },
            series: { seriesInstanceUid: a.seriesInstanceUid, modality: a.modality, seriesNumber: a.seriesNumber, description: a.seriesDescription, bodyPart: a.bodyPart },
            instance: {
              sopInstanceUid: a.sopInstanceUid,
              sopClassUid: a.sopClassUid,
              transferSyntaxUid: request.transferSyntaxUid,
              instanceNumber: a.instanceNumber,
              frames: a.numberOfFrames,
              size: finished.size,
              sha256: finished.sha256,
              path: relative,
              callingAeTitle: request.callingAeTitle,
              associationId: request.associationId,
              receivedAt,
            },
          },
          duplicates === DuplicatePolicy.Overwrite,
        );
        this.#deps.onIndexed?.(tx, { studyInstanceUid: a.studyInstanceUid, accessionNumber: a.accessionNumber, patientId: a.patientId, studyDate: a.studyDate, modality: a.modality }, receivedAt);
        this.#deps.jobs.enqueueInTransaction(tx, {
          type: instanceReceivedType,
          payload: { instanceId: result.instanceId, sopInstanceUid: a.sopInstanceUid, path: relative },
          correlationId: request.associationId,
        });
        return result;
      });
    } catch (err) {
      // Not indexed: nothing of it may stay (a later copy starts afresh).
      await unlink(target).catch(() => undefined);
      // The dataset passed its checks above: what fails here is ours (the database, a follow-up's
      // payload), never the dataset's fault, whatever code it carries. Out of resources (A700)
      // tells the device to send it again later; nothing was acknowledged.
      if (isGatewayError(err) && err.code === ErrorCode.Unavailable) throw err;
      this.#deps.log.error({ err, sopInstanceUid: a.sopInstanceUid }, 'could not index a received instance');
      throw new GatewayError(ErrorCode.Unavailable, `could not index the instance: ${(err as Error).message}`, { cause: err, publicDetail: 'could not index; send again later' });
    }
    const { replaced } = outcome;
    if (outcome.replacedPath !== undefined) await unlink(path.join(dirs.archive, outcome.replacedPath)).catch(() => undefined);
    log.info(
      { instanceId: outcome.instanceId, sopClassUid: a.sopClassUid, transferSyntax: request.transferSyntaxUid, size: finished.size, callingAeTitle: request.callingAeTitle, replaced },
      replaced ? 'instance replaced' : 'instance stored',
    );
    return replaced ? { kind: 'replaced', instanceId: outcome.instanceId } : { kind: 'stored', instanceId: outcome.instanceId };
  }
}
