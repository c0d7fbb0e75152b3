import type { Clock } from '../clock.ts';
import type { Database, MppsRecord, MppsRepository, WorklistRepository } from '../db/index.ts';
import { isFinal, MppsStatus, readMppsStatus, stepReferences, stepStatusOfMpps, type MppsOutcome } from '../domain/mpps.ts';
import type { Logger } from '../log.ts';

export interface MppsServiceDeps {
  db: Database;
  mpps: MppsRepository;
  worklist: WorklistRepository;
  clock: Clock;
  log: Logger;
}

/**
 * Modality Performed Procedure Step: the device reports that it started (N-CREATE, IN PROGRESS) and
 * finished or broke off (N-SET, COMPLETED / DISCONTINUED) a step; the scheduled steps it references
 * follow. MPPS that reference no known step are kept all the same (unscheduled examinations).
 */
export class MppsService {
  readonly #deps: MppsServiceDeps;
  constructor(deps: MppsServiceDeps) {
    this.#deps = deps;
  }

  async create(sopInstanceUid: string, dataset: Record<string, unknown>, callingAeTitle: string): Promise<MppsOutcome> {
    const status = readMppsStatus(dataset);
    if (status === undefined) return { kind: 'invalid', missing: true, element: '(0040,0252)', message: 'Performed Procedure Step Status is missing' };
    if (status !== MppsStatus.InProgress) return { kind: 'invalid', missing: false, element: '(0040,0252)', message: `N-CREATE must carry IN PROGRESS, not ${status}` };
    const now = this.#deps.clock.now().toISOString();
    const { mpps, worklist } = this.#deps;
    const outcome = await this.#deps.db.write((tx): MppsOutcome => {
      if (mpps.get(sopInstanceUid, tx) !== undefined) return { kind: 'duplicate' };
      const steps = stepReferences(dataset).flatMap((ref) => worklist.findStepsByReference(tx, ref));
      for (const [itemId, stepId] of steps) worklist.setStepStatus(tx, itemId, [stepId], stepStatusOfMpps[status], now);
      mpps.insert(tx, { sopInstanceUid, status, callingAeTitle, steps, attributes: dataset, createdAt: now, updatedAt: now });
      return { kind: 'created', linkedSteps: steps.length };
    });
    this.#deps.log.info({ sopInstanceUid, callingAeTitle, outcome: outcome.kind, linkedSteps: outcome.kind === 'created' ? outcome.linkedSteps : 0 }, 'MPPS N-CREATE');
    return outcome;
  }

  async set(sopInstanceUid: string, changes: Record<string, unknown>): Promise<MppsOutcome> {
    const requested = readMppsStatus(changes);
    if (requested === 'invalid') return { kind: 'invalid', missing: false, element: '(0040,0252)', message: 'Performed Procedure Step Status must be IN PROGRESS, COMPLETED or DISCONTINUED' };
    const now = this.#deps.clock.now().toISOString();
    const { mpps, worklist } = this.#deps;
    const outcome = await this.#deps.db.write((tx): MppsOutcome => {
      const existing: MppsRecord | undefined = mpps.get(sopInstanceUid, tx);
      if (existing === undefined) return { kind: 'unknown' };
      if (isFinal(existing.status)) return { kind: 'final', status: existing.status };
      const status = requested ?? existing.status;
      mpps.update(tx, sopInstanceUid, status, { ...existing.attributes, ...changes }, now);
      if (status !== existing.status) {
        for (const [itemId, stepId] of existing.steps) worklist.setStepStatus(tx, itemId, [stepId], stepStatusOfMpps[status], now);
      }
      return { kind: 'updated', status, linkedSteps: existing.steps.length };
    });
    this.#deps.log.info({ sopInstanceUid, outcome: outcome.kind, status: outcome.kind === 'updated' ? outcome.status : undefined }, 'MPPS N-SET');
    return outcome;
  }

  list(limit = 100, offset = 0): MppsRecord[] {
    return this.#deps.mpps.list(limit, offset);
  }
}
