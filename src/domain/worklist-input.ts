import { z } from 'zod';
import { aeTitleSchema } from './ae-title.ts';
import { parseDateInput, parseTimeInput } from './date-input.ts';
import { ErrorCode, GatewayError, type FieldIssue } from './errors.ts';
import { formatPersonName, parsePersonName } from './person-name.ts';
import { generateUid, isValidUid } from './uid.ts';
import { toFieldIssues } from './validation.ts';
import { StepStatus, type Code, type ScheduledStep, type WorklistItemData } from './worklist-item.ts';

/** What the normalization needs from outside: the site's zone, the UID root, the device registry. */
export interface WorklistInputContext {
  timeZone: string;
  uidRoot: string;
  /** The station AE title of the one device that takes this modality, if there is exactly one. */
  stationFor(modality: string): string | undefined;
}

// Value lengths of PS3.5 table 6.2-1, so that a modality never receives a value it must truncate.
const text = (max: number) => z.string().max(max, `at most ${max} characters`).transform((s) => s.trim());
const lo = text(64);
const sh = text(16);
const lt = text(10240);
const cs = z
  .string()
  .trim()
  .max(16)
  .regex(/^[A-Z0-9 _]*$/, 'upper-case letters, digits, space and underscore only');

/** PN as `Family^Given`, as the DICOM JSON model's `{ "Alphabetic": ... }`, or as a one-element array of either. */
const personName = z
  .union([z.string(), z.object({ Alphabetic: z.string().optional() }).loose(), z.array(z.union([z.string(), z.object({ Alphabetic: z.string().optional() }).loose()])).max(1)])
  .transform((v) => {
    const first = Array.isArray(v) ? v[0] : v;
    const value = typeof first === 'string' ? first : (first?.Alphabetic ?? '');
    return formatPersonName(parsePersonName(value));
  })
  .pipe(z.string().max(64 * 5, 'a person name is at most 64 characters per component').refine((s) => !/[\\]/.test(s), 'a person name must not contain a backslash'));

/** Reports a missing key as "X is required" rather than as a type mismatch. */
function required<T extends z.ZodType>(schema: T, message: string) {
  return z
    .unknown()
    .refine((v) => v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0), message)
    .pipe(schema);
}

/** A value the DICOM JSON model may give as a one-element array. */
function single<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (Array.isArray(v) && v.length <= 1 ? v[0] : v), schema);
}

/** A multi-valued attribute: an array, or one string with `\` separators. */
function multi<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (typeof v === 'string' ? (v === '' ? [] : v.split('\\')) : v), z.array(schema));
}

/** DA or ISO 8601; its validity does not depend on the time zone, so it is checked here. */
const dateInput = z.string().superRefine((value, ctx) => {
  if (value.trim() === '') return;
  const d = parseDateInput(value, 'UTC');
  if (!d.ok) ctx.addIssue({ code: 'custom', message: d.message, input: value });
});
const timeInput = z.string().superRefine((value, ctx) => {
  if (value.trim() === '') return;
  const t = parseTimeInput(value);
  if (!t.ok) ctx.addIssue({ code: 'custom', message: t.message, input: value });
});

const codeSchema = z
  .object({
    CodeValue: single(sh.pipe(z.string().min(1, 'CodeValue is required'))),
    CodingSchemeDesignator: single(sh.pipe(z.string().min(1, 'CodingSchemeDesignator is required'))),
    CodingSchemeVersion: single(sh).optional(),
    CodeMeaning: single(lo).optional(),
  })
  .strict()
  .transform((c): Code => ({ value: c.CodeValue, scheme: c.CodingSchemeDesignator, schemeVersion: c.CodingSchemeVersion ?? '', meaning: c.CodeMeaning ?? '' }));

const statusOfDicom: Record<string, StepStatus> = {
  SCHEDULED: StepStatus.Scheduled,
  ARRIVED: StepStatus.Scheduled,
  READY: StepStatus.Scheduled,
  STARTED: StepStatus.InProgress,
  'IN PROGRESS': StepStatus.InProgress,
  COMPLETED: StepStatus.Completed,
  DISCONTINUED: StepStatus.Discontinued,
  CANCELED: StepStatus.Cancelled,
  CANCELLED: StepStatus.Cancelled,
};

const stepSchema = z
  .object({
    ScheduledStationAETitle: single(aeTitleSchema).optional(),
    ScheduledStationName: single(sh).optional(),
    Modality: required(single(cs.pipe(z.string().min(1))), 'Modality is required (e.g. US, CR, DX, ES)'),
    ScheduledProcedureStepStartDate: required(single(dateInput), 'ScheduledProcedureStepStartDate is required'),
    ScheduledProcedureStepStartTime: single(timeInput).optional(),
    ScheduledPerformingPhysicianName: personName.optional(),
    ScheduledProcedureStepID: single(sh).optional(),
    ScheduledProcedureStepDescription: single(lo).optional(),
    ScheduledProtocolCodeSequence: z.array(codeSchema).optional(),
    ScheduledProcedureStepLocation: single(sh).optional(),
    ScheduledProcedureStepStatus: single(z.string().transform((s) => s.trim().toUpperCase()).pipe(z.enum(Object.keys(statusOfDicom) as [string, ...string[]]))).optional(),
  })
  .strict();

