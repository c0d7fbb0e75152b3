import type { Clock } from '../clock.ts';
import type { ArchiveRepository, Database } from '../db/index.ts';
import type { JobQueue } from '../jobs/index.ts';
import type { Logger } from '../log.ts';
import { studyStableType } from './study-stable-job.ts';

export interface StudyStabilityDeps {
  db: Database;
  repository: ArchiveRepository;
  jobs: Pick<JobQueue, 'enqueueInTransaction'>;
  clock: Clock;
  log: Logger;
  quietMs: number;
}

/**
 * A study counts as complete after a quiet time without new instances (like Orthanc's stable
 * studies). The check reads the index, so a restart loses nothing; each study found complete gets a
 * `study-stable` job in the same transaction that marks it.
 */
export class StudyStability {
  readonly #deps: StudyStabilityDeps;
  #cancel: (() => void) | undefined;
  #stopped = true;
  #checking: Promise<string[]> | undefined;

  constructor(deps: StudyStabilityDeps) {
    this.#deps = deps;
  }

  start(): void {
    this.#stopped = false;
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancel?.();
    await this.#checking;
  }

  #schedule(): void {
    if (this.#stopped) return;
    // Often enough that a study is reported at most a fifth of the quiet time late.
    const every = Math.max(1000, Math.min(this.#deps.quietMs / 5, 10_000));
    this.#cancel = this.#deps.clock.setTimer(every, () => {
      void this.check().finally(() => this.#schedule());
    });
  }

  /** Marks the studies quiet long enough; returns their UIDs. */
  check(): Promise<string[]> {
    this.#checking ??= this.#check().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async #check(): Promise<string[]> {
    const { db, repository, jobs, clock, log, quietMs } = this.#deps;
    const now = clock.now();
    try {
      const stable = await db.write((tx) => {
        const uids = repository.markStable(tx, new Date(now.getTime() - quietMs).toISOString(), now.toISOString());
        for (const studyInstanceUid of uids) {
          jobs.enqueueInTransaction(tx, { type: studyStableType, key: `study-stable:${studyInstanceUid}`, payload: { studyInstanceUid } });
        }
        return uids;
      });
      if (stable.length > 0) log.info({ studies: stable.length }, 'studies complete');
      return stable;
    } catch (err) {
      log.error({ err }, 'checking for complete studies failed');
      return [];
    }
  }
}
