import { open } from 'node:fs/promises';
import dcmjs from 'dcmjs';
import { parsePersonName, type PersonName } from '../domain/person-name.ts';

const { DicomMessage, DicomMetaDictionary } = dcmjs.data;

/** What the index keeps of an instance: identifiers and the text a list shows; never the pixel data. */
export interface IndexAttributes {
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  patientId: string;
  issuerOfPatientId: string;
  patientName: PersonName;
  patientBirthDate: string;
  patientSex: '' | 'M' | 'F' | 'O';
  studyDate: string;
  studyTime: string;
  accessionNumber: string;
  studyId: string;
  studyDescription: string;
  referringPhysician: string;
  modality: string;
  seriesNumber: number | null;
  seriesDescription: string;
  bodyPart: string;
  instanceNumber: number | null;
  /** NumberOfFrames, else 1 with pixel data, 0 without (SR, PDF). */
  numberOfFrames: number;
}

function str(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.length === 0 ? '' : str(value[0]);
  if (typeof value === 'object') return str((value as { Alphabetic?: unknown }).Alphabetic);
  return String(value).trim();
}

function int(value: unknown): number | null {
  const n = Number.parseInt(str(value), 10);
  return Number.isFinite(n) ? n : null;
}

function sex(value: unknown): IndexAttributes['patientSex'] {
  const s = str(value).toUpperCase();
  return s === 'M' || s === 'F' || s === 'O' ? s : '';
}

function toArrayBuffer(bytes: Buffer): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** Parses a Part 10 prefix up to the pixel data; throws when the prefix ends before that or is not DICOM. */
function parse(bytes: Buffer): Record<string, unknown> {
  const { dict } = DicomMessage.readFile(toArrayBuffer(bytes), { untilTag: '7FE00010', includeUntilTagValue: false });
  // Text is decoded by the instance's Specific Character Set as dcmjs reads it.
  return DicomMetaDictionary.naturalizeDataset(dict);
}

/**
 * Reads the index attributes of a stored Part 10 file: from `head` (the file's first bytes) when the
 * attributes end there, else from a growing prefix of the file (objects without pixel data, such as
 * encapsulated PDF, may need all of it). Throws when the file is not a readable dataset.
 */
export async function readIndexAttributes(file: string, head: Buffer, size: number): Promise<IndexAttributes> {
  let bytes = head;
  let elements: Record<string, unknown> | undefined;
  for (;;) {
    try {
      elements = parse(bytes);
      break;
    } catch (err) {
      if (bytes.length >= size) throw err;
    }
    const want = Math.min(size, Math.max(bytes.length * 4, 256 * 1024));
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(want);
      const { bytesRead } = await handle.read(buffer, 0, want, 0);
      bytes = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }
  return {
    sopClassUid: str(elements['SOPClassUID']),
    sopInstanceUid: str(elements['SOPInstanceUID']),
    studyInstanceUid: str(elements['StudyInstanceUID']),
    seriesInstanceUid: str(elements['SeriesInstanceUID']),
    patientId: str(elements['PatientID']),
    issuerOfPatientId: str(elements['IssuerOfPatientID']),
    patientName: parsePersonName(str(elements['PatientName'])),
    patientBirthDate: str(elements['PatientBirthDate']),
    patientSex: sex(elements['PatientSex']),
    studyDate: str(elements['StudyDate']),
    studyTime: str(elements['StudyTime']),
    accessionNumber: str(elements['AccessionNumber']),
    studyId: str(elements['StudyID']),
    studyDescription: str(elements['StudyDescription']),
    referringPhysician: str(elements['ReferringPhysicianName']),
    modality: str(elements['Modality']),
    seriesNumber: int(elements['SeriesNumber']),
    seriesDescription: str(elements['SeriesDescription']),
    bodyPart: str(elements['BodyPartExamined']),
    instanceNumber: int(elements['InstanceNumber']),
    numberOfFrames: int(elements['NumberOfFrames']) ?? (elements['PixelData'] === undefined ? 0 : 1),
  };
}
