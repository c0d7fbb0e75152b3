import type { PersonName } from './person-name.ts';

/** Status of one scheduled procedure step; the item's status is derived from its steps. */
export const StepStatus = {
  Scheduled: 'scheduled',
  InProgress: 'in_progress',
  Completed: 'completed',
  Discontinued: 'discontinued',
  Cancelled: 'cancelled',
} as const;
export type StepStatus = (typeof StepStatus)[keyof typeof StepStatus];
export const stepStatuses = Object.values(StepStatus) as [StepStatus, ...StepStatus[]];

/** A coded entry (code sequences of procedures and protocols). */
export interface Code {
  value: string;
  scheme: string;
  schemeVersion: string;
  meaning: string;
}

export interface OtherPatientId {
  id: string;
  issuer: string;
}

/** What identifies a patient and what a modality shows of them. */
export interface PatientDemographics {
  patientId: string;
  /** The PVS or site that assigned the ID; '' when not given. */
  issuer: string;
  name: PersonName;
  /** DA or ''. */
  birthDate: string;
  sex: '' | 'M' | 'F' | 'O';
  otherIds: OtherPatientId[];
}

export interface ScheduledStep {
  stepId: string;
  stationAeTitle: string;
  stationName: string;
  modality: string;
  /** DA in the site's time zone. */
  startDate: string;
  /** TM in the site's time zone. */
  startTime: string;
  /** PN. */
  performingPhysician: string;
  description: string;
  protocolCodes: Code[];
  location: string;
  status: StepStatus;
}

export interface RequestedProcedure {
  id: string;
  description: string;
  codes: Code[];
  priority: string;
  reason: string;
  comments: string;
}

/** An order as the PVS gives it, validated and normalized. */
export interface WorklistItemData {
  patient: PatientDemographics;
  /** Clinical details shown to the modality; kept with the order, not the patient. */
  clinical: {
    weight: string;
    size: string;
    medicalAlerts: string[];
    allergies: string[];
    pregnancyStatus: number | null;
    comments: string;
  };
  accessionNumber: string;
  admissionId: string;
  currentPatientLocation: string;
  /** PN. */
  referringPhysician: string;
  /** PN. */
  requestingPhysician: string;
  serviceRequestComments: string;
  requestedProcedure: RequestedProcedure;
  studyInstanceUid: string;
  steps: ScheduledStep[];
}

export const WorklistSource = { Api: 'api', Folder: 'folder' } as const;
export type WorklistSource = (typeof WorklistSource)[keyof typeof WorklistSource];

export interface WorklistItem extends WorklistItemData {
  id: string;
  status: StepStatus;
  source: WorklistSource;
  /** For folder items: the file, relative to the worklist folder. */
  sourceFile: string | null;
  /** The called AE title (alias) whose worklist it belongs to; '' for all. */
  partition: string;
  createdAt: string;
  updatedAt: string;
}

/**
 * The item's status: in progress while any step is; cancelled when all are; otherwise scheduled while any
 * step waits; completed when all ended and at least one completed; else discontinued.
 */
export function deriveItemStatus(steps: readonly Pick<ScheduledStep, 'status'>[]): StepStatus {
  const has = (s: StepStatus) => steps.some((step) => step.status === s);
  if (steps.length === 0) return StepStatus.Cancelled;
  if (has(StepStatus.InProgress)) return StepStatus.InProgress;
  if (steps.every((s) => s.status === StepStatus.Cancelled)) return StepStatus.Cancelled;
  if (has(StepStatus.Scheduled)) return StepStatus.Scheduled;
  if (has(StepStatus.Completed)) return StepStatus.Completed;
  return StepStatus.Discontinued;
}

/** Steps that a modality may still pick up. */
export function isOpenStep(status: StepStatus): boolean {
  return status === StepStatus.Scheduled || status === StepStatus.InProgress;
}
