/** What a Part 10 file's meta header says of its dataset. */
export interface Part10Meta {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** Where the dataset starts. */
  datasetOffset: number;
}

const longLengthVrs = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);

function text(bytes: Buffer): string {
  return bytes.toString('latin1').replace(/[\0 ]+$/, '');
}

/**
 * Reads the file meta information (group 0002, explicit VR little endian) from the first bytes of a
 * Part 10 file. Throws with a reason an admin can act on when it is not one.
 */
export function readPart10Meta(head: Buffer): Part10Meta {
  if (head.length < 144 || head.toString('latin1', 128, 132) !== 'DICM') throw new Error('not a DICOM Part 10 file (no DICM preamble)');
  let at = 132;
  const out = { sopClassUid: '', sopInstanceUid: '', transferSyntaxUid: '' };
  let end: number | undefined;
  while (at + 8 <= head.length && (end === undefined || at < end)) {
    const group = head.readUInt16LE(at);
    const element = head.readUInt16LE(at + 2);
    if (group !== 0x0002) break;
    const vr = head.toString('latin1', at + 4, at + 6);
    const long = longLengthVrs.has(vr);
    const length = long ? head.readUInt32LE(at + 8) : head.readUInt16LE(at + 6);
    const valueAt = at + (long ? 12 : 8);
    if (valueAt + length > head.length) throw new Error('the file meta information is longer than the file start we read');
    const value = head.subarray(valueAt, valueAt + length);
    if (element === 0x0000 && length === 4) end = valueAt + 4 + value.readUInt32LE(0);
    else if (element === 0x0002) out.sopClassUid = text(value);
    else if (element === 0x0003) out.sopInstanceUid = text(value);
    else if (element === 0x0010) out.transferSyntaxUid = text(value);
    at = valueAt + length;
  }
  if (out.transferSyntaxUid === '' || out.sopClassUid === '' || out.sopInstanceUid === '') {
    throw new Error('the file meta information lacks the SOP Class, SOP Instance or Transfer Syntax UID');
  }
  return { ...out, datasetOffset: at };
}
