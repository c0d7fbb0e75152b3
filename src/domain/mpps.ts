import { StepStatus } from './worklist-item.ts';

/** (0040,0252) Performed Procedure Step Status values. */
export const MppsStatus = {
  InProgress: 'IN PROGRESS',
  Completed: 'COMPLETED',
  Discontinued: 'DISCONTINUED',
} as const;
export type MppsStatus = (typeof MppsStatus)[keyof typeof MppsStatus];

export function isFinal(status: MppsStatus): boolean {
  return status === MppsStatus.Completed || status === MppsStatus.Discontinued;
}

export const stepStatusOfMpps: Record<MppsStatus, StepStatus> = {
  [MppsStatus.InProgress]: StepStatus.InProgress,
  [MppsStatus.Completed]: StepStatus.Completed,
  [MppsStatus.Discontinued]: StepStatus.Discontinued,
};

/** A reference from an MPPS to the step it performs (an item of (0040,0270)). */
export interface ScheduledStepReference {
  accessionNumber: string;
  studyInstanceUid: string;
  requestedProcedureId: string;
  stepId: string;
}

/** What an N-CREATE or N-SET comes to; the DICOM edge turns each kind into its status. */
export type MppsOutcome =
  | { kind: 'created'; linkedSteps: number }
  | { kind: 'updated'; status: MppsStatus; linkedSteps: number }
  /** N-CREATE of an instance we already have: 0111. */
  | { kind: 'duplicate' }
  /** N-SET of an instance we do not have: 0112. */
  | { kind: 'unknown' }
  /** N-SET after COMPLETED or DISCONTINUED: 0110. */
  | { kind: 'final'; status: MppsStatus }
  /** A missing or wrong attribute: 0106 (invalid value) or 0120 (missing attribute). */
  | { kind: 'invalid'; missing: boolean; element: string; message: string };

/** The step references of an MPPS dataset in keyword form. */
export function stepReferences(dataset: Record<string, unknown>): ScheduledStepReference[] {
  const seq = dataset['ScheduledStepAttributesSequence'];
  if (!Array.isArray(seq)) return [];
  const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : Array.isArray(v) && typeof v[0] === 'string' ? v[0].trim() : '');
  return seq.map((raw) => {
    const item = (raw ?? {}) as Record<string, unknown>;
    return {
      accessionNumber: str(item['AccessionNumber']),
      studyInstanceUid: str(item['StudyInstanceUID']),
      requestedProcedureId: str(item['RequestedProcedureID']),
      stepId: str(item['ScheduledProcedureStepID']),
    };
  });
}

export function readMppsStatus(dataset: Record<string, unknown>): MppsStatus | undefined | 'invalid' {
  const v = dataset['PerformedProcedureStepStatus'];
  const s = typeof v === 'string' ? v.trim().toUpperCase() : Array.isArray(v) && typeof v[0] === 'string' ? v[0].trim().toUpperCase() : undefined;
  if (s === undefined || s === '') return undefined;
  return (Object.values(MppsStatus) as string[]).includes(s) ? (s as MppsStatus) : 'invalid';
}
