import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import dcmjs from 'dcmjs';

const { DicomMessage, DicomMetaDictionary } = dcmjs.data;

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

function readPrefix(fd: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const read = readSync(fd, buffer, 0, length, 0);
  return buffer.subarray(0, read);
}

/**
 * Reads the attributes from the stored Part 10 file, synchronously (it runs inside the transaction
 * that files a rendered instance): the header up to the pixel data, from a 64 KB prefix, growing it
 * when the header is longer. Throws when the file is missing or not DICOM.
 */
export function readHeaderAttributes(file: string): HeaderAttributes {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    let length = Math.min(size, 64 * 1024);
    let elements: Record<string, unknown>;
    for (;;) {
      const bytes = readPrefix(fd, length);
      try {
        const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
        elements = DicomMetaDictionary.naturalizeDataset(DicomMessage.readFile(ab, { untilTag: '7FE00010', includeUntilTagValue: false }).dict);
        break;
      } catch (err) {
        if (length >= size) throw err;
        length = Math.min(size, length * 4);
      }
    }
    const sequence = elements['OtherPatientIDsSequence'];
    const items = Array.isArray(sequence) ? (sequence as Record<string, unknown>[]) : [];
    return {
      otherPatientIds: [...text(elements['OtherPatientIDs']), ...items.flatMap((item) => text(item['PatientID']))],
      acquisitionDate: text(elements['AcquisitionDate'])[0] ?? '',
      contentDate: text(elements['ContentDate'])[0] ?? '',
      seriesDate: text(elements['SeriesDate'])[0] ?? '',
    };
  } finally {
    closeSync(fd);
  }
}
