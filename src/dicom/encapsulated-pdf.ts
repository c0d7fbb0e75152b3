import { CharacterSet } from '../domain/device.ts';
import type { DicomJson } from '../domain/dicom-json.ts';
import { part10Header } from '../archive/part10-header.ts';
import { encodeDataset } from './encode-dataset.ts';

export const encapsulatedPdfStorage = '1.2.840.10008.5.1.4.1.1.104.1';
const explicitLittleEndian = '1.2.840.10008.1.2.1';

/** The patient and study a PDF is filed under, and the PDF itself. */
export interface EncapsulatedPdfRequest {
  patientName: string;
  patientId: string;
  issuerOfPatientId: string;
  patientBirthDate: string;
  patientSex: string;
  studyInstanceUid: string;
  studyDate: string;
  studyTime: string;
  accessionNumber: string;
  studyId: string;
  referringPhysicianName: string;
  studyDescription: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  title: string;
  pdf: Buffer;
  /** When it was made (Content Date and Time). */
  at: Date;
  implementation: { classUid: string; versionName: string };
}

const str = (vr: string, value: string): { vr: string; Value?: unknown[] } => (value === '' ? { vr } : { vr, Value: [value] });
const pn = (value: string): { vr: string; Value?: unknown[] } => (value === '' ? { vr: 'PN' } : { vr: 'PN', Value: [{ Alphabetic: value }] });

/**
 * A PDF as an Encapsulated PDF Storage instance (PS3.3 A.45.1), Part 10, explicit VR little endian,
 * text in UTF-8: how a PDF that arrives with a study joins its archive, records and PVS like any image.
 */
export function encapsulatedPdf(req: EncapsulatedPdfRequest): Buffer {
  const date = req.at.toISOString();
  const contentDate = date.slice(0, 10).replaceAll('-', '');
  const contentTime = date.slice(11, 19).replaceAll(':', '');
  // OB values are even: the PDF is padded with one NUL, its own length is (0042,0015).
  const padded = req.pdf.length % 2 === 0 ? req.pdf : Buffer.concat([req.pdf, Buffer.alloc(1)]);
  const document = new Uint8Array(padded.length);
  document.set(padded);
  const dataset: DicomJson = {
    '00080005': { vr: 'CS', Value: [CharacterSet.Utf8] },
    '00080016': { vr: 'UI', Value: [encapsulatedPdfStorage] },
    '00080018': { vr: 'UI', Value: [req.sopInstanceUid] },
    '00080020': str('DA', req.studyDate),
    '00080023': str('DA', contentDate),
    '0008002A': { vr: 'DT' },
    '00080030': str('TM', req.studyTime),
    '00080033': str('TM', contentTime),
    '00080050': str('SH', req.accessionNumber),
    '00080060': { vr: 'CS', Value: ['DOC'] },
    '00080064': { vr: 'CS', Value: ['WSD'] },
    '00080070': { vr: 'LO', Value: ['dicom-gateway'] },
    '00080090': pn(req.referringPhysicianName),
    '00081030': str('LO', req.studyDescription),
    '00100010': pn(req.patientName),
    '00100020': str('LO', req.patientId),
    '00100021': str('LO', req.issuerOfPatientId),
    '00100030': str('DA', req.patientBirthDate),
    '00100040': str('CS', req.patientSex),
    '0020000D': { vr: 'UI', Value: [req.studyInstanceUid] },
    '0020000E': { vr: 'UI', Value: [req.seriesInstanceUid] },
    '00200010': str('SH', req.studyId),
    '00200011': { vr: 'IS', Value: ['1'] },
    '00200013': { vr: 'IS', Value: ['1'] },
    '00280301': { vr: 'CS', Value: ['YES'] },
    '0040A043': { vr: 'SQ', Value: [] },
    '00420010': str('ST', req.title),
    '00420011': { vr: 'OB', Value: [document.buffer] },
    '00420012': { vr: 'LO', Value: ['application/pdf'] },
    '00420015': { vr: 'UL', Value: [req.pdf.length] },
  };
  const header = part10Header({
    sopClassUid: encapsulatedPdfStorage,
    sopInstanceUid: req.sopInstanceUid,
    transferSyntaxUid: explicitLittleEndian,
    implementationClassUid: req.implementation.classUid,
    implementationVersionName: req.implementation.versionName,
    sourceAeTitle: '',
  });
  return Buffer.concat([header, encodeDataset(dataset, explicitLittleEndian, CharacterSet.Utf8)]);
}
