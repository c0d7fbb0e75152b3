import { readHeaderFile } from '../dicom/index.ts';
import type { DocumentContext } from './manifest.ts';

/** The first value of a naturalized attribute as text (a PN as its alphabetic group). */
function first(elements: Record<string, unknown>, keyword: string): string {
  const raw = elements[keyword];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return String((value as { Alphabetic?: unknown }).Alphabetic ?? '');
  return String(value);
}

/** Cut to what the manifest allows: no control characters or backslashes (value separators), at most `max`. */
function clean(value: string, max: number): string {
  return value.replace(/[\0-\x1f\\]/g, ' ').trim().slice(0, max);
}

function matching(value: string, pattern: RegExp): string {
  const v = value.trim();
  return pattern.test(v) ? v : '';
}

/**
 * The patient and study of a PDF sent with a study, read from one of the study's archived files: what
 * the receiver needs to file the PDF as an instance of the same study. Values the manifest would
 * refuse (a malformed date) are left empty rather than failing the send.
 */
export function documentContextOf(file: string): DocumentContext {
  const e = readHeaderFile(file);
  const sex = first(e, 'PatientSex').trim().toUpperCase();
  return {
    patientName: clean(first(e, 'PatientName'), 320),
    patientId: clean(first(e, 'PatientID'), 64),
    issuerOfPatientId: clean(first(e, 'IssuerOfPatientID'), 64),
    patientBirthDate: matching(first(e, 'PatientBirthDate'), /^[0-9]{8}$/),
    patientSex: sex === 'M' || sex === 'F' || sex === 'O' ? sex : '',
    studyInstanceUid: first(e, 'StudyInstanceUID').trim(),
    studyDate: matching(first(e, 'StudyDate'), /^[0-9]{8}$/),
    studyTime: matching(first(e, 'StudyTime'), /^[0-9]{2,6}(\.[0-9]{1,6})?$/),
    accessionNumber: clean(first(e, 'AccessionNumber'), 16),
    studyId: clean(first(e, 'StudyID'), 16),
    referringPhysicianName: clean(first(e, 'ReferringPhysicianName'), 320),
    studyDescription: clean(first(e, 'StudyDescription'), 64),
  };
}
