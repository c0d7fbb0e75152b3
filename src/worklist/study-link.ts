import type { DatabaseSync } from 'node:sqlite';
import type { ArchiveRepository, WorklistRepository } from '../db/index.ts';
import { StepStatus } from '../domain/worklist-item.ts';

export interface ReceivedStudy {
  studyInstanceUid: string;
  accessionNumber: string;
  patientId: string;
  studyDate: string;
  modality: string;
}

/**
 * Links a received study to the order it fulfils, in the transaction that indexes its instance. The
 * link stays on the study when the order is cleaned up. With `stepFollowsImages`, a step still
 * scheduled goes to in progress when its first images arrive (a device that sends no MPPS would
 * otherwise leave it in the worklist); a step that MPPS has moved already is left alone.
 */
export function studyOrderLinker(deps: { worklist: WorklistRepository; archive: ArchiveRepository; stepFollowsImages: boolean }) {
  return (tx: DatabaseSync, study: ReceivedStudy, now: string): void => {
    if (deps.archive.isLinked(tx, study.studyInstanceUid)) return;
    const step = deps.worklist.findStepForStudy(tx, study);
    if (step === undefined) return;
    deps.archive.linkOrder(tx, study.studyInstanceUid, { itemId: step.itemId, accessionNumber: step.accessionNumber, requestedProcedureId: step.requestedProcedureId, stepId: step.stepId });
    if (deps.stepFollowsImages && step.status === StepStatus.Scheduled) deps.worklist.setStepStatus(tx, step.itemId, [step.stepId], StepStatus.InProgress, now);
  };
}