const stepKeys = Object.keys(stepSchema.shape);

const otherIdSchema = z
  .object({ PatientID: single(lo.pipe(z.string().min(1))), IssuerOfPatientID: single(lo).optional(), TypeOfPatientID: single(cs).optional() })
  .strict();

const itemSchema = z
  .object({
    SpecificCharacterSet: z.unknown().optional(),
    PatientName: required(personName.refine((s) => s !== '', 'PatientName is required'), 'PatientName is required'),
    PatientID: required(single(lo.pipe(z.string().min(1, 'PatientID is required'))), 'PatientID is required'),
    IssuerOfPatientID: single(lo).optional(),
    PatientBirthDate: single(dateInput).optional(),
    PatientSex: single(z.string().trim().toUpperCase().pipe(z.enum(['', 'M', 'F', 'O']))).optional(),
    OtherPatientIDsSequence: z.array(otherIdSchema).optional(),
    PatientWeight: single(z.union([z.number().positive().max(1000), z.string().regex(/^\s*\d{1,3}(\.\d+)?\s*$/, 'kilograms, e.g. 72.5')])).optional(),
    PatientSize: single(z.union([z.number().positive().max(3), z.string().regex(/^\s*\d(\.\d+)?\s*$/, 'metres, e.g. 1.78')])).optional(),
    MedicalAlerts: multi(lo).optional(),
    Allergies: multi(lo).optional(),
    PregnancyStatus: single(z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)])).optional(),
    PatientComments: single(lt).optional(),
    AdmissionID: single(lo).optional(),
    CurrentPatientLocation: single(lo).optional(),
    AccessionNumber: single(sh).optional(),
    ReferringPhysicianName: personName.optional(),
    RequestingPhysician: personName.optional(),
    ImagingServiceRequestComments: single(lt).optional(),
    RequestedProcedureID: single(sh).optional(),
    RequestedProcedureDescription: single(lo).optional(),
    RequestedProcedureCodeSequence: z.array(codeSchema).optional(),
    RequestedProcedurePriority: single(z.string().trim().toUpperCase().pipe(z.enum(['', 'STAT', 'HIGH', 'ROUTINE', 'MEDIUM', 'LOW']))).optional(),
    ReasonForTheRequestedProcedure: single(lo).optional(),
    RequestedProcedureComments: single(lt).optional(),
    StudyInstanceUID: single(z.string().trim().refine(isValidUid, 'not a valid UID (digits and dots, at most 64 characters)')).optional(),
    ScheduledProcedureStepSequence: required(z.array(stepSchema), 'at least one scheduled procedure step is required (ScheduledProcedureStepSequence, or Modality and ScheduledProcedureStepStartDate at the top level)'),
  })
  .strict();

/** Input type of the API body (keyword JSON). */
export type WorklistItemInput = z.input<typeof itemSchema>;

/** A single-step order may give the step's keys at the top level; move them into the sequence. */
function liftFlatStep(input: unknown): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const record = input as Record<string, unknown>;
  if (record['ScheduledProcedureStepSequence'] !== undefined) return input;
  const step: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) (stepKeys.includes(k) ? step : rest)[k] = v;
  return Object.keys(step).length === 0 ? input : { ...rest, ScheduledProcedureStepSequence: [step] };
}

/** Steps without a station AE title whose modality no single registered device takes. Runs on the raw input so that these are reported with every other problem. */
function stationIssues(input: unknown, ctx: WorklistInputContext): FieldIssue[] {
  const steps = (input as { ScheduledProcedureStepSequence?: unknown } | null)?.ScheduledProcedureStepSequence;
  if (!Array.isArray(steps)) return [];
  return steps.flatMap((step: unknown, i): FieldIssue[] => {
    const s = (step ?? {}) as Record<string, unknown>;
    const given = Array.isArray(s['ScheduledStationAETitle']) ? s['ScheduledStationAETitle'][0] : s['ScheduledStationAETitle'];
    const modality = Array.isArray(s['Modality']) ? s['Modality'][0] : s['Modality'];
    if ((typeof given === 'string' && given.trim() !== '') || typeof modality !== 'string' || modality === '') return [];
    if (ctx.stationFor(modality.trim()) !== undefined) return [];
    return [
      {
        path: `ScheduledProcedureStepSequence[${i}].ScheduledStationAETitle`,
        message: `ScheduledStationAETitle is required: no single registered device takes modality ${modality}`,
        hint: 'give the AE title of the device that performs the step, or register exactly one device with this modality in its worklist filter',
      },
    ];
  });
}

