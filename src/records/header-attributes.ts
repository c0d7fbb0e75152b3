import { readHeaderFile } from '../dicom/index.ts';

/** What records read from a stored file beyond the archive index. */
export interface HeaderAttributes {
  /** Other Patient IDs (0010,1000) and the Patient IDs of Other Patient IDs Sequence (0010,1002). */
  otherPatientIds: string[];
  /** DA values; '' when absent. */
  acquisitionDate: string;
  contentDate: string;
  seriesDate: string;
}

export const noHeaderAttributes: HeaderAttributes = { otherPatientIds: [], acquisitionDate: '', contentDate: '', seriesDate: '' };

function text(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.flatMap(text);
  return String(value)
    .split('\\')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * Reads the attributes from the stored Part 10 file, synchronously (it runs inside the transaction
 * that files a rendered instance): the header up to the pixel data, from a 64 KB prefix, growing it
 * when the header is longer. Throws when the file is missing or not DICOM.
 */
export function readHeaderAttributes(file: string): HeaderAttributes {
  const elements = readHeaderFile(file);
  const sequence = elements['OtherPatientIDsSequence'];
  const items = Array.isArray(sequence) ? (sequence as Record<string, unknown>[]) : [];
  return {
    otherPatientIds: [...text(elements['OtherPatientIDs']), ...items.flatMap((item) => text(item['PatientID']))],
    acquisitionDate: text(elements['AcquisitionDate'])[0] ?? '',
    contentDate: text(elements['ContentDate'])[0] ?? '',
    seriesDate: text(elements['SeriesDate'])[0] ?? '',
  };
}
