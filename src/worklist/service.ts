import { createHash, randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { cleanupWorklist, type Database, type WorklistRepository, type WorklistSearch } from '../db/index.ts';
import type { DeviceRegistry } from '../devices/index.ts';
import { DeviceService } from '../domain/device.ts';
import { ErrorCode, GatewayError } from '../domain/errors.ts';
import { normalizeWorklistInput, type WorklistInputContext } from '../domain/worklist-input.ts';
import { StepStatus, WorklistSource, type WorklistItem } from '../domain/worklist-item.ts';
import type { Logger } from '../log.ts';
import { worklistCleanupCutoffs } from './cleanup.ts';

export interface WorklistServiceDeps {
  db: Database;
  repository: WorklistRepository;
  devices: DeviceRegistry;
  clock: Clock;
  log: Logger;
  timeZone: string;
  uidRoot: string;
  cleanup: { pastDays: number; finishedDays: number };
}

export interface SaveOptions {
  source?: WorklistSource;
  sourceFile?: string | null;
  partition?: string;
}

export interface SaveOutcome {
  item: WorklistItem;
  /** false when an existing item (same accession number and step ID, or same file) was updated. */
  created: boolean;
}

/** The worklist's use cases: orders in from the PVS (API or folder), status changes, cleanup. */
export class WorklistService {
  readonly #deps: WorklistServiceDeps;
  readonly #ctx: WorklistInputContext;

  constructor(deps: WorklistServiceDeps) {
    this.#deps = deps;
    this.#ctx = {
      timeZone: deps.timeZone,
      uidRoot: deps.uidRoot,
      stationFor: (modality) => {
        const takers = deps.devices
          .list()
          .filter((d) => d.services.includes(DeviceService.Worklist) && d.worklistFilter.modalities.includes(modality));
        return takers.length === 1 ? takers[0]?.aeTitle : undefined;
      },
    };
  }

  /** Creates an order, or updates the one with the same accession number and step ID. */
  async save(input: unknown, options: SaveOptions = {}): Promise<SaveOutcome> {
    const data = normalizeWorklistInput(input, this.#ctx);
    const now = this.#deps.clock.now().toISOString();
    const source = options.source ?? WorklistSource.Api;
    const sourceFile = options.sourceFile ?? null;
    const { repository, db } = this.#deps;
    const outcome = await db.write((tx) => {
      const existing =
        (sourceFile === null ? undefined : repository.findBySourceFile(sourceFile)) ??
        repository.findByAccessionAndStep(data.accessionNumber, data.steps.map((s) => s.stepId));
      const id = existing ?? randomUUID();
      if (existing !== undefined) {
        // An update keeps the Study Instance UID the modality may already have used, unless one is given.
        const previous = repository.get(existing);
        if (previous !== undefined && !hasStudyUid(input)) data.studyInstanceUid = previous.studyInstanceUid;
      }
      repository.save(tx, { id, data, source, sourceFile, partition: options.partition ?? '' }, now);
      return { id, created: existing === undefined };
    });
    const item = this.get(outcome.id);
    this.#deps.log.info({ itemId: item.id, accessionNumber: item.accessionNumber, created: outcome.created, source }, outcome.created ? 'worklist item created' : 'worklist item updated');
    return { item, created: outcome.created };
  }

  /**
   * `save` behind an Idempotency-Key: the same key with the same body answers as the first time
   * did; the same key with another body is refused.
   */
  async saveIdempotent(key: string, input: unknown): Promise<SaveOutcome> {
    const hash = createHash('sha256').update(JSON.stringify(input)).digest('hex');
    const seen = this.#deps.repository.idempotent(key);
    if (seen !== undefined) {
      if (seen.requestHash !== hash) {
        throw new GatewayError(ErrorCode.Conflict, 'this Idempotency-Key was used with a different request body; use a new key for a new request');
      }
      const { itemId, created } = JSON.parse(seen.body) as { itemId: string; created: boolean };
      return { item: this.get(itemId), created };
    }
    const outcome = await this.save(input);
    await this.#deps.db.write((tx) =>
      this.#deps.repository.rememberIdempotent(tx, key, hash, outcome.created ? 201 : 200, JSON.stringify({ itemId: outcome.item.id, created: outcome.created }), this.#deps.clock.now().toISOString()),
    );
    return outcome;
  }

  /** Replaces an item's content; steps that stay keep their status. */
  async update(id: string, input: unknown): Promise<WorklistItem> {
    const existing = this.get(id);
    const data = normalizeWorklistInput(input, this.#ctx);
    if (!hasStudyUid(input)) data.studyInstanceUid = existing.studyInstanceUid;
    const now = this.#deps.clock.now().toISOString();
    await this.#deps.db.write((tx) =>
      this.#deps.repository.save(tx, { id, data, source: existing.source, sourceFile: existing.sourceFile, partition: existing.partition }, now),
    );
    this.#deps.log.info({ itemId: id }, 'worklist item updated');
    return this.get(id);
  }

  /** Cancels the steps not yet performed; performed steps keep their status. */
  async cancel(id: string): Promise<WorklistItem> {
    this.get(id);
    const now = this.#deps.clock.now().toISOString();
    await this.#deps.db.write((tx) => this.#deps.repository.setStepStatus(tx, id, 'all-open', StepStatus.Cancelled, now));
    this.#deps.log.info({ itemId: id }, 'worklist item cancelled');
    return this.get(id);
  }

  async delete(id: string): Promise<void> {
    this.get(id);
    await this.#deps.db.write((tx) => this.#deps.repository.delete(tx, id));
    this.#deps.log.info({ itemId: id }, 'worklist item deleted');
  }

  get(id: string): WorklistItem {
    const item = this.#deps.repository.get(id);
    if (item === undefined) throw new GatewayError(ErrorCode.NotFound, `no worklist item with id "${id}"`);
    return item;
  }

  /** The daily cleanup, run by hand (the API); the scheduled one is the `worklist-cleanup` job. */
  async cleanup(): Promise<{ steps: number; items: number }> {
    const { pastBefore, finishedBefore } = worklistCleanupCutoffs(this.#deps.clock.now(), this.#deps.timeZone, this.#deps.cleanup);
    const removed = await this.#deps.db.write((tx) => cleanupWorklist(tx, pastBefore, finishedBefore));
    this.#deps.log.info({ removedSteps: removed.steps, removedItems: removed.items, pastBefore, finishedBefore }, 'worklist cleanup');
    return removed;
  }

  search(query: WorklistSearch): { items: WorklistItem[]; total: number } {
    return this.#deps.repository.search(query);
  }
}

function hasStudyUid(input: unknown): boolean {
  return typeof input === 'object' && input !== null && 'StudyInstanceUID' in input;
}