function shortId(): string {
  return `RP${Date.now().toString(36).toUpperCase()}${Math.floor(Math.random() * 36 ** 3).toString(36).toUpperCase()}`.slice(0, 16);
}

/**
 * Validates an order given with DICOM keywords and fills the documented defaults:
 * StudyInstanceUID generated under the UID root; RequestedProcedureID = AccessionNumber, else generated;
 * ScheduledProcedureStepID = the step's position (1, 2, ...); ScheduledStationAETitle = the one registered
 * device for the modality; start time 000000 when only a date is given. Throws one error naming every field.
 */
export function normalizeWorklistInput(input: unknown, ctx: WorklistInputContext): WorklistItemData {
  const lifted = liftFlatStep(input);
  const parsed = itemSchema.safeParse(lifted);
  const issues = [...(parsed.success ? [] : toFieldIssues(parsed.error)), ...stationIssues(lifted, ctx)];
  if (!parsed.success || issues.length > 0) throw new GatewayError(ErrorCode.Invalid, 'invalid worklist item', { issues });
  const v = parsed.data;

  const date = (value: string) => parseDateInput(value, ctx.timeZone) as { ok: true; date: string; time?: string };
  const accessionNumber = v.AccessionNumber ?? '';
  const steps: ScheduledStep[] = v.ScheduledProcedureStepSequence.map((s, i) => {
    const start = date(s.ScheduledProcedureStepStartDate);
    const time = s.ScheduledProcedureStepStartTime?.trim() ? (parseTimeInput(s.ScheduledProcedureStepStartTime) as { ok: true; time: string }).time : undefined;
    return {
      stepId: s.ScheduledProcedureStepID || String(i + 1),
      stationAeTitle: s.ScheduledStationAETitle || (ctx.stationFor(s.Modality) ?? ''),
      stationName: s.ScheduledStationName ?? '',
      modality: s.Modality,
      startDate: start.date,
      startTime: time ?? start.time ?? '000000',
      performingPhysician: s.ScheduledPerformingPhysicianName ?? '',
      description: s.ScheduledProcedureStepDescription ?? '',
      protocolCodes: s.ScheduledProtocolCodeSequence ?? [],
      location: s.ScheduledProcedureStepLocation ?? '',
      status: s.ScheduledProcedureStepStatus === undefined ? StepStatus.Scheduled : (statusOfDicom[s.ScheduledProcedureStepStatus] ?? StepStatus.Scheduled),
    };
  });
  const seen = new Set<string>();
  steps.forEach((s, i) => {
    if (seen.has(s.stepId)) issues.push({ path: `ScheduledProcedureStepSequence[${i}].ScheduledProcedureStepID`, message: `step ID "${s.stepId}" is used twice in this item` });
    seen.add(s.stepId);
  });
  if (issues.length > 0) throw new GatewayError(ErrorCode.Invalid, 'invalid worklist item', { issues });
  const birthDate = v.PatientBirthDate?.trim() ? date(v.PatientBirthDate).date : '';

  const measure = (x: number | string | undefined) => (x === undefined ? '' : String(x).trim());
  return {
    patient: {
      patientId: v.PatientID,
      issuer: v.IssuerOfPatientID ?? '',
      name: parsePersonName(v.PatientName),
      birthDate,
      sex: v.PatientSex ?? '',
      otherIds: (v.OtherPatientIDsSequence ?? []).map((o) => ({ id: o.PatientID, issuer: o.IssuerOfPatientID ?? '' })),
    },
    clinical: {
      weight: measure(v.PatientWeight),
      size: measure(v.PatientSize),
      medicalAlerts: v.MedicalAlerts ?? [],
      allergies: v.Allergies ?? [],
      pregnancyStatus: v.PregnancyStatus ?? null,
      comments: v.PatientComments ?? '',
    },
    accessionNumber,
    admissionId: v.AdmissionID ?? '',
    currentPatientLocation: v.CurrentPatientLocation ?? '',
    referringPhysician: v.ReferringPhysicianName ?? '',
    requestingPhysician: v.RequestingPhysician ?? '',
    serviceRequestComments: v.ImagingServiceRequestComments ?? '',
    requestedProcedure: {
      id: v.RequestedProcedureID || accessionNumber || shortId(),
      description: v.RequestedProcedureDescription ?? '',
      codes: v.RequestedProcedureCodeSequence ?? [],
      priority: v.RequestedProcedurePriority ?? '',
      reason: v.ReasonForTheRequestedProcedure ?? '',
      comments: v.RequestedProcedureComments ?? '',
    },
    studyInstanceUid: v.StudyInstanceUID ?? generateUid(ctx.uidRoot),
    steps,
  };
}
