import dcmjs from 'dcmjs';
import { stripVrMaps } from './keywords.ts';

const { DicomMessage, DicomMetaDictionary, ReadBufferStream } = dcmjs.data;
const implicitLittleEndian = '1.2.840.10008.1.2';
const explicitLittleEndian = '1.2.840.10008.1.2.1';

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** A bare dataset (no preamble, no meta header) is explicit VR when bytes 4-5 of the first element spell a VR. */
function guessSyntax(bytes: Uint8Array): string {
  if (bytes.length < 8) return implicitLittleEndian;
  const vr = String.fromCharCode(bytes[4] ?? 0, bytes[5] ?? 0);
  return isVr(vr) ? explicitLittleEndian : implicitLittleEndian;
}

const vrs = new Set(['AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FD', 'FL', 'IS', 'LO', 'LT', 'OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'PN', 'SH', 'SL', 'SQ', 'SS', 'ST', 'SV', 'TM', 'UC', 'UI', 'UL', 'UN', 'UR', 'US', 'UT', 'UV']);
function isVr(s: string): boolean {
  return vrs.has(s);
}

export function isPart10(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

/**
 * Reads a Part 10 file, or a bare dataset as `dump2dcm -F` writes it, into the keyword form
 * (`{ PatientName: [{ Alphabetic: ... }], ... }`) with text decoded from its Specific Character Set.
 * Throws with a reason fit for an admin when the bytes are not DICOM.
 */
export function readDataset(bytes: Uint8Array): Record<string, unknown> {
  let dict: Record<string, unknown>;
  if (isPart10(bytes)) {
    dict = DicomMessage.readFile(toArrayBuffer(bytes)).dict;
  } else {
    if (bytes.length < 8) throw new Error('the file is too short to be DICOM');
    // A dataset starts with a standard (even) group of the first few: 0008 in practice, 0010 at the latest.
    const group = (bytes[0] ?? 0) | ((bytes[1] ?? 0) << 8);
    if (group === 0 || group > 0x00ff || group % 2 === 1) throw new Error('the file is neither a DICOM Part 10 file nor a DICOM dataset');
    dict = DicomMessage._read(new ReadBufferStream(toArrayBuffer(bytes)), guessSyntax(bytes), { ignoreErrors: false, untilTag: null, includeUntilTagValue: false, stopOnGreaterTag: false });
  }
  return stripVrMaps(DicomMetaDictionary.naturalizeDataset(dict)) as Record<string, unknown>;
}
