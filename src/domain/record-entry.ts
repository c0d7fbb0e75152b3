/**
 * Record entries: what the PVS files in a patient's record (its "Karteieintrag"). One entry per
 * study and type code, with one attachment per derived file (a study's JPEGs are one image entry
 * with many attachments, the way a PVS shows an examination).
 */
import type { DerivedFile } from './derived-file.ts';

/** Where an entry came from; file import and mail come later. */
export const RecordSource = {
  Dicom: 'dicom',
  FileImport: 'file-import',
  Mail: 'mail',
} as const;
export type RecordSource = (typeof RecordSource)[keyof typeof RecordSource];
export const recordSources = Object.values(RecordSource) as [RecordSource, ...RecordSource[]];

/** Why an entry waits in the unassigned inbox. */
export const UnassignedReason = {
  /** The pattern found no patient number (or no name and birth date) in the attribute. */
  NoMatch: 'no-match',
  /** The number or name names nobody the PVS has told us of (and `createUnknown` is off). */
  UnknownPatient: 'unknown-patient',
  /** Several registry patients fit, or the attribute held several different numbers. */
  SeveralPatients: 'several-patients',
} as const;
export type UnassignedReason = (typeof UnassignedReason)[keyof typeof UnassignedReason];

/** The attributes a patient number can be read from. */
export const PatientNumberAttribute = {
  PatientID: 'PatientID',
  OtherPatientIDs: 'OtherPatientIDs',
  AccessionNumber: 'AccessionNumber',
} as const;
export type PatientNumberAttribute = (typeof PatientNumberAttribute)[keyof typeof PatientNumberAttribute];
export const patientNumberAttributes = Object.values(PatientNumberAttribute) as [PatientNumberAttribute, ...PatientNumberAttribute[]];

/** A derived file filed with an entry. */
export interface RecordAttachment extends DerivedFile {
  /** 1, 2, 3, ... within the entry, in the order the files arrived. */
  n: number;
  /** The instance it was rendered from. */
  sopInstanceUid: string;
}

export interface RecordPatient {
  /** The PVS patient number. */
  patientId: string;
  issuer: string;
}

export interface RecordEntry {
  id: number;
  /** Position in the feed: raised each time the entry changes (attachment added, assigned). */
  seq: number;
  type: string;
  title: string;
  /** YYYY-MM-DD: acquisition date, else study date, else the day it arrived. */
  date: string;
  text: string;
  source: RecordSource;
  studyInstanceUid: string | null;
  accessionNumber: string;
  /** Null while the entry waits in the inbox. */
  patient: RecordPatient | null;
  unassignedReason: UnassignedReason | null;
  attachments: RecordAttachment[];
  createdAt: string;
  updatedAt: string;
}
