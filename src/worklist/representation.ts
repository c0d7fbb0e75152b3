import { formatPersonName } from '../domain/person-name.ts';
import { StepStatus, type Code, type ScheduledStep, type WorklistItem } from '../domain/worklist-item.ts';

/** Our step status as (0040,0020) Scheduled Procedure Step Status. */
export const dicomStepStatus: Record<StepStatus, string> = {
  [StepStatus.Scheduled]: 'SCHEDULED',
  [StepStatus.InProgress]: 'STARTED',
  [StepStatus.Completed]: 'COMPLETED',
  [StepStatus.Discontinued]: 'DISCONTINUED',
  [StepStatus.Cancelled]: 'CANCELED',
};

function codes(list: readonly Code[]): Record<string, string>[] {
  return list.map((c) => ({
    CodeValue: c.value,
    CodingSchemeDesignator: c.scheme,
    ...(c.schemeVersion === '' ? {} : { CodingSchemeVersion: c.schemeVersion }),
    CodeMeaning: c.meaning,
  }));
}

export function stepKeywords(s: ScheduledStep): Record<string, unknown> {
  return {
    ScheduledStationAETitle: s.stationAeTitle,
    ScheduledStationName: s.stationName,
    Modality: s.modality,
    ScheduledProcedureStepStartDate: s.startDate,
    ScheduledProcedureStepStartTime: s.startTime,
    ScheduledPerformingPhysicianName: s.performingPhysician,
    ScheduledProcedureStepID: s.stepId,
    ScheduledProcedureStepDescription: s.description,
    ScheduledProtocolCodeSequence: codes(s.protocolCodes),
    ScheduledProcedureStepLocation: s.location,
    ScheduledProcedureStepStatus: dicomStepStatus[s.status],
  };
}

/**
 * An item as DICOM keywords (the shape the PVS sends), all Type 1 and 2 attributes of the worklist
 * present. The API returns it, and the C-FIND answers are built from it.
 */
export function itemKeywords(item: Omit<WorklistItem, 'id' | 'status' | 'source' | 'sourceFile' | 'partition' | 'createdAt' | 'updatedAt'>, steps: readonly ScheduledStep[] = item.steps): Record<string, unknown> {
  const p = item.patient;
  return {
    PatientName: formatPersonName(p.name),
    PatientID: p.patientId,
    IssuerOfPatientID: p.issuer,
    OtherPatientIDsSequence: p.otherIds.map((o) => ({ PatientID: o.id, IssuerOfPatientID: o.issuer })),
    PatientBirthDate: p.birthDate,
    PatientSex: p.sex,
    PatientWeight: item.clinical.weight,
    PatientSize: item.clinical.size,
    MedicalAlerts: item.clinical.medicalAlerts,
    Allergies: item.clinical.allergies,
    PregnancyStatus: item.clinical.pregnancyStatus,
    PatientComments: item.clinical.comments,
    AdmissionID: item.admissionId,
    CurrentPatientLocation: item.currentPatientLocation,
    AccessionNumber: item.accessionNumber,
    ReferringPhysicianName: item.referringPhysician,
    RequestingPhysician: item.requestingPhysician,
    ImagingServiceRequestComments: item.serviceRequestComments,
    RequestedProcedureID: item.requestedProcedure.id,
    RequestedProcedureDescription: item.requestedProcedure.description,
    RequestedProcedureCodeSequence: codes(item.requestedProcedure.codes),
    RequestedProcedurePriority: item.requestedProcedure.priority,
    ReasonForTheRequestedProcedure: item.requestedProcedure.reason,
    RequestedProcedureComments: item.requestedProcedure.comments,
    StudyInstanceUID: item.studyInstanceUid,
    ScheduledProcedureStepSequence: steps.map(stepKeywords),
  };
}

/** The API's view: our bookkeeping plus the DICOM keywords. */
export function itemResource(item: WorklistItem): Record<string, unknown> {
  return {
    id: item.id,
    status: item.status,
    source: item.source,
    sourceFile: item.sourceFile,
    partition: item.partition,
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
    stepStatus: Object.fromEntries(item.steps.map((s) => [s.stepId, s.status])),
    ...itemKeywords(item),
  };
}
